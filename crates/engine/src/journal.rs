//! The journal: append-only NDJSON records under the state directory.
//!
//! Each record is written and fsynced before the side effect it announces (the scheduler groups
//! the records of one scheduling round into one write and one fsync). A crash can tear only the
//! last line; loading ignores a torn last line, and opening for append cuts it off first, so
//! the next record starts on a fresh line. A damaged line *before* the last one is real
//! corruption and is reported, never silently skipped.
//!
//! Where the bytes live is a [`JournalStore`]: the state directory's file by default.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;

use crate::events::SkipReason;
use crate::fingerprint::{self, Fingerprint};
use crate::graph::Graph;
use crate::redact::Scrubber;
use crate::report::RunOutcome;
use crate::step::{Outputs, StepId, StepSpec};

mod secrets;
pub use secrets::changed_secrets_text;

pub use crate::record::{Record, RecordKind, now_ms};

/// The journal's file name inside the state directory.
pub const FILE_NAME: &str = "journal.ndjson";

#[derive(Debug, Error)]
pub enum JournalError {
    #[error("could not prepare the state directory {path}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not read the journal {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write the journal {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the journal {path} is damaged at line {line}, before its last record")]
    Corrupt {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    /// A complete record of a kind this version does not know: a newer genesis wrote it.
    /// Cutting it off would lose what that version recorded, so nothing is changed.
    #[error(
        "the journal {path} was written by a newer genesis: line {line} is a complete `{kind}` record, which this version ({version}) does not know; nothing was changed. Run a genesis at least as new as the one that wrote it"
    )]
    Newer {
        path: PathBuf,
        line: usize,
        kind: String,
        version: &'static str,
    },
    #[error("could not encode a journal record")]
    Encode(#[source] serde_json::Error),
    /// A backend other than the state directory failed (see [`crate::storage`]).
    #[error("could not use the journal in {location}")]
    Store {
        location: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl JournalError {
    /// The journal or state directory was refused (a link, another user's, not a regular
    /// file, too large) or was written by a newer genesis: exit 2, the operator must act.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::StateDir { source, .. }
            | Self::Read { source, .. }
            | Self::Write { source, .. } => crate::state_dir::unsafe_reason(source).is_some(),
            Self::Newer { .. } => true,
            Self::Corrupt { .. } | Self::Encode(_) | Self::Store { .. } => false,
        }
    }
}

/// The record kinds this version writes and reads (the `record` tag of each line).
pub const KNOWN_KINDS: &[&str] = &[
    "run_started",
    "step_attempt",
    "step_intent",
    "step_retrying",
    "step_succeeded",
    "step_failed",
    "step_interrupted",
    "step_skipped",
    "undo_ran",
    "step_reset",
    "teardown",
    "run_interrupted",
    "run_finished",
];

/// The last thing the journal says about a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Journaled {
    /// An attempt was announced and nothing after it: the outcome is unknown.
    Started,
    Succeeded,
    Failed,
    /// The operator interrupted it while it ran: the outcome is unknown.
    Interrupted,
    Skipped,
}

/// What the journal knows about one step.
#[derive(Clone, Debug)]
pub struct StepRecord {
    pub state: Journaled,
    /// Attempts in the last run that touched the step.
    pub attempts: u32,
    /// Fingerprint of the inputs of the last success.
    pub fingerprint: Option<Fingerprint>,
    /// Outputs of the last success.
    pub outputs: Arc<Outputs>,
    /// The secret tags of the last success, by secret name.
    pub secrets: BTreeMap<String, Fingerprint>,
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
    pub skip_reason: Option<SkipReason>,
    /// The last side effect the step announced in its last attempt.
    pub last_intent: Option<String>,
    pub updated_at: u64,
}

/// The state of a step as planning sees it: journal compared with the current inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    /// Never ran, was reset, or was skipped.
    Pending,
    /// Finished with the same inputs.
    Done,
    Failed,
    /// Finished, but with other inputs (`upstream: Some(id)` when an upstream step's changed).
    ChangedInputs {
        upstream: Option<StepId>,
    },
    /// Announced but never recorded as finished: its action observes the world first.
    OutcomeUnknown,
}

impl StepState {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::ChangedInputs { .. } => "changed inputs",
            Self::OutcomeUnknown => "outcome unknown",
        }
    }
}

