//! `--from`, `--only` and `--skip`: which steps a run may start.
//!
//! A reference names a step by id (`register-argocd`, `install/ms-02-2`) or number (`12`,
//! `9/ms-02-2`); a fan-out template's id or number (`install`, `9`) names all its instances.
//!
//! - `--from S`: S, everything downstream of S, and every step numbered at or after S; these
//!   run again even if done. Earlier steps are left out.
//! - `--only S` (repeatable): exactly these steps, run again even if done.
//! - `--skip S` (repeatable): never start S.
//!
//! A left-out step still counts as passed for the phase barrier. A step that explicitly needs a
//! left-out step runs only if that step is done in the journal; otherwise it is skipped, and
//! the report says why.

use serde::Serialize;
use thiserror::Error;

use crate::graph::Graph;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub from: Option<String>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Selection {
    pub fn is_everything(&self) -> bool {
        self.from.is_none() && self.only.is_empty() && self.skip.is_empty()
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("{flag} `{reference}` names no step of this run")]
    UnknownStep {
        flag: &'static str,
        reference: String,
    },
}

/// The selection resolved against a graph, indexed by step position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// `None` when included; otherwise the flag that left the step out.
    pub excluded: Vec<Option<&'static str>>,
    /// Included steps that run again even if the journal says done.
    pub forced: Vec<bool>,
}

impl Resolved {
    pub fn everything(count: usize) -> Self {
        Self {
            excluded: vec![None; count],
            forced: vec![false; count],
        }
    }
}

/// Positions a reference names: exact id or number, or every instance of a template.
pub fn matches(graph: &Graph, reference: &str) -> Vec<usize> {
    let exact: Vec<usize> = graph
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, step)| step.id.as_str() == reference || step.number == reference)
        .map(|(position, _)| position)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    let prefix = format!("{reference}/");
    graph
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, step)| {
            step.id.as_str().starts_with(&prefix) || step.number.starts_with(&prefix)
        })
        .map(|(position, _)| position)
        .collect()
}

pub fn resolve(graph: &Graph, selection: &Selection) -> Result<Resolved, SelectError> {
    let count = graph.len();
    let mut resolved = Resolved::everything(count);
    let lookup = |flag: &'static str, reference: &str| {
        let found = matches(graph, reference);
        if found.is_empty() {
            Err(SelectError::UnknownStep {
                flag,
                reference: reference.to_owned(),
            })
        } else {
            Ok(found)
        }
    };

    if let Some(from) = &selection.from {
        let starts = lookup("--from", from)?;
        let mut included = vec![false; count];
        let earliest = starts
            .iter()
            .map(|&position| {
                let step = graph.step(position);
                (step.phase, step.ordinal)
            })
            .min()
            .unwrap_or_default();
        for &start in &starts {
            included[start] = true;
            for downstream in graph.downstream_of(start) {
                included[downstream] = true;
            }
        }
        for (position, step) in graph.steps().iter().enumerate() {
            if (step.phase, step.ordinal) >= earliest {
                included[position] = true;
            }
        }
        for (position, &included) in included.iter().enumerate() {
            if included {
                resolved.forced[position] = true;
            } else {
                resolved.excluded[position] = Some("--from");
            }
        }
    }

    if !selection.only.is_empty() {
        let mut included = vec![false; count];
        for reference in &selection.only {
            for position in lookup("--only", reference)? {
                included[position] = true;
            }
        }
        for (position, &included) in included.iter().enumerate() {
            if included {
                if resolved.excluded[position].is_none() {
                    resolved.forced[position] = true;
                }
            } else if resolved.excluded[position].is_none() {
                resolved.excluded[position] = Some("--only");
            }
        }
    }

    for reference in &selection.skip {
        for position in lookup("--skip", reference)? {
            resolved.excluded[position] = Some("--skip");
            resolved.forced[position] = false;
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::step::{RetryPolicy, StepId, StepSpec};

    fn step(id: &str, number: &str, ordinal: u32, phase: u32, needs: &[&str]) -> StepSpec {
        StepSpec {
            id: StepId::from(id),
            number: number.to_owned(),
            ordinal,
            name: id.to_owned(),
            phase,
            kind: "exec".to_owned(),
            item: None,
            params: serde_json::Value::Null,
            needs: needs.iter().map(|need| StepId::from(*need)).collect(),
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            estimate: None,
        }
    }

    //   check(1) ──> install/m1(2/m1) ──> join(3)      phase 2
    //            └─> install/m2(2/m2) ──┘
    //   vms(4)                                          phase 3
    fn graph() -> Graph {
        Graph::build(vec![
            step("check", "1", 1, 2, &[]),
            step("install/m1", "2/m1", 2, 2, &["check"]),
            step("install/m2", "2/m2", 2, 2, &["check"]),
            step("join", "3", 3, 2, &["install/m1", "install/m2"]),
            step("vms", "4", 4, 3, &[]),
        ])
        .expect("graph")
    }

    fn included(graph: &Graph, resolved: &Resolved) -> Vec<String> {
        graph
            .steps()
            .iter()
            .enumerate()
            .filter(|(position, _)| resolved.excluded[*position].is_none())
            .map(|(_, step)| step.id.to_string())
            .collect()
    }

    #[test]
    fn from_takes_the_step_and_everything_after() {
        let graph = graph();
        let selection = Selection {
            from: Some("2".into()),
            ..Selection::default()
        };
        let resolved = resolve(&graph, &selection).expect("resolves");
        assert_eq!(
            included(&graph, &resolved),
            ["install/m1", "install/m2", "join", "vms"]
        );
        assert_eq!(resolved.excluded[0], Some("--from"));
        assert!(resolved.forced[1]);
    }

    #[test]
    fn only_and_skip_by_id_number_or_template() {
        let graph = graph();
        let selection = Selection {
            only: vec!["install".into(), "3".into()],
            skip: vec!["2/m2".into()],
            ..Selection::default()
        };
        let resolved = resolve(&graph, &selection).expect("resolves");
        assert_eq!(included(&graph, &resolved), ["install/m1", "join"]);
        assert_eq!(resolved.excluded[2], Some("--skip"));
        assert_eq!(resolved.excluded[4], Some("--only"));
    }

    #[test]
    fn unknown_references_are_named() {
        let error = resolve(
            &graph(),
            &Selection {
                skip: vec!["nope".into()],
                ..Selection::default()
            },
        )
        .expect_err("unknown");
        assert_eq!(error.to_string(), "--skip `nope` names no step of this run");
    }
}
