//! What a step kind does: one trait with a read-only `plan` half and an idempotent `run` half.
//!
//! Actions decide *what* failed ([`ErrorKind`]); whether that is worth retrying is decided in
//! one place, [`ErrorKind::class`], and how often and how patiently is the step's retry policy,
//! applied by the scheduler. Actions never sleep-and-retry on their own.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::events::{Event, EventSender, Stream};
use crate::record::RecordKind;
pub use crate::step::{ErrorClass, Outputs};
use crate::step::{StepId, StepSpec};

/// A boxed, sendable future: what the object-safe [`Action`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What [`Action::plan`] returns.
pub type Planned<'a> = BoxFuture<'a, Result<PlanOutcome, ActionError>>;
/// What [`Action::run`] returns.
pub type Ran<'a> = BoxFuture<'a, Result<Outputs, ActionError>>;
/// What [`Action::verify`] returns.
pub type Checked<'a> = BoxFuture<'a, Result<Verified, ActionError>>;

/// A built-in step kind.
///
/// `plan` only observes and says what `run` would do. `run` does it idempotently: repeating a
/// run that was cut short (see [`RunContext::outcome_unknown`]) must find what the first one
/// made instead of making it twice.
pub trait Action: Send + Sync + 'static {
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a>;

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a>;

    /// A cheap check that a finished step still holds (`genesis up --verify`, and every run
    /// for kinds that say so in [`Action::verify_every_run`]).
    fn verify<'a>(&'a self, _step: &'a StepSpec, _context: &'a PlanContext) -> Checked<'a> {
        Box::pin(async { Ok(Verified::NotSupported) })
    }

    /// Whether every run verifies this kind's done steps, not only `--verify`: for results
    /// that go stale while no input changes (credentials that are rotated or expire). The check
    /// must be cheap. A drift runs the step again, and what needs it; a check that fails leaves
    /// the step done and says so ([`crate::Event::StepUnverified`]).
    fn verify_every_run(&self) -> bool {
        false
    }
}

/// What `run` would do, as honest as the action can be without changing anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PlanOutcome {
    WillChange {
        summary: String,
        diff: Option<String>,
    },
    NoChange {
        summary: String,
    },
    /// The answer depends on what an earlier step discovers.
    DependsOnEarlier {
        what: String,
    },
    CannotPreview {
        why: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verified", rename_all = "snake_case")]
pub enum Verified {
    Holds,
    Drifted { what: String },
    NotSupported,
}

/// What failed, as the action saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The step's parameters cannot work (missing field, wrong type).
    InvalidParams,
    /// This version of genesis has no action for the step's kind.
    UnsupportedKind,
    /// Something the step needs does not exist (a program, a file).
    NotFound,
    PermissionDenied,
    /// A remote endpoint did not answer or dropped the connection.
    Unreachable,
    /// A command ran and ended with an exit code that is not a success.
    CommandFailed,
    /// The world is in a state the step will not override (an object owned by someone else).
    Conflict,
    /// A local input/output error.
    Io,
    /// A step or wait deadline passed.
    Timeout,
    /// The run was cancelled.
    Cancelled,
}

impl ErrorKind {
    /// The one place that decides what is retried.
    pub fn class(self) -> ErrorClass {
        match self {
            Self::Unreachable | Self::CommandFailed | Self::Io => ErrorClass::Transient,
            Self::InvalidParams
            | Self::UnsupportedKind
            | Self::NotFound
            | Self::PermissionDenied
            | Self::Conflict
            | Self::Timeout
            | Self::Cancelled => ErrorClass::Permanent,
        }
    }
}

/// A failure of an action, with what failed and the underlying cause.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct ActionError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// What to do, said after the cause.
    hint: Option<String>,
}

impl ActionError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
            hint: None,
        }
    }

    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
            hint: None,
        }
    }

    /// Adds what to do, which the full message says after the cause.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn class(&self) -> ErrorClass {
        self.kind.class()
    }

    /// The message followed by its chain of causes, for the journal and the report.
    pub fn full_message(&self) -> String {
        let cause = self
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static));
        let text = chain_after(self.message.clone(), cause);
        match &self.hint {
            Some(hint) => format!("{text}; {hint}"),
            None => text,
        }
    }
}

/// An error and its chain of causes in one line, `error: cause: cause`. A cause whose text was
/// already said (layers that repeat their cause in their own message, or two layers with the
/// same message, as hyper's `client error (Connect)` twice) is not said again.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    chain_after(error.to_string(), error.source())
}