impl std::fmt::Display for StepState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ChangedInputs {
                upstream: Some(step),
            } => write!(f, "changed inputs (upstream `{step}`)"),
            other => f.write_str(other.label()),
        }
    }
}

/// The last known run, for `genesis status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunInfo {
    pub run: String,
    pub host: String,
    pub pid: u32,
    pub started_at: u64,
    /// `None` while the run has not recorded an end (running, or killed).
    pub outcome: Option<RunOutcome>,
    pub ended_at: Option<u64>,
}

/// Everything the journal says, folded per step.
#[derive(Clone, Debug, Default)]
pub struct JournalState {
    steps: HashMap<StepId, StepRecord>,
    /// Journaled steps in order of first appearance.
    order: Vec<StepId>,
    last_run: Option<RunInfo>,
    records: usize,
    torn_tail: bool,
    /// Byte length of the complete records (what an append keeps).
    valid_len: u64,
    /// The last complete record lacks its newline.
    unterminated: bool,
}

impl JournalState {
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Number of complete records.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Whether a torn last line was found (and ignored).
    pub fn torn_tail(&self) -> bool {
        self.torn_tail
    }

    pub fn last_run(&self) -> Option<&RunInfo> {
        self.last_run.as_ref()
    }

    pub fn step(&self, id: &StepId) -> Option<&StepRecord> {
        self.steps.get(id)
    }

    /// Journaled steps in order of first appearance.
    pub fn steps(&self) -> impl Iterator<Item = (&StepId, &StepRecord)> {
        self.order
            .iter()
            .filter_map(|id| self.steps.get(id).map(|record| (id, record)))
    }

    /// The state of one step by itself (fingerprint comparison, no upstream propagation).
    pub fn status_of(&self, step: &StepSpec) -> StepState {
        match self.steps.get(&step.id) {
            None => StepState::Pending,
            Some(record) => match record.state {
                Journaled::Skipped => StepState::Pending,
                Journaled::Failed => StepState::Failed,
                Journaled::Started | Journaled::Interrupted => StepState::OutcomeUnknown,
                Journaled::Succeeded => {
                    if record.fingerprint.as_ref() == Some(&fingerprint::of(step)) {
                        StepState::Done
                    } else {
                        StepState::ChangedInputs { upstream: None }
                    }
                }
            },
        }
    }

    /// The state of every step of `graph` (indexed by position), with changed inputs carried
    /// downstream: a done step below a step whose inputs changed is planned again.
    pub fn states(&self, graph: &Graph) -> Vec<StepState> {
        let mut states: Vec<StepState> = graph
            .steps()
            .iter()
            .map(|step| self.status_of(step))
            .collect();
        // The first changed step that taints each position, if any.
        let mut taint: Vec<Option<usize>> = vec![None; graph.len()];
        let mut phase_taint: Option<usize> = None;
        let mut current_phase = None;
        let mut taint_in_phase: Option<usize> = None;
        for &position in graph.order() {
            let phase = graph.step(position).phase;
            if current_phase != Some(phase) {
                // Entering a later phase: anything tainted before taints all of it.
                if phase_taint.is_none() {
                    phase_taint = taint_in_phase;
                }
                current_phase = Some(phase);
                taint_in_phase = None;
            }
            let mut source = phase_taint;
            if source.is_none() {
                source = graph.needs_of(position).find_map(|need| taint[need]);
            }
            if matches!(
                states[position],
                StepState::ChangedInputs { upstream: None }
            ) {
                taint[position] = Some(position);
            } else if let Some(origin) = source {
                taint[position] = Some(origin);
                if states[position] == StepState::Done {
                    states[position] = StepState::ChangedInputs {
                        upstream: Some(graph.step(origin).id.clone()),
                    };
                }
            }
            if taint_in_phase.is_none() {
                taint_in_phase = taint[position];
            }
        }
        states
    }

