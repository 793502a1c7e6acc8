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

#[test]
fn only_a_truly_torn_last_line_is_cut() {
    let world = journaled_world();
    let mut text = world.journal_text();
    text.push_str("{\"at\":1,\"record\":\"step_att");
    std::fs::write(world.state.join("journal.ndjson"), &text).expect("write");
    let output = world.run(&["up"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).contains("torn"), "{}", stderr(&output));
    assert!(!world.journal_text().contains("step_att\""));

    // A damaged line that ends in a newline is not torn: reported, nothing cut.
    let world = journaled_world();
    let mut text = world.journal_text();
    text.push_str("{\"at\":1,\"rec\n");
    std::fs::write(world.state.join("journal.ndjson"), &text).expect("write");
    let output = world.run(&["up"]);
    no_panic(&output);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(stderr(&output).contains("damaged"), "{}", stderr(&output));
    assert_eq!(world.journal_text(), text);
}

// ---- secrets files ----------------------------------------------------------------------------

/// Puts `make` in the place of the world's secrets file.
fn replace_secrets(world: &World, make: impl FnOnce(&Path)) {
    std::fs::remove_file(&world.secrets).expect("remove secrets");
    make(&world.secrets);
}

#[test]
fn a_secrets_file_that_is_not_a_regular_file_is_refused_without_blocking() {
    type Make = fn(&Path);
    let makers: &[(&str, Make)] = &[
        ("a FIFO", |path| mkfifo(path)),
        ("a link to /dev/zero", |path| {
            std::os::unix::fs::symlink("/dev/zero", path).expect("link")
        }),
        ("a directory", |path| {
            std::fs::create_dir(path).expect("dir")
        }),
    ];
    for (what, make) in makers {
        for args in [&["validate"][..], &["up"], &["plan", "--offline"]] {
            let world = quick_world();
            replace_secrets(&world, make);
            let output = run_within(&world, args, Duration::from_secs(20));
            no_panic(&output);
            assert_eq!(code(&output), 2, "{what} {args:?}: {}", stderr(&output));
            assert!(
                stderr(&output).contains("not a regular file"),
                "{what} {args:?}: {}",
                stderr(&output)
            );
            assert_eq!(world.starts_of("a"), 0);
        }
    }
}

#[test]
fn an_oversized_secrets_file_is_refused() {
    let world = quick_world();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&world.secrets)
        .expect("open");
    file.set_len(5 * 1024 * 1024).expect("sparse");
    drop(file);
    let output = run_within(&world, &["validate"], Duration::from_secs(20));
    no_panic(&output);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("bytes"), "{}", stderr(&output));
}

