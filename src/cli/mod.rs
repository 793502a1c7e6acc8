//! The command line: clap definitions ([`args`]), the options every command shares
//! ([`common`]), the one error type ([`error`]) and dispatch. Each subcommand lives in its own
//! file and returns a [`CliResult`].

pub mod args;
pub mod candidates;
pub mod common;
pub mod completions;
pub mod confirm;
pub mod describe;
pub mod diagnose;
pub mod down;
pub mod error;
pub mod examples;
pub mod graph;
pub mod health;
pub mod man;
pub mod plan;
pub mod rehearse;
pub mod reset;
pub mod secrets;
pub mod select;
pub mod state;
pub mod status;
pub mod unlock;
pub mod up;
pub mod validate;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, CompletionsArgs, ManArgs};
pub use common::{ColorChoice, Common};
pub use error::{CliError, CliResult, exit};

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    // `COMPLETE=SHELL genesis …`: answer the shell's completion request and exit.
    completions::complete_from_env();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args, &cli.common),
        Command::Plan(args) => plan::run(args, &cli.common),
        Command::Graph(args) => graph::run(args, &cli.common),
        Command::Up(args) => up::run(args, &cli.common),
        Command::Rehearse(args) => rehearse::run(args, &cli.common),
        Command::Down(args) => down::run(args, &cli.common),
        Command::Status(args) => status::run(args, &cli.common),
        Command::Reset(args) => reset::run(args, &cli.common),
        Command::Unlock(args) => unlock::run(args, &cli.common),
        Command::Secrets(args) => secrets::run(args, &cli.common),
        Command::Diagnose(args) => diagnose::run(args, &cli.common),
        Command::State(args) => state::run(args, &cli.common),
        Command::Health(args) => health::run(args, &cli.common),
        Command::Describe(args) => describe::run(args, &cli.common),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(),
    }
}
