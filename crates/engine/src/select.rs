//! `--from`, `--only`, `--skip` and `--machine`: which steps a run (or a plan, or a status
//! table) covers.
//!
//! A step reference names a step by id (`register-argocd`, `join-cluster/ms-02-2`) or number
//! (`12`, `10/ms-02-2`); a fan-out template's id or number (`join-cluster`, `10`) names all its
//! instances; a glob (`join-cluster/*`, `vm/cp-*`, `1?`) names every step whose id or number it
//! matches. In a glob `*` and `?` stay within one `/`-separated part and `**` crosses them.
//!
//! A machine is what a step is fanned out for (its `item`): `--machine M` takes M's branch,
//! every step fanned out for M, plus every step that explicitly needs one of them, directly or
//! through other steps, unless that step is fanned out for another machine. Phase barriers are
//! not followed: `--machine ms-02-2` does not take every step of the next phase.
//!
//! - `--from S`: S, everything downstream of S, and every step numbered at or after S; these
//!   run again even if done. Earlier steps are left out.
//! - `--only S` and `--machine M` (both repeatable): exactly the steps they name, together,
//!   run again even if done. With `--from` as well, only those at or after S.
//! - `--skip S` (repeatable): never start S.
//!
//! A left-out step still counts as passed for the phase barrier. A step that explicitly needs a
//! left-out step runs only if that step is done in the journal; otherwise it is skipped, and
//! the report says why.

use std::collections::BTreeSet;

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::Serialize;
use thiserror::Error;

use crate::graph::Graph;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub from: Option<String>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
    /// Machine (fan-out item) names whose branches are selected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<String>,
}

impl Selection {
    pub fn is_everything(&self) -> bool {
        self.from.is_none()
            && self.only.is_empty()
            && self.skip.is_empty()
            && self.machines.is_empty()
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("{flag} `{reference}` names no step of this run")]
    UnknownStep {
        flag: &'static str,
        reference: String,
        /// The nearest step ids, template ids or numbers, closest first (may be empty).
        nearest: Vec<String>,
        /// Every template id, for when nothing is near.
        templates: Vec<String>,
    },
    #[error("{flag} `{reference}` is a machine, not a step: use --machine {reference}")]
    MachineAsStep {
        flag: &'static str,
        reference: String,
    },
    #[error("--machine `{reference}` names no machine of this run")]
    UnknownMachine {
        reference: String,
        /// The nearest machine names, closest first (may be empty).
        nearest: Vec<String>,
        /// Every machine name of the run.
        machines: Vec<String>,
    },
    #[error("--machine `{reference}` is a step, not a machine: use --only {reference}")]
    StepAsMachine { reference: String },
    #[error("{flag} `{reference}` is not a valid glob: {reason}")]
    BadGlob {
        flag: &'static str,
        reference: String,
        reason: String,
    },
}

impl SelectError {
    /// What to do: the nearest names, or every name to choose from.
    pub fn help(&self) -> String {
        let quoted = |names: &[String]| {
            names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Self::UnknownStep {
                nearest, templates, ..
            } => {
                if nearest.is_empty() {
                    format!(
                        "the steps are {} (each with its number; a fanned-out step also as `id/machine`); `genesis plan` lists them all",
                        quoted(templates)
                    )
                } else {
                    format!("did you mean {}?", or_list(nearest))
                }
            }
            Self::UnknownMachine {
                nearest, machines, ..
            } => {
                if nearest.is_empty() {
                    format!("the machines and VMs are {}", quoted(machines))
                } else {
                    format!("did you mean {}?", or_list(nearest))
                }
            }
            Self::MachineAsStep { .. } => {
                "--machine selects every step fanned out for it and what depends on them".to_owned()
            }
            Self::StepAsMachine { .. } => {
                "--machine takes a machine or VM name of the lab file".to_owned()
            }
            Self::BadGlob { .. } => {
                "a glob uses `*`, `?`, `[abc]` and `{a,b}`, e.g. `join-cluster/*` or `vm/cp-*`"
                    .to_owned()
            }
        }
    }
}

fn or_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
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

    /// Whether the step at `position` is selected.
    pub fn includes(&self, position: usize) -> bool {
        self.excluded.get(position).is_some_and(Option::is_none)
    }
}

/// Whether a reference is a glob rather than a plain id or number.
pub fn is_glob(reference: &str) -> bool {
    reference.contains(['*', '?', '[', '{'])
}

fn glob(flag: &'static str, reference: &str) -> Result<GlobMatcher, SelectError> {
    GlobBuilder::new(reference)
        .literal_separator(true)
        .build()
        .map(|glob: Glob| glob.compile_matcher())
        .map_err(|error| SelectError::BadGlob {
            flag,
            reference: reference.to_owned(),
            reason: error.kind().to_string(),
        })
}

/// Positions a plain reference names: exact id or number, or every instance of a template.
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