    fn apply(&mut self, record: Record) {
        self.records += 1;
        let at = record.at;
        match record.kind {
            RecordKind::RunStarted { run, host, pid, .. } => {
                self.last_run = Some(RunInfo {
                    run,
                    host,
                    pid,
                    started_at: at,
                    outcome: None,
                    ended_at: None,
                });
            }
            RecordKind::RunInterrupted { .. } => {
                if let Some(run) = &mut self.last_run {
                    run.outcome = Some(RunOutcome::Interrupted);
                    run.ended_at = Some(at);
                }
            }
            RecordKind::RunFinished { outcome, .. } => {
                if let Some(run) = &mut self.last_run {
                    run.outcome = Some(outcome);
                    run.ended_at = Some(at);
                }
            }
            RecordKind::StepAttempt { step, attempt, .. } => {
                let entry = self.entry(step, at);
                entry.state = Journaled::Started;
                entry.attempts = attempt;
                entry.error = None;
                entry.skip_reason = None;
                entry.last_intent = None;
            }
            RecordKind::StepIntent { step, what, .. } => {
                self.entry(step, at).last_intent = Some(what);
            }
            RecordKind::StepRetrying { step, error, .. } => {
                self.entry(step, at).error = Some(error);
            }
            RecordKind::StepSucceeded {
                step,
                attempts,
                fingerprint,
                duration_ms,
                outputs,
                secrets,
            } => {
                let entry = self.entry(step, at);
                entry.state = Journaled::Succeeded;
                entry.attempts = attempts;
                entry.fingerprint = Some(fingerprint);
                entry.outputs = Arc::new(outputs);
                entry.secrets = secrets;
                entry.duration_ms = Some(duration_ms);
                entry.error = None;
            }
            RecordKind::StepFailed {
                step,
                attempts,
                error,
                duration_ms,
                ..
            } => {
                let entry = self.entry(step, at);
                entry.state = Journaled::Failed;
                entry.attempts = attempts;
                entry.error = Some(error);
                entry.duration_ms = Some(duration_ms);
            }
            RecordKind::StepInterrupted { step, .. } => {
                self.entry(step, at).state = Journaled::Interrupted;
            }
            RecordKind::StepSkipped { step, reason } => {
                let entry = self.entry(step, at);
                // A skip in a later run never hides an earlier success.
                if entry.state != Journaled::Succeeded {
                    entry.state = Journaled::Skipped;
                    entry.skip_reason = Some(reason);
                }
            }
            RecordKind::UndoRan { .. } | RecordKind::Teardown { .. } => {}
            RecordKind::StepReset { step } => {
                self.steps.remove(&step);
                self.order.retain(|id| *id != step);
            }
        }
    }

    fn entry(&mut self, step: StepId, at: u64) -> &mut StepRecord {
        let order = &mut self.order;
        let entry = self.steps.entry(step).or_insert_with_key(|id| {
            order.push(id.clone());
            StepRecord {
                state: Journaled::Skipped,
                attempts: 0,
                fingerprint: None,
                outputs: Arc::new(Outputs::new()),
                secrets: BTreeMap::new(),
                error: None,
                duration_ms: None,
                skip_reason: None,
                last_intent: None,
                updated_at: at,
            }
        });
        entry.updated_at = at;
        entry
    }
}

/// Parses journal bytes. A torn last line (one without its newline that is not a complete
/// record) is ignored; damage before it is an error, and so is a complete record of a kind this
/// version does not know ([`JournalError::Newer`]), wherever it is.
pub fn parse(bytes: &[u8], path: &Path) -> Result<JournalState, JournalError> {
    let mut state = JournalState::default();
    let mut offset = 0usize;
    let mut line_number = 0usize;
    while offset < bytes.len() {
        line_number += 1;
        let rest = &bytes[offset..];
        let (line, terminated) = match memchr_newline(rest) {
            Some(end) => (&rest[..end], true),
            None => (rest, false),
        };
        let next = offset + line.len() + usize::from(terminated);
        if line.iter().all(u8::is_ascii_whitespace) {
            if terminated {
                state.valid_len = next as u64;
            }
            offset = next;
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(record) => {
                state.apply(record);
                state.valid_len = next as u64;
                state.unterminated = !terminated;
            }
            Err(source) => {
                // A whole JSON object is a complete record, never a torn one.
                if let Ok(serde_json::Value::Object(object)) =
                    serde_json::from_slice::<serde_json::Value>(line)
                {
                    let kind = object.get("record").and_then(serde_json::Value::as_str);
                    if let Some(kind) = kind
                        && !KNOWN_KINDS.contains(&kind)
                    {
                        return Err(JournalError::Newer {
                            path: path.to_owned(),
                            line: line_number,
                            kind: kind.chars().take(64).collect(),
                            version: env!("CARGO_PKG_VERSION"),
                        });
                    }
                    return Err(JournalError::Corrupt {
                        path: path.to_owned(),
                        line: line_number,
                        source,
                    });
                }
                if !terminated {
                    state.torn_tail = true;
                    break;
                }
                return Err(JournalError::Corrupt {
                    path: path.to_owned(),
                    line: line_number,
                    source,
                });
            }
        }
        offset = next;
    }
    Ok(state)
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&byte| byte == b'\n')
}

