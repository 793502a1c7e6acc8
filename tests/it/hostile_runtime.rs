//! The runtime hostile corpus (issue 12, runtime half): what a hostile user or environment can
//! do to a run rather than to its input files. Every case runs the real binary and asserts its
//! exit code, its message and that nothing was written, followed or leaked:
//! - deadlines too large for the clock;
//! - stdout (and stderr) closed before genesis writes: exit 141, no panic;
//! - state files replaced by links, FIFOs, directories, oversized or foreign files;
//! - journals written by a newer genesis;
//! - secrets files that are FIFOs, devices, directories, oversized or another user's;
//! - control characters from children reaching the terminal;
//! - secret values in their encoded spellings;
//! - kubeconfigs whose parse errors or exec plugins would quote or hang;
//! - the diagnose bundle's modes.
//!
//! Cases that need another user (ownership) run only as root, where a file can be given away
//! with chown; as another user they say so on stderr and check nothing.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::GENESIS;
use genesis_harness::exec::{World, code, exec_step, phase, stderr, stdout};

mod more;

/// A uid that owns nothing here (`nobody`).
const OTHER_UID: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn chown(path: &Path, uid: u32) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("c path");
    // SAFETY: a valid NUL-terminated path; lchown does not follow a link.
    let result = unsafe { libc::lchown(name.as_ptr(), uid, u32::MAX) };
    assert_eq!(result, 0, "chown {}", path.display());
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("c path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// A world whose phase 2 is one quick step.
fn quick_world() -> World {
    World::with_phases(
        GENESIS,
        &[(
            "phase-2.yaml",
            phase(2, &[exec_step("a", 1, &[], "true", "")]),
        )],
    )
}

/// A journal written by a successful `up` of `quick_world`.
fn journaled_world() -> World {
    let world = quick_world();
    let output = world.run(&["up"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    world
}

/// Runs with a deadline: a hang fails the case instead of the whole suite.
fn run_within(world: &World, args: &[&str], limit: Duration) -> Output {
    let started = Instant::now();
    let output = world.command(args).output().expect("genesis runs");
    assert!(
        started.elapsed() < limit,
        "`genesis {}` took {:?}",
        args.join(" "),
        started.elapsed()
    );
    output
}

fn no_panic(output: &Output) {
    let text = stderr(output);
    assert!(!text.contains("panicked"), "{text}");
    assert_ne!(code(output), 101, "{text}");
}

// ---- deadlines too large for the clock ---------------------------------------------------

#[test]
fn deadlines_too_large_for_the_clock_mean_no_deadline() {
    let world = quick_world();
    for timeout in ["18446744073709551615s", "500000000000y"] {
        let output = world.run(&["up", "--timeout", timeout]);
        no_panic(&output);
        assert_eq!(code(&output), 0, "--timeout {timeout}: {}", stderr(&output));
        assert_eq!(code(&world.run(&["reset", "a"])), 0);
    }
    // A duration the parser cannot represent at all is bad usage, said as such.
    let output = world.run(&["up", "--timeout", "18446744073709551615ms"]);
    no_panic(&output);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("too large"), "{}", stderr(&output));
    // A step's own timeout, too large for the clock.
    let world = World::with_phases(
        GENESIS,
        &[(
            "phase-2.yaml",
            phase(2, &[exec_step("a", 1, &[], "true", "")])
                .replace("timeout: 30s", "timeout: 18446744073709551615s"),
        )],
    );
    let output = world.run(&["up"]);
    no_panic(&output);
    assert!(
        [0, 2].contains(&code(&output)),
        "either runs without a deadline or is refused as input: {}",
        stderr(&output)
    );
    let output = world.run(&["plan", "--offline"]);
    no_panic(&output);
}

// ---- closed stdout and stderr ----------------------------------------------------------------

/// Runs with stdout (or stderr) a pipe whose reading end is already closed: the first write
/// fails with EPIPE, deterministically.
fn run_into_closed(world: &World, args: &[&str], close_stderr: bool) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut command = world.command(args);
    command.env("KUBECONFIG", world.dir.path().join("no-kubeconfig"));
    if close_stderr {
        command.stderr(Stdio::from(writer)).stdout(Stdio::piped());
    } else {
        command.stdout(Stdio::from(writer)).stderr(Stdio::piped());
    }
    command.output().expect("genesis runs")
}

#[test]
fn a_closed_stdout_ends_quietly_with_141() {
    let world = journaled_world();
    let cases: &[&[&str]] = &[
        &["plan", "--offline"],
        &["plan", "--offline", "-o", "json"],
        &["up", "--dry-run"],
        &["graph"],
        &["graph", "-o", "mermaid"],
        &["status"],
        &["status", "-o", "json"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["completions", "fish"],
        &["man"],
        &["man", "--markdown"],
    ];
    for args in cases {
        let output = run_into_closed(&world, args, false);
        let text = stderr(&output);
        assert!(!text.contains("panicked"), "{args:?}: {text}");
        assert!(!text.contains("Broken pipe"), "{args:?}: {text}");
        assert_eq!(code(&output), 141, "{args:?}: {text}");
    }
}

#[test]
fn a_closed_stderr_is_no_panic() {
    let world = journaled_world();
    let cases: &[(&[&str], i32)] = &[
        (&["status"], 0),
        (&["up", "--only", "ghost"], 2),
        (&["up"], 0),
        (&["reset", "ghost"], 2),
    ];
    for (args, expected) in cases {
        let output = run_into_closed(&world, args, true);
        no_panic(&output);
        assert_eq!(code(&output), *expected, "{args:?}");
    }
}

// ---- state files ------------------------------------------------------------------------

/// A file of the operator's that a planted link points at: it must stay as it was.
struct Bait {
    path: PathBuf,
}

impl Bait {
    fn new(world: &World) -> Self {
        let path = world.dir.path().join("operator-file");
        std::fs::write(&path, "precious\n").expect("bait");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        Self { path }
    }

    fn untouched(&self) {
        assert_eq!(
            std::fs::read_to_string(&self.path).expect("bait"),
            "precious\n"
        );
        assert_eq!(
            std::fs::metadata(&self.path).expect("meta").mode() & 0o777,
            0o644
        );
    }
}

fn expect_refusal(output: &Output, words: &str) {
    no_panic(output);
    let text = stderr(output);
    assert_eq!(code(output), 2, "{text}");
    assert!(text.contains(words), "expected `{words}` in:\n{text}");
}

#[test]
fn a_symlinked_lock_is_refused_and_its_target_left_alone() {
    for args in [&["up"][..], &["reset", "a"], &["unlock"], &["status"]] {
        let world = quick_world();
        let bait = Bait::new(&world);
        std::fs::create_dir_all(&world.state).expect("state");
        std::os::unix::fs::symlink(&bait.path, world.state.join("lock")).expect("link");
        let output = world.run(args);
        if args == ["status"] {
            // status reads the lock only to name its holder: a warning, then the table.
            no_panic(&output);
            assert!(
                stderr(&output).contains("symbolic link"),
                "{}",
                stderr(&output)
            );
        } else {
            expect_refusal(&output, "symbolic link");
        }
        bait.untouched();
        assert_eq!(world.starts_of("a"), 0);
    }
}

#[test]
fn a_symlinked_journal_is_refused_and_its_target_left_alone() {
    for args in [
        &["up"][..],
        &["status"],
        &["reset", "a"],
        &["plan", "--offline"],
    ] {
        let world = quick_world();
        let bait = Bait::new(&world);
        std::fs::create_dir_all(&world.state).expect("state");
        std::os::unix::fs::symlink(&bait.path, world.state.join("journal.ndjson")).expect("link");
        let output = world.run(args);
        expect_refusal(&output, "symbolic link");
        bait.untouched();
        assert_eq!(world.starts_of("a"), 0);
    }
}

#[test]
fn a_fifo_journal_or_lock_never_blocks() {
    for (file, args) in [
        ("journal.ndjson", &["up"][..]),
        ("journal.ndjson", &["status"]),
        ("lock", &["up"]),
        ("lock", &["unlock"]),
    ] {
        let world = quick_world();
        std::fs::create_dir_all(&world.state).expect("state");
        mkfifo(&world.state.join(file));
        let output = run_within(&world, args, Duration::from_secs(20));
        no_panic(&output);
        assert!(
            stderr(&output).contains("not a regular file"),
            "{file} {args:?}: {}",
            stderr(&output)
        );
        assert_ne!(code(&output), 0);
        assert_eq!(world.starts_of("a"), 0);
    }
}

#[test]
fn a_directory_or_an_oversized_journal_is_refused() {
    let world = quick_world();
    std::fs::create_dir_all(world.state.join("journal.ndjson")).expect("dir");
    expect_refusal(&world.run(&["up"]), "not a regular file");
    expect_refusal(&world.run(&["status"]), "not a regular file");

    let world = quick_world();
    std::fs::create_dir_all(&world.state).expect("state");
    let journal = world.state.join("journal.ndjson");
    let file = std::fs::File::create(&journal).expect("create");
    file.set_len(300 * 1024 * 1024).expect("sparse");
    drop(file);
    expect_refusal(
        &run_within(&world, &["status"], Duration::from_secs(20)),
        "larger than",
    );
    expect_refusal(
        &run_within(&world, &["up"], Duration::from_secs(20)),
        "larger than",
    );
    assert_eq!(
        std::fs::metadata(&journal).expect("meta").len(),
        300 * 1024 * 1024
    );
}

#[test]
fn a_state_dir_that_is_a_file_is_refused() {
    let world = quick_world();
    std::fs::write(&world.state, "not a directory").expect("file");
    for args in [
        &["up"][..],
        &["status"],
        &["diagnose", "--no-ssh", "--timeout", "1s"],
    ] {
        let output = world.run(args);
        no_panic(&output);
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("not a directory"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(
        std::fs::read_to_string(&world.state).expect("file"),
        "not a directory"
    );
}

#[test]
fn another_users_state_dir_or_state_files_are_refused() {
    if !is_root() {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    // The directory.
    let world = journaled_world();
    let before = world.journal_text();
    chown(&world.state, OTHER_UID);
    for args in [
        &["up"][..],
        &["status"],
        &["reset", "a"],
        &["unlock"],
        &["diagnose", "--no-ssh", "--timeout", "1s"],
    ] {
        let output = world.run(args);
        expect_refusal(&output, "owned by uid 65534");
        assert!(
            stderr(&output).contains("--state-dir"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(world.journal_text(), before);
    assert_eq!(world.starts_of("a"), 1);
    // The journal, the lock.
    for file in ["journal.ndjson", "lock"] {
        let world = journaled_world();
        chown(&world.state.join(file), OTHER_UID);
        expect_refusal(&world.run(&["up"]), "owned by uid 65534");
        assert_eq!(world.starts_of("a"), 1);
    }
}

// ---- journals from a newer genesis ----------------------------------------------------------

#[test]
fn a_journal_record_of_an_unknown_kind_is_refused_never_cut() {
    let newer = "{\"at\":1,\"record\":\"step_paused\",\"step\":\"a\"}";
    for (terminated, position) in [(true, "end"), (false, "end"), (true, "start")] {
        for args in [
            &["up"][..],
            &["status"],
            &["reset", "a"],
            &["plan", "--offline"],
        ] {
            let world = journaled_world();
            let mut text = world.journal_text();
            if position == "start" {
                text = format!("{newer}\n{text}");
            } else {
                text.push_str(newer);
                if terminated {
                    text.push('\n');
                }
            }
            std::fs::write(world.state.join("journal.ndjson"), &text).expect("write");
            let output = world.run(args);
            expect_refusal(&output, "written by a newer genesis");
            assert!(
                stderr(&output).contains("step_paused"),
                "{}",
                stderr(&output)
            );
            assert_eq!(world.journal_text(), text, "{args:?}: nothing was cut");
            assert_eq!(world.starts_of("a"), 1);
        }
    }
}