fn chain_after(mut text: String, mut cause: Option<&(dyn std::error::Error + 'static)>) -> String {
    while let Some(error) = cause {
        let said = error.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = error.source();
    }
    text
}

/// What a plan half may look at.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// Outputs of the needed steps that finished in an earlier run.
    pub needs: BTreeMap<StepId, Arc<Outputs>>,
    /// An earlier run announced this step but never recorded how it ended.
    pub outcome_unknown: bool,
    pub cancel: CancellationToken,
}

/// A request from a running step to the journal writer.
#[derive(Debug)]
pub(crate) struct JournalRequest {
    pub record: RecordKind,
    /// Answered once the record is on disk; `None` when the caller need not wait.
    pub ack: Option<oneshot::Sender<Result<(), String>>>,
}

/// How to undo a temporary change, registered by a step while it runs.
pub(crate) struct Undo {
    pub what: String,
    pub undo: Box<dyn FnOnce() -> BoxFuture<'static, Result<(), ActionError>> + Send>,
}

/// How far ahead a deadline too large to represent is put: thirty years, the horizon tokio
/// itself treats as "never". A `--timeout 18446744073709551615s` therefore means no deadline.
pub const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `now + after`, saturated to [`FAR_FUTURE`] from now: a duration too large for the clock
/// (an `Instant` overflow would panic) means no deadline. Every deadline is computed here.
pub fn deadline_after(after: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(after.min(FAR_FUTURE))
        .unwrap_or_else(|| now + Duration::from_secs(24 * 3600))
}

/// The deadline a step runs under, and who set it.
#[derive(Clone, Debug)]
pub struct Deadline {
    pub at: Instant,
    /// Human description of who owns the deadline, e.g. "step `a` (timeout 10m)".
    pub owner: String,
}

/// What a running step gets from the engine.
pub struct RunContext {
    pub(crate) step: StepId,
    pub(crate) attempt: u32,
    pub(crate) outcome_unknown: bool,
    pub(crate) needs: BTreeMap<StepId, Arc<Outputs>>,
    pub(crate) deadline: Deadline,
    pub(crate) cancel: CancellationToken,
    pub(crate) events: EventSender,
    pub(crate) substate: Arc<Mutex<String>>,
    pub(crate) undo: Arc<Mutex<Vec<Undo>>>,
    pub(crate) journal: mpsc::UnboundedSender<JournalRequest>,
}

impl RunContext {
    pub fn step(&self) -> &StepId {
        &self.step
    }

    /// 1 for the first attempt of this run.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// An earlier attempt (in this run or an earlier one) announced itself but its outcome was
    /// not recorded: observe the world first and continue from what is there.
    pub fn outcome_unknown(&self) -> bool {
        self.outcome_unknown
    }

    /// Outputs of the steps this one needs, replayed from the journal on resume.
    pub fn needs(&self) -> &BTreeMap<StepId, Arc<Outputs>> {
        &self.needs
    }

    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    /// Cancelled when the operator interrupts the run; long waits should select on it.
    pub fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Shows what the step is doing now, e.g. "workflow action 3/5 stream-image".
    pub fn set_substate(&self, substate: impl Into<String>) {
        let substate = substate.into();
        if let Ok(mut current) = self.substate.lock() {
            current.clone_from(&substate);
        }
        self.events.emit(Event::StepProgress {
            step: self.step.clone(),
            substate,
        });
    }

    /// Records a line of output in the run log (not on the terminal).
    pub fn output(&self, stream: Stream, line: impl Into<String>) {
        self.events.emit(Event::StepOutput {
            step: self.step.clone(),
            stream,
            line: line.into(),
        });
    }

