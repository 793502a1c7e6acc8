//! `genesis state push|pull`: move the journal between the state directory and the Platform
//! cluster. Both locks are held while it moves; a non-empty destination is only replaced with
//! `--force`.

use clap::{Args, Subcommand};
use genesis_engine::journal;
use genesis_engine::storage::StateBackend;

use super::common::Common;
use super::error::{CliError, CliResult};
use crate::errors::error_chain;
use crate::state::{StateKind, StateOptions};

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy the local state directory's journal into the Platform cluster.
    Push(MoveArgs),
    /// Copy the Platform cluster's journal into the local state directory.
    Pull(MoveArgs),
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Replace a destination that already holds a journal.
    #[arg(long)]
    pub force: bool,
}

/// The state options of the command line (`--state`, `--state-dir`, the lab file, the
/// Platform cluster's kubeconfig and context).
pub fn options(common: &Common) -> StateOptions {
    StateOptions {
        kind: common.state,
        state_dir: common.state_dir.clone(),
        lab: common.lab.clone(),
        kubeconfig: common.kubeconfig.clone(),
        context: common.context.clone(),
    }
}

/// The backend the command line selects.
pub fn backend(common: &Common) -> Result<Box<dyn StateBackend>, CliError> {
    options(common)
        .backend()
        .map_err(|error| CliError::from_error(&error))
}

pub fn run(args: StateArgs, common: &Common) -> CliResult {
    let (from, to, force) = match args.command {
        StateCommand::Push(args) => (StateKind::Local, StateKind::Kubernetes, args.force),
        StateCommand::Pull(args) => (StateKind::Kubernetes, StateKind::Local, args.force),
    };
    let options = options(common);
    let open = |kind| {
        options
            .backend_of(kind)
            .map_err(|error| CliError::from_error(&error))
    };
    let source = open(from)?;
    let destination = open(to)?;
    let command = match to {
        StateKind::Kubernetes => "genesis state push",
        StateKind::Local => "genesis state pull",
    };
    // Both locks, source first: no run may write either journal while it moves.
    let source_lock = source
        .acquire(command)
        .map_err(|error| CliError::lock(&error))?;
    let destination_lock = destination
        .acquire(command)
        .map_err(|error| CliError::lock(&error))?;
    for previous in [&source_lock.taken_over, &destination_lock.taken_over]
        .into_iter()
        .flatten()
    {
        crate::errln!("warning: taking over the lock left by a run that is gone: {previous}");
    }
    let bytes = source
        .read_journal()
        .map_err(|error| CliError::journal(&error))?;
    let parsed = journal::parse(&bytes, std::path::Path::new(&source.describe()))
        .map_err(|error| CliError::journal(&error).with_note("nothing was copied"))?;
    if parsed.is_empty() {
        return Err(CliError::input(format!(
            "{} holds no journal: nothing to copy",
            source.describe()
        )));
    }
    let existing = match destination.load_journal() {
        Ok(existing) => existing,
        Err(error) if force => {
            crate::errln!(
                "warning: replacing a journal that does not load: {}",
                error_chain(&error)
            );
            Default::default()
        }
        Err(error) => {
            return Err(CliError::failed(format!(
                "{}; use --force to replace it",
                error_chain(&error)
            )));
        }
    };
    if !existing.is_empty() && !force {
        return Err(CliError::input(format!(
            "{} already holds a journal ({} records); copying would replace it: check with `genesis status --state {to}`, then add --force",
            destination.describe(),
            existing.records()
        )));
    }
    destination
        .replace_journal(&bytes)
        .map_err(|error| CliError::from_error(&error))?;
    crate::errln!(
        "copied {} records ({} bytes) from {} to {}",
        parsed.records(),
        bytes.len(),
        source.describe(),
        destination.describe()
    );
    drop(destination_lock);
    drop(source_lock);
    Ok(())
}
