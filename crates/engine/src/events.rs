//! The stream of events a run emits. Renderers (terminal, plain lines, JSON) and the run log
//! consume it; the engine itself never writes to the terminal.
//!
//! Events carry running statistics, so a renderer needs no state of its own to draw an overall
//! bar. Every string in an event has been scrubbed of secret values before it is sent.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::redact::Scrubber;
use crate::report::{Report, RunOutcome, StepResult};
use crate::step::StepId;

/// Counts of steps by state at the moment of an event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub total: usize,
    pub running: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Stats {
    /// Steps that will not change state any more in this run.
    pub fn settled(&self) -> usize {
        self.succeeded + self.failed + self.skipped
    }
}

/// Which stream a captured output line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Why a step did not run, always shown to the operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// Finished in an earlier run with the same inputs.
    DoneEarlier,
    /// Left out by `--skip`, `--only` or `--from`.
    Excluded { by: String },
    /// A step it needs failed in this run.
    DependencyFailed { step: StepId },
    /// A step it needs was skipped in this run.
    DependencySkipped { step: StepId },
    /// A step it needs is excluded from this run and has not finished in an earlier one.
    DependencyNotDone { step: StepId, by: String },
    /// An earlier phase did not finish, so the phase barrier stays closed.
    EarlierPhaseIncomplete { phase: u32, step: StepId },
    /// The run was interrupted before the step could start.
    Interrupted,
    /// The run's deadline passed before the step could start.
    RunDeadline,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DoneEarlier => write!(f, "done in an earlier run"),
            Self::Excluded { by } => write!(f, "excluded by {by}"),
            Self::DependencyFailed { step } => write!(f, "needs `{step}`, which failed"),
            Self::DependencySkipped { step } => write!(f, "needs `{step}`, which was skipped"),
            Self::DependencyNotDone { step, by } => {
                write!(f, "needs `{step}`, which is excluded by {by} and not done")
            }
            Self::EarlierPhaseIncomplete { phase, step } => {
                write!(f, "phase {phase} did not finish (`{step}` did not succeed)")
            }
            Self::Interrupted => write!(f, "the run was interrupted before it started"),
            Self::RunDeadline => write!(f, "the run's deadline passed before it started"),
        }
    }
}

/// One thing that happened during a run.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run: String,
        total: usize,
        parallelism: usize,
        stats: Stats,
    },
    StepStarted {
        step: StepId,
        number: String,
        name: String,
        attempt: u32,
        /// An earlier run announced this step but never recorded how it ended.
        outcome_unknown: bool,
        stats: Stats,
    },
    /// The action's current sub-state, e.g. "waiting for 2/3 nodes Ready".
    StepProgress { step: StepId, substate: String },
    /// A line of captured output, for the run log.
    StepOutput {
        step: StepId,
        stream: Stream,
        line: String,
    },
    StepRetrying {
        step: StepId,
        attempt: u32,
        error: String,
        delay_ms: u64,
    },
    StepFinished {
        step: StepId,
        number: String,
        name: String,
        result: StepResult,
        attempts: u32,
        duration_ms: u64,
        error: Option<String>,
        stats: Stats,
    },
    StepSkipped {
        step: StepId,
        number: String,
        name: String,
        /// The step's phase, so that renderers can say one line per phase.
        phase: u32,
        reason: SkipReason,
        stats: Stats,
    },
    UndoRan {
        step: StepId,
        what: String,
        error: Option<String>,
    },
    /// `--verify` (or a kind verified on every run) found that a done step no longer holds,
    /// or a step it needs runs again: it runs again.
    StepDrifted { step: StepId, what: String },
    /// A kind verified on every run could not check a done step; it stays done.
    StepUnverified { step: StepId, why: String },
    /// The operator asked to stop: no new steps start, running ones are being cancelled.
    RunCancelling { stats: Stats },
    /// The run's lock was lost while it ran (see `storage::LockLoss`): it can no longer write
    /// the journal, so it stops.
    LockLost { reason: String },
    RunFinished {
        run: String,
        outcome: RunOutcome,
        report: Report,
    },
}

/// The sending half of the event stream. Sending never blocks and never fails the run: a
/// renderer that went away must not stop a bootstrap.
#[derive(Clone, Debug)]
pub struct EventSender {
    channel: Option<mpsc::UnboundedSender<Event>>,
    scrubber: Arc<Scrubber>,
}

impl EventSender {
    pub fn new(channel: mpsc::UnboundedSender<Event>, scrubber: Arc<Scrubber>) -> Self {
        Self {
            channel: Some(channel),
            scrubber,
        }
    }

    /// Discards every event (benchmarks, tests).
    pub fn discard() -> Self {
        Self {
            channel: None,
            scrubber: Arc::new(Scrubber::empty()),
        }
    }

    /// A channel pair with the given scrubber.
    pub fn channel(scrubber: Arc<Scrubber>) -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self::new(sender, scrubber), receiver)
    }

    pub fn scrubber(&self) -> &Arc<Scrubber> {
        &self.scrubber
    }

    pub fn emit(&self, mut event: Event) {
        let Some(channel) = &self.channel else {
            return;
        };
        self.scrub(&mut event);
        let _closed = channel.send(event);
    }

    fn scrub(&self, event: &mut Event) {
        let scrubber = &self.scrubber;
        if scrubber.is_empty() {
            return;
        }
        match event {
            Event::StepProgress { substate, .. } => scrubber.scrub_string(substate),
            Event::StepOutput { line, .. } => scrubber.scrub_string(line),
            Event::StepRetrying { error, .. } => scrubber.scrub_string(error),
            Event::StepFinished { error, .. } => {
                if let Some(error) = error {
                    scrubber.scrub_string(error);
                }
            }
            Event::StepDrifted { what, .. } => scrubber.scrub_string(what),
            Event::StepUnverified { why, .. } => scrubber.scrub_string(why),
            Event::LockLost { reason } => scrubber.scrub_string(reason),
            Event::UndoRan { what, error, .. } => {
                scrubber.scrub_string(what);
                if let Some(error) = error {
                    scrubber.scrub_string(error);
                }
            }
            Event::RunFinished { report, .. } => {
                for step in &mut report.steps {
                    if let Some(detail) = &mut step.detail {
                        scrubber.scrub_string(detail);
                    }
                }
            }
            Event::RunStarted { .. }
            | Event::StepStarted { .. }
            | Event::StepSkipped { .. }
            | Event::RunCancelling { .. } => {}
        }
    }
}
