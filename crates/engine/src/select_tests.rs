//! Selection tests; each graph is drawn in a comment above the function that builds it.

use super::*;
use crate::step::StepSpec;

fn step(id: &str, number: &str, ordinal: u32, phase: u32, needs: &[&str]) -> StepSpec {
    StepSpec {
        number: number.to_owned(),
        ordinal,
        item: id.split_once('/').map(|(_, item)| item.to_owned()),
        ..StepSpec::for_test(id, phase, needs)
    }
}

//   check(1) ──> install/m1(2/m1) ──> join(3)      phase 2
//            └─> install/m2(2/m2) ──┘
//   vms(4)                                          phase 3
fn graph() -> Graph {
    Graph::build(vec![
        step("check", "1", 1, 2, &[]),
        step("install/m1", "2/m1", 2, 2, &["check"]),
        step("install/m2", "2/m2", 2, 2, &["check"]),
        step("join", "3", 3, 2, &["install/m1", "install/m2"]),
        step("vms", "4", 4, 3, &[]),
    ])
    .expect("graph")
}

//   api(1) ──> bmc/a(2/a) ──> create/a(3/a) ──> vip(4) ──> join/b(5/b) ──> quorum(6) ──> argo(7)
//          └─> bmc/b(2/b) ─────────────────────────────┘                ┘
//   vm/cp-2(8/cp-2) ──> up/cp-2(9/cp-2)                                      phase 3
//   vm/cp-3(8/cp-3) ──> up/cp-3(9/cp-3)
fn lab() -> Graph {
    Graph::build(vec![
        step("api", "1", 1, 2, &[]),
        step("bmc/a", "2/a", 2, 2, &["api"]),
        step("bmc/b", "2/b", 2, 2, &["api"]),
        step("create/a", "3/a", 3, 2, &["bmc/a"]),
        step("vip", "4", 4, 2, &["create/a"]),
        step("join/b", "5/b", 5, 2, &["bmc/b", "vip"]),
        step("quorum", "6", 6, 2, &["vip", "join/b"]),
        step("argo", "7", 7, 2, &["quorum"]),
        step("vm/cp-2", "8/cp-2", 8, 3, &[]),
        step("vm/cp-3", "8/cp-3", 8, 3, &[]),
        step("up/cp-2", "9/cp-2", 9, 3, &["vm/cp-2"]),
        step("up/cp-3", "9/cp-3", 9, 3, &["vm/cp-3"]),
    ])
    .expect("graph")
}

fn included(graph: &Graph, resolved: &Resolved) -> Vec<String> {
    graph
        .order()
        .iter()
        .filter(|&&position| resolved.includes(position))
        .map(|&position| graph.step(position).id.to_string())
        .collect()
}

fn select(graph: &Graph, selection: Selection) -> Vec<String> {
    included(graph, &resolve(graph, &selection).expect("resolves"))
}

#[test]
fn from_takes_the_step_and_everything_after() {
    let graph = graph();
    let selection = Selection {
        from: Some("2".into()),
        ..Selection::default()
    };
    let resolved = resolve(&graph, &selection).expect("resolves");
    assert_eq!(
        included(&graph, &resolved),
        ["install/m1", "install/m2", "join", "vms"]
    );
    assert_eq!(resolved.excluded[0], Some("--from"));
    assert!(resolved.forced[1]);
}

#[test]
fn only_and_skip_by_id_number_or_template() {
    let graph = graph();
    let selection = Selection {
        only: vec!["install".into(), "3".into()],
        skip: vec!["2/m2".into()],
        ..Selection::default()
    };
    let resolved = resolve(&graph, &selection).expect("resolves");
    assert_eq!(included(&graph, &resolved), ["install/m1", "join"]);
    assert_eq!(resolved.excluded[2], Some("--skip"));
    assert_eq!(resolved.excluded[4], Some("--only"));
}

