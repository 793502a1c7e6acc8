//! `genesis completions SHELL`: a completion script for the shell, generated from the clap
//! definitions (clap_complete), printed on stdout. The scripts are also checked in under
//! `docs/reference/completions/` (see docs/reference/README.md); a test regenerates them.

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::{Generator, Shell};

use super::{Cli, exit};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

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

pub fn run(args: CompletionsArgs) -> ExitCode {
    // A closed pipe (`genesis completions bash | head`) ends quietly (see ui::term).
    crate::ui::term::write_out(&script(args.shell), false);
    ExitCode::from(exit::OK)
}
