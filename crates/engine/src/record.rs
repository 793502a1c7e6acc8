//! The journal's records and their clock: what one line of the journal says, and when.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::events::SkipReason;
use crate::fingerprint::Fingerprint;
use crate::report::RunOutcome;
use crate::step::{ErrorClass, Outputs, StepId};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Milliseconds since the Unix epoch.
    pub at: u64,
    #[serde(flatten)]
    pub kind: RecordKind,
}

/// What a journal line records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum RecordKind {
    RunStarted {
        run: String,
        host: String,
        pid: u32,
        version: String,
        steps: usize,
    },
    /// About to run attempt `attempt` of a step with these inputs.
    StepAttempt {
        step: StepId,
        attempt: u32,
        fingerprint: Fingerprint,
        outcome_unknown: bool,
    },
    /// An action announced a side effect it is about to cause.
    StepIntent {
        step: StepId,
        attempt: u32,
        what: String,
    },
    StepRetrying {
        step: StepId,
        attempt: u32,
        error: String,
        delay_ms: u64,
    },
    StepSucceeded {
        step: StepId,
        attempts: u32,
        fingerprint: Fingerprint,
        duration_ms: u64,
        outputs: Outputs,
        /// One tag per secret the step used ([`crate::fingerprint::secret_tags`]), to tell
        /// which one changed; absent for steps without secrets and in older journals.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        secrets: std::collections::BTreeMap<String, Fingerprint>,
    },
    StepFailed {
        step: StepId,
        attempts: u32,
        error: String,
        class: ErrorClass,
        duration_ms: u64,
    },
    StepInterrupted {
        step: StepId,
        attempt: u32,
    },
    StepSkipped {
        step: StepId,
        reason: SkipReason,
    },
    UndoRan {
        step: StepId,
        what: String,
        error: Option<String>,
    },
    /// `genesis reset`: forget everything known about the step.
    StepReset {
        step: StepId,
    },
    /// A command outside a run (`up --reinstall`, `down`) is about to remove something genesis
    /// made, or power a machine off: written before the effect, so that a command cut short
    /// and run again knows what it had begun. `target` is the machine, VM or step it is for.
    Teardown {
        target: String,
        what: String,
    },
    RunInterrupted {
        run: String,
    },
    RunFinished {
        run: String,
        outcome: RunOutcome,
    },
}
