//! The executor: runs ready steps in parallel, honours phase barriers, deadlines and retry
//! policies, journals before every side effect, and turns everything into events.
//!
//! One scheduler loop owns the journal and all step states; steps run as tokio tasks and talk
//! back through a channel (journal requests) and their join handles (outcomes). Each turn of the
//! loop gathers the records of everything that happened, writes them with one fsync, and only
//! then starts the steps that became ready, so a dependent's intent always lands after its
//! dependency's success, and a batch of ready steps costs one fsync, not one each.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::BackoffBuilder;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::action::{
    Action, ActionError, Deadline, ErrorClass, ErrorKind, JournalRequest, Outputs, PlanContext,
    RunContext, Undo, Verified,
};
use crate::events::{Event, EventSender, SkipReason, Stats};
use crate::fingerprint::{self, Fingerprint};
use crate::graph::Graph;
use crate::journal::{Journal, JournalError, JournalState, RecordKind, StepState};
use crate::lock::this_host;
use crate::registry::Registry;
use crate::report::{self, Report, RunOutcome, StepReport, StepResult};
use crate::select::Resolved;
use crate::step::{RetryPolicy, StepId, StepSpec};

/// How long a cancelled step may take to stop cleanly before it is dropped.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// How long one registered undo may take.
const UNDO_TIMEOUT: Duration = Duration::from_secs(120);

/// What a run is asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub run_id: String,
    /// Steps running at once; at least 1.
    pub parallelism: usize,
    pub selection: Resolved,
    /// The whole run's deadline (`--timeout`); step deadlines sit inside it.
    pub run_timeout: Option<Duration>,
    /// Written into the journal's run record.
    pub version: String,
    /// Ask each done step's action whether its result still holds (`--verify`); a step that
    /// drifted, or that cannot be checked because the check failed, runs again.
    pub verify: bool,
}

impl RunOptions {
    pub fn new(graph: &Graph) -> Self {
        Self {
            run_id: new_run_id(),
            parallelism: 4,
            selection: Resolved::everything(graph.len()),
            run_timeout: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            verify: false,
        }
    }
}

/// A run id that sorts by start time: `20261129T082136Z-1234`.
pub fn new_run_id() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{compact}-{}", std::process::id())
}

