//! Kill a real `genesis up` at random moments (SIGKILL, then SIGINT) and run it again each
//! time: every round ends complete, no step that the journal called finished ever starts
//! again, and the journal always loads.
//!
//! The moments come from a seed printed on failure; `GENESIS_KILL_SEED=<n>` replays one.

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::GENESIS;
use genesis_engine::journal::Journaled;
use genesis_engine::{JournalState, RunOutcome};
use genesis_harness::exec::{World, code};
use genesis_harness::kill_moments::Moments;

const STEPS: [&str; 10] = [
    "prepare", "fetch-a", "fetch-b", "fetch-c", "assemble", "audit", "deploy-1", "deploy-2",
    "verify", "announce",
];

fn done(journal: &JournalState) -> BTreeSet<String> {
    STEPS
        .iter()
        .filter(|step| {
            journal
                .step(&(**step).into())
                .is_some_and(|record| record.state == Journaled::Succeeded)
        })
        .map(|step| (*step).to_owned())
        .collect()
}

fn start(world: &World) -> Child {
    world
        .command(&["up", "-j", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("genesis starts")
}

/// Steps the journal called finished before a run must not have started during it.
fn assert_none_ran_twice(
    world: &World,
    done_before: &BTreeSet<String>,
    starts_before: &std::collections::BTreeMap<String, usize>,
    seed_note: &str,
) {
    let starts = world.starts();
    for step in done_before {
        assert_eq!(
            starts.get(step),
            starts_before.get(step),
            "finished step `{step}` started again ({seed_note})"
        );
    }
}

fn finish_and_check(world: &World, note: &str) {
    let journal = world.journal();
    let done_before = done(&journal);
    let starts_before = world.starts();
    let output = world.run(&["up", "-j", "3"]);
    assert_eq!(
        code(&output),
        0,
        "{note}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_none_ran_twice(world, &done_before, &starts_before, note);
    let journal = world.journal();
    assert_eq!(
        done(&journal).len(),
        STEPS.len(),
        "{note}: every step is done"
    );
    let starts = world.starts();
    for step in STEPS {
        assert!(
            starts.get(step).copied().unwrap_or(0) >= 1,
            "{note}: `{step}` ran"
        );
    }
}

#[test]
fn sigkill_at_random_moments_then_resume() {
    let mut moments = Moments::from_env("GENESIS_KILL_SEED");
    let deadline = Instant::now() + Duration::from_secs(90);
    for round in 0..8 {
        if Instant::now() > deadline {
            break;
        }
        let world = World::fixture(GENESIS);
        for kill in 0..3 {
            let note = format!("round {round}, kill {kill}");
            let done_before = done(&world.journal());
            let starts_before = world.starts();
            let mut child = start(&world);
            std::thread::sleep(Duration::from_millis(moments.next_millis(1_000)));
            if let Some(status) = child.try_wait().expect("try_wait") {
                assert_eq!(status.code(), Some(0), "{note}: finished before the kill");
            } else {
                child.kill().expect("SIGKILL");
                child.wait().expect("reaped");
            }
            // The journal loads after every kill, torn last line or not.
            let _ = world.journal();
            assert_none_ran_twice(&world, &done_before, &starts_before, &note);
        }
        finish_and_check(&world, &format!("round {round}, final run"));
    }
}

fn runs_started(world: &World) -> usize {
    world
        .journal_text()
        .matches("\"record\":\"run_started\"")
        .count()
}

fn wait_for_run(world: &World, runs_before: usize, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while runs_started(world) == runs_before && Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn interrupt(child: &Child) {
    let pid = i32::try_from(child.id()).expect("pid fits");
    // SAFETY: sending a signal to a child process we own and have not reaped.
    let result = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(result, 0, "SIGINT delivered");
}

#[test]
fn sigint_at_random_moments_exits_130_with_a_valid_journal() {
    let mut moments = Moments::from_env("GENESIS_KILL_SEED");
    let deadline = Instant::now() + Duration::from_secs(60);
    for round in 0..6 {
        if Instant::now() > deadline {
            break;
        }
        let world = World::fixture(GENESIS);
        for interruption in 0..2 {
            let note = format!("round {round}, interruption {interruption}");
            let done_before = done(&world.journal());
            let starts_before = world.starts();
            let runs_before = runs_started(&world);
            let mut child = start(&world);
            // Once the run is journaled, its signal handlers are surely installed.
            wait_for_run(&world, runs_before, &mut child);
            std::thread::sleep(Duration::from_millis(moments.next_millis(800)));
            if child.try_wait().expect("try_wait").is_none() {
                interrupt(&child);
                let started = Instant::now();
                let status = child.wait().expect("reaped");
                assert!(
                    matches!(status.code(), Some(130 | 0)),
                    "{note}: exit {status:?}"
                );
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "{note}: stops promptly"
                );
                let journal = world.journal();
                if status.code() == Some(130) {
                    assert_eq!(
                        journal.last_run().and_then(|run| run.outcome),
                        Some(RunOutcome::Interrupted),
                        "{note}: the interruption is journaled"
                    );
                }
            } else {
                child.wait().expect("reaped");
            }
            assert_none_ran_twice(&world, &done_before, &starts_before, &note);
        }
        finish_and_check(&world, &format!("round {round}, final run"));
    }
}

#[test]
fn a_second_sigint_exits_at_once_and_the_journal_stays_valid() {
    let world = World::fixture(GENESIS);
    let mut child = start(&world);
    wait_for_run(&world, 0, &mut child);
    std::thread::sleep(Duration::from_millis(200));
    if child.try_wait().expect("try_wait").is_none() {
        interrupt(&child);
        std::thread::sleep(Duration::from_millis(5));
        if child.try_wait().expect("try_wait").is_none() {
            interrupt(&child);
        }
        let status = child.wait().expect("reaped");
        assert_eq!(status.code(), Some(130));
    }
    let _ = world.journal();
    finish_and_check(&world, "after a double interrupt");
}

//   hook   (a long command that traps SIGTERM)
#[test]
fn an_interrupted_command_is_stopped_cleanly_and_observes_on_resume() {
    let script = "if [ \"$GENESIS_OUTCOME_UNKNOWN\" = 1 ]; then echo observed >> \"$GENESIS_TEST_DIR/hook.log\"; exit 0; fi; \
                  trap 'echo terminated >> \"$GENESIS_TEST_DIR/hook.log\"; exit 143' TERM; \
                  echo started >> \"$GENESIS_TEST_DIR/hook.log\"; sleep 30 & wait";
    let world = World::with_phases(
        GENESIS,
        &[(
            "phase-2.yaml",
            genesis_harness::exec::phase(
                2,
                &[genesis_harness::exec::exec_step("hook", 1, &[], script, "")],
            ),
        )],
    );
    let log = world.dir.path().join("hook.log");
    let mut child = start(&world);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("started")
    {
        assert!(Instant::now() < deadline, "the hook never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    interrupt(&child);
    let started = Instant::now();
    let status = child.wait().expect("reaped");
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(5), "stops promptly");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("terminated"),
        "the command got SIGTERM: {text}"
    );
    let journal = world.journal();
    assert_eq!(
        journal.step(&"hook".into()).map(|record| record.state),
        Some(Journaled::Interrupted)
    );
    let output = world.run(&["up"]);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.ends_with("observed\n"),
        "the resumed hook saw outcome unknown: {text}"
    );
}
