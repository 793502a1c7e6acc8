//! Unit tests of `effects.rs`.

use std::collections::BTreeMap;

use super::super::model::{Observed, PhasePlan, SCHEMA, Totals};
use super::*;

fn disk(machine: &str, device: &str, role: &'static str) -> Disk {
    Disk {
        machine: machine.to_owned(),
        device: device.to_owned(),
        role,
    }
}

fn step(id: &str, state: &str, preview: &'static str, observed: Option<Observed>) -> StepPlan {
    let install = id.starts_with("install/");
    let machine = id.split('/').nth(1).map(str::to_owned);
    StepPlan {
        number: "8".to_owned(),
        id: id.to_owned(),
        name: id.to_owned(),
        kind: "tinkerbell.install".to_owned(),
        item: machine.clone(),
        needs: Vec::new(),
        state: state.to_owned(),
        preview,
        target: "platform",
        actions: Vec::new(),
        timeout_seconds: 1,
        attempts: 1,
        effects: if install {
            vec!["erases-disks", "power-cycles"]
        } else {
            Vec::new()
        },
        erases: match (install, machine) {
            (true, Some(machine)) => vec![
                disk(&machine, "/dev/sda", "install"),
                disk(&machine, "/dev/sdb", "data"),
            ],
            _ => Vec::new(),
        },
        observed,
        selected: true,
        excluded_by: None,
        why: None,
    }
}

fn plan(mode: &'static str, steps: Vec<StepPlan>) -> Plan {
    Plan {
        schema: SCHEMA,
        lab: "lab".to_owned(),
        mode,
        unobserved: Vec::new(),
        phases: vec![PhasePlan {
            number: 3,
            name: "three".to_owned(),
            file: "phase-3.yaml".to_owned(),
            steps,
        }],
        branches: Vec::new(),
        totals: Totals {
            phases: 1,
            steps: 0,
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

fn observed(outcome: &'static str, summary: &str) -> Option<Observed> {
    Some(Observed {
        outcome,
        summary: summary.to_owned(),
        diff: None,
    })
}

#[test]
fn offline_counts_steps_and_the_machines_of_pending_installs_only() {
    let mut plan = plan(
        "offline",
        vec![
            step("check", "pending", "check", None),
            step("hardware/a", "pending", "unobserved", None),
            step("install/a", "done", "nothing", None),
            step("install/b", "pending", "unobserved", None),
            step("install/c", "failed", "unobserved", None),
        ],
    );
    summarize(&mut plan);
    let summary = &plan.summary;
    assert_eq!(summary.objects, None);
    assert_eq!(
        summary.steps,
        StepCounts {
            to_run: 4,
            done: 1,
            unobserved: 3,
            check: 1,
            cannot_preview: 0,
        }
    );
    assert_eq!(summary.machines_erased, ["b", "c"]);
    assert_eq!(summary.machines_power_cycled, ["b", "c"]);
    assert_eq!(
        summary.disks_erased,
        [
            disk("b", "/dev/sda", "install"),
            disk("b", "/dev/sdb", "data"),
            disk("c", "/dev/sda", "install"),
            disk("c", "/dev/sdb", "data"),
        ]
    );
    let done = &plan.phases[0].steps[2];
    assert!(done.effects.is_empty() && done.erases.is_empty());
    let text = render_summary(&plan);
    assert_eq!(
        text,
        "Plan: 4 steps to run: 3 write objects (not observed offline), 1 read-only; 1 done (left alone).\n\
         !! 2 machines will be erased: b (/dev/sda, /dev/sdb), c (/dev/sda, /dev/sdb).\n\
         !! 2 machines will be power-cycled: b, c.\n"
    );
}

#[test]
fn live_counts_objects_and_an_install_that_already_succeeded_erases_nothing() {
    let mut plan = plan(
        "live",
        vec![
            step(
                "bmc/a",
                "pending",
                "will-change",
                observed(
                    "will-change",
                    "Secret t/bmc-a: create; Machine t/a: update (data.password changed)",
                ),
            ),
            step(
                "hardware/a",
                "pending",
                "no-change",
                observed("no-change", "Hardware t/a: no change"),
            ),
            step(
                "install/a",
                "pending",
                "no-change",
                observed("no-change", "Workflow w-a-1 already succeeded"),
            ),
            step(
                "install/b",
                "pending",
                "will-change",
                observed("will-change", "create Workflow w-b-1 and netboot b"),
            ),
            step(
                "register",
                "pending",
                "will-change",
                observed(
                    "will-change",
                    "Secret argocd/h: create; Secret argocd/cluster-h: delete (an earlier genesis registered it)",
                ),
            ),
            step(
                "vm",
                "pending",
                "unobserved",
                observed("not-observed", "no answer within 10s"),
            ),
        ],
    );
    summarize(&mut plan);
    assert_eq!(
        plan.summary.objects,
        Some(ObjectCounts {
            create: 3,
            change: 1,
            delete: 1,
            unchanged: 2,
        })
    );
    assert_eq!(plan.summary.steps.unobserved, 1);
    assert_eq!(
        plan.summary.machines_erased,
        ["b"],
        "a is installed already"
    );
    assert!(plan.phases[0].steps[2].effects.is_empty());
    assert!(
        render_summary(&plan)
            .starts_with("Plan: 3 objects to create, 1 to change, 1 to delete, 2 unchanged (observed); 6 steps to run: 1 writes objects (not observed); 0 done (left alone).\n"),
        "{}",
        render_summary(&plan)
    );
}

#[test]
fn nothing_destructive_says_so() {
    let mut plan = plan("offline", vec![step("check", "pending", "check", None)]);
    summarize(&mut plan);
    assert!(render_summary(&plan).ends_with("No machine will be erased or power-cycled.\n"));
    assert!(Destruction::from_plan(&plan).is_empty());
}

#[test]
fn the_confirmation_lists_each_machine_with_its_disks_and_step() {
    let mut plan = plan(
        "offline",
        vec![
            step("install/a", "pending", "unobserved", None),
            step("install/b", "pending", "unobserved", None),
        ],
    );
    summarize(&mut plan);
    assert_eq!(
        Destruction::from_plan(&plan).render(),
        "!! ERASES the disks of 2 machines:\n    \
         a: install disk /dev/sda, data disk /dev/sdb  (step 8 install/a)\n    \
         b: install disk /dev/sda, data disk /dev/sdb  (step 8 install/b)\n\
         !! POWER-CYCLES 2 machines through their BMCs: a, b\n"
    );
}
