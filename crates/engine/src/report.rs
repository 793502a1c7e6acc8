//! The end-of-run report: one row per step and the critical path from real durations.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::step::StepId;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every selected step is done.
    Succeeded,
    /// At least one step failed (or the run's deadline passed).
    Failed,
    /// The operator interrupted the run.
    Interrupted,
}

/// How one step ended in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    Succeeded,
    Failed,
    Skipped,
    Interrupted,
}

impl StepResult {
    pub fn label(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Interrupted => "interrupted",
        }
    }
}

/// One row of the final table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    pub step: StepId,
    pub number: String,
    pub name: String,
    pub result: StepResult,
    pub attempts: u32,
    /// Wall time this run spent on the step (`None` when it did not run).
    pub duration_ms: Option<u64>,
    /// The error, or why the step was skipped.
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// In the graph's execution order.
    pub steps: Vec<StepReport>,
    /// The chain of steps (needs and phase barriers) whose durations add up to the most.
    pub critical_path: Vec<StepId>,
    pub critical_path_ms: u64,
    pub wall_ms: u64,
}

impl Report {
    pub fn count(&self, result: StepResult) -> usize {
        self.steps
            .iter()
            .filter(|step| step.result == result)
            .count()
    }
}

/// The longest chain through the DAG, weighting each step by the time it took in this run
/// (steps that did not run weigh nothing). Predecessors are explicit needs and, through the
/// phase barrier, every step of an earlier phase.
pub fn critical_path(graph: &Graph, durations: &[Duration]) -> (Vec<usize>, Duration) {
    let count = graph.len();
    let mut finish = vec![Duration::ZERO; count];
    let mut previous: Vec<Option<usize>> = vec![None; count];
    // The heaviest finish among all steps of phases before the current one, and so far.
    let mut barrier: (Duration, Option<usize>) = (Duration::ZERO, None);
    let mut best_so_far: (Duration, Option<usize>) = (Duration::ZERO, None);
    let mut current_phase = None;
    for &position in graph.order() {
        let phase = graph.step(position).phase;
        if current_phase != Some(phase) {
            barrier = best_so_far;
            current_phase = Some(phase);
        }
        let mut start = barrier;
        for need in graph.needs_of(position) {
            if start.1.is_none() || finish[need] > start.0 {
                start = (finish[need], Some(need));
            }
        }
        let duration = durations.get(position).copied().unwrap_or_default();
        finish[position] = start.0 + duration;
        previous[position] = start.1;
        if best_so_far.1.is_none() || finish[position] > best_so_far.0 {
            best_so_far = (finish[position], Some(position));
        }
    }
    let Some(mut last) =
        (0..count).max_by_key(|&position| (finish[position], std::cmp::Reverse(position)))
    else {
        return (Vec::new(), Duration::ZERO);
    };
    let total = finish[last];
    let mut path = vec![last];
    while let Some(before) = previous[last] {
        path.push(before);
        last = before;
    }
    path.reverse();
    // Leading steps that took no time add nothing to read.
    let first_real = path
        .iter()
        .position(|&position| durations.get(position).copied().unwrap_or_default() > Duration::ZERO)
        .unwrap_or(path.len());
    (path.split_off(first_real), total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::{RetryPolicy, StepSpec};

    fn step(id: &str, phase: u32, needs: &[&str]) -> StepSpec {
        StepSpec {
            id: StepId::from(id),
            number: id.to_owned(),
            ordinal: 0,
            name: id.to_owned(),
            phase,
            kind: "exec".to_owned(),
            item: None,
            params: serde_json::Value::Null,
            needs: needs.iter().map(|need| StepId::from(*need)).collect(),
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        }
    }

    //   a(1s) ──> b(5s)        phase 2
    //   c(3s)                  phase 2
    //   d(2s)                  phase 3 (barrier)
    //   critical: a → b → d = 8s
    #[test]
    fn follows_needs_and_the_phase_barrier() {
        let graph = Graph::build(vec![
            step("a", 2, &[]),
            step("b", 2, &["a"]),
            step("c", 2, &[]),
            step("d", 3, &[]),
        ])
        .expect("graph");
        let mut durations = vec![Duration::ZERO; 4];
        for (id, seconds) in [("a", 1), ("b", 5), ("c", 3), ("d", 2)] {
            durations[graph.position(&StepId::from(id)).expect("exists")] =
                Duration::from_secs(seconds);
        }
        let (path, total) = critical_path(&graph, &durations);
        let ids: Vec<&str> = path.iter().map(|&p| graph.step(p).id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "d"]);
        assert_eq!(total, Duration::from_secs(8));
    }
}