#[test]
fn another_users_secrets_file_is_refused() {
    if !is_root() {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    let world = quick_world();
    chown(&world.secrets, OTHER_UID);
    for args in [&["validate"][..], &["up"], &["secrets", "check"]] {
        let output = world.run(args);
        expect_refusal(&output, "owned by uid 65534");
    }
    assert_eq!(world.starts_of("a"), 0);
}

#[test]
fn a_symlinked_secrets_file_of_ones_own_is_read() {
    let world = quick_world();
    let real = world.dir.path().join("real-secrets.yaml");
    std::fs::rename(&world.secrets, &real).expect("move");
    std::os::unix::fs::symlink(&real, &world.secrets).expect("link");
    let output = world.run(&["validate"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
}

// ---- control characters from children ---------------------------------------------------------

#[test]
fn control_characters_from_a_child_never_reach_the_terminal() {
    // (what the child prints on stderr as its last line, the raw byte that must not come out)
    let cases: &[(&str, &str)] = &[
        ("\\033[2J\\033[Hscreen wiped", "\x1b"),
        ("\\033]0;owned title\\007", "\x1b"),
        ("\\033[31mred lie\\033[0m", "\x1b"),
        ("line\\rOVERWRITTEN", "\r"),
        ("bell\\007ring", "\x07"),
        ("back\\010space", "\x08"),
        ("\\302\\233" /* U+009B, an 8-bit CSI */, "\u{9b}"),
        ("\\342\\200\\256reversed" /* U+202E */, "\u{202e}"),
        ("del\\177ete", "\x7f"),
        ("form\\014feed", "\x0c"),
    ];
    for (printed, raw) in cases {
        let script = format!("printf 'fine\\n'; printf '{printed}\\n' >&2; exit 4");
        let world = World::with_phases(
            GENESIS,
            &[(
                "phase-2.yaml",
                phase(2, &[exec_step("noisy", 1, &[], &script, "")]),
            )],
        );
        let output = world.run(&["up"]);
        assert_eq!(code(&output), 1, "{printed}: {}", stderr(&output));
        let text = stderr(&output);
        assert!(!text.contains(raw), "{printed}: raw {raw:?} in:\n{text:?}");
        assert!(text.contains("\\u{"), "{printed}: shown escaped:\n{text}");
        let status = world.run(&["status"]);
        assert_eq!(code(&status), 0);
        assert!(
            !stdout(&status).contains(raw),
            "{printed}: status:\n{:?}",
            stdout(&status)
        );
        // JSON escapes control characters itself.
        let json = world.run(&["status", "-o", "json"]);
        let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
        assert!(document["steps"].is_array());
    }
}

// ---- secret values in other spellings ------------------------------------------------------

#[test]
fn secrets_are_scrubbed_in_their_encoded_spellings() {
    let secret = "fake-harvester-cluster-token";
    use base64::Engine as _;
    let standard = base64::engine::general_purpose::STANDARD.encode(secret);
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    // (what the child prints, what must not come out)
    let cases: Vec<(String, String)> = vec![
        (
            "printf '%s' \"$TOKEN\" | base64 -w0".to_owned(),
            standard.trim_end_matches('=').to_owned(),
        ),
        (format!("echo {url}"), url.clone()),
        (
            "printf 'Bearer %s\\n' \"$TOKEN\"".to_owned(),
            secret.to_owned(),
        ),
        (
            "printf '{\"token\":\"%s\"}\\n' \"$TOKEN\"".to_owned(),
            secret.to_owned(),
        ),
        (
            "printf '%s' \"$TOKEN\" | od -An -c | tr -d ' \\n'; echo; printf '%s\\n' \"$TOKEN\""
                .to_owned(),
            secret.to_owned(),
        ),
    ];
    for (printing, needle) in &cases {
        let script = format!("{printing} >&2; {printing}; exit 3");
        let step = exec_step("leaky", 1, &[], &script, "").replace(
            "    timeout: 30s\n",
            "      env: {TOKEN: {secret: harvester.token}}\n    timeout: 30s\n",
        );
        let world = World::with_phases(GENESIS, &[("phase-2.yaml", phase(2, &[step]))]);
        for format in ["text", "json"] {
            let output = world.run(&["up", "-o", format]);
            assert_eq!(code(&output), 1, "{}", stderr(&output));
            assert!(!stdout(&output).contains(needle.as_str()), "{printing}");
            assert!(
                !stderr(&output).contains(needle.as_str()),
                "{printing}: {}",
                stderr(&output)
            );
        }
        assert!(
            !world.journal_text().contains(needle.as_str()),
            "{printing}"
        );
        let status = world.run(&["status"]);
        assert!(!stdout(&status).contains(needle.as_str()), "{printing}");
    }
}

// ---- kubeconfigs ------------------------------------------------------------------------------

const TOKEN: &str = "kubeconfig-bearer-token-5f1e2d3c4b";

fn kubeconfig(world: &World, user: &str) -> PathBuf {
    let path = world.dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster: {{server: 'https://127.0.0.1:1'}}\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nusers:\n- name: u\n  user:\n{user}"
        ),
    )
    .expect("kubeconfig");
    path
}

fn plugin(world: &World, body: &str) -> PathBuf {
    let path = world.dir.path().join("credential-plugin");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn exec_user(plugin: &Path) -> String {
    format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n",
        plugin.display()
    )
}

fn plan_with(world: &World, kubeconfig: &Path, extra: &[&str]) -> Output {
    let mut command = world.command(&["plan"]);
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--context", "c"])
        .args(extra);
    let started = Instant::now();
    let output = command.output().expect("plan runs");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    output
}

#[test]
fn a_malformed_kubeconfig_is_not_quoted() {
    let world = quick_world();
    for broken in [
        format!("    token: {TOKEN}\n    client-key-data: [unclosed {TOKEN}\n"),
        format!("    token: \"{TOKEN}\n"),
        format!("    token: {TOKEN}\n  - : : {TOKEN}\n"),
    ] {
        let path = kubeconfig(&world, &broken);
        let output = plan_with(&world, &path, &["--observe-timeout", "3s"]);
        no_panic(&output);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let text = stderr(&output);
        assert!(text.contains("kubeconfig"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
}

#[test]
fn an_exec_credential_plugins_output_is_not_quoted() {
    let world = quick_world();
    for body in [
        format!("echo 'not json {TOKEN}'"),
        format!("echo '{{\"status\": {{\"token\": \"{TOKEN}\"'"),
        format!("echo '{{\"token\": \"{TOKEN}\"}}'; exit 1"),
        format!("echo '{TOKEN}' >&2; exit 7"),
    ] {
        let path = kubeconfig(&world, &exec_user(&plugin(&world, &body)));
        let output = plan_with(&world, &path, &["--observe-timeout", "3s"]);
        no_panic(&output);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let text = stderr(&output);
        assert!(text.contains("credential plugin"), "{body}: {text}");
        assert!(!text.contains(TOKEN), "{body}: {text}");
    }
}

#[test]
fn an_exec_credential_plugin_that_never_returns_does_not_hang_plan() {
    let world = quick_world();
    let path = kubeconfig(&world, &exec_user(&plugin(&world, "exec sleep 60")));
    let started = Instant::now();
    let output = plan_with(&world, &path, &["--observe-timeout", "2s"]);
    no_panic(&output);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        stderr(&output).contains("not reachable"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_kubeconfig_that_is_a_fifo_or_a_device_does_not_hang_plan() {
    let world = quick_world();
    let fifo = world.dir.path().join("kubeconfig.fifo");
    mkfifo(&fifo);
    for path in [fifo.as_path(), Path::new("/dev/zero")] {
        let output = plan_with(&world, path, &["--observe-timeout", "2s"]);
        no_panic(&output);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        assert!(
            stderr(&output).contains("not a regular file"),
            "{}",
            stderr(&output)
        );
    }
}

// ---- diagnose ---------------------------------------------------------------------------------

fn modes_below(dir: &Path, out: &mut Vec<(PathBuf, u32, bool)>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let meta = entry.path().symlink_metadata().expect("meta");
        out.push((entry.path(), meta.mode() & 0o777, meta.is_dir()));
        if meta.is_dir() {
            modes_below(&entry.path(), out);
        }
    }
}

#[test]
fn diagnose_keeps_its_bundle_private() {
    let world = journaled_world();
    std::fs::remove_dir_all(&world.state).expect("fresh state");
    let output = world
        .command(&["diagnose", "--no-ssh", "--timeout", "1s"])
        .env("KUBECONFIG", world.dir.path().join("none"))
        .output()
        .expect("diagnose");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        std::fs::metadata(&world.state).expect("state").mode() & 0o777,
        0o700
    );
    let mut modes = Vec::new();
    modes_below(&world.state, &mut modes);
    assert!(
        modes
            .iter()
            .any(|(path, _, _)| path.to_string_lossy().ends_with(".tar.gz"))
    );
    for (path, mode, is_dir) in modes {
        assert_eq!(
            mode,
            if is_dir { 0o700 } else { 0o600 },
            "{}",
            path.display()
        );
    }
}

#[test]
fn diagnose_follows_no_link_in_the_logs() {
    let world = journaled_world();
    let bait = Bait::new(&world);
    std::os::unix::fs::symlink(&bait.path, world.state.join("logs/planted.ndjson")).expect("link");
    let out = world.dir.path().join("bundle");
    let output = world
        .command(&["diagnose", "--no-ssh", "--timeout", "1s", "--out"])
        .arg(&out)
        .env("KUBECONFIG", world.dir.path().join("none"))
        .output()
        .expect("diagnose");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mut modes = Vec::new();
    modes_below(&out, &mut modes);
    assert!(
        !modes
            .iter()
            .any(|(path, _, _)| path.to_string_lossy().ends_with("planted.ndjson")),
        "{modes:?}"
    );
    bait.untouched();
}
