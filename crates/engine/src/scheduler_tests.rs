//! Scheduler tests against a scripted action, each with its graph drawn above it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Graph;
use crate::action::{
    Action, ActionError, BoxFuture, ErrorKind, Outputs, PlanContext, PlanOutcome, RunContext,
};
use crate::events::{Event, EventSender, SkipReason};
use crate::journal::{self, Journal, StepState};
use crate::redact::Scrubber;
use crate::registry::Registry;
use crate::report::{RunOutcome, StepResult};
use crate::scheduler::{RunOptions, RunSummary, run};
use crate::select::{self, Selection};
use crate::step::{RetryPolicy, StepId, StepSpec};

/// Params: `sleep_ms`, `fail_times` (then succeed), `fail_kind` ("command" = transient,
/// "params" = permanent), `output` (a value to return), `undo` (register one).
#[derive(Default)]
struct Scripted {
    runs: Mutex<HashMap<StepId, u32>>,
    log: Mutex<Vec<String>>,
    concurrent: Mutex<(usize, usize)>,
    seen_unknown: Mutex<Vec<StepId>>,
    undone: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    fn runs(&self, id: &str) -> u32 {
        self.runs
            .lock()
            .expect("lock")
            .get(&StepId::from(id))
            .copied()
            .unwrap_or(0)
    }
}

