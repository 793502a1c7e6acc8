//! `genesis reset STEP…`: forget what the journal knows about steps, so they run again.
//!
//! The journal stays append-only: a reset is a record, not an edit.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use genesis_engine::journal::RecordKind;
use genesis_engine::{Scrubber, StepId, select};

use super::up::{error_chain, lock_failure};
use super::{Common, exit};
use crate::inputs;

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Steps to forget, by id or number; a fanned-out step's id or number names all its
    /// instances.
    #[arg(required = true, value_name = "STEP")]
    pub steps: Vec<String>,
}

pub fn run(args: ResetArgs, common: &Common) -> ExitCode {
    let backend = match super::state::backend(common) {
        Ok(backend) => backend,
        Err(code) => return code,
    };
    let acquired = match backend.acquire("genesis reset") {
        Ok(acquired) => acquired,
        Err(error) => return lock_failure(&error),
    };
    if let Some(previous) = &acquired.taken_over {
        crate::errln!("warning: taking over the lock left by a run that is gone: {previous}");
    }
    let (mut journal, state) = match backend.open_journal(Arc::new(Scrubber::empty())) {
        Ok(opened) => opened,
        Err(error) => return super::state::journal_failure(&error),
    };
    let graph = inputs::load_with(&common.input_paths(), &common.load_options())
        .ok()
        .map(|inputs| inputs.graph);
    let mut targets: Vec<StepId> = Vec::new();
    for reference in &args.steps {
        let found: Vec<StepId> = match &graph {
            Some(graph) => select::matches(graph, reference)
                .into_iter()
                .map(|position| graph.step(position).id.clone())
                .collect(),
            None => {
                let prefix = format!("{reference}/");
                state
                    .steps()
                    .map(|(id, _)| id.clone())
                    .filter(|id| id.as_str() == reference || id.as_str().starts_with(&prefix))
                    .collect()
            }
        };
        if found.is_empty() {
            crate::errln!("error: `{reference}` names no step");
            return ExitCode::from(exit::BAD_INPUT);
        }
        targets.extend(found);
    }
    for step in targets {
        if state.step(&step).is_none() {
            crate::errln!("{step}: nothing recorded; it is already pending");
            continue;
        }
        if let Err(error) = journal.append(RecordKind::StepReset { step: step.clone() }) {
            crate::errln!("error: {}", error_chain(&error));
            return ExitCode::from(exit::STEP_FAILED);
        }
        crate::errln!("{step}: forgotten; the next `genesis up` runs it again");
    }
    ExitCode::SUCCESS
}