#[derive(Debug, Error)]
pub enum EngineError {
    /// The journal is load-bearing: when it cannot record, nothing more may happen.
    #[error("the journal stopped accepting records, so the run stopped")]
    Journal(#[from] JournalError),
}

/// How the run ended and the report for the final table.
#[derive(Clone, Debug)]
pub struct RunSummary {
    pub outcome: RunOutcome,
    pub report: Report,
}

#[derive(Clone, Debug)]
enum Slot {
    /// Explicit needs not yet done.
    Waiting,
    /// Ready; in its phase's queue.
    Queued,
    Running,
    Done(Arc<Outputs>),
    Failed,
    Skipped,
    /// Left out by the selection; `Some` outputs when done in an earlier run.
    Excluded(&'static str, Option<Arc<Outputs>>),
}

struct Row {
    result: Option<StepResult>,
    attempts: u32,
    duration: Option<Duration>,
    detail: Option<String>,
}

enum TaskOutcome {
    Succeeded(Outputs),
    Failed(ActionError),
    Interrupted,
}

struct Finished {
    position: usize,
    attempts: u32,
    duration: Duration,
    outcome: TaskOutcome,
}

/// Everything a step task needs, owned.
struct Job {
    position: usize,
    step: Arc<StepSpec>,
    action: Arc<dyn Action>,
    fingerprint: Fingerprint,
    outcome_unknown: bool,
    needs: BTreeMap<StepId, Arc<Outputs>>,
    deadline: Deadline,
    cancel: CancellationToken,
    events: EventSender,
    journal: mpsc::UnboundedSender<JournalRequest>,
    stats: Arc<Mutex<Stats>>,
}

/// Runs the graph. `prior` is what the journal said when it was opened.
pub async fn run(
    graph: &Graph,
    registry: &Registry,
    journal: &mut Journal,
    prior: &JournalState,
    options: &RunOptions,
    events: &EventSender,
    cancel: &CancellationToken,
) -> Result<RunSummary, EngineError> {
    let mut scheduler = Scheduler::new(graph, registry, prior, options, events);
    let started = Instant::now();
    let run_deadline = options.run_timeout.map(|timeout| {
        started
            .checked_add(timeout.min(crate::action::FAR_FUTURE))
            .unwrap_or_else(|| crate::action::deadline_after(timeout))
    });

    journal.push(RecordKind::RunStarted {
        run: options.run_id.clone(),
        host: this_host(),
        pid: std::process::id(),
        version: options.version.clone(),
        steps: graph.len(),
    })?;
    events.emit(Event::RunStarted {
        run: options.run_id.clone(),
        total: graph.len(),
        parallelism: options.parallelism.max(1),
        stats: scheduler.stats,
    });
    let drifted = if options.verify {
        verify_done(graph, registry, prior, options, events, cancel).await
    } else {
        vec![false; graph.len()]
    };
    scheduler.classify(prior, options, &drifted);
    scheduler.drain_skips(journal)?;

    let (journal_sender, mut journal_requests) = mpsc::unbounded_channel::<JournalRequest>();
    // A child of the run's token, so an interruption reaches running steps at once; the
    // scheduler cancels it alone when the journal fails.
    let tasks_cancel = cancel.child_token();
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let mut task_positions: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut acks = Vec::new();
    let mut stop: Option<SkipReason> = None;
    let mut deadline_passed = false;

    let result = loop {
        // Steps see an interruption at once (their token is a child of the run's), so it may
        // show up here as interrupted steps before the select below notices it.
        if cancel.is_cancelled() && !matches!(stop, Some(SkipReason::Interrupted)) {
            stop = Some(SkipReason::Interrupted);
            scheduler.stopping = true;
            events.emit(Event::RunCancelling {
                stats: scheduler.stats,
            });
        }
        let mut to_start = Vec::new();
        if stop.is_none() {
            while scheduler.running + to_start.len() < options.parallelism.max(1) {
                let Some(position) = scheduler.next_ready() else {
                    break;
                };
                let job = scheduler.prepare(position, run_deadline, &tasks_cancel, &journal_sender);
                journal.push(RecordKind::StepAttempt {
                    step: job.step.id.clone(),
                    attempt: 1,
                    fingerprint: job.fingerprint.clone(),
                    outcome_unknown: job.outcome_unknown,
                })?;
                to_start.push(job);
            }
        }
        // Group commit: everything gathered this turn becomes durable before any effect.
        if let Err(error) = journal.commit() {
            for ack in acks.drain(..) {
                let _: Result<(), _> = send_ack(ack, Err(error.to_string()));
            }
            break Err(EngineError::from(error));
        }
        for ack in acks.drain(..) {
            let _: Result<(), _> = send_ack(ack, Ok(()));
        }
        for job in to_start {
            let position = job.position;
            scheduler.running += 1;
            scheduler.stats.running += 1;
            let handle = tasks.spawn(drive(job));
            task_positions.insert(handle.id(), position);
        }
        scheduler.publish_stats();

        if tasks.is_empty() {
            break Ok(());
        }

        tokio::select! {
            biased;
            request = journal_requests.recv() => {
                if let Some(request) = request {
                    scheduler.take_request(request, journal, &mut acks)?;
                }
            }
            joined = tasks.join_next_with_id() => {
                if let Some(finished) = joined.and_then(|joined| to_finished(joined, &task_positions)) {
                    scheduler.finish(finished, journal)?;
                }
            }
            // Noticed at the top of the next turn.
            () = cancel.cancelled(), if !matches!(stop, Some(SkipReason::Interrupted)) => {}
            () = sleep_until_optional(run_deadline), if !deadline_passed && stop.is_none() => {
                // Running steps end on their own deadlines, which sit inside this one.
                deadline_passed = true;
                stop = Some(SkipReason::RunDeadline);
                scheduler.stopping = true;
            }
        }
        // Take everything else that is already waiting, so it shares this turn's fsync.
        while let Some(joined) = tasks.try_join_next_with_id() {
            if let Some(finished) = to_finished(joined, &task_positions) {
                scheduler.finish(finished, journal)?;
            }
        }
        while let Ok(request) = journal_requests.try_recv() {
            scheduler.take_request(request, journal, &mut acks)?;
        }
        scheduler.drain_skips(journal)?;
    };
    if let Err(error) = result {
        tasks_cancel.cancel();
        tasks.abort_all();
        return Err(error);
    }

    // Steps that never started because the run stopped.
    if let Some(reason) = stop.clone() {
        scheduler.skip_unsettled(reason);
        scheduler.drain_skips(journal)?;
    }
    let outcome = if matches!(stop, Some(SkipReason::Interrupted)) {
        RunOutcome::Interrupted
    } else if scheduler.stats.failed > 0 || scheduler.broke || deadline_passed {
        RunOutcome::Failed
    } else {
        RunOutcome::Succeeded
    };
    if outcome == RunOutcome::Interrupted {
        journal.push(RecordKind::RunInterrupted {
            run: options.run_id.clone(),
        })?;
    } else {
        journal.push(RecordKind::RunFinished {
            run: options.run_id.clone(),
            outcome,
        })?;
    }
    journal.commit()?;

    let report = scheduler.report(started.elapsed());
    events.emit(Event::RunFinished {
        run: options.run_id.clone(),
        outcome,
        report: report.clone(),
    });
    Ok(RunSummary { outcome, report })
}

/// A joined task as a finished step; a task that panicked fails its step.
fn to_finished(
    joined: Result<(tokio::task::Id, Finished), tokio::task::JoinError>,
    positions: &HashMap<tokio::task::Id, usize>,
) -> Option<Finished> {
    match joined {
        Ok((_, finished)) => Some(finished),
        Err(error) => positions.get(&error.id()).map(|&position| Finished {
            position,
            attempts: 1,
            duration: Duration::ZERO,
            outcome: TaskOutcome::Failed(ActionError::new(
                ErrorKind::Io,
                format!("the step's task ended abnormally: {error}"),
            )),
        }),
    }
}

fn send_ack(
    ack: tokio::sync::oneshot::Sender<Result<(), String>>,
    result: Result<(), String>,
) -> Result<(), Result<(), String>> {
    ack.send(result)
}

async fn sleep_until_optional(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

struct Scheduler<'g> {
    graph: &'g Graph,
    registry: &'g Registry,
    events: &'g EventSender,
    steps: Vec<Arc<StepSpec>>,
    slots: Vec<Slot>,
    rows: Vec<Row>,
    unmet: Vec<usize>,
    outcome_unknown: Vec<bool>,
    /// Position → index into `graph.phases()`.
    phase_of: Vec<usize>,
    /// Rank in `graph.order()`, so queues pop in the order a reader expects.
    rank: Vec<usize>,
    unsettled: Vec<usize>,
    /// The lowest phase index that did not finish, and the step that broke it.
    broken: Option<(usize, usize)>,
    /// Some step that should have run did not finish.
    broke: bool,
    /// The run is stopping (interrupted or out of time): no more barrier bookkeeping.
    stopping: bool,
    /// First phase index that still has unsettled steps.
    open: usize,
    queues: Vec<BinaryHeap<Reverse<(usize, usize)>>>,
    pending_skips: Vec<(usize, SkipReason)>,
    running: usize,
    stats: Stats,
    shared_stats: Arc<Mutex<Stats>>,
}

impl<'g> Scheduler<'g> {
    fn new(
        graph: &'g Graph,
        registry: &'g Registry,
        _prior: &JournalState,
        _options: &RunOptions,
        events: &'g EventSender,
    ) -> Self {
        let count = graph.len();
        let phases = graph.phases();
        let phase_of: Vec<usize> = graph
            .steps()
            .iter()
            .map(|step| phases.binary_search(&step.phase).unwrap_or(0))
            .collect();
        let mut unsettled = vec![0; phases.len()];
        for &index in &phase_of {
            unsettled[index] += 1;
        }
        let mut rank = vec![0; count];
        for (at, &position) in graph.order().iter().enumerate() {
            rank[position] = at;
        }
        let stats = Stats {
            total: count,
            ..Stats::default()
        };
        Self {
            graph,
            registry,
            events,
            steps: graph.steps().iter().cloned().map(Arc::new).collect(),
            slots: vec![Slot::Waiting; count],
            rows: (0..count)
                .map(|_| Row {
                    result: None,
                    attempts: 0,
                    duration: None,
                    detail: None,
                })
                .collect(),
            unmet: vec![0; count],
            outcome_unknown: vec![false; count],
            phase_of,
            rank,
            unsettled,
            broken: None,
            broke: false,
            stopping: false,
            open: 0,
            queues: vec![BinaryHeap::new(); phases.len()],
            pending_skips: Vec::new(),
            running: 0,
            stats,
            shared_stats: Arc::new(Mutex::new(stats)),
        }
    }

