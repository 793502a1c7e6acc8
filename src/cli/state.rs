//! `genesis state push|pull`: move the journal between the state directory and the Platform
//! cluster. Both locks are held while it moves; a non-empty destination is only replaced with
//! `--force`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use genesis_engine::journal;
use genesis_engine::storage::StateBackend;

use super::up::{error_chain, lock_failure};
use super::{Common, exit};
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

/// The backend the command line selects, or the exit code after saying why not.
pub fn backend(common: &Common) -> Result<Box<dyn StateBackend>, ExitCode> {
    options(common).backend().map_err(|error| {
        crate::errln!("error: {}", error_chain(&error));
        ExitCode::from(exit::STEP_FAILED)
    })
}

/// Says why the journal could not be used; exit 2 when the operator must act (a state file
/// refused as a link, another user's, not a regular file, too large, or a journal written by a
/// newer genesis), else 1.
pub fn journal_failure(error: &genesis_engine::JournalError) -> ExitCode {
    crate::errln!("error: {}", error_chain(error));
    if error.is_refusal() {
        ExitCode::from(exit::BAD_INPUT)
    } else {
        ExitCode::from(exit::STEP_FAILED)
    }
}

pub fn run(args: StateArgs, common: &Common) -> ExitCode {
    let (from, to, force) = match args.command {
        StateCommand::Push(args) => (StateKind::Local, StateKind::Kubernetes, args.force),
        StateCommand::Pull(args) => (StateKind::Kubernetes, StateKind::Local, args.force),
    };
    let options = options(common);
    let open = |kind| {
        options.backend_of(kind).map_err(|error| {
            crate::errln!("error: {}", error_chain(&error));
            ExitCode::from(exit::STEP_FAILED)
        })
    };
    let source = match open(from) {
        Ok(backend) => backend,
        Err(code) => return code,
    };
    let destination = match open(to) {
        Ok(backend) => backend,
        Err(code) => return code,
    };
    let command = match to {
        StateKind::Kubernetes => "genesis state push",
        StateKind::Local => "genesis state pull",
    };
    // Both locks, source first: no run may write either journal while it moves.
    let source_lock = match source.acquire(command) {
        Ok(held) => held,
        Err(error) => return lock_failure(&error),
    };
    let destination_lock = match destination.acquire(command) {
        Ok(held) => held,
        Err(error) => return lock_failure(&error),
    };
    for previous in [&source_lock.taken_over, &destination_lock.taken_over]
        .into_iter()
        .flatten()
    {
        crate::errln!("warning: taking over the lock left by a run that is gone: {previous}");
    }
    let bytes = match source.read_journal() {
        Ok(bytes) => bytes,
        Err(error) => return journal_failure(&error),
    };
    let parsed = match journal::parse(&bytes, std::path::Path::new(&source.describe())) {
        Ok(parsed) => parsed,
        Err(error) => {
            crate::errln!("note: nothing was copied");
            return journal_failure(&error);
        }
    };
    if parsed.is_empty() {
        crate::errln!(
            "error: {} holds no journal: nothing to copy",
            source.describe()
        );
        return ExitCode::from(exit::BAD_INPUT);
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
            crate::errln!("error: {}; use --force to replace it", error_chain(&error));
            return ExitCode::from(exit::STEP_FAILED);
        }
    };
    if !existing.is_empty() && !force {
        crate::errln!(
            "error: {} already holds a journal ({} records); copying would replace it: check with `genesis status --state {to}`, then add --force",
            destination.describe(),
            existing.records()
        );
        return ExitCode::from(exit::BAD_INPUT);
    }
    if let Err(error) = destination.replace_journal(&bytes) {
        crate::errln!("error: {}", error_chain(&error));
        return ExitCode::from(exit::STEP_FAILED);
    }
    crate::errln!(
        "copied {} records ({} bytes) from {} to {}",
        parsed.records(),
        bytes.len(),
        source.describe(),
        destination.describe()
    );
    drop(destination_lock);
    drop(source_lock);
    ExitCode::SUCCESS
}