/// Reads the journal of `state_dir` without changing anything (for `plan` and `status`).
/// A missing state directory or journal is an empty journal.
pub fn load(state_dir: &Path) -> Result<JournalState, JournalError> {
    let path = state_dir.join(FILE_NAME);
    match read_file(state_dir)? {
        Some(bytes) => parse(&bytes, &path),
        None => Ok(JournalState::default()),
    }
}

/// The journal file's bytes, read with the state directory's checks (this user's directory, no
/// link, a regular file, size-capped); `None` when there is none.
pub fn read_file(state_dir: &Path) -> Result<Option<Vec<u8>>, JournalError> {
    let path = state_dir.join(FILE_NAME);
    match crate::state_dir::check_dir(state_dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(JournalError::Read { path, source }),
    }
    crate::state_dir::read_existing(&path).map_err(|source| JournalError::Read { path, source })
}

/// The durable bytes of one journal: an append-only byte stream of NDJSON records.
pub trait JournalStore: Send + std::fmt::Debug {
    /// Where the journal lives, for messages (a path, or a namespace and object names).
    fn location(&self) -> String;
    /// Everything stored so far, possibly ending in a torn record.
    fn read_all(&mut self) -> Result<Vec<u8>, JournalError>;
    /// Drops every byte after the first `len` (cuts a torn tail before appending).
    fn truncate(&mut self, len: u64) -> Result<(), JournalError>;
    /// Appends `bytes` (whole records) and returns only once they are durable.
    fn append(&mut self, bytes: &[u8]) -> Result<(), JournalError>;
}

/// The journal open for appending. Only one run holds it (see the lock).
#[derive(Debug)]
pub struct Journal {
    store: Box<dyn JournalStore>,
    location: PathBuf,
    buffer: Vec<u8>,
    scrubber: Arc<Scrubber>,
}

impl Journal {
    /// Opens the journal kept by `store` (see [`crate::storage`]): reads it, cuts a torn last
    /// record and ends the last complete one with its newline, so that the next record starts
    /// on its own line.
    pub fn open_store(
        mut store: Box<dyn JournalStore>,
        scrubber: Arc<Scrubber>,
    ) -> Result<(Self, JournalState), JournalError> {
        let location = PathBuf::from(store.location());
        let bytes = store.read_all()?;
        let state = parse(&bytes, &location)?;
        if state.valid_len < bytes.len() as u64 {
            store.truncate(state.valid_len)?;
        }
        if state.unterminated {
            store.append(b"\n")?;
        }
        Ok((
            Self {
                store,
                location,
                buffer: Vec::with_capacity(64 * 1024),
                scrubber,
            },
            state,
        ))
    }

    /// Where the journal lives (a path, or a description of a remote store).
    pub fn path(&self) -> &Path {
        &self.location
    }

    /// Adds a record to the pending batch; nothing is durable before [`Journal::commit`].
    pub fn push(&mut self, kind: RecordKind) -> Result<(), JournalError> {
        let record = Record { at: now_ms(), kind };
        let line = serde_json::to_string(&record).map_err(JournalError::Encode)?;
        let line = self.scrubber.scrub(&line);
        self.buffer.extend_from_slice(line.as_bytes());
        self.buffer.push(b'\n');
        Ok(())
    }

    pub fn has_pending(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Writes the pending batch and fsyncs it.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self.store.append(&self.buffer);
        self.buffer.clear();
        result
    }

    /// Pushes one record and commits it.
    pub fn append(&mut self, kind: RecordKind) -> Result<(), JournalError> {
        self.push(kind)?;
        self.commit()
    }
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