impl Action for Scripted {
    fn plan<'a>(
        &'a self,
        _step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async {
            Ok(PlanOutcome::WillChange {
                summary: "run it".into(),
                diff: None,
            })
        })
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
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
            let slept = context
                .wait("the nap", None, async {
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

fn step(id: &str, phase: u32, needs: &[&str], params: serde_json::Value) -> StepSpec {
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
    }
}

struct Harness {
    dir: tempfile::TempDir,
    action: Arc<Scripted>,
    registry: Registry,
    scrubber: Arc<Scrubber>,
}

impl Harness {
    fn new() -> Self {
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

    async fn run(&self, steps: Vec<StepSpec>, selection: Selection) -> (RunSummary, Vec<Event>) {
        self.run_with(steps, selection, 4, CancellationToken::new())
            .await
    }

    async fn run_with(
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

    fn result(summary: &RunSummary, id: &str) -> (StepResult, u32, Option<String>) {
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
async fn runs_in_dependency_order_and_honours_the_barrier() {
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
async fn never_runs_more_than_the_parallelism() {
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
async fn retries_transient_errors_then_succeeds() {
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
async fn a_permanent_failure_skips_dependents_but_not_independent_branches() {
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
async fn a_timeout_names_the_step_and_the_wait() {
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
}

//   a ──> b               (phase 2)
//   c                     (phase 3)
#[tokio::test]
async fn resume_skips_finished_steps_and_replays_their_outputs() {
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
async fn changed_inputs_replan_the_step_and_everything_downstream() {
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

//   long                  (phase 2, cancelled while it sleeps)
//   never                 (phase 3)
#[tokio::test]
async fn cancellation_interrupts_and_the_next_run_observes_first() {
    let harness = Harness::new();
    let steps = || {
        vec![
            step("long", 2, &[], serde_json::json!({"sleep_ms": 300})),
            step("never", 3, &[], serde_json::json!({})),
        ]
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        trigger.cancel();
    });
    let (summary, _) = harness
        .run_with(steps(), Selection::default(), 4, cancel)
        .await;
    assert_eq!(summary.outcome, RunOutcome::Interrupted);
    assert_eq!(Harness::result(&summary, "long").0, StepResult::Interrupted);
    assert_eq!(
        Harness::result(&summary, "never").2.as_deref(),
        Some("the run was interrupted before it started")
    );
    let journal = journal::load(harness.dir.path()).expect("loads");
    let graph = Graph::build(steps()).expect("graph");
    assert_eq!(journal.status_of(graph.step(0)), StepState::OutcomeUnknown);
    assert_eq!(journal.status_of(graph.step(1)), StepState::Pending);

    let (again, _) = harness.run(steps(), Selection::default()).await;
    assert_eq!(again.outcome, RunOutcome::Succeeded);
    assert_eq!(
        *harness.action.seen_unknown.lock().expect("lock"),
        [StepId::from("long")]
    );
}

//   a ──> b ──> c         (phase 2)
#[tokio::test]
async fn only_skip_and_from_select_steps_and_explain_the_rest() {
    let harness = Harness::new();
    let steps = || {
        let mut steps = vec![
            step("a", 2, &[], serde_json::json!({})),
            step("b", 2, &["a"], serde_json::json!({})),
            step("c", 2, &["b"], serde_json::json!({})),
        ];
        for (ordinal, step) in (1..).zip(&mut steps) {
            step.ordinal = ordinal;
        }
        steps
    };
    // --only b on a fresh state: a is not done, so b cannot run.
    let only_b = Selection {
        only: vec!["b".into()],
        ..Selection::default()
    };
    let (summary, _) = harness.run(steps(), only_b.clone()).await;
    assert_eq!(
        Harness::result(&summary, "b").2.as_deref(),
        Some("needs `a`, which is excluded by --only and not done")
    );
    // --skip c: a and b run, c is left out.
    let skip_c = Selection {
        skip: vec!["c".into()],
        ..Selection::default()
    };
    let (summary, _) = harness.run(steps(), skip_c).await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(
        Harness::result(&summary, "c").2.as_deref(),
        Some("excluded by --skip")
    );
    assert_eq!((harness.action.runs("a"), harness.action.runs("c")), (1, 0));
    // --only b now runs b again even though it is done.
    harness.run(steps(), only_b).await;
    assert_eq!(harness.action.runs("b"), 2);
    // --from b runs b and c again; a stays done.
    let from_b = Selection {
        from: Some("b".into()),
        ..Selection::default()
    };
    let (summary, _) = harness.run(steps(), from_b).await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(
        (
            harness.action.runs("a"),
            harness.action.runs("b"),
            harness.action.runs("c")
        ),
        (1, 3, 1)
    );
}

//   mystery               (a kind without an action)
#[tokio::test]
async fn a_kind_without_an_action_fails_naming_the_kind() {
    let harness = Harness::new();
    let mut mystery = step("mystery", 2, &[], serde_json::json!({}));
    mystery.kind = "tinkerbell.hardware".into();
    let (summary, _) = harness.run(vec![mystery], Selection::default()).await;
    let (result, attempts, detail) = Harness::result(&summary, "mystery");
    assert_eq!((result, attempts), (StepResult::Failed, 1));
    assert_eq!(
        detail.as_deref(),
        Some("step kind `tinkerbell.hardware` cannot run in this version of genesis")
    );
}

//   leaky                 (its error and output carry a secret value)
#[tokio::test]
async fn secret_values_leave_neither_events_nor_journal() {
    let harness = Harness::new();
    let leaky = step(
        "leaky",
        2,
        &[],
        serde_json::json!({"output": "token=hunter2", "fail_times": 0}),
    );
    let (_, events) = harness.run(vec![leaky], Selection::default()).await;
    let text = serde_json::to_string(
        &events
            .iter()
            .map(|event| format!("{event:?}"))
            .collect::<Vec<_>>(),
    )
    .expect("json");
    assert!(!text.contains("hunter2"));
    let journal =
        std::fs::read_to_string(harness.dir.path().join(journal::FILE_NAME)).expect("reads");
    assert!(!journal.contains("hunter2"), "{journal}");
    assert!(journal.contains("[redacted]"));
}

/// Reports drift for steps whose params say `"drifted": true`.
struct Drifty(Arc<Scripted>);

impl Action for Drifty {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        self.0.plan(step, context)
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        self.0.run(step, context)
    }

    fn verify<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<crate::action::Verified, ActionError>> {
        Box::pin(async move {
            Ok(if step.params.get("drifted").is_some() {
                crate::action::Verified::Drifted {
                    what: "the object is gone".into(),
                }
            } else {
                crate::action::Verified::Holds
            })
        })
    }
}

//   kept      (verified: holds)
//   gone      (verified: drifted → runs again)
#[tokio::test]
async fn verify_reruns_only_drifted_steps() {
    let mut harness = Harness::new();
    let mut registry = Registry::new();
    registry.register("scripted", Arc::new(Drifty(Arc::clone(&harness.action))));
    harness.registry = registry;
    let steps = || {
        vec![
            step("kept", 2, &[], serde_json::json!({})),
            step("gone", 2, &[], serde_json::json!({"drifted": true})),
        ]
    };
    harness.run(steps(), Selection::default()).await;
    // Without --verify nothing runs again.
    harness.run(steps(), Selection::default()).await;
    assert_eq!(
        (harness.action.runs("kept"), harness.action.runs("gone")),
        (1, 1)
    );

    let graph = Graph::build(steps()).expect("graph");
    let (mut journal, prior) =
        Journal::open(harness.dir.path(), Arc::clone(&harness.scrubber)).expect("opens");
    let mut options = RunOptions::new(&graph);
    options.verify = true;
    let (events, mut receiver) = EventSender::channel(Arc::clone(&harness.scrubber));
    let summary = run(
        &graph,
        &harness.registry,
        &mut journal,
        &prior,
        &options,
        &events,
        &CancellationToken::new(),
    )
    .await
    .expect("runs");
    drop(events);
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(
        (harness.action.runs("kept"), harness.action.runs("gone")),
        (1, 2)
    );
    let mut drift_events = 0;
    while let Some(event) = receiver.recv().await {
        if let Event::StepDrifted { step, what } = event {
            assert_eq!(
                (step.as_str(), what.as_str()),
                ("gone", "the object is gone")
            );
            drift_events += 1;
        }
    }
    assert_eq!(drift_events, 1);
}

//   announcer             (journals an intent, then runs long and is cancelled)
#[tokio::test]
async fn an_intent_is_on_disk_before_the_step_goes_on() {
    let harness = Harness::new();
    let steps = || {
        vec![step(
            "announcer",
            2,
            &[],
            serde_json::json!({"intent": "create workflow w1", "sleep_ms": 2_000}),
        )]
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let dir = harness.dir.path().to_owned();
    tokio::spawn(async move {
        // Cancel as soon as the intent is durable.
        for _ in 0..200 {
            let text = std::fs::read_to_string(dir.join(journal::FILE_NAME)).unwrap_or_default();
            if text.contains("create workflow w1") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        trigger.cancel();
    });
    let (summary, _) = harness
        .run_with(steps(), Selection::default(), 4, cancel)
        .await;
    assert_eq!(summary.outcome, RunOutcome::Interrupted);
    let journal = journal::load(harness.dir.path()).expect("loads");
    let record = journal.step(&StepId::from("announcer")).expect("journaled");
    assert_eq!(record.last_intent.as_deref(), Some("create workflow w1"));
    let graph = Graph::build(steps()).expect("graph");
    assert_eq!(journal.status_of(graph.step(0)), StepState::OutcomeUnknown);
}

//   slow ──> next         (the run's deadline passes while slow runs)
#[tokio::test]
async fn the_run_deadline_bounds_every_step_and_is_named() {
    let harness = Harness::new();
    let graph = Graph::build(vec![
        step("slow", 2, &[], serde_json::json!({"sleep_ms": 5_000})),
        step("next", 2, &["slow"], serde_json::json!({})),
    ])
    .expect("graph");
    let (mut journal, prior) =
        Journal::open(harness.dir.path(), Arc::clone(&harness.scrubber)).expect("opens");
    let mut options = RunOptions::new(&graph);
    options.run_timeout = Some(Duration::from_millis(150));
    let summary = run(
        &graph,
        &harness.registry,
        &mut journal,
        &prior,
        &options,
        &EventSender::discard(),
        &CancellationToken::new(),
    )
    .await
    .expect("runs");
    assert_eq!(summary.outcome, RunOutcome::Failed);
    let (result, _, detail) = Harness::result(&summary, "slow");
    assert_eq!(result, StepResult::Failed);
    let detail = detail.expect("error");
    assert!(detail.contains("the run's --timeout"), "{detail}");
    assert!(detail.contains("step `slow`"), "{detail}");
    assert_eq!(Harness::result(&summary, "next").0, StepResult::Skipped);
}
