//! `genesis reset STEP…`: forget what the journal knows about steps, so they run again.
//!
//! The journal stays append-only: a reset is a record, not an edit.

use std::sync::Arc;

use clap::Args;
use genesis_engine::journal::RecordKind;
use genesis_engine::{Scrubber, StepId, select};

use super::common::Common;
use super::error::{CliError, CliResult};
use crate::inputs;

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Steps to forget, by id or number; a fanned-out step's id or number names all its
    /// instances.
    #[arg(required = true, value_name = "STEP")]
    pub steps: Vec<String>,
}

pub fn run(args: ResetArgs, common: &Common) -> CliResult {
    let backend = super::state::backend(common)?;
    let acquired = backend
        .acquire("genesis reset")
        .map_err(|error| CliError::lock(&error))?;
    if let Some(previous) = &acquired.taken_over {
        crate::errln!("warning: taking over the lock left by a run that is gone: {previous}");
    }
    let (mut journal, state) = backend
        .open_journal(Arc::new(Scrubber::empty()))
        .map_err(|error| CliError::journal(&error))?;
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
            return Err(CliError::input(format!("`{reference}` names no step")));
        }
        targets.extend(found);
    }
    for step in targets {
        if state.step(&step).is_none() {
            crate::errln!("{step}: nothing recorded; it is already pending");
            continue;
        }
        journal
            .append(RecordKind::StepReset { step: step.clone() })
            .map_err(|error| CliError::from_error(&error))?;
        crate::errln!("{step}: forgotten; the next `genesis up` runs it again");
        // An install run again finds its machine's Workflow and adopts its result (that is
        // what makes a cut-short install safe to resume); it does not erase the machine again.
        let install = graph.as_ref().and_then(|graph| {
            let spec = graph.step(graph.position(&step)?);
            (spec.kind == "tinkerbell.install").then(|| spec.item.clone())?
        });
        if let Some(machine) = install {
            crate::errln!(
                "note: {step} adopts the Workflow that installed {machine} (it does not install again); to install {machine} again, run `genesis up --reinstall {machine}`"
            );
        }
    }
    Ok(())
}
