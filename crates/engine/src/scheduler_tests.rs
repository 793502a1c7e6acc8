//! Scheduler tests against a scripted action, each with its graph drawn above it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Graph;
use crate::action::{
    Action, ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext,
};
use crate::events::{Event, EventSender, SkipReason};
use crate::journal::{self, Journal};
use crate::redact::Scrubber;
use crate::registry::Registry;
use crate::report::{RunOutcome, StepResult};
use crate::select::{self, Selection};
use crate::step::{RetryPolicy, StepId, StepSpec};
use crate::{RunOptions, RunSummary, run};

/// Params: `sleep_ms`, `fail_times` (then succeed), `fail_kind` ("command" = transient,
/// "params" = permanent), `output` (a value to return), `undo` (register one).
#[derive(Default)]
pub(crate) struct Scripted {
    pub(crate) runs: Mutex<HashMap<StepId, u32>>,
    pub(crate) log: Mutex<Vec<String>>,
    pub(crate) concurrent: Mutex<(usize, usize)>,
    pub(crate) seen_unknown: Mutex<Vec<StepId>>,
    pub(crate) undone: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    pub(crate) fn runs(&self, id: &str) -> u32 {
        self.runs
            .lock()
            .expect("lock")
            .get(&StepId::from(id))
            .copied()
            .unwrap_or(0)
    }
}

impl Action for Scripted {
    fn plan<'a>(&'a self, _step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async {
            Ok(PlanOutcome::WillChange {
                summary: "run it".into(),
                diff: None,
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let count = {
                let mut runs = self.runs.lock().expect("lock");
                let count = runs.entry(step.id.clone()).or_default();
                *count += 1;
                *count
            };
            if context.outcome_unknown() {
                self.seen_unknown
                    .lock()
                    .expect("lock")
                    .push(step.id.clone());
            }
            {
                let mut concurrent = self.concurrent.lock().expect("lock");
                concurrent.0 += 1;
                concurrent.1 = concurrent.1.max(concurrent.0);
            }
            self.log
                .lock()
                .expect("lock")
                .push(format!("start {}", step.id));
            if step.params.get("undo").is_some() {
                let undone = Arc::clone(&self.undone);
                let id = step.id.to_string();
                context.register_undo("put it back", move || {
                    Box::pin(async move {
                        undone.lock().expect("lock").push(id);
                        Ok(())
                    })
                });
            }
            if let Some(what) = step
                .params
                .get("intent")
                .and_then(serde_json::Value::as_str)
            {
                context.intent(what).await?;
            }
            context.set_substate("sleeping");
            let sleep = step
                .params
                .get("sleep_ms")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            let seen = step.params.get("seen").and_then(serde_json::Value::as_str);
            let slept = context
                .wait("the nap", None, async {
                    if let Some(seen) = seen {
                        context.set_substate(seen);
                    }
                    tokio::time::sleep(Duration::from_millis(sleep)).await;
                    Ok(())
                })
                .await;
            self.concurrent.lock().expect("lock").0 -= 1;
            slept?;
            self.log
                .lock()
                .expect("lock")
                .push(format!("end {}", step.id));
            let fail_times = step
                .params
                .get("fail_times")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            if u64::from(count) <= fail_times {
                let kind = match step
                    .params
                    .get("fail_kind")
                    .and_then(serde_json::Value::as_str)
                {
                    Some("params") => ErrorKind::InvalidParams,
                    _ => ErrorKind::CommandFailed,
                };
                return Err(ActionError::new(kind, format!("scripted failure {count}")));
            }
            let mut outputs = Outputs::new();
            if let Some(value) = step.params.get("output") {
                outputs.insert("value".into(), value.clone());
            }
            let upstream: Vec<String> = context
                .needs()
                .iter()
                .filter_map(|(id, outputs)| {
                    outputs.get("value").map(|value| format!("{id}={value}"))
                })
                .collect();
            if !upstream.is_empty() {
                outputs.insert("upstream".into(), serde_json::json!(upstream));
            }
            Ok(outputs)
        })
    }
}

pub(crate) fn step(id: &str, phase: u32, needs: &[&str], params: serde_json::Value) -> StepSpec {
    StepSpec {
        id: StepId::from(id),
        number: id.to_owned(),
        ordinal: 0,
        name: format!("step {id}"),
        phase,
        kind: "scripted".to_owned(),
        item: None,
        params,
        needs: needs.iter().map(|need| StepId::from(*need)).collect(),
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        estimate: None,
        secret_digests: Default::default(),
    }
}