    /// Decides for every step: done earlier, left out, or waiting; in execution order, so that
    /// a step's needs are decided before it.
    fn classify(&mut self, prior: &JournalState, options: &RunOptions, drifted: &[bool]) {
        let states = prior.states(self.graph);
        let graph = self.graph;
        for &position in graph.order() {
            let state = &states[position];
            let done_outputs = (*state == StepState::Done).then(|| {
                prior
                    .step(&graph.step(position).id)
                    .map(|record| Arc::clone(&record.outputs))
                    .unwrap_or_default()
            });
            if let Some(by) = options.selection.excluded.get(position).copied().flatten() {
                self.slots[position] = Slot::Excluded(by, done_outputs);
                self.settle(position, true);
                self.rows[position].result = Some(StepResult::Skipped);
                self.rows[position].detail =
                    Some(SkipReason::Excluded { by: by.into() }.to_string());
                self.emit_skip(position, SkipReason::Excluded { by: by.into() });
                continue;
            }
            let forced = options
                .selection
                .forced
                .get(position)
                .copied()
                .unwrap_or(false)
                || drifted.get(position).copied().unwrap_or(false);
            if let (Some(outputs), false) = (done_outputs, forced) {
                self.slots[position] = Slot::Done(outputs);
                self.settle(position, true);
                self.rows[position].result = Some(StepResult::Skipped);
                self.rows[position].detail = Some(SkipReason::DoneEarlier.to_string());
                self.emit_skip(position, SkipReason::DoneEarlier);
                continue;
            }
            self.outcome_unknown[position] = *state == StepState::OutcomeUnknown;
            if !matches!(self.slots[position], Slot::Waiting) {
                continue; // already skipped by a dependency
            }
            let mut unmet = 0;
            let mut blocked = None;
            for need in graph.needs_of(position) {
                match &self.slots[need] {
                    Slot::Done(_) | Slot::Excluded(_, Some(_)) => {}
                    Slot::Excluded(by, None) => {
                        blocked = Some(SkipReason::DependencyNotDone {
                            step: graph.step(need).id.clone(),
                            by: (*by).into(),
                        });
                    }
                    Slot::Failed => {
                        blocked = Some(SkipReason::DependencyFailed {
                            step: graph.step(need).id.clone(),
                        });
                    }
                    Slot::Skipped => {
                        blocked = Some(SkipReason::DependencySkipped {
                            step: graph.step(need).id.clone(),
                        });
                    }
                    Slot::Waiting | Slot::Queued | Slot::Running => unmet += 1,
                }
            }
            if let Some(reason) = blocked {
                self.pending_skips.push((position, reason));
                continue;
            }
            self.unmet[position] = unmet;
            if unmet == 0 {
                self.enqueue(position);
            }
        }
        self.advance_open();
    }

