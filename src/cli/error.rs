//! The command line's one error: what to say and the exit code that goes with it.
//!
//! Every command returns [`CliResult`]; [`super::main`] prints the error (once, in one format)
//! and exits with its code. A command that has already shown what went wrong (the inputs'
//! diagnostics, a failed run's report) returns [`CliError::reported`] with the code alone.

use std::process::ExitCode;

use genesis_engine::JournalError;
use genesis_engine::lock::LockError;

use crate::errors::error_chain;

/// Documented exit codes.
pub mod exit {
    pub const OK: u8 = 0;
    pub const STEP_FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const LOCK_HELD: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
}

/// What a command returns.
pub type CliResult = Result<(), CliError>;

/// Why a command did not succeed, and its exit code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    /// `error: …`; `None` when the command has already said it.
    message: Option<String>,
    /// Lines after the message (`note: …`, `hint: …`).
    after: Vec<String>,
}

impl CliError {
    /// An error with this exit code and message.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: Some(message.into()),
            after: Vec::new(),
        }
    }

    /// Bad input or usage (exit 2): the operator must change something; nothing was written.
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(exit::BAD_INPUT, message)
    }

    /// Something failed on the way (exit 1).
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(exit::STEP_FAILED, message)
    }

    /// `error` and its causes (exit 1).
    pub fn from_error(error: &dyn std::error::Error) -> Self {
        Self::failed(error_chain(error))
    }

    /// The command has already shown what went wrong; exit with `code`, saying nothing more.
    pub fn reported(code: u8) -> Self {
        Self {
            code,
            message: None,
            after: Vec::new(),
        }
    }

    /// Adds a `hint:` line: what the operator can do next.
    #[must_use]
    pub fn with_hint(mut self, hint: impl AsRef<str>) -> Self {
        self.after.push(format!("hint: {}", hint.as_ref()));
        self
    }

    /// Adds a `note:` line: a fact about what happened (or did not).
    #[must_use]
    pub fn with_note(mut self, note: impl AsRef<str>) -> Self {
        self.after.push(format!("note: {}", note.as_ref()));
        self
    }

    /// The lock could not be taken: exit 3 when another run holds it (naming it), exit 2 when
    /// the lock file or state directory is refused (a link, another user's), else exit 1.
    pub fn lock(error: &LockError) -> Self {
        if error.is_held() {
            Self::new(exit::LOCK_HELD, error.to_string())
        } else if error.refusal().is_some() {
            Self::input(error_chain(error))
        } else {
            Self::from_error(error)
        }
    }

    /// The journal could not be used: exit 2 when the operator must act (a state file refused
    /// as a link, another user's, not a regular file, too large, or a journal written by a
    /// newer genesis), else 1.
    pub fn journal(error: &JournalError) -> Self {
        if error.is_refusal() {
            Self::input(error_chain(error))
        } else {
            Self::from_error(error)
        }
    }

    /// The exit code.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The message, when the command has not said it already.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Prints the error and the lines after it on stderr; returns the exit code.
    pub fn report(&self) -> ExitCode {
        if let Some(message) = &self.message {
            crate::errln!("error: {message}");
        }
        for line in &self.after {
            crate::errln!("{line}");
        }
        ExitCode::from(self.code)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(message) => f.write_str(message),
            None => write!(f, "exit {}", self.code),
        }
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reported_error_keeps_its_code_and_says_nothing() {
        let error = CliError::reported(exit::INTERRUPTED);
        assert_eq!(error.code(), exit::INTERRUPTED);
        assert_eq!(error.message(), None);
    }

    #[test]
    fn input_errors_exit_2_and_failures_exit_1() {
        assert_eq!(CliError::input("bad").code(), exit::BAD_INPUT);
        assert_eq!(CliError::failed("broke").code(), exit::STEP_FAILED);
        let io = std::io::Error::other("disk full");
        assert_eq!(CliError::from_error(&io).message(), Some("disk full"));
    }
}