pub(crate) struct Harness {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) action: Arc<Scripted>,
    pub(crate) registry: Registry,
    pub(crate) scrubber: Arc<Scrubber>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        let action = Arc::new(Scripted::default());
        let mut registry = Registry::new();
        registry.register("scripted", action.clone());
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            action,
            registry,
            scrubber: Arc::new(Scrubber::new(["hunter2"])),
        }
    }

    pub(crate) async fn run(
        &self,
        steps: Vec<StepSpec>,
        selection: Selection,
    ) -> (RunSummary, Vec<Event>) {
        self.run_with(steps, selection, 4, CancellationToken::new())
            .await
    }

    pub(crate) async fn run_with(
        &self,
        steps: Vec<StepSpec>,
        selection: Selection,
        parallelism: usize,
        cancel: CancellationToken,
    ) -> (RunSummary, Vec<Event>) {
        let graph = Graph::build(steps).expect("valid graph");
        let (mut journal, prior) =
            Journal::open(self.dir.path(), Arc::clone(&self.scrubber)).expect("journal opens");
        let mut options = RunOptions::new(&graph);
        options.parallelism = parallelism;
        options.selection = select::resolve(&graph, &selection).expect("selection resolves");
        let (events, mut receiver) = EventSender::channel(Arc::clone(&self.scrubber));
        let summary = run(
            &graph,
            &self.registry,
            &mut journal,
            &prior,
            &options,
            &events,
            &cancel,
        )
        .await
        .expect("run completes");
        drop(events);
        let mut seen = Vec::new();
        while let Some(event) = receiver.recv().await {
            seen.push(event);
        }
        (summary, seen)
    }

    pub(crate) fn result(summary: &RunSummary, id: &str) -> (StepResult, u32, Option<String>) {
        let row = summary
            .report
            .steps
            .iter()
            .find(|row| row.step.as_str() == id)
            .expect("step in report");
        (row.result, row.attempts, row.detail.clone())
    }
}

//   a ──> b ──> d        (phase 2)
//   └───> c ──┘
//   e                    (phase 3: starts after all of phase 2)
#[tokio::test]
pub(crate) async fn runs_in_dependency_order_and_honours_the_barrier() {
    let harness = Harness::new();
    let steps = vec![
        step(
            "a",
            2,
            &[],
            serde_json::json!({"sleep_ms": 20, "output": 1}),
        ),
        step("b", 2, &["a"], serde_json::json!({"sleep_ms": 20})),
        step("c", 2, &["a"], serde_json::json!({"sleep_ms": 40})),
        step("d", 2, &["b", "c"], serde_json::json!({})),
        step("e", 3, &[], serde_json::json!({})),
    ];
    let (summary, _) = harness.run(steps, Selection::default()).await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    let log = harness.action.log.lock().expect("lock").clone();
    let at = |line: &str| log.iter().position(|entry| entry == line).expect(line);
    assert!(at("end a") < at("start b") && at("end a") < at("start c"));
    assert!(at("end b") < at("start d") && at("end c") < at("start d"));
    assert!(at("end d") < at("start e"));
    // b and c overlapped.
    assert!(at("start c") < at("end b"));
    assert_eq!(
        summary.report.critical_path,
        ["a", "c", "d", "e"].map(StepId::from).to_vec()
    );
}

//   s0 s1 s2 s3 s4 s5     (phase 2, independent)
#[tokio::test]
pub(crate) async fn never_runs_more_than_the_parallelism() {
    let harness = Harness::new();
    let steps = (0..6)
        .map(|index| {
            step(
                &format!("s{index}"),
                2,
                &[],
                serde_json::json!({"sleep_ms": 30}),
            )
        })
        .collect();
    let (summary, _) = harness
        .run_with(steps, Selection::default(), 2, CancellationToken::new())
        .await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(harness.action.concurrent.lock().expect("lock").1, 2);
}

//   flaky                 (fails twice, transient)
#[tokio::test]
pub(crate) async fn retries_transient_errors_then_succeeds() {
    let harness = Harness::new();
    let (summary, events) = harness
        .run(
            vec![step("flaky", 2, &[], serde_json::json!({"fail_times": 2}))],
            Selection::default(),
        )
        .await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(Harness::result(&summary, "flaky").1, 3);
    let retries = events
        .iter()
        .filter(|event| matches!(event, Event::StepRetrying { .. }))
        .count();
    assert_eq!(retries, 2);
}

//   broken ──> after      (phase 2; broken fails permanently)
//   other                 (phase 2, independent: still finishes)
//   later                 (phase 3: barrier stays closed)
#[tokio::test]
pub(crate) async fn a_permanent_failure_skips_dependents_but_not_independent_branches() {
    let harness = Harness::new();
    let steps = vec![
        step(
            "broken",
            2,
            &[],
            serde_json::json!({"fail_times": 9, "fail_kind": "params", "undo": true}),
        ),
        step("after", 2, &["broken"], serde_json::json!({})),
        step("other", 2, &[], serde_json::json!({"sleep_ms": 50})),
        step("later", 3, &[], serde_json::json!({})),
    ];
    let (summary, _) = harness.run(steps, Selection::default()).await;
    assert_eq!(summary.outcome, RunOutcome::Failed);
    let (result, attempts, detail) = Harness::result(&summary, "broken");
    assert_eq!(
        (result, attempts),
        (StepResult::Failed, 1),
        "permanent: no retry"
    );
    assert_eq!(detail.as_deref(), Some("scripted failure 1"));
    let (result, _, detail) = Harness::result(&summary, "after");
    assert_eq!(result, StepResult::Skipped);
    assert_eq!(detail.as_deref(), Some("needs `broken`, which failed"));
    assert_eq!(Harness::result(&summary, "other").0, StepResult::Succeeded);
    let (result, _, detail) = Harness::result(&summary, "later");
    assert_eq!(result, StepResult::Skipped);
    assert_eq!(
        detail.as_deref(),
        Some("phase 2 did not finish (`broken` did not succeed)")
    );
    assert_eq!(harness.action.runs("after"), 0);
    assert_eq!(*harness.action.undone.lock().expect("lock"), ["broken"]);
    let journal = journal::load(harness.dir.path()).expect("loads");
    let after = journal.step(&StepId::from("after")).expect("journaled");
    assert_eq!(
        after.skip_reason,
        Some(SkipReason::DependencyFailed {
            step: StepId::from("broken")
        })
    );
}

