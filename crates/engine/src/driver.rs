//! The step driver: runs one step as a task — its attempts, retries with backoff, deadline,
//! cancellation and undo — and reports how it finished. It knows nothing of the other steps;
//! the scheduler's state machine ([`crate::scheduler`]) decides when a step runs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::BackoffBuilder;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::action::{
    Action, ActionError, Deadline, ErrorClass, ErrorKind, JournalRequest, Outputs, PlanContext,
    RunContext, Undo, Verified,
};
use crate::events::{Event, EventSender, Stats};
use crate::fingerprint::Fingerprint;
use crate::graph::Graph;
use crate::journal::{JournalState, RecordKind, StepState};
use crate::options::RunOptions;
use crate::registry::Registry;
use crate::step::{RetryPolicy, StepId, StepSpec};

/// How long a cancelled step may take to stop cleanly before it is dropped.
pub(crate) const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// How long one registered undo may take.
pub(crate) const UNDO_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) enum TaskOutcome {
    Succeeded(Outputs),
    Failed(ActionError),
    Interrupted,
}

pub(crate) struct Finished {
    pub(crate) position: usize,
    pub(crate) attempts: u32,
    pub(crate) duration: Duration,
    pub(crate) outcome: TaskOutcome,
}

/// Everything a step task needs, owned.
pub(crate) struct Job {
    pub(crate) position: usize,
    pub(crate) step: Arc<StepSpec>,
    pub(crate) action: Arc<dyn Action>,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) outcome_unknown: bool,
    pub(crate) needs: BTreeMap<StepId, Arc<Outputs>>,
    pub(crate) deadline: Deadline,
    pub(crate) cancel: CancellationToken,
    pub(crate) events: EventSender,
    pub(crate) journal: mpsc::UnboundedSender<JournalRequest>,
    pub(crate) stats: Arc<Mutex<Stats>>,
}

/// Asks the action of every done, selected step whether its result still holds: every step
/// with `--verify`, else the steps of kinds verified on every run
/// ([`crate::Action::verify_every_run`]). A done step whose need runs again runs again too
/// (what it made came from what that need made before). Returns, by position, the steps that
/// must run again.
pub(crate) async fn verify_done(
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
        let forced = options
            .selection
            .forced
            .get(position)
            .copied()
            .unwrap_or(false);
        if states[position] != StepState::Done
            || excluded.is_some()
            || forced
            || cancel.is_cancelled()
        {
            continue;
        }
        let step = graph.step(position);
        if let Some(need) = graph.needs_of(position).find(|&need| drifted[need]) {
            drifted[position] = true;
            events.emit(Event::StepDrifted {
                step: step.id.clone(),
                what: format!("`{}`, which it needs, runs again", graph.step(need).id),
            });
            continue;
        }
        let action = registry.resolve(&step.kind);
        let automatic = !options.verify && action.verify_every_run();
        if !options.verify && !automatic {
            continue;
        }
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
        let what = match action.verify(step, &context).await {
            Ok(Verified::Holds | Verified::NotSupported) => continue,
            Ok(Verified::Drifted { what }) => what,
            // Checked because of its kind, not because the operator asked: a check that
            // cannot be made leaves the step as it is, and says so.
            Err(error) if automatic => {
                events.emit(Event::StepUnverified {
                    step: step.id.clone(),
                    why: error.full_message(),
                });
                continue;
            }
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
pub(crate) fn delays(policy: &RetryPolicy) -> impl Iterator<Item = Duration> {
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
pub(crate) async fn drive(job: Job) -> Finished {
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
