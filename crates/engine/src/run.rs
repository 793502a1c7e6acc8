//! The executor: runs ready steps in parallel, honours phase barriers, deadlines and retry
//! policies, journals before every side effect, and turns everything into events.
//!
//! One scheduler loop owns the journal and all step states; steps run as tokio tasks and talk
//! back through a channel (journal requests) and their join handles (outcomes). Each turn of the
//! loop gathers the records of everything that happened, writes them with one fsync, and only
//! then starts the steps that became ready, so a dependent's intent always lands after its
//! dependency's success, and a batch of ready steps costs one fsync, not one each.

use std::collections::HashMap;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::action::{ActionError, ErrorKind, JournalRequest};
use crate::driver::{Finished, TaskOutcome, drive, verify_done};
use crate::events::{Event, EventSender, SkipReason};
use crate::graph::Graph;
use crate::journal::{Journal, JournalError, JournalState, RecordKind};
use crate::lock::this_host;
use crate::options::RunOptions;
use crate::registry::Registry;
use crate::report::{Report, RunOutcome};
use crate::scheduler::Scheduler;

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
    // With `--verify` every done step is checked; without, those of kinds checked every run.
    let drifted = verify_done(graph, registry, prior, options, events, cancel).await;
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
