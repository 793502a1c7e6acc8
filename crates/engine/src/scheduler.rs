//! The scheduler's state machine: every step's slot (waiting, queued, running, done, failed,
//! skipped, excluded), phase barriers, the order of the ready queues, and the report rows. It
//! decides what starts next; [`crate::driver`] runs a step, and [`crate::run`] is the loop that
//! joins them to the journal.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::action::{Deadline, JournalRequest, Outputs};
use crate::driver::{Finished, Job, TaskOutcome};
use crate::events::{Event, EventSender, SkipReason, Stats};
use crate::fingerprint::{self};
use crate::graph::Graph;
use crate::journal::{Journal, JournalError, JournalState, RecordKind, StepState};
use crate::options::RunOptions;
use crate::registry::Registry;
use crate::report::{self, Report, StepReport, StepResult};
use crate::step::StepSpec;

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

pub(crate) struct Scheduler<'g> {
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
    pub(crate) broke: bool,
    /// The run is stopping (interrupted or out of time): no more barrier bookkeeping.
    pub(crate) stopping: bool,
    /// First phase index that still has unsettled steps.
    open: usize,
    queues: Vec<BinaryHeap<Reverse<(usize, usize)>>>,
    pending_skips: Vec<(usize, SkipReason)>,
    pub(crate) running: usize,
    pub(crate) stats: Stats,
    shared_stats: Arc<Mutex<Stats>>,
}

impl<'g> Scheduler<'g> {
    pub(crate) fn new(
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
    pub(crate) fn classify(
        &mut self,
        prior: &JournalState,
        options: &RunOptions,
        drifted: &[bool],
    ) {
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

    pub(crate) fn enqueue(&mut self, position: usize) {
        self.slots[position] = Slot::Queued;
        let phase = self.phase_of[position];
        self.queues[phase].push(Reverse((self.rank[position], position)));
    }

    /// The next queued step of the open phase.
    pub(crate) fn next_ready(&mut self) -> Option<usize> {
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

    pub(crate) fn prepare(
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

    pub(crate) fn take_request(
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

    pub(crate) fn finish(
        &mut self,
        finished: Finished,
        journal: &mut Journal,
    ) -> Result<(), JournalError> {
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
                    secrets: fingerprint::secret_tags(&step),
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
    pub(crate) fn settle(&mut self, position: usize, ok: bool) {
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

    pub(crate) fn advance_open(&mut self) {
        while self.open < self.unsettled.len() && self.unsettled[self.open] == 0 {
            self.open += 1;
        }
    }

    /// Applies queued skips (and the skips they cause), journaling the failure-caused ones.
    pub(crate) fn drain_skips(&mut self, journal: &mut Journal) -> Result<(), JournalError> {
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

    pub(crate) fn skip_unsettled(&mut self, reason: SkipReason) {
        self.stopping = true;
        self.pending_skips.clear();
        for position in 0..self.slots.len() {
            if matches!(self.slots[position], Slot::Waiting | Slot::Queued) {
                self.pending_skips.push((position, reason.clone()));
            }
        }
    }

    pub(crate) fn emit_skip(&mut self, position: usize, reason: SkipReason) {
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
            phase: step.phase,
            reason,
            stats: self.stats,
        });
    }

    pub(crate) fn publish_stats(&self) {
        if let Ok(mut shared) = self.shared_stats.lock() {
            *shared = self.stats;
        }
    }

    pub(crate) fn report(&self, wall: Duration) -> Report {
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
                    phase: step.phase,
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
            projected: report::projected(
                self.graph,
                &self
                    .rows
                    .iter()
                    .map(|row| row.duration.is_some())
                    .collect::<Vec<_>>(),
            ),
        }
    }
}
