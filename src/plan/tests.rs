//! Plan tests.

use std::collections::BTreeMap;
use std::time::Duration;

use genesis_engine::{ActionError, PlanOutcome};

use super::*;

use super::observe::observed_from;

fn step(id: &str, preview: &'static str, observed: Option<Observed>) -> StepPlan {
    StepPlan {
        number: "7".to_owned(),
        id: id.to_owned(),
        name: "Hardware".to_owned(),
        kind: "tinkerbell.hardware".to_owned(),
        item: None,
        needs: Vec::new(),
        state: "pending".to_owned(),
        preview,
        target: "platform",
        actions: vec!["apply Hardware".to_owned()],
        timeout_seconds: 60,
        attempts: 3,
        effects: Vec::new(),
        erases: Vec::new(),
        observed,
        selected: true,
        excluded_by: None,
        why: None,
    }
}

fn plan(steps: Vec<StepPlan>) -> Plan {
    Plan {
        schema: SCHEMA,
        lab: "lab".to_owned(),
        mode: "live",
        unobserved: Vec::new(),
        phases: vec![PhasePlan {
            number: 3,
            name: "Harvester".to_owned(),
            file: "phase-3.yaml".to_owned(),
            steps,
        }],
        branches: Vec::new(),
        totals: Totals {
            phases: 1,
            steps: 1,
            by_state: BTreeMap::new(),
            by_preview: BTreeMap::new(),
            selected: None,
        },
        summary: Summary::default(),
        observation: None,
        projection: None,
        selection: None,
    }
}

#[test]
fn outcomes_map_to_the_documented_words() {
    let timeout = Duration::from_secs(3);
    let changed = observed_from(
        Ok(Ok(PlanOutcome::WillChange {
            summary: "X: update".to_owned(),
            diff: Some("-a\n+b\n".to_owned()),
        })),
        timeout,
    );
    assert_eq!(changed.outcome, "will-change");
    assert_eq!(changed.diff.as_deref(), Some("-a\n+b\n"));
    let same = observed_from(
        Ok(Ok(PlanOutcome::NoChange {
            summary: "X: no change".to_owned(),
        })),
        timeout,
    );
    assert_eq!(same.outcome, "no-change");
    let failed = observed_from(
        Ok(Err(ActionError::new(
            genesis_engine::ErrorKind::Unreachable,
            "connection refused",
        ))),
        timeout,
    );
    assert_eq!(
        (failed.outcome, failed.summary.as_str()),
        ("not-observed", "connection refused")
    );
    let depends = observed_from(
        Ok(Ok(PlanOutcome::DependsOnEarlier {
            what: "step 9".to_owned(),
        })),
        timeout,
    );
    assert_eq!(depends.outcome, "depends-on-earlier");
    assert_eq!(depends.summary, "depends on step 9");
}

#[tokio::test]
async fn a_timeout_names_the_flag() {
    let elapsed = tokio::time::timeout(Duration::ZERO, std::future::pending::<()>())
        .await
        .expect_err("times out");
    let observed = observed_from(Err(elapsed), Duration::from_secs(3));
    assert_eq!(observed.outcome, "not-observed");
    assert!(observed.summary.contains("3s"), "{}", observed.summary);
    assert!(observed.summary.contains("--observe-timeout"));
}

#[test]
fn the_text_shows_each_object_and_the_diff_and_no_actions_without_change() {
    let text = render_text(&plan(vec![
        step(
            "hardware/a",
            "will-change",
            Some(Observed {
                outcome: "will-change",
                summary: "Secret ns/s: update (data.password changed); Machine ns/m: no change"
                    .to_owned(),
                diff: Some("--- live\n+++ after\n-  x: 1\n+  x: 2\n".to_owned()),
            }),
        ),
        step(
            "hardware/b",
            "no-change",
            Some(Observed {
                outcome: "no-change",
                summary: "Hardware ns/b: no change".to_owned(),
                diff: None,
            }),
        ),
    ]));
    assert!(text.contains("live mode"), "{text}");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let start = lines
        .iter()
        .position(|line| line.contains("hardware/a"))
        .expect("step a");
    assert_eq!(
        &lines[start + 2..start + 8],
        [
            "Secret ns/s: update (data.password changed)",
            "Machine ns/m: no change",
            "--- live",
            "+++ after",
            "-  x: 1",
            "+  x: 2",
        ]
    );
    assert_eq!(lines[start + 8], "- apply Hardware");
    let b = lines
        .iter()
        .position(|line| line.contains("hardware/b"))
        .expect("step b");
    assert!(lines[b].contains("no change (observed)"));
    assert_eq!(
        lines
            .iter()
            .filter(|line| **line == "- apply Hardware")
            .count(),
        1,
        "no actions for a step that changes nothing"
    );
}
