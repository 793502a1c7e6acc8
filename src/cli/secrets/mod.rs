//! `genesis secrets encrypt|edit|check`: the age-encrypted secrets file (docs/secrets.md).
//!
//! Values never reach the terminal: `check` prints names and what is wrong with them, `edit`
//! hands the plaintext only to the editor through a private temporary file that is wiped
//! afterwards, and every error names files, lines and public keys only.

mod args;
mod check;
mod edit;
mod encrypt;
mod error;
mod files;
#[cfg(test)]
mod tests;

pub use args::*;
pub use edit::{editor_command, wipe_below};

use crate::cli::common::Common;
use crate::cli::error::{CliError, CliResult};

pub fn run(args: SecretsArgs, common: &Common) -> CliResult {
    let result = match args.command {
        SecretsCommand::Encrypt(args) => encrypt::encrypt(&args, common),
        SecretsCommand::Edit(args) => edit::edit(&args, common),
        SecretsCommand::Check(_) => return check::check(common),
        SecretsCommand::Keygen(args) => encrypt::keygen(&args, common),
    };
    result.map_err(|error| CliError::input(error.to_string()).with_hint(error.help()))
}
