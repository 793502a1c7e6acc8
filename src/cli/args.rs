//! The command line's definition: the top-level parser, its subcommands, and the arguments of
//! the two commands that print the definition itself (`man`, `completions`): their code reads
//! the whole definition, so their arguments live here rather than the definition reading them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use super::common::Common;
use super::{diagnose, down, graph, plan, reset, secrets, state, status, unlock, up, validate};

#[derive(Debug, Parser)]
#[command(
    name = "genesis",
    version,
    about = "Bootstrap a bare-metal lab: Tinkerbell PXE-boots Harvester, Argo CD registers it, and two VMs make the Platform cluster HA",
    long_about = None,
    after_help = "Exit codes: 0 done, 1 a step failed, 2 bad input or usage, 3 lock held, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the lab, phase and secrets files offline; exit 2 naming file, line and field.
    Validate(validate::ValidateArgs),
    /// Show what `genesis up` would do, step by step, without changing anything.
    Plan(plan::PlanArgs),
    /// Print the step DAG as Graphviz dot or Mermaid.
    Graph(graph::GraphArgs),
    /// Run the phases to completion, continuing from the journal.
    Up(up::UpArgs),
    /// Delete what genesis made (reverse order, only objects with its label) and power the
    /// machines off; `up` makes it all again.
    Down(down::DownArgs),
    /// Show the journal as a table: what is done, failed, pending or changed.
    Status(status::StatusArgs),
    /// Forget steps in the journal so that the next `genesis up` runs them again.
    Reset(reset::ResetArgs),
    /// Release the lock of a run that is gone (for a holder on another host).
    Unlock(unlock::UnlockArgs),
    /// The secrets file: encrypt it with age, edit the encrypted file, check every reference.
    Secrets(secrets::SecretsArgs),
    /// Collect a bundle for a failed run: journal, logs, status, objects of both clusters and
    /// the first Harvester node's service logs, secrets scrubbed (see docs/diagnose.md).
    Diagnose(diagnose::DiagnoseArgs),
    /// Move the journal between the state directory and the Platform cluster (push|pull).
    State(state::StateArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (or write one per command with --out-dir, or the Markdown reference).
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (genesis.1, genesis-up.1, …) into DIR instead of printing
    /// genesis.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Print the Markdown command reference (docs/reference/cli.md) instead.
    #[arg(long, conflicts_with = "out_dir")]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}
