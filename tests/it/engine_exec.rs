//! End to end through the real binary with local `exec` steps: retries, timeouts, failure
//! isolation, changed inputs, a torn journal, `reset`, `--from/--only/--skip`, scrubbing.

use crate::GENESIS;
use genesis_engine::{StepId, StepState};
use genesis_harness::exec::{World, code, exec_step, phase, stderr, stdout};

const RETRY: &str = "    retry: {attempts: 3, backoff: 50ms, max_backoff: 100ms}\n";

//   flaky (fails once, then succeeds)
#[test]
fn a_transient_failure_is_retried_then_succeeds() {
    let world = World::with_phases(
        GENESIS,
        &[(
            "phase-2.yaml",
            phase(
                2,
                &[exec_step(
                    "flaky",
                    1,
                    &[],
                    "if [ ! -f \"$GENESIS_TEST_DIR/once\" ]; then touch \"$GENESIS_TEST_DIR/once\"; echo first try fails >&2; exit 1; fi",
                    RETRY,
                )],
            ),
        )],
    );
    let output = world.run(&["up"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("attempt 1 failed"),
        "{}",
        stderr(&output)
    );
    assert_eq!(world.starts_of("flaky"), 2);
    let journal = world.journal();
    let record = journal.step(&StepId::from("flaky")).expect("journaled");
    assert_eq!(record.attempts, 2);
}

//   slow (sleeps past its 500ms timeout)
#[test]
fn a_timeout_fails_the_step_and_names_it() {
    let world = World::with_phases(
        GENESIS,
        &[(
            "phase-2.yaml",
            phase(2, &[exec_step("slow", 1, &[], "sleep 10", "")])
                .replace("timeout: 30s", "timeout: 500ms"),
        )],
    );
    let started = std::time::Instant::now();
    let output = world.run(&["up"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    let text = stderr(&output);
    assert!(text.contains("step `slow` timed out"), "{text}");
    assert!(text.contains("500ms"), "{text}");
}

//   broken ──> after      (phase 2; broken's program does not exist: permanent)
//   other                 (phase 2; independent, finishes)
//   later                 (phase 3; behind the barrier)
//   mystery               (phase 2; a kind without a runtime action)
#[test]
fn a_permanent_failure_skips_dependents_and_the_independent_branch_finishes() {
    let broken = exec_step("broken", 1, &[], "true", RETRY)
        .replace("command: sh", "command: /nonexistent/genesis-test-program");
    let world = World::with_phases(GENESIS, &[
        (
            "phase-2.yaml",
            phase(
                2,
                &[
                    broken,
                    exec_step("after", 2, &["broken"], "true", ""),
                    exec_step("other", 3, &[], "sleep 0.3", ""),
                    "  - id: mystery\n    number: 4\n    name: A kind without an action yet\n    kind: kube.node-joined\n    params: {cluster: platform, node: nowhere, role: control-plane}\n    timeout: 3s\n".to_owned(),
                ],
            ),
        ),
        ("phase-3.yaml", phase(3, &[exec_step("later", 5, &[], "true", "")])),
    ]);
    let output = world.run(&["up"]);
    let text = stderr(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert_eq!(world.starts_of("other"), 1, "the independent branch ran");
    assert_eq!(world.starts_of("after"), 0);
    assert_eq!(world.starts_of("later"), 0);
    assert!(
        text.contains("could not start `/nonexistent/genesis-test-program`"),
        "{text}"
    );
    assert!(text.contains("needs `broken`, which failed"), "{text}");
    assert!(text.contains("phase 2 did not finish"), "{text}");
    // Until its action lands, a kind without one fails naming the kind; either way it never
    // pretends to succeed.
    let mystery = journal_state_of(&world, "mystery");
    assert_eq!(
        mystery,
        Some(genesis_engine::journal::Journaled::Failed),
        "{text}"
    );
    let journal = world.journal();
    let broken = journal.step(&StepId::from("broken")).expect("journaled");
    assert_eq!(broken.attempts, 1, "a permanent error is not retried");
}

fn journal_state_of(world: &World, step: &str) -> Option<genesis_engine::journal::Journaled> {
    world
        .journal()
        .step(&StepId::from(step))
        .map(|record| record.state)
}

fn chain(middle_script: &str) -> Vec<(&'static str, String)> {
    //   first ──> middle ──> last      (phase 2)
    //   aside                          (phase 2)
    //   final                          (phase 3)
    vec![
        (
            "phase-2.yaml",
            phase(
                2,
                &[
                    exec_step("first", 1, &[], "true", ""),
                    exec_step("middle", 2, &["first"], middle_script, ""),
                    exec_step("last", 3, &["middle"], "true", ""),
                    exec_step("aside", 4, &[], "true", ""),
                ],
            ),
        ),
        (
            "phase-3.yaml",
            phase(3, &[exec_step("final", 5, &[], "true", "")]),
        ),
    ]
}

#[test]
fn changed_inputs_rerun_the_step_and_everything_downstream() {
    let world = World::with_phases(GENESIS, &chain("echo v1"));
    assert_eq!(code(&world.run(&["up"])), 0);
    world.write_phases(&chain("echo v2"));
    let plan = world.run(&["up", "--dry-run"]);
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    let output = world.run(&["up"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let starts = world.starts();
    assert_eq!(starts.get("first"), Some(&1));
    assert_eq!(starts.get("aside"), Some(&1));
    assert_eq!(starts.get("middle"), Some(&2));
    assert_eq!(starts.get("last"), Some(&2));
    assert_eq!(
        starts.get("final"),
        Some(&2),
        "downstream through the barrier"
    );
}

#[test]
fn a_torn_last_journal_line_is_tolerated_and_cut() {
    let world = World::with_phases(GENESIS, &chain("true"));
    assert_eq!(code(&world.run(&["up"])), 0);
    let journal = world.state.join(genesis_engine::journal::FILE_NAME);
    let mut bytes = std::fs::read(&journal).expect("journal");
    bytes.extend_from_slice(b"{\"at\":1,\"record\":\"step_succ");
    std::fs::write(&journal, bytes).expect("tear");
    assert!(world.journal().torn_tail());
    let status = world.run(&["status"]);
    assert_eq!(code(&status), 0, "{}", stderr(&status));
    assert!(stdout(&status).contains("done"));
    let output = world.run(&["up"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).contains("torn"), "{}", stderr(&output));
    assert!(!world.journal().torn_tail());
    assert_eq!(world.starts_of("first"), 1, "nothing ran twice");
}

#[test]
fn reset_forgets_a_step_so_it_runs_again() {
    let world = World::with_phases(GENESIS, &chain("true"));
    assert_eq!(code(&world.run(&["up"])), 0);
    let reset = world.run(&["reset", "middle"]);
    assert_eq!(code(&reset), 0, "{}", stderr(&reset));
    let graph_step = world.journal();
    assert!(graph_step.step(&StepId::from("middle")).is_none());
    assert_eq!(code(&world.run(&["up"])), 0);
    assert_eq!(world.starts_of("middle"), 2);
    assert_eq!(world.starts_of("last"), 1);
    let unknown = world.run(&["reset", "nope"]);
    assert_eq!(code(&unknown), 2);
}

#[test]
fn from_only_and_skip_select_steps() {
    let world = World::with_phases(GENESIS, &chain("true"));
    // --skip 2: middle never starts, so last (which needs it) is skipped and explained.
    let output = world.run(&["up", "--skip", "2"]);
    let text = stderr(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert!(text.contains("excluded by --skip"), "{text}");
    assert!(
        text.contains("needs `middle`, which is excluded by --skip and not done"),
        "{text}"
    );
    assert_eq!(world.starts_of("middle"), 0);
    assert_eq!(
        world.starts_of("final"),
        0,
        "`last` did not finish, so phase 3 waits"
    );
    assert!(
        text.contains("phase 2 did not finish (`last` did not succeed)"),
        "{text}"
    );
    // A plain run finishes the rest.
    assert_eq!(code(&world.run(&["up"])), 0);
    assert_eq!((world.starts_of("middle"), world.starts_of("last")), (1, 1));
    // --only runs a done step again, and nothing else.
    assert_eq!(code(&world.run(&["up", "--only", "aside"])), 0);
    assert_eq!(world.starts_of("aside"), 2);
    assert_eq!(world.starts_of("first"), 1);
    // --from middle runs it and everything after it again.
    assert_eq!(code(&world.run(&["up", "--from", "middle"])), 0);
    let starts = world.starts();
    assert_eq!(starts.get("first"), Some(&1));
    assert_eq!(starts.get("middle"), Some(&2));
    assert_eq!(starts.get("last"), Some(&2));
    assert_eq!(starts.get("final"), Some(&2));
    // A left-out step does not close the phase barrier by itself.
    let other = World::with_phases(GENESIS, &chain("true"));
    assert_eq!(code(&other.run(&["up", "--skip", "aside"])), 0);
    assert_eq!((other.starts_of("aside"), other.starts_of("final")), (0, 1));
    // Unknown references are bad usage.
    assert_eq!(code(&world.run(&["up", "--only", "ghost"])), 2);
}

#[test]
fn secret_values_never_leave_genesis() {
    let secret = "fake-harvester-cluster-token";
    let leaky = exec_step(
        "leaky",
        1,
        &[],
        "echo \"token is $TOKEN\"; echo \"token is $TOKEN\" >&2; exit 3",
        "",
    )
    .replace(
        "    timeout: 30s\n",
        "      env: {TOKEN: {secret: harvester.token}}\n    timeout: 30s\n",
    );
    let world = World::with_phases(GENESIS, &[("phase-2.yaml", phase(2, &[leaky]))]);
    for format in ["text", "json"] {
        let output = world.run(&["up", "-o", format]);
        assert_eq!(code(&output), 1, "{}", stderr(&output));
        assert!(!stdout(&output).contains(secret));
        assert!(!stderr(&output).contains(secret));
        assert!(stderr(&output).contains("[redacted]") || stdout(&output).contains("[redacted]"));
    }
    assert_eq!(
        world.starts_of("leaky"),
        2,
        "the command did run, with the secret"
    );
    assert!(!world.journal_text().contains(secret));
    for entry in std::fs::read_dir(world.state.join("logs")).expect("logs") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("log");
        assert!(text.contains("token is [redacted]"), "{text}");
        assert!(!text.contains(secret));
    }
    let status = world.run(&["status", "-o", "json"]);
    assert!(!stdout(&status).contains(secret));
}

#[test]
fn status_and_plan_show_journal_state() {
    let world = World::with_phases(GENESIS, &chain("true"));
    assert_eq!(code(&world.run(&["up", "--skip", "final"])), 0);
    let status = world.run(&["status", "-o", "json"]);
    assert_eq!(code(&status), 0, "{}", stderr(&status));
    let document: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    let states: Vec<(String, String)> = document["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|row| {
            (
                row["step"].as_str().unwrap_or_default().to_owned(),
                row["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&("middle".into(), "done".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&("final".into(), "pending".into())),
        "{states:?}"
    );
    let journal = world.journal();
    assert!(journal.step(&StepId::from("final")).is_none());
    // The dry run shows the same journal state, and writes nothing.
    let before = world.journal_text();
    let plan = world.run(&["up", "--dry-run"]);
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    let text = stdout(&plan);
    let line_of = |id: &str| {
        text.lines()
            .find(|line| line.split_whitespace().nth(1) == Some(id))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line_of("middle").contains("[done]"), "{text}");
    assert!(line_of("final").contains("[pending]"), "{text}");
    assert_eq!(world.journal_text(), before);
    world.write_phases(&chain("echo changed"));
    let text = stdout(&world.run(&["plan"]));
    let changed = text
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some("last"))
        .unwrap_or_default();
    assert!(changed.contains("[changed-inputs]"), "{text}");
    let _ = StepState::Pending;
}