    fn enqueue(&mut self, position: usize) {
        self.slots[position] = Slot::Queued;
        let phase = self.phase_of[position];
        self.queues[phase].push(Reverse((self.rank[position], position)));
    }

    /// The next queued step of the open phase.
    fn next_ready(&mut self) -> Option<usize> {
        if let Some((broken_phase, _)) = self.broken
            && self.open > broken_phase
        {
            return None;
        }
        let queue = self.queues.get_mut(self.open)?;
        while let Some(Reverse((_, position))) = queue.pop() {
            if matches!(self.slots[position], Slot::Queued) {
                return Some(position);
            }
        }
        None
    }

    fn prepare(
        &mut self,
        position: usize,
        run_deadline: Option<Instant>,
        tasks_cancel: &CancellationToken,
        journal: &mpsc::UnboundedSender<JournalRequest>,
    ) -> Job {
        self.slots[position] = Slot::Running;
        let step = Arc::clone(&self.steps[position]);
        let mut needs = BTreeMap::new();
        for need in self.graph.needs_of(position) {
            if let Slot::Done(outputs) | Slot::Excluded(_, Some(outputs)) = &self.slots[need] {
                needs.insert(self.graph.step(need).id.clone(), Arc::clone(outputs));
            }
        }
        let step_deadline = crate::action::deadline_after(step.timeout);
        let deadline = match run_deadline {
            Some(run) if run < step_deadline => Deadline {
                at: run,
                owner: "the run's --timeout".to_owned(),
            },
            _ => Deadline {
                at: step_deadline,
                owner: format!(
                    "its timeout of {}",
                    humantime::format_duration(step.timeout)
                ),
            },
        };
        Job {
            position,
            action: self.registry.resolve(&step.kind),
            fingerprint: fingerprint::of(&step),
            outcome_unknown: self.outcome_unknown[position],
            step,
            needs,
            deadline,
            cancel: tasks_cancel.child_token(),
            events: self.events.clone(),
            journal: journal.clone(),
            stats: Arc::clone(&self.shared_stats),
        }
    }

