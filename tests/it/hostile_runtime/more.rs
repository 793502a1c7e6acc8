//! Hostile runtime cases, continued.

use super::*;

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