#[test]
fn globs_match_ids_and_numbers_within_one_part() {
    let graph = lab();
    let only = |patterns: &[&str]| {
        select(
            &graph,
            Selection {
                only: patterns
                    .iter()
                    .map(|pattern| (*pattern).to_owned())
                    .collect(),
                ..Selection::default()
            },
        )
    };
    assert_eq!(only(&["vm/cp-*"]), ["vm/cp-2", "vm/cp-3"]);
    assert_eq!(only(&["*/cp-2"]), ["vm/cp-2", "up/cp-2"]);
    assert_eq!(only(&["9/*"]), ["up/cp-2", "up/cp-3"]);
    assert_eq!(only(&["bmc/*"]), ["bmc/a", "bmc/b"]);
    assert_eq!(only(&["{api,argo}"]), ["api", "argo"]);
    // `*` stays within one part: `b*` does not reach into `bmc/a`.
    let error = resolve(
        &graph,
        &Selection {
            only: vec!["b*".into()],
            ..Selection::default()
        },
    )
    .expect_err("matches nothing");
    assert!(matches!(error, SelectError::UnknownStep { .. }), "{error}");
    assert!(matches!(
        resolve(
            &graph,
            &Selection {
                skip: vec!["vm/[".into()],
                ..Selection::default()
            }
        ),
        Err(SelectError::BadGlob { .. })
    ));
}

#[test]
fn a_machine_takes_its_branch_and_what_needs_it() {
    let graph = lab();
    let machine = |names: &[&str]| {
        select(
            &graph,
            Selection {
                machines: names.iter().map(|name| (*name).to_owned()).collect(),
                ..Selection::default()
            },
        )
    };
    // b's own steps, then what needs them, but not a's steps nor the next phase.
    assert_eq!(machine(&["b"]), ["bmc/b", "join/b", "quorum", "argo"]);
    // a's create step leads to vip; join/b needs vip but belongs to b.
    assert_eq!(
        machine(&["a"]),
        ["bmc/a", "create/a", "vip", "quorum", "argo"]
    );
    assert_eq!(machine(&["cp-3"]), ["vm/cp-3", "up/cp-3"]);
    let both = resolve(
        &graph,
        &Selection {
            only: vec!["api".into()],
            machines: vec!["cp-2".into()],
            ..Selection::default()
        },
    )
    .expect("resolves");
    assert_eq!(included(&graph, &both), ["api", "vm/cp-2", "up/cp-2"]);
    assert_eq!(both.excluded[1], Some("--only/--machine"));
    assert!(both.forced[0] && both.forced[8]);
}

#[test]
fn unknown_references_are_named_with_the_nearest() {
    let error = resolve(
        &graph(),
        &Selection {
            skip: vec!["nope".into()],
            ..Selection::default()
        },
    )
    .expect_err("unknown");
    assert_eq!(error.to_string(), "--skip `nope` names no step of this run");
    assert_eq!(
        error.help(),
        "the steps are `check`, `install`, `join`, `vms` (each with its number; a fanned-out step also as `id/machine`); `genesis plan` lists them all"
    );

    let graph = lab();
    let error = |selection: Selection| resolve(&graph, &selection).expect_err("refused");
    let typo = error(Selection {
        only: vec!["vm/cp-4".into()],
        ..Selection::default()
    });
    assert_eq!(typo.help(), "did you mean `vm/cp-2` or `vm/cp-3`?");
    let machine = error(Selection {
        only: vec!["cp-2".into()],
        ..Selection::default()
    });
    assert_eq!(
        machine.to_string(),
        "--only `cp-2` is a machine, not a step: use --machine cp-2"
    );
    let unknown = error(Selection {
        machines: vec!["cp-9".into()],
        ..Selection::default()
    });
    assert_eq!(
        unknown.to_string(),
        "--machine `cp-9` names no machine of this run"
    );
    assert_eq!(unknown.help(), "did you mean `cp-2` or `cp-3`?");
    let step = error(Selection {
        machines: vec!["quorum".into()],
        ..Selection::default()
    });
    assert_eq!(
        step.to_string(),
        "--machine `quorum` is a step, not a machine: use --only quorum"
    );
}
