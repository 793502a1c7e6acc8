//! Multi-line secrets through every channel: a real OpenSSH ed25519 private key (made with
//! ssh-keygen here) and a Talos-shaped machine config are handed to a local `exec` step, which
//! prints them whole, line by line and base64-encoded to stdout and stderr and fails. Nothing of
//! either may come out: not the whole value, not any line long enough to be scrubbed by itself
//! (see `genesis_engine::redact::MIN_LINE_LEN`), not the base64 of the whole value — on
//! genesis's stdout or stderr (text and `-o json`), in the journal, the run log, `status`
//! (text and JSON) or the diagnose bundle and its archive.

use std::io::Read as _;
use std::path::Path;

use crate::GENESIS;
use base64::Engine as _;
use genesis_engine::redact::MIN_LINE_LEN;
use genesis_harness::exec::{World, code, exec_step, phase, stderr, stdout};

/// A Talos v1alpha1 machine configuration's shape: short structural lines, long token and
/// certificate lines.
const TALOS_CONFIG: &str = "version: v1alpha1
debug: false
persist: true
machine:
  type: controlplane
  token: q7x2lm.k3v9p0w8r1t6y4u5
  ca:
    crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJQekNCOHFBREFnRUNBaEVBcWx6QXJYNTlqSk1WN0Y2eHB0
    key: LS0tLS1CRUdJTiBFRDI1NTE5IFBSSVZBVEUgS0VZLS0tLS0KTUM0Q0FRQXdCUVlESzJWd0JDSUVJRmFrZUtleU1h
  network:
    hostname: cp-2
cluster:
  id: 9f3kVb7qXl2mPz8rT1uY6wE4sD0aC5nH
  secret: wZ3eR5tY7uI9oP1aS3dF5gH7jK9lZ2xC4vB6nM8q
  controlPlane:
    endpoint: https://10.10.10.10:6443
  token: abcdef.0123456789abcdef
  secretboxEncryptionSecret: Pz8rT1uY6wE4sD0aC5nH9f3kVb7qXl2mwZ3eR5tY7uI=
";

fn ssh_key(dir: &Path) -> String {
    let path = dir.join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "leak-test@genesis",
            "-f",
        ])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    std::fs::read_to_string(&path).expect("the key")
}

/// `key: |` followed by the value indented, for the secrets file.
fn block(key: &str, value: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = format!("{pad}{key}: |\n");
    for line in value.lines() {
        out.push_str(&format!("{pad}  {line}\n"));
    }
    out
}

