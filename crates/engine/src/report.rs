//! The end-of-run report: one row per step and the critical path from real durations.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::critical::Schedule;
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
    /// The phase the step belongs to.
    pub phase: u32,
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
    /// The same steps on real hardware, from their estimates; absent when none has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projected: Option<Projected>,
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
    Schedule::of(graph, durations).critical_path()
}

/// What the steps of a run would take on real hardware, from their estimates (`StepSpec::estimate`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Projected {
    /// The longest chain of the run's steps, weighted by their estimates.
    pub critical_path: Vec<StepId>,
    pub critical_path_ms: u64,
    /// How many of the run's steps had an estimate.
    pub estimated: usize,
    /// The run's steps without one (they count as taking no time).
    pub unestimated: Vec<StepId>,
}

/// The projected hardware time of the steps in `ran` (by position), or `None` when none of them
/// has an estimate.
pub fn projected(graph: &Graph, ran: &[bool]) -> Option<Projected> {
    let mut durations = vec![Duration::ZERO; graph.len()];
    let mut estimated = 0;
    let mut unestimated = Vec::new();
    for &position in graph.order() {
        if !ran.get(position).copied().unwrap_or(false) {
            continue;
        }
        let step = graph.step(position);
        match step.estimate {
            Some(estimate) => {
                durations[position] = estimate;
                estimated += 1;
            }
            None => unestimated.push(step.id.clone()),
        }
    }
    if estimated == 0 {
        return None;
    }
    let (path, total) = critical_path(graph, &durations);
    Some(Projected {
        critical_path: path
            .into_iter()
            .map(|position| graph.step(position).id.clone())
            .collect(),
        critical_path_ms: u64::try_from(total.as_millis()).unwrap_or(u64::MAX),
        estimated,
        unestimated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::StepSpec;

    fn step(id: &str, phase: u32, needs: &[&str]) -> StepSpec {
        StepSpec::for_test(id, phase, needs)
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

    // Only the steps that ran count, each by its estimate.
    #[test]
    fn projects_the_steps_that_ran_from_their_estimates() {
        let mut steps = vec![
            step("a", 2, &[]),
            step("b", 2, &["a"]),
            step("c", 2, &[]),
            step("d", 3, &[]),
        ];
        for (step, minutes) in steps.iter_mut().zip([Some(10), Some(20), Some(25), None]) {
            step.estimate = minutes.map(|m| Duration::from_secs(m * 60));
        }
        let graph = Graph::build(steps).expect("graph");
        let ran = |ids: &[&str]| -> Vec<bool> {
            (0..graph.len())
                .map(|p| ids.contains(&graph.step(p).id.as_str()))
                .collect()
        };
        let all = projected(&graph, &ran(&["a", "b", "c", "d"])).expect("estimates");
        assert_eq!(all.critical_path, [StepId::from("a"), StepId::from("b")]);
        assert_eq!(all.critical_path_ms, 30 * 60 * 1000);
        assert_eq!(all.estimated, 3);
        assert_eq!(all.unestimated, [StepId::from("d")]);
        // A resumed run that only ran c: its 25 minutes.
        let resumed = projected(&graph, &ran(&["c", "d"])).expect("estimates");
        assert_eq!(resumed.critical_path, [StepId::from("c")]);
        assert_eq!(resumed.critical_path_ms, 25 * 60 * 1000);
        assert_eq!(projected(&graph, &ran(&["d"])), None);
    }
}
