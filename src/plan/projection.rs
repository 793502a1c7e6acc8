//! The projected hardware clock: how long the remaining steps would take on a real lab, from
//! the `estimate:` of each step in the phase files, laid out on the run's DAG (needs and phase
//! barriers) by `genesis_engine::Schedule`. The end of each phase is a milestone the operator
//! waits for (Platform ready, Harvester quorum registered with Argo CD, Platform HA).
//!
//! Estimates are figures for the reference hardware, each cited in docs/benchmarks.md ("The
//! projected hardware clock"); they are not measurements of the operator's lab.

use std::time::Duration;

use genesis_engine::{Schedule, StepSpec};
use serde::Serialize;

use crate::inputs::Inputs;

/// What `genesis plan` says about time on hardware.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    /// Where the figures come from.
    pub basis: &'static str,
    /// From the start of the run to the end of the last phase, in seconds.
    pub total_seconds: u64,
    /// The chain of steps that decides `total_seconds`.
    pub critical_path: Vec<String>,
    /// The end of each phase, in order.
    pub milestones: Vec<Milestone>,
    /// Steps still to run that have no estimate (counted as taking no time).
    pub unestimated: Vec<String>,
    /// Steps done in an earlier run: they take no time.
    pub done: usize,
}

/// The end of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub phase: u32,
    /// The phase file's `milestone:` (else its name).
    pub name: String,
    /// From the start of the run, in seconds.
    pub at_seconds: u64,
    /// The chain of steps that decides `at_seconds`.
    pub critical_path: Vec<String>,
}

const BASIS: &str = "the phase files' per-step estimates (docs/benchmarks.md)";

/// The projection of the steps not yet done (`state_of` as for the plan), or `None` when no
/// step has an estimate.
pub fn project(inputs: &Inputs, state_of: &dyn Fn(&StepSpec) -> String) -> Option<Projection> {
    let graph = &inputs.graph;
    let mut durations = vec![Duration::ZERO; graph.len()];
    let mut unestimated = Vec::new();
    let mut done = 0;
    let mut any = false;
    // Phases with a step still to run: only they are milestones of this run.
    let mut open_phases = std::collections::BTreeSet::new();
    for &position in graph.order() {
        let step = graph.step(position);
        any |= step.estimate.is_some();
        if state_of(step) == "done" {
            done += 1;
            continue;
        }
        open_phases.insert(step.phase);
        match step.estimate {
            Some(estimate) => durations[position] = estimate,
            None => unestimated.push(step.id.to_string()),
        }
    }
    if !any {
        return None;
    }
    let schedule = Schedule::of(graph, &durations);
    let ids = |path: Vec<usize>| -> Vec<String> {
        path.into_iter()
            .map(|position| graph.step(position).id.to_string())
            .collect()
    };
    let milestones = inputs
        .phases
        .iter()
        .filter(|phase| open_phases.contains(&phase.number))
        .filter_map(|phase| {
            let (last, at) = schedule.phase_end(graph, phase.number)?;
            Some(Milestone {
                phase: phase.number,
                name: phase
                    .milestone
                    .clone()
                    .unwrap_or_else(|| phase.name.clone()),
                at_seconds: at.as_secs(),
                critical_path: ids(schedule.path_to(last)),
            })
        })
        .collect();
    let (path, total) = schedule.critical_path();
    Some(Projection {
        basis: BASIS,
        total_seconds: total.as_secs(),
        critical_path: ids(path),
        milestones,
        unestimated,
        done,
    })
}

/// `47 min`, or `40 s` below a minute: projections are rough, so whole minutes.
pub fn about_minutes(millis: u64) -> String {
    let seconds = millis / 1000;
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        format!("{} min", (seconds + 30) / 60)
    }
}

/// The projection for people, appended to the plan's text.
pub fn render_text(projection: &Projection) -> String {
    let minutes = |seconds: u64| about_minutes(seconds.saturating_mul(1000));
    let remaining = if projection.done > 0 {
        format!(
            " for the steps still to run ({} done or left out)",
            projection.done
        )
    } else {
        String::new()
    };
    let mut out = format!(
        "\nOn hardware: about {}{remaining}, critical path: {}\n",
        minutes(projection.total_seconds),
        projection.critical_path.join(" → ")
    );
    // A phase with nothing left to run is not a milestone of this run.
    for milestone in projection
        .milestones
        .iter()
        .filter(|milestone| !milestone.critical_path.is_empty() || milestone.at_seconds > 0)
    {
        out.push_str(&format!(
            "  phase {}, {}: about {}, critical path: {}\n",
            milestone.phase,
            milestone.name,
            minutes(milestone.at_seconds),
            if milestone.critical_path.is_empty() {
                "nothing left to wait for".to_owned()
            } else {
                milestone.critical_path.join(" → ")
            }
        ));
    }
    out.push_str(&format!(
        "  (projected from {}; not a measurement of this lab)\n",
        projection.basis
    ));
    if !projection.unestimated.is_empty() {
        out.push_str(&format!(
            "  without an estimate, counted as no time: {}\n",
            projection.unestimated.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_rounded_and_short_waits_in_seconds() {
        assert_eq!(about_minutes(40_000), "40 s");
        assert_eq!(about_minutes(34 * 60_000 + 20_000), "34 min");
        assert_eq!(about_minutes(45 * 60_000 + 30_000), "46 min");
    }

    #[test]
    fn renders_every_milestone_and_what_has_no_estimate() {
        let projection = Projection {
            basis: BASIS,
            total_seconds: 47 * 60,
            critical_path: vec!["a".into(), "b".into()],
            milestones: vec![
                Milestone {
                    phase: 2,
                    name: "Platform ready".into(),
                    at_seconds: 4,
                    critical_path: vec!["a".into()],
                },
                Milestone {
                    phase: 3,
                    name: "Platform HA".into(),
                    at_seconds: 47 * 60,
                    critical_path: vec!["a".into(), "b".into()],
                },
            ],
            unestimated: vec!["c".into()],
            done: 2,
        };
        let text = render_text(&projection);
        assert!(
            text.contains(
                "On hardware: about 47 min for the steps still to run (2 done or left out), critical path: a → b"
            ),
            "{text}"
        );
        assert!(
            text.contains("  phase 2, Platform ready: about 4 s, critical path: a"),
            "{text}"
        );
        assert!(
            text.contains("  phase 3, Platform HA: about 47 min, critical path: a → b"),
            "{text}"
        );
        assert!(
            text.contains("without an estimate, counted as no time: c"),
            "{text}"
        );
    }
}