    fn take_request(
        &mut self,
        request: JournalRequest,
        journal: &mut Journal,
        acks: &mut Vec<tokio::sync::oneshot::Sender<Result<(), String>>>,
    ) -> Result<(), JournalError> {
        journal.push(request.record)?;
        if let Some(ack) = request.ack {
            acks.push(ack);
        }
        Ok(())
    }

    fn finish(&mut self, finished: Finished, journal: &mut Journal) -> Result<(), JournalError> {
        let Finished {
            position,
            attempts,
            duration,
            outcome,
        } = finished;
        self.running = self.running.saturating_sub(1);
        self.stats.running = self.stats.running.saturating_sub(1);
        let step = Arc::clone(&self.steps[position]);
        let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let row = &mut self.rows[position];
        row.attempts = attempts;
        row.duration = Some(duration);
        let (result, error) = match outcome {
            TaskOutcome::Succeeded(outputs) => {
                let mut outputs = serde_json::Value::Object(outputs);
                self.events.scrubber().scrub_json(&mut outputs);
                let outputs = match outputs {
                    serde_json::Value::Object(map) => map,
                    _ => Outputs::new(),
                };
                journal.push(RecordKind::StepSucceeded {
                    step: step.id.clone(),
                    attempts,
                    fingerprint: fingerprint::of(&step),
                    duration_ms,
                    outputs: outputs.clone(),
                })?;
                self.slots[position] = Slot::Done(Arc::new(outputs));
                self.stats.succeeded += 1;
                self.settle(position, true);
                for dependent in self.graph.dependents_of(position).collect::<Vec<_>>() {
                    if matches!(self.slots[dependent], Slot::Waiting) {
                        self.unmet[dependent] = self.unmet[dependent].saturating_sub(1);
                        if self.unmet[dependent] == 0 {
                            self.enqueue(dependent);
                        }
                    }
                }
                (StepResult::Succeeded, None)
            }
            TaskOutcome::Failed(error) => {
                let message = error.full_message();
                journal.push(RecordKind::StepFailed {
                    step: step.id.clone(),
                    attempts,
                    error: message.clone(),
                    class: error.class(),
                    duration_ms,
                })?;
                self.slots[position] = Slot::Failed;
                self.stats.failed += 1;
                self.settle(position, false);
                for dependent in self.graph.dependents_of(position).collect::<Vec<_>>() {
                    self.pending_skips.push((
                        dependent,
                        SkipReason::DependencyFailed {
                            step: step.id.clone(),
                        },
                    ));
                }
                (StepResult::Failed, Some(message))
            }
            TaskOutcome::Interrupted => {
                journal.push(RecordKind::StepInterrupted {
                    step: step.id.clone(),
                    attempt: attempts,
                })?;
                // Not done: for this run it counts as skipped.
                self.slots[position] = Slot::Skipped;
                self.stats.skipped += 1;
                self.stopping = true;
                self.settle(position, false);
                (StepResult::Interrupted, Some("interrupted".to_owned()))
            }
        };
        self.rows[position].result = Some(result);
        self.rows[position].detail.clone_from(&error);
        self.events.emit(Event::StepFinished {
            step: step.id.clone(),
            number: step.number.clone(),
            name: step.name.clone(),
            result,
            attempts,
            duration_ms,
            error,
            stats: self.stats,
        });
        self.advance_open();
        Ok(())
    }

