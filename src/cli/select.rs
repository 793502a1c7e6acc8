//! The one selection `plan`, `up` (and `up --dry-run`) and `status` share: `--from`, `--only`,
//! `--skip` by step id, number or glob, and `--machine` by machine or VM name. What they mean
//! is defined once, in `genesis_engine::select` (docs/engine.md, "Selecting steps").

use clap::Args;
use clap_complete::engine::ArgValueCandidates;
use genesis_engine::select::{self, Resolved};
use genesis_engine::{Graph, Selection};

use super::error::CliError;

/// Which steps a command covers.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Selection")]
pub struct SelectArgs {
    /// Start at this step (id, number or glob): it and everything after it, run again even if
    /// done.
    #[arg(long, value_name = "STEP", add = ArgValueCandidates::new(super::candidates::steps))]
    pub from: Option<String>,
    /// Only this step (id, number, fan-out template or glob such as `vm/cp-*`); repeatable;
    /// run again even if done.
    #[arg(long, value_name = "STEP", add = ArgValueCandidates::new(super::candidates::steps))]
    pub only: Vec<String>,
    /// Never this step (id, number, template or glob); repeatable.
    #[arg(long, value_name = "STEP", add = ArgValueCandidates::new(super::candidates::steps))]
    pub skip: Vec<String>,
    /// Only this machine's or VM's branch: every step fanned out for it and the steps that
    /// need them (not another machine's); repeatable, combines with --only.
    #[arg(
        long = "machine",
        value_name = "NAME",
        add = ArgValueCandidates::new(super::candidates::machines)
    )]
    pub machines: Vec<String>,
}

impl SelectArgs {
    pub fn selection(&self) -> Selection {
        Selection {
            from: self.from.clone(),
            only: self.only.clone(),
            skip: self.skip.clone(),
            machines: self.machines.clone(),
        }
    }

    pub fn is_everything(&self) -> bool {
        self.selection().is_everything()
    }

    /// The selection against the run's steps; an unknown name is bad input (exit 2), with the
    /// nearest names as the hint.
    pub fn resolve(&self, graph: &Graph) -> Result<Resolved, CliError> {
        select::resolve(graph, &self.selection())
            .map_err(|error| CliError::input(error.to_string()).with_hint(error.help()))
    }
}