/// What must never appear: each value whole, each of its lines of at least `MIN_LINE_LEN`
/// characters (armour lines excepted), and the base64 of each value (unpadded prefix).
fn forbidden(values: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for value in values {
        out.push((*value).to_owned());
        for line in value.lines() {
            let line = line.trim();
            if line.chars().count() >= MIN_LINE_LEN
                && !(line.starts_with("-----") && line.ends_with("-----"))
            {
                out.push(line.to_owned());
            }
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        out.push(encoded.trim_end_matches('=').to_owned());
    }
    out
}

fn assert_clean(channel: &str, text: &str, forbidden: &[String]) {
    for needle in forbidden {
        assert!(
            !text.contains(needle.as_str()),
            "{channel} leaks `{needle}`:\n{text}"
        );
    }
}

fn files_below(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    out
}

#[test]
fn multi_line_secrets_leak_through_no_channel() {
    let world = World::with_phases(GENESIS, &[]);
    let key = ssh_key(world.dir.path());
    assert!(key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert!(key.lines().count() >= 5, "a multi-line key:\n{key}");

    // The example secrets with the real key and the Talos config in place of the fakes.
    let example = std::fs::read_to_string(&world.secrets).expect("secrets");
    let mut secrets = String::new();
    let mut skipping = false;
    for line in example.lines() {
        if skipping {
            if line.starts_with("      ")
                || line.starts_with("    -----")
                || line.starts_with("    FAKE")
            {
                continue;
            }
            skipping = false;
        }
        if line == "  private_key: |" {
            secrets.push_str(&block("private_key", &key, 2));
            skipping = true;
            continue;
        }
        if line == "    machine_config: |" {
            secrets.push_str(&block("machine_config", TALOS_CONFIG, 4));
            skipping = true;
            continue;
        }
        secrets.push_str(line);
        secrets.push('\n');
    }
    std::fs::write(&world.secrets, secrets).expect("write secrets");

    // The environment names end in `private_key` and `machine_config`, which give the values
    // their formats (an OpenSSH key, a YAML mapping) in validation.
    let script = "printf '%s\\n' \"$private_key\"; printf '%s\\n' \"$private_key\" >&2; \
                  printf '%s' \"$private_key\" | base64 -w0; echo; \
                  printf '%s' \"$machine_config\" | base64 -w0 >&2; echo >&2; \
                  printf '%s\\n' \"$machine_config\" | sed 's/^/  /'; \
                  printf '%s\\n' \"$machine_config\" >&2; \
                  echo \"$machine_config\" | grep secretbox >&2; exit 3";
    let leaky = exec_step("leaky", 1, &[], script, "").replace(
        "    timeout: 30s\n",
        "      env: {private_key: {secret: ssh.private_key}, machine_config: {secret: talos.cp-2.machine_config}}\n    timeout: 30s\n",
    );
    world.write_phases(&[("phase-2.yaml", phase(2, &[leaky]))]);
    let forbidden = forbidden(&[&key, TALOS_CONFIG]);

    let validate = world.run(&["validate"]);
    assert_eq!(code(&validate), 0, "{}", stderr(&validate));

    for format in ["text", "json"] {
        let output = world.run(&["up", "-o", format]);
        assert_eq!(code(&output), 1, "{}", stderr(&output));
        assert_clean(
            &format!("up -o {format} stdout"),
            &stdout(&output),
            &forbidden,
        );
        assert_clean(
            &format!("up -o {format} stderr"),
            &stderr(&output),
            &forbidden,
        );
    }
    assert_eq!(
        world.starts_of("leaky"),
        2,
        "the step did run with the secrets"
    );
    let journal = world.journal_text();
    assert!(journal.contains("[redacted]"), "{journal}");
    assert_clean("the journal", &journal, &forbidden);

    let logs: Vec<(String, String)> = files_below(&world.state.join("logs"));
    assert!(!logs.is_empty());
    let mut saw_redaction = false;
    for (path, text) in &logs {
        saw_redaction |= text.contains("[redacted]");
        assert_clean(path, text, &forbidden);
    }
    assert!(saw_redaction, "the run log holds the scrubbed output");

    for format in ["text", "json"] {
        let status = world.run(&["status", "-o", format]);
        assert_eq!(code(&status), 0, "{}", stderr(&status));
        assert_clean("status stdout", &stdout(&status), &forbidden);
        assert_clean("status stderr", &stderr(&status), &forbidden);
    }

    let out = world.dir.path().join("bundle");
    let diagnose = world
        .command(&["diagnose", "--out"])
        .arg(&out)
        .args(["--no-ssh", "--timeout", "2s"])
        .env("KUBECONFIG", world.dir.path().join("no-such-kubeconfig"))
        .output()
        .expect("diagnose runs");
    assert_eq!(code(&diagnose), 0, "{}", stderr(&diagnose));
    assert_clean("diagnose stdout", &stdout(&diagnose), &forbidden);
    assert_clean("diagnose stderr", &stderr(&diagnose), &forbidden);
    let files = files_below(&out);
    assert!(
        files
            .iter()
            .any(|(path, _)| path.ends_with("journal.ndjson")),
        "{files:?}"
    );
    for (path, text) in &files {
        if path.ends_with(".tar.gz") {
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
                std::fs::File::open(path).expect("archive"),
            ));
            for entry in archive.entries().expect("entries") {
                let mut entry = entry.expect("entry");
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).expect("read entry");
                assert_clean(
                    &format!("{path}: {}", entry.path().expect("path").display()),
                    &String::from_utf8_lossy(&bytes),
                    &forbidden,
                );
            }
        } else {
            assert_clean(path, text, &forbidden);
        }
    }
}
