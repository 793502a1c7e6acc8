//! The journal: append-only NDJSON records under the state directory.
//!
//! Each record is written and fsynced before the side effect it announces (the scheduler groups
//! the records of one scheduling round into one write and one fsync). A crash can tear only the
//! last line; loading ignores a torn last line, and opening for append cuts it off first, so
//! the next record starts on a fresh line. A damaged line *before* the last one is real
//! corruption and is reported, never silently skipped.
//!
//! Where the bytes live is a [`JournalStore`]: the state directory's file by default.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::action::{ErrorClass, Outputs};
use crate::events::SkipReason;
use crate::fingerprint::{self, Fingerprint};
use crate::graph::Graph;
use crate::redact::Scrubber;
use crate::report::RunOutcome;
use crate::step::{StepId, StepSpec};
use crate::storage::{FileStore, JournalStore};

/// The journal's file name inside the state directory.
pub const FILE_NAME: &str = "journal.ndjson";

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
    RunInterrupted {
        run: String,
    },
    RunFinished {
        run: String,
        outcome: RunOutcome,
    },
}

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
            } => {
                let entry = self.entry(step, at);
                entry.state = Journaled::Succeeded;
                entry.attempts = attempts;
                entry.fingerprint = Some(fingerprint);
                entry.outputs = Arc::new(outputs);
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
            RecordKind::UndoRan { .. } => {}
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

/// The journal open for appending. Only one run holds it (see the lock).
#[derive(Debug)]
pub struct Journal {
    store: Box<dyn JournalStore>,
    location: PathBuf,
    buffer: Vec<u8>,
    scrubber: Arc<Scrubber>,
}

impl Journal {
    /// Opens (creating) the journal of `state_dir`, returning what it already says. A torn last
    /// line is cut off so that the next record starts on its own line.
    pub fn open(
        state_dir: &Path,
        scrubber: Arc<Scrubber>,
    ) -> Result<(Self, JournalState), JournalError> {
        Self::open_store(Box::new(FileStore::open(state_dir)?), scrubber)
    }

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
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::step::RetryPolicy;

    fn step(id: &str, phase: u32, needs: &[&str], params: serde_json::Value) -> StepSpec {
        StepSpec {
            id: StepId::from(id),
            number: id.to_owned(),
            ordinal: 0,
            name: id.to_owned(),
            phase,
            kind: "exec".to_owned(),
            item: None,
            params,
            needs: needs.iter().map(|need| StepId::from(*need)).collect(),
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        }
    }

    fn succeeded(step: &StepSpec) -> RecordKind {
        RecordKind::StepSucceeded {
            step: step.id.clone(),
            attempts: 1,
            fingerprint: fingerprint::of(step),
            duration_ms: 5,
            outputs: Outputs::new(),
        }
    }

    fn sample_journal(steps: &[StepSpec]) -> Vec<u8> {
        let mut lines = Vec::new();
        let mut records = vec![RecordKind::RunStarted {
            run: "r1".into(),
            host: "h".into(),
            pid: 1,
            version: "0".into(),
            steps: steps.len(),
        }];
        for step in steps {
            records.push(RecordKind::StepAttempt {
                step: step.id.clone(),
                attempt: 1,
                fingerprint: fingerprint::of(step),
                outcome_unknown: false,
            });
            records.push(succeeded(step));
        }
        records.push(RecordKind::RunFinished {
            run: "r1".into(),
            outcome: RunOutcome::Succeeded,
        });
        for (index, kind) in records.into_iter().enumerate() {
            let record = Record {
                at: index as u64,
                kind,
            };
            lines.extend(serde_json::to_vec(&record).expect("encodes"));
            lines.push(b'\n');
        }
        lines
    }

    #[test]
    fn a_torn_last_line_at_every_byte_is_tolerated() {
        let steps = vec![
            step("a", 2, &[], serde_json::json!({"x": "ü"})),
            step("b", 2, &["a"], serde_json::json!({})),
        ];
        let bytes = sample_journal(&steps);
        let full = parse(&bytes, Path::new("j")).expect("loads");
        assert_eq!(full.records(), 6);
        let newlines: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter_map(|(index, &byte)| (byte == b'\n').then_some(index))
            .collect();
        for cut in 0..=bytes.len() {
            let state = parse(&bytes[..cut], Path::new("j")).expect("never fails");
            let complete = newlines.iter().filter(|&&end| end < cut).count();
            // A cut right before a newline leaves a complete, unterminated record.
            let whole = newlines.contains(&cut);
            assert_eq!(
                state.records(),
                complete + usize::from(whole),
                "cut at {cut}"
            );
            assert_eq!(
                state.torn_tail(),
                cut > 0 && !whole && !newlines.contains(&(cut - 1))
            );
        }
    }

    #[test]
    fn damage_before_the_last_line_is_reported() {
        let mut bytes = b"{not json}\n".to_vec();
        bytes.extend(sample_journal(&[step("a", 2, &[], serde_json::json!({}))]));
        let error = parse(&bytes, Path::new("j")).expect_err("corrupt");
        assert!(
            matches!(error, JournalError::Corrupt { line: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_record_of_an_unknown_kind_is_refused_never_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state_dir = dir.path().join("state");
        std::fs::create_dir(&state_dir).expect("mkdir");
        let mut bytes = sample_journal(&[step("a", 2, &[], serde_json::json!({}))]);
        let newer = b"{\"at\":9,\"record\":\"step_paused\",\"step\":\"a\"}";
        for terminated in [true, false] {
            let mut journal_bytes = bytes.clone();
            journal_bytes.extend_from_slice(newer);
            if terminated {
                journal_bytes.push(b'\n');
            }
            std::fs::write(state_dir.join(FILE_NAME), &journal_bytes).expect("write");
            let error = load(&state_dir).expect_err("refused");
            assert!(
                matches!(&error, JournalError::Newer { kind, line: 5, .. } if kind == "step_paused"),
                "{error}"
            );
            assert!(error.is_refusal());
            assert!(error.to_string().contains("written by a newer genesis"));
            let error =
                Journal::open(&state_dir, Arc::new(Scrubber::empty())).expect_err("refused");
            assert!(matches!(error, JournalError::Newer { .. }), "{error}");
            assert_eq!(
                std::fs::read(state_dir.join(FILE_NAME)).expect("read"),
                journal_bytes,
                "nothing was cut"
            );
        }
        // In the middle too.
        let mut middle = newer.to_vec();
        middle.push(b'\n');
        middle.append(&mut bytes);
        assert!(matches!(
            parse(&middle, Path::new("j")),
            Err(JournalError::Newer { line: 1, .. })
        ));
    }

    #[test]
    fn a_terminated_damaged_last_line_is_corruption_not_a_tear() {
        let mut bytes = sample_journal(&[step("a", 2, &[], serde_json::json!({}))]);
        bytes.extend_from_slice(b"{\"at\":9,\"rec\n");
        assert!(matches!(
            parse(&bytes, Path::new("j")),
            Err(JournalError::Corrupt { line: 5, .. })
        ));
        // A known kind with a field of the wrong type is damage, not a newer version.
        let mut bytes = sample_journal(&[]);
        bytes.extend_from_slice(b"{\"at\":9,\"record\":\"step_reset\",\"step\":7}");
        assert!(matches!(
            parse(&bytes, Path::new("j")),
            Err(JournalError::Corrupt { .. })
        ));
    }

    #[test]
    fn opening_cuts_a_torn_tail_and_appends_on_a_fresh_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state_dir = dir.path().join("state");
        let steps = vec![step("a", 2, &[], serde_json::json!({}))];
        std::fs::create_dir(&state_dir).expect("mkdir");
        let mut bytes = sample_journal(&steps);
        bytes.extend_from_slice(b"{\"at\":9,\"record\":\"step_att");
        std::fs::write(state_dir.join(FILE_NAME), &bytes).expect("write");
        let (mut journal, state) =
            Journal::open(&state_dir, Arc::new(Scrubber::empty())).expect("opens");
        assert!(state.torn_tail());
        assert_eq!(state.status_of(&steps[0]), StepState::Done);
        journal
            .append(RecordKind::StepReset {
                step: StepId::from("a"),
            })
            .expect("appends");
        let reloaded = load(&state_dir).expect("loads");
        assert!(!reloaded.torn_tail());
        assert_eq!(reloaded.status_of(&steps[0]), StepState::Pending);
    }

    #[test]
    fn secrets_never_reach_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let scrubber = Arc::new(Scrubber::new(["s3cr3t"]));
        let (mut journal, _) = Journal::open(dir.path(), scrubber).expect("opens");
        journal
            .append(RecordKind::StepFailed {
                step: StepId::from("a"),
                attempts: 1,
                error: "token s3cr3t rejected".into(),
                class: ErrorClass::Permanent,
                duration_ms: 1,
            })
            .expect("appends");
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).expect("reads");
        assert!(!text.contains("s3cr3t"));
        assert!(text.contains("[redacted]"));
    }

    //   a ──> b          (phase 2)
    //   c                (phase 2, independent)
    //   d                (phase 3, behind the barrier)
    #[test]
    fn changed_inputs_carry_downstream_and_across_the_barrier() {
        let original = vec![
            step("a", 2, &[], serde_json::json!({"v": 1})),
            step("b", 2, &["a"], serde_json::json!({})),
            step("c", 2, &[], serde_json::json!({})),
            step("d", 3, &[], serde_json::json!({})),
        ];
        let bytes = sample_journal(&original);
        let state = parse(&bytes, Path::new("j")).expect("loads");
        let graph = Graph::build(original.clone()).expect("graph");
        assert!(state.states(&graph).iter().all(|s| *s == StepState::Done));

        let mut changed = original;
        changed[0].params = serde_json::json!({"v": 2});
        let graph = Graph::build(changed).expect("graph");
        let states = state.states(&graph);
        let by_id = |id: &str| states[graph.position(&StepId::from(id)).expect("exists")].clone();
        assert_eq!(by_id("a"), StepState::ChangedInputs { upstream: None });
        assert_eq!(
            by_id("b"),
            StepState::ChangedInputs {
                upstream: Some(StepId::from("a"))
            }
        );
        assert_eq!(by_id("c"), StepState::Done);
        assert_eq!(
            by_id("d"),
            StepState::ChangedInputs {
                upstream: Some(StepId::from("a"))
            }
        );
    }

    #[test]
    fn outcome_unknown_and_failure_are_told_apart() {
        let a = step("a", 2, &[], serde_json::json!({}));
        let mut journal = JournalState::default();
        journal.apply(Record {
            at: 1,
            kind: RecordKind::StepAttempt {
                step: a.id.clone(),
                attempt: 1,
                fingerprint: fingerprint::of(&a),
                outcome_unknown: false,
            },
        });
        assert_eq!(journal.status_of(&a), StepState::OutcomeUnknown);
        journal.apply(Record {
            at: 2,
            kind: RecordKind::StepFailed {
                step: a.id.clone(),
                attempts: 1,
                error: "boom".into(),
                class: ErrorClass::Permanent,
                duration_ms: 1,
            },
        });
        assert_eq!(journal.status_of(&a), StepState::Failed);
        journal.apply(Record {
            at: 3,
            kind: RecordKind::StepSkipped {
                step: a.id.clone(),
                reason: SkipReason::Interrupted,
            },
        });
        assert_eq!(journal.status_of(&a), StepState::Pending);
    }

    mod property {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            // Crash after any number of records, at any byte of the next: load never fails
            // and sees exactly the complete records.
            // Any bytes at all: the reader returns or refuses, it never panics.
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse(&bytes, Path::new("j"));
            }

            // Lines that look like records, with arbitrary kinds and fields.
            #[test]
            fn record_shaped_lines_never_panic(
                lines in proptest::collection::vec(
                    (
                        "[a-z_]{0,16}",
                        any::<i64>(),
                        "[ -~]{0,24}",
                        any::<bool>(),
                    ),
                    0..8,
                ),
            ) {
                let mut bytes = Vec::new();
                for (kind, at, text, newline) in lines {
                    let line = serde_json::json!({"at": at, "record": kind, "step": text, "run": text});
                    bytes.extend(serde_json::to_vec(&line).expect("encodes"));
                    if newline {
                        bytes.push(b'\n');
                    }
                }
                let _ = parse(&bytes, Path::new("j"));
            }

            #[test]
            fn crash_anywhere_replays_the_complete_prefix(
                count in 1usize..12,
                cut_fraction in 0.0f64..1.0,
            ) {
                let steps: Vec<StepSpec> = (0..count)
                    .map(|index| step(&format!("s{index}"), 2, &[], serde_json::json!({"i": index})))
                    .collect();
                let bytes = sample_journal(&steps);
                let cut = ((bytes.len() as f64) * cut_fraction) as usize;
                let state = parse(&bytes[..cut], Path::new("j")).expect("never fails");
                let complete = bytes[..cut].iter().filter(|&&byte| byte == b'\n').count();
                prop_assert!(state.records() >= complete);
                prop_assert!(state.records() <= complete + 1);
                // Every step the prefix says succeeded is done with its inputs.
                for step in &steps {
                    let status = state.status_of(step);
                    prop_assert!(matches!(
                        status,
                        StepState::Done | StepState::Pending | StepState::OutcomeUnknown
                    ));
                }
            }
        }
    }
}