    /// A step will not change state any more in this run.
    /// `ok` is false when the step should have finished and did not; it then closes the phase
    /// barrier for good (unless the whole run is stopping anyway).
    fn settle(&mut self, position: usize, ok: bool) {
        let phase = self.phase_of[position];
        self.unsettled[phase] = self.unsettled[phase].saturating_sub(1);
        if !ok {
            self.broke = true;
        }
        if !ok && !self.stopping && self.broken.is_none_or(|(lowest, _)| phase < lowest) {
            self.broken = Some((phase, position));
            // Everything behind this phase's barrier can never start.
            let reason = SkipReason::EarlierPhaseIncomplete {
                phase: self.steps[position].phase,
                step: self.steps[position].id.clone(),
            };
            for other in 0..self.slots.len() {
                if self.phase_of[other] > phase
                    && matches!(self.slots[other], Slot::Waiting | Slot::Queued)
                {
                    self.pending_skips.push((other, reason.clone()));
                }
            }
        }
    }

    fn advance_open(&mut self) {
        while self.open < self.unsettled.len() && self.unsettled[self.open] == 0 {
            self.open += 1;
        }
    }

    /// Applies queued skips (and the skips they cause), journaling the failure-caused ones.
    fn drain_skips(&mut self, journal: &mut Journal) -> Result<(), JournalError> {
        while let Some((position, reason)) = self.pending_skips.pop() {
            if !matches!(self.slots[position], Slot::Waiting | Slot::Queued) {
                continue;
            }
            self.slots[position] = Slot::Skipped;
            self.stats.skipped += 1;
            self.settle(position, false);
            let step = Arc::clone(&self.steps[position]);
            if !matches!(reason, SkipReason::Interrupted | SkipReason::RunDeadline) {
                journal.push(RecordKind::StepSkipped {
                    step: step.id.clone(),
                    reason: reason.clone(),
                })?;
            }
            self.rows[position].result = Some(StepResult::Skipped);
            self.rows[position].detail = Some(reason.to_string());
            let stop = matches!(reason, SkipReason::Interrupted | SkipReason::RunDeadline);
            self.emit_skip(position, reason);
            if stop {
                continue;
            }
            for dependent in self.graph.dependents_of(position).collect::<Vec<_>>() {
                self.pending_skips.push((
                    dependent,
                    SkipReason::DependencySkipped {
                        step: step.id.clone(),
                    },
                ));
            }
        }
        self.advance_open();
        Ok(())
    }

    fn skip_unsettled(&mut self, reason: SkipReason) {
        self.stopping = true;
        self.pending_skips.clear();
        for position in 0..self.slots.len() {
            if matches!(self.slots[position], Slot::Waiting | Slot::Queued) {
                self.pending_skips.push((position, reason.clone()));
            }
        }
    }

    fn emit_skip(&mut self, position: usize, reason: SkipReason) {
        if matches!(
            reason,
            SkipReason::DoneEarlier | SkipReason::Excluded { .. }
        ) {
            self.stats.skipped += 1;
        }
        let step = &self.steps[position];
        self.events.emit(Event::StepSkipped {
            step: step.id.clone(),
            number: step.number.clone(),
            name: step.name.clone(),
            reason,
            stats: self.stats,
        });
    }

    fn publish_stats(&self) {
        if let Ok(mut shared) = self.shared_stats.lock() {
            *shared = self.stats;
        }
    }