    /// Journals "about to do `what`" and returns once it is on disk: call it before each side
    /// effect that a resume must know about.
    pub async fn intent(&self, what: impl Into<String>) -> Result<(), ActionError> {
        let (ack, answer) = oneshot::channel();
        let record = RecordKind::StepIntent {
            step: self.step.clone(),
            attempt: self.attempt,
            what: what.into(),
        };
        self.journal
            .send(JournalRequest {
                record,
                ack: Some(ack),
            })
            .map_err(|_| ActionError::new(ErrorKind::Cancelled, "the run is shutting down"))?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(ActionError::new(
                ErrorKind::Io,
                format!("the journal could not record the intent: {message}"),
            )),
            Err(_) => Err(ActionError::new(
                ErrorKind::Cancelled,
                "the run is shutting down",
            )),
        }
    }

    /// Registers how to undo a temporary change; the undo runs if the step fails for good.
    pub fn register_undo<F>(&self, what: impl Into<String>, undo: F)
    where
        F: FnOnce() -> BoxFuture<'static, Result<(), ActionError>> + Send + 'static,
    {
        if let Ok(mut list) = self.undo.lock() {
            list.push(Undo {
                what: what.into(),
                undo: Box::new(undo),
            });
        }
    }

    /// Waits for `future` under a nested deadline: `limit` if given, never past the step's own
    /// deadline. Shows "waiting for `what`" as the sub-state, and an expiry names the step and
    /// the wait that used the time.
    /// `; last seen: …` with the step's last sub-state when the wait set one of its own (what
    /// it observed, e.g. `2/3 nodes Ready`), for a timeout's message; else nothing.
    fn last_seen(&self, what: &str) -> String {
        match self.substate.lock() {
            Ok(substate) if !substate.is_empty() && *substate != format!("waiting for {what}") => {
                format!("; last seen: {substate}")
            }
            _ => String::new(),
        }
    }

    pub async fn wait<T>(
        &self,
        what: &str,
        limit: Option<Duration>,
        future: impl Future<Output = Result<T, ActionError>>,
    ) -> Result<T, ActionError> {
        self.set_substate(format!("waiting for {what}"));
        let outer = self.deadline.at;
        let (at, inner) = match limit {
            Some(limit) => {
                let inner = deadline_after(limit);
                if inner < outer {
                    (inner, Some(limit))
                } else {
                    (outer, None)
                }
            }
            None => (outer, None),
        };
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(ActionError::new(
                ErrorKind::Cancelled,
                format!("cancelled while waiting for {what}"),
            )),
            result = tokio::time::timeout_at(at, future) => match result {
                Ok(result) => result,
                Err(_) => Err(ActionError::new(ErrorKind::Timeout, match inner {
                    Some(limit) => format!(
                        "step `{}`: waiting for {what} took longer than its limit of {}",
                        self.step,
                        humantime::format_duration(limit),
                    ),
                    None => format!(
                        "step `{}`: {} expired while waiting for {what}",
                        self.step, self.deadline.owner,
                    ),
                } + &self.last_seen(what))),
            },
        }
    }
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("step", &self.step)
            .field("attempt", &self.attempt)
            .field("outcome_unknown", &self.outcome_unknown)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Stands in for kinds that have no action in this version: fails at once, permanently.
#[derive(Debug, Default)]
pub struct UnsupportedKind;

impl UnsupportedKind {
    fn error(step: &StepSpec) -> ActionError {
        ActionError::new(
            ErrorKind::UnsupportedKind,
            format!(
                "step kind `{}` cannot run in this version of genesis",
                step.kind
            ),
        )
    }
}

impl Action for UnsupportedKind {
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            Ok(PlanOutcome::CannotPreview {
                why: Self::error(step).to_string(),
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, _context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move { Err(Self::error(step)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_few_kinds_are_retried() {
        assert_eq!(ErrorKind::CommandFailed.class(), ErrorClass::Transient);
        assert_eq!(ErrorKind::Unreachable.class(), ErrorClass::Transient);
        assert_eq!(ErrorKind::UnsupportedKind.class(), ErrorClass::Permanent);
        assert_eq!(ErrorKind::Timeout.class(), ErrorClass::Permanent);
    }

    #[test]
    fn full_message_walks_the_causes() {
        let error = ActionError::with_source(
            ErrorKind::Io,
            "could not start `x`",
            std::io::Error::other("disk on fire"),
        );
        assert_eq!(error.to_string(), "could not start `x`");
        assert_eq!(error.full_message(), "could not start `x`: disk on fire");
        let hinted = error.with_hint("free some space");
        assert_eq!(
            hinted.full_message(),
            "could not start `x`: disk on fire; free some space"
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Layer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Outer(#[source] Layer);

    #[test]
    fn a_cause_already_said_is_not_said_again() {
        let error = ActionError::with_source(
            ErrorKind::Unreachable,
            "the platform API server did not answer",
            Outer(Layer(std::io::Error::other("connection refused"))),
        );
        assert_eq!(
            error.full_message(),
            "the platform API server did not answer: client error (Connect): connection refused"
        );
    }
}