/// Positions a reference names (a plain reference or a glob); an error when it names none.
pub fn lookup(
    graph: &Graph,
    flag: &'static str,
    reference: &str,
) -> Result<Vec<usize>, SelectError> {
    let found = if is_glob(reference) {
        let matcher = glob(flag, reference)?;
        graph
            .steps()
            .iter()
            .enumerate()
            .filter(|(_, step)| {
                matcher.is_match(step.id.as_str()) || matcher.is_match(&step.number)
            })
            .map(|(position, _)| position)
            .collect()
    } else {
        matches(graph, reference)
    };
    if !found.is_empty() {
        return Ok(found);
    }
    if machines(graph).iter().any(|machine| machine == reference) {
        return Err(SelectError::MachineAsStep {
            flag,
            reference: reference.to_owned(),
        });
    }
    let templates = templates(graph);
    let candidates = graph
        .steps()
        .iter()
        .map(|step| step.id.to_string())
        .chain(templates.iter().cloned());
    Err(SelectError::UnknownStep {
        flag,
        reference: reference.to_owned(),
        nearest: nearest(reference, candidates),
        templates,
    })
}

/// Every machine (fan-out item) of the graph, in step order, each once.
pub fn machines(graph: &Graph) -> Vec<String> {
    let mut seen = BTreeSet::new();
    graph
        .order()
        .iter()
        .filter_map(|&position| graph.step(position).item.clone())
        .filter(|item| seen.insert(item.clone()))
        .collect()
}

/// Every template id (a step's id without its `/item`), in step order, each once.
pub fn templates(graph: &Graph) -> Vec<String> {
    let mut seen = BTreeSet::new();
    graph
        .order()
        .iter()
        .map(|&position| template_of(graph, position).to_owned())
        .filter(|template| seen.insert(template.clone()))
        .collect()
}

fn template_of(graph: &Graph, position: usize) -> &str {
    let step = graph.step(position);
    match &step.item {
        Some(item) => step
            .id
            .as_str()
            .strip_suffix(item.as_str())
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or(step.id.as_str()),
        None => step.id.as_str(),
    }
}

/// Up to three candidates close to `name` (a typo of it), closest first.
pub fn nearest(name: &str, candidates: impl Iterator<Item = String>) -> Vec<String> {
    let limit = 2.max(name.chars().count() / 3);
    let mut scored: Vec<(usize, String)> = candidates
        .map(|candidate| (strsim::damerau_levenshtein(name, &candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, candidate)| candidate)
        .collect()
}

/// The branch of `machine`: every step fanned out for it, and every step that explicitly
/// needs one of those (transitively) and is not fanned out for another machine.
pub fn machine_branch(graph: &Graph, machine: &str) -> Result<Vec<usize>, SelectError> {
    let mut included = vec![false; graph.len()];
    let mut stack: Vec<usize> = graph
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, step)| step.item.as_deref() == Some(machine))
        .map(|(position, _)| position)
        .collect();
    if stack.is_empty() {
        if !matches(graph, machine).is_empty() {
            return Err(SelectError::StepAsMachine {
                reference: machine.to_owned(),
            });
        }
        let machines = machines(graph);
        return Err(SelectError::UnknownMachine {
            reference: machine.to_owned(),
            nearest: nearest(machine, machines.iter().cloned()),
            machines,
        });
    }
    for &position in &stack {
        included[position] = true;
    }
    while let Some(position) = stack.pop() {
        for dependent in graph.dependents_of(position) {
            let other_machine = graph
                .step(dependent)
                .item
                .as_deref()
                .is_some_and(|item| item != machine);
            if !included[dependent] && !other_machine {
                included[dependent] = true;
                stack.push(dependent);
            }
        }
    }
    Ok(included
        .iter()
        .enumerate()
        .filter_map(|(position, &included)| included.then_some(position))
        .collect())
}

pub fn resolve(graph: &Graph, selection: &Selection) -> Result<Resolved, SelectError> {
    let count = graph.len();
    let mut resolved = Resolved::everything(count);

    if let Some(from) = &selection.from {
        let starts = lookup(graph, "--from", from)?;
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

    if !selection.only.is_empty() || !selection.machines.is_empty() {
        let mut included = vec![false; count];
        for reference in &selection.only {
            for position in lookup(graph, "--only", reference)? {
                included[position] = true;
            }
        }
        for machine in &selection.machines {
            for position in machine_branch(graph, machine)? {
                included[position] = true;
            }
        }
        let flag = match (selection.only.is_empty(), selection.machines.is_empty()) {
            (true, _) => "--machine",
            (_, true) => "--only",
            _ => "--only/--machine",
        };
        for (position, &included) in included.iter().enumerate() {
            if included {
                if resolved.excluded[position].is_none() {
                    resolved.forced[position] = true;
                }
            } else if resolved.excluded[position].is_none() {
                resolved.excluded[position] = Some(flag);
            }
        }
    }

    for reference in &selection.skip {
        for position in lookup(graph, "--skip", reference)? {
            resolved.excluded[position] = Some("--skip");
            resolved.forced[position] = false;
        }
    }
    Ok(resolved)
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
