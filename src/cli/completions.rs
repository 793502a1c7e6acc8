//! Shell completion, two ways.
//!
//! - `genesis completions SHELL`: a static script generated from the clap definitions
//!   (clap_complete), printed on stdout; also checked in under `docs/reference/completions/`
//!   (see docs/reference/README.md), and a test regenerates them. It completes commands and
//!   flags, not step ids.
//! - Dynamic: `source <(COMPLETE=bash genesis)` registers genesis itself as the completer
//!   (clap_complete's `CompleteEnv`). On each TAB the shell runs genesis with `COMPLETE` set;
//!   the selection flags' candidates (src/cli/candidates.rs) then read the lab and phase files
//!   (`--lab`/`--phases` from the command line being completed, else `GENESIS_LAB` and
//!   `GENESIS_PHASES`, else the defaults) and offer the step ids after `--only`, `--from` and
//!   `--skip` and the machine and VM names after `--machine`. The secrets are never read.

use clap::CommandFactory;
use clap_complete::{Generator, Shell};

use super::args::{Cli, CompletionsArgs};
use super::error::CliResult;

/// Every shell clap_complete supports, in a fixed order.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "genesis", &mut out);
    out
}

/// The conventional file name of the script (`genesis.bash`, `_genesis`, `genesis.fish`, …).
pub fn file_name(shell: Shell) -> String {
    shell.file_name("genesis")
}

pub fn run(args: CompletionsArgs) -> CliResult {
    // A closed pipe (`genesis completions bash | head`) ends quietly (see ui::term).
    crate::ui::term::write_out(&script(args.shell), false);
    Ok(())
}

/// Answers a dynamic completion request (`COMPLETE=SHELL genesis …`) and exits; returns at
/// once when `COMPLETE` is not set. Call before anything is written to stdout.
pub fn complete_from_env() {
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
}
