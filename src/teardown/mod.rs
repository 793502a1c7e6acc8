//! Removing what genesis made, outside a run: `genesis up --reinstall NAME` ([`reinstall`])
//! takes one machine out of Harvester, or one VM out of the Platform cluster, so that its
//! branch runs again; `genesis down` ([`down`]) removes the objects each step owns and genesis
//! writes (the one model: [`crate::actions::owned`]) in reverse dependency order and powers
//! the machines off.
//!
//! Every side effect here is preceded by a journal record ([`RecordKind::Teardown`]), written
//! and flushed before the effect; every operation observes first and treats "already gone" as
//! done, so a command cut short and run again finishes. Waits watch the object (kube-runtime);
//! nothing polls.

pub mod down;
pub mod ops;
pub mod reinstall;
#[cfg(test)]
mod tests;

use std::time::Duration;

use genesis_engine::journal::RecordKind;
use genesis_engine::{Journal, JournalError};

/// How long one deletion or power-off may take before genesis gives up and says so.
pub const WAIT_LIMIT: Duration = Duration::from_secs(300);

/// Why removing something failed.
#[derive(Debug, thiserror::Error)]
pub enum TeardownError {
    #[error("could not journal `{what}` before doing it")]
    Journal {
        what: String,
        #[source]
        source: JournalError,
    },
    #[error("{what}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot reach the {cluster} cluster: {message}")]
    Unreachable { cluster: String, message: String },
    #[error("{what} did not finish within {limit:?}; look at the object and run the command again")]
    Timeout { what: String, limit: Duration },
    #[error("{what} failed: {message}")]
    Failed { what: String, message: String },
}

/// Journals "about to do `what` for `target`", durably, before the effect.
pub fn intend(journal: &mut Journal, target: &str, what: &str) -> Result<(), TeardownError> {
    crate::errln!("{target}: {what}");
    journal
        .append(RecordKind::Teardown {
            target: target.to_owned(),
            what: what.to_owned(),
        })
        .map_err(|source| TeardownError::Journal {
            what: what.to_owned(),
            source,
        })
}