//   slow                  (sleeps past its timeout)
#[tokio::test]
pub(crate) async fn a_timeout_names_the_step_and_the_wait() {
    let harness = Harness::new();
    let mut slow = step("slow", 2, &[], serde_json::json!({"sleep_ms": 5_000}));
    slow.timeout = Duration::from_millis(100);
    let (summary, _) = harness.run(vec![slow], Selection::default()).await;
    assert_eq!(summary.outcome, RunOutcome::Failed);
    let (result, attempts, detail) = Harness::result(&summary, "slow");
    assert_eq!((result, attempts), (StepResult::Failed, 1));
    let detail = detail.expect("error");
    assert!(detail.contains("step `slow`"), "{detail}");
    assert!(detail.contains("the nap"), "{detail}");
    assert!(!detail.contains("last seen"), "{detail}");
}

//   slow                  (sleeps past its timeout, having said what it saw)
#[tokio::test]
pub(crate) async fn a_timeout_says_what_the_wait_saw_last() {
    let harness = Harness::new();
    let mut slow = step(
        "slow",
        2,
        &[],
        serde_json::json!({"sleep_ms": 5_000, "seen": "2/3 nodes Ready; 1 not registered yet"}),
    );
    slow.timeout = Duration::from_millis(100);
    let (summary, _) = harness.run(vec![slow], Selection::default()).await;
    let (_, _, detail) = Harness::result(&summary, "slow");
    let detail = detail.expect("error");
    assert!(
        detail.ends_with(
            "expired while waiting for the nap; last seen: 2/3 nodes Ready; 1 not registered yet"
        ),
        "{detail}"
    );
}

//   a ──> b               (phase 2)
//   c                     (phase 3)
#[tokio::test]
pub(crate) async fn resume_skips_finished_steps_and_replays_their_outputs() {
    let harness = Harness::new();
    let steps = || {
        vec![
            step("a", 2, &[], serde_json::json!({"output": "x"})),
            step(
                "b",
                2,
                &["a"],
                serde_json::json!({"fail_times": 1, "fail_kind": "params"}),
            ),
            step("c", 3, &[], serde_json::json!({})),
        ]
    };
    let (first, _) = harness.run(steps(), Selection::default()).await;
    assert_eq!(first.outcome, RunOutcome::Failed);
    let (second, _) = harness.run(steps(), Selection::default()).await;
    assert_eq!(second.outcome, RunOutcome::Succeeded);
    assert_eq!(harness.action.runs("a"), 1, "a is not run twice");
    assert_eq!(harness.action.runs("b"), 2);
    assert_eq!(
        Harness::result(&second, "a").2.as_deref(),
        Some("done in an earlier run")
    );
    let journal = journal::load(harness.dir.path()).expect("loads");
    let b = journal.step(&StepId::from("b")).expect("b");
    assert_eq!(
        b.outputs.get("upstream"),
        Some(&serde_json::json!(["a=\"x\""]))
    );
    // A third run has nothing to do.
    let (third, _) = harness.run(steps(), Selection::default()).await;
    assert_eq!(third.outcome, RunOutcome::Succeeded);
    assert_eq!(harness.action.runs("c"), 1);
}

//   a ──> b               (phase 2)
//   c                     (phase 2, independent)
//   d                     (phase 3)
#[tokio::test]
pub(crate) async fn changed_inputs_replan_the_step_and_everything_downstream() {
    let harness = Harness::new();
    let steps = |value: u32| {
        vec![
            step("a", 2, &[], serde_json::json!({"output": value})),
            step("b", 2, &["a"], serde_json::json!({})),
            step("c", 2, &[], serde_json::json!({})),
            step("d", 3, &[], serde_json::json!({})),
        ]
    };
    harness.run(steps(1), Selection::default()).await;
    let (summary, _) = harness.run(steps(2), Selection::default()).await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(harness.action.runs("a"), 2);
    assert_eq!(harness.action.runs("b"), 2);
    assert_eq!(harness.action.runs("c"), 1);
    assert_eq!(harness.action.runs("d"), 2);
}
