//! `genesis completions SHELL`: a completion script for the shell, generated from the clap
//! definitions (clap_complete), printed on stdout. The scripts are also checked in under
//! `docs/reference/completions/` (see docs/reference/README.md); a test regenerates them.

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
