//! Scheduler tests of control: cancellation, selection, unknown kinds, secrets, --verify,
//! intents and the run deadline.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Graph;
use crate::action::{Action, ActionError, BoxFuture, PlanContext, Planned, Ran, RunContext};
use crate::events::{Event, EventSender};
use crate::journal::{self, Journal, StepState};
use crate::registry::Registry;
use crate::report::{RunOutcome, StepResult};
use crate::select::Selection;
use crate::step::{StepId, StepSpec};
use crate::{RunOptions, run};

use crate::scheduler_tests::*;

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
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        self.0.plan(step, context)
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
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

/// A kind checked on every run: drifts once `rotated` is set; a step with `"unreachable"` in
/// its params cannot be checked.
struct Watched {
    inner: Arc<Scripted>,
    rotated: std::sync::atomic::AtomicBool,
}

impl Action for Watched {
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        self.inner.plan(step, context)
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        self.inner.run(step, context)
    }

    fn verify<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<crate::action::Verified, ActionError>> {
        Box::pin(async move {
            if step.params.get("unreachable").is_some() {
                return Err(ActionError::new(
                    crate::action::ErrorKind::Unreachable,
                    "the node does not answer",
                ));
            }
            Ok(if self.rotated.load(std::sync::atomic::Ordering::SeqCst) {
                crate::action::Verified::Drifted {
                    what: "the certificate changed".into(),
                }
            } else {
                crate::action::Verified::Holds
            })
        })
    }

    fn verify_every_run(&self) -> bool {
        true
    }
}

//   cert (checked every run) ──> middle ──> minted     (phase 2)
//   other                                              (phase 2)
//   blind (checked every run, cannot be checked)       (phase 2)
#[tokio::test]
async fn kinds_checked_every_run_rerun_when_drifted_and_so_do_their_dependents() {
    let mut harness = Harness::new();
    let watched = Arc::new(Watched {
        inner: Arc::clone(&harness.action),
        rotated: std::sync::atomic::AtomicBool::new(false),
    });
    let mut registry = Registry::new();
    registry.register("scripted", harness.action.clone());
    registry.register("watched", watched.clone());
    harness.registry = registry;
    let steps = || {
        vec![
            StepSpec {
                kind: "watched".into(),
                ..step("cert", 2, &[], serde_json::json!({}))
            },
            step("middle", 2, &["cert"], serde_json::json!({})),
            step("minted", 2, &["middle"], serde_json::json!({})),
            step("other", 2, &[], serde_json::json!({})),
            StepSpec {
                kind: "watched".into(),
                ..step("blind", 2, &[], serde_json::json!({"unreachable": true}))
            },
        ]
    };
    let runs = |harness: &Harness| {
        ["cert", "middle", "minted", "other", "blind"].map(|id| harness.action.runs(id))
    };
    harness.run(steps(), Selection::default()).await;
    // Nothing drifted: nothing runs again, without --verify; the step that cannot be checked
    // stays done and says so.
    let (summary, events) = harness.run(steps(), Selection::default()).await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(runs(&harness), [1, 1, 1, 1, 1]);
    let unverified: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::StepUnverified { step, why } => Some((step.to_string(), why.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(unverified.len(), 1, "{unverified:?}");
    assert_eq!(unverified[0].0, "blind");
    assert!(
        unverified[0].1.contains("does not answer"),
        "{unverified:?}"
    );
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, Event::StepDrifted { .. }))
    );

    // Rotated: the drifted step runs again, and what needs it, transitively; nothing else.
    watched
        .rotated
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (summary, events) = harness.run(steps(), Selection::default()).await;
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    assert_eq!(runs(&harness), [2, 2, 2, 1, 1]);
    let drifted: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::StepDrifted { step, what } => Some(format!("{step}: {what}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        drifted,
        [
            "cert: the certificate changed",
            "middle: `cert`, which it needs, runs again",
            "minted: `middle`, which it needs, runs again",
        ]
    );
}
