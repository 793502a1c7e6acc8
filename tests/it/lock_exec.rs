//! One run per state directory: a held lock exits 3 naming its holder, a dead holder's lock is
//! taken over with a warning, a holder on another host needs `genesis unlock`.

use crate::GENESIS;
use genesis_engine::lock::{self, LockHolder};
use genesis_harness::exec::{World, code, exec_step, phase, stderr};

fn world() -> World {
    World::with_phases(
        GENESIS,
        &[(
            "phase-2.yaml",
            phase(2, &[exec_step("only", 1, &[], "true", "")]),
        )],
    )
}

#[test]
fn a_second_run_exits_3_naming_the_holder() {
    let world = world();
    let held = lock::acquire(&world.state, "genesis up").expect("lock is free");
    let output = world.run(&["up"]);
    let text = stderr(&output);
    assert_eq!(code(&output), 3, "{text}");
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert!(text.contains(&lock::this_host()), "{text}");
    assert!(
        text.contains(&held.lock.holder().started_at_text()),
        "{text}"
    );
    assert_eq!(world.starts_of("only"), 0, "nothing ran");
    // unlock refuses a live holder on this host.
    assert_eq!(code(&world.run(&["unlock"])), 3);
    drop(held);
    assert_eq!(code(&world.run(&["up"])), 0);
}

#[test]
fn a_dead_holder_on_this_host_is_taken_over_with_a_warning() {
    let world = world();
    // A process that existed and is gone: its pid is free and it holds no OS lock.
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    std::fs::create_dir_all(&world.state).expect("mkdir");
    let dead = LockHolder {
        host: lock::this_host(),
        pid,
        started_at: 0,
        command: "genesis up".into(),
    };
    std::fs::write(
        world.state.join(lock::FILE_NAME),
        serde_json::to_string(&dead).expect("json"),
    )
    .expect("write");
    let output = world.run(&["up"]);
    let text = stderr(&output);
    assert_eq!(code(&output), 0, "{text}");
    assert!(text.contains("warning: taking over the lock"), "{text}");
    assert!(text.contains(&format!("pid {pid}")), "{text}");
}

#[test]
fn a_holder_on_another_host_needs_unlock() {
    let world = world();
    std::fs::create_dir_all(&world.state).expect("mkdir");
    let remote = LockHolder {
        host: "elsewhere.example".into(),
        pid: 4242,
        started_at: 0,
        command: "genesis up".into(),
    };
    std::fs::write(
        world.state.join(lock::FILE_NAME),
        serde_json::to_string(&remote).expect("json"),
    )
    .expect("write");
    let output = world.run(&["up"]);
    let text = stderr(&output);
    assert_eq!(code(&output), 3, "{text}");
    assert!(text.contains("elsewhere.example"), "{text}");
    assert!(text.contains("genesis unlock"), "{text}");
    let unlock = world.run(&["unlock"]);
    assert_eq!(code(&unlock), 0, "{}", stderr(&unlock));
    assert!(stderr(&unlock).contains("elsewhere.example"));
    assert_eq!(code(&world.run(&["up"])), 0);
}