    fn report(&self, wall: Duration) -> Report {
        let durations: Vec<Duration> = self
            .rows
            .iter()
            .map(|row| row.duration.unwrap_or_default())
            .collect();
        let (path, critical) = report::critical_path(self.graph, &durations);
        let steps = self
            .graph
            .order()
            .iter()
            .map(|&position| {
                let step = &self.steps[position];
                let row = &self.rows[position];
                StepReport {
                    step: step.id.clone(),
                    number: step.number.clone(),
                    name: step.name.clone(),
                    result: row.result.unwrap_or(StepResult::Skipped),
                    attempts: row.attempts,
                    duration_ms: row
                        .duration
                        .map(|duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
                    detail: row.detail.clone(),
                }
            })
            .collect();
        Report {
            steps,
            critical_path: path
                .into_iter()
                .map(|position| self.steps[position].id.clone())
                .collect(),
            critical_path_ms: u64::try_from(critical.as_millis()).unwrap_or(u64::MAX),
            wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// `--verify`: asks the action of every done, selected step whether its result still holds.
/// Returns, by position, the steps that must run again.
async fn verify_done(
    graph: &Graph,
    registry: &Registry,
    prior: &JournalState,
    options: &RunOptions,
    events: &EventSender,
    cancel: &CancellationToken,
) -> Vec<bool> {
    let states = prior.states(graph);
    let mut drifted = vec![false; graph.len()];
    for &position in graph.order() {
        let excluded = options.selection.excluded.get(position).copied().flatten();
        if states[position] != StepState::Done || excluded.is_some() || cancel.is_cancelled() {
            continue;
        }
        let step = graph.step(position);
        let needs = graph
            .needs_of(position)
            .filter_map(|need| {
                let id = &graph.step(need).id;
                prior
                    .step(id)
                    .map(|record| (id.clone(), Arc::clone(&record.outputs)))
            })
            .collect();
        let context = PlanContext {
            needs,
            outcome_unknown: false,
            cancel: cancel.clone(),
        };
        let what = match registry.resolve(&step.kind).verify(step, &context).await {
            Ok(Verified::Holds | Verified::NotSupported) => continue,
            Ok(Verified::Drifted { what }) => what,
            Err(error) => format!("could not be verified: {}", error.full_message()),
        };
        drifted[position] = true;
        events.emit(Event::StepDrifted {
            step: step.id.clone(),
            what,
        });
    }
    drifted
}

/// Delays between attempts: exponential with jitter, never above the policy's cap.
fn delays(policy: &RetryPolicy) -> impl Iterator<Item = Duration> {
    let cap = policy.max_backoff;
    backon::ExponentialBuilder::default()
        .with_min_delay(policy.initial_backoff)
        .with_max_delay(cap)
        .with_factor(2.0)
        .with_max_times(usize::try_from(policy.attempts.saturating_sub(1)).unwrap_or(usize::MAX))
        .with_jitter()
        .build()
        .map(move |delay| delay.min(cap))
}

/// One step, all its attempts.
async fn drive(job: Job) -> Finished {
    let started = Instant::now();
    let substate = Arc::new(Mutex::new(String::new()));
    let undo: Arc<Mutex<Vec<Undo>>> = Arc::new(Mutex::new(Vec::new()));
    let mut delays = delays(&job.step.retry);
    let mut attempt = 1;
    let mut outcome_unknown = job.outcome_unknown;
    let finished = |attempts, outcome| Finished {
        position: job.position,
        attempts,
        duration: started.elapsed(),
        outcome,
    };
    loop {
        if attempt > 1 {
            let (ack, answer) = tokio::sync::oneshot::channel();
            let request = JournalRequest {
                record: RecordKind::StepAttempt {
                    step: job.step.id.clone(),
                    attempt,
                    fingerprint: job.fingerprint.clone(),
                    outcome_unknown,
                },
                ack: Some(ack),
            };
            if job.journal.send(request).is_err() || !matches!(answer.await, Ok(Ok(()))) {
                return finished(attempt, TaskOutcome::Interrupted);
            }
        }
        let stats = job.stats.lock().map(|stats| *stats).unwrap_or_default();
        job.events.emit(Event::StepStarted {
            step: job.step.id.clone(),
            number: job.step.number.clone(),
            name: job.step.name.clone(),
            attempt,
            outcome_unknown,
            stats,
        });
        let context = RunContext {
            step: job.step.id.clone(),
            attempt,
            outcome_unknown,
            needs: job.needs.clone(),
            deadline: job.deadline.clone(),
            cancel: job.cancel.clone(),
            events: job.events.clone(),
            substate: Arc::clone(&substate),
            undo: Arc::clone(&undo),
            journal: job.journal.clone(),
        };
        let result = {
            let running = job.action.run(&job.step, &context);
            tokio::pin!(running);
            tokio::select! {
                biased;
                () = job.cancel.cancelled() => {
                    // Give the action the chance to stop cleanly (its context's token is
                    // cancelled too); past the grace period it is dropped.
                    match tokio::time::timeout(CANCEL_GRACE, &mut running).await {
                        Ok(Ok(outputs)) => Some(Ok(outputs)),
                        _ => None,
                    }
                }
                result = tokio::time::timeout_at(job.deadline.at, &mut running) => Some(match result {
                    Ok(result) => result,
                    Err(_) => Err(timeout_error(&job, &substate)),
                }),
            }
        };
        drop(context);
        let error = match result {
            None => return finished(attempt, TaskOutcome::Interrupted),
            Some(Ok(outputs)) => return finished(attempt, TaskOutcome::Succeeded(outputs)),
            Some(Err(_)) if job.cancel.is_cancelled() => {
                return finished(attempt, TaskOutcome::Interrupted);
            }
            Some(Err(error)) => error,
        };
        let remaining = job.deadline.at.saturating_duration_since(Instant::now());
        if error.class() == ErrorClass::Transient
            && attempt < job.step.retry.attempts
            && !remaining.is_zero()
        {
            let delay = delays
                .next()
                .unwrap_or(job.step.retry.max_backoff)
                .min(remaining);
            let message = error.full_message();
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            let _ = job.journal.send(JournalRequest {
                record: RecordKind::StepRetrying {
                    step: job.step.id.clone(),
                    attempt,
                    error: message.clone(),
                    delay_ms,
                },
                ack: None,
            });
            job.events.emit(Event::StepRetrying {
                step: job.step.id.clone(),
                attempt,
                error: message,
                delay_ms,
            });
            tokio::select! {
                biased;
                () = job.cancel.cancelled() => return finished(attempt, TaskOutcome::Interrupted),
                () = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
            // The failed attempt's error is known, but it may have done part of its work.
            outcome_unknown = false;
            continue;
        }
        run_undo(&job, &undo).await;
        return finished(attempt, TaskOutcome::Failed(error));
    }
}

fn timeout_error(job: &Job, substate: &Mutex<String>) -> ActionError {
    let doing = substate.lock().map(|text| text.clone()).unwrap_or_default();
    let doing = if doing.is_empty() {
        String::new()
    } else {
        format!(" while {doing}")
    };
    ActionError::new(
        ErrorKind::Timeout,
        format!(
            "step `{}` timed out: {} expired{doing}",
            job.step.id, job.deadline.owner
        ),
    )
}

/// Runs the registered undos of a step that failed for good, newest first.
async fn run_undo(job: &Job, undo: &Mutex<Vec<Undo>>) {
    let list = undo
        .lock()
        .map(|mut list| std::mem::take(&mut *list))
        .unwrap_or_default();
    for entry in list.into_iter().rev() {
        let error = match tokio::time::timeout(UNDO_TIMEOUT, (entry.undo)()).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.full_message()),
            Err(_) => Some(format!(
                "did not finish within {}",
                humantime::format_duration(UNDO_TIMEOUT)
            )),
        };
        let _ = job.journal.send(JournalRequest {
            record: RecordKind::UndoRan {
                step: job.step.id.clone(),
                what: entry.what.clone(),
                error: error.clone(),
            },
            ack: None,
        });
        job.events.emit(Event::UndoRan {
            step: job.step.id.clone(),
            what: entry.what,
            error,
        });
    }
}
