//! Hostile inputs against `genesis validate` and `genesis plan --offline`: each case changes a
//! copy of the reference lab (or the paths genesis is given) the way a careless or hostile user
//! could, and asserts the exit code, the message (file, line, field), that genesis neither
//! panicked nor hung, that nothing was written (no state directory, no file changed) and that no
//! secret value of the secrets file reached stdout or stderr.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod files;
mod names;
mod values;

/// How a case changes the copy of the reference lab.
enum Setup {
    /// Replace the one occurrence of `from` in `file` (relative to the copy) with `to`.
    Replace {
        file: &'static str,
        from: &'static str,
        to: &'static str,
    },
    /// Replace the whole file.
    Write {
        file: &'static str,
        text: &'static str,
    },
    /// Anything else, done to the copy's directory.
    Custom(fn(&Path)),
}

struct Case {
    name: &'static str,
    setup: Setup,
    /// Arguments after `genesis`; `{dir}` is replaced by the copy's directory.
    args: &'static [&'static str],
    code: i32,
    /// Each must occur in stderr (or, for a successful plan, in stdout).
    expect: &'static [&'static str],
}

const LAB: &str = "hardware/lab.yaml";
const PHASE2: &str = "phases/phase-2.yaml";
const PHASE3: &str = "phases/phase-3.yaml";
const PHASE4: &str = "phases/phase-4.yaml";
const VALIDATE: &[&str] = &["validate"];
const PLAN: &[&str] = &["plan", "--offline"];

fn replace(file: &'static str, from: &'static str, to: &'static str) -> Setup {
    Setup::Replace { file, from, to }
}

fn write(file: &'static str, text: &'static str) -> Setup {
    Setup::Write { file, text }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// A copy of the reference lab in a fresh directory, laid out as the CLI's defaults expect.
fn reference_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("hardware")).expect("hardware dir");
    std::fs::copy(repo().join(LAB), dir.path().join(LAB)).expect("copy lab");
    copy_dir(&repo().join("phases"), &dir.path().join("phases"));
    std::fs::copy(
        repo().join("secrets.example"),
        dir.path().join("secrets.yaml"),
    )
    .expect("copy secrets");
    std::fs::set_permissions(
        dir.path().join("secrets.yaml"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod 600 secrets.yaml");
    dir
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("c path");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Every file below `dir` with its size and modification time: what "nothing written" compares.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            let metadata = std::fs::symlink_metadata(&path).expect("metadata");
            if metadata.is_dir() {
                stack.push(path.clone());
            }
            out.push((path, metadata.len(), metadata.modified().ok()));
        }
    }
    out.sort();
    out
}

/// Every secret value of the reference secrets file (the leaves of its YAML, and each line of
/// a multi-line value), long enough to be recognisable.
fn secret_values() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("secrets.example")).expect("secrets");
    let value: serde_json::Value = serde_saphyr::from_str(&text).expect("secrets parse");
    let mut leaves = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::String(text) => {
                // Lines of a multi-line value count from 20 characters, the length from which
                // genesis scrubs them one by one (docs/engine.md): shorter lines such as
                // `network:` in a Talos config are not secret on their own.
                for line in text.lines().map(str::trim).filter(|line| line.len() >= 20) {
                    if !line.starts_with("-----") {
                        leaves.push(line.to_owned());
                    }
                }
                if text.trim().len() >= 8 {
                    leaves.push(text.trim().to_owned());
                }
            }
            serde_json::Value::Object(map) => stack.extend(map.into_values()),
            serde_json::Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    leaves
}

/// Runs genesis with a deadline; `None` when it did not end in time (it is killed).
fn run(dir: &Path, args: &[&str]) -> Option<(Option<i32>, String, String)> {
    let args: Vec<String> = args
        .iter()
        .map(|arg| arg.replace("{dir}", &dir.display().to_string()))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env_remove("GENESIS_LAB")
        .env_remove("GENESIS_PHASES")
        .env_remove("GENESIS_SECRETS")
        .env_remove("GENESIS_STATE_DIR")
        .env_remove("GENESIS_STATE")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run genesis");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().expect("stdout")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr")).into_owned();
    status.map(|status| (status.code(), stdout, stderr))
}

fn check(case: &Case, secrets: &[String]) -> Result<(), String> {
    let dir = reference_copy();
    match &case.setup {
        Setup::Replace { file, from, to } => {
            let path = dir.path().join(file);
            let original = std::fs::read_to_string(&path).expect("read target");
            if original.matches(from).count() != 1 {
                return Err(format!("`{from}` must occur exactly once in {file}"));
            }
            std::fs::write(&path, original.replacen(from, to, 1)).expect("write target");
        }
        Setup::Write { file, text } => {
            std::fs::write(dir.path().join(file), text).expect("write target");
        }
        Setup::Custom(setup) => setup(dir.path()),
    }
    let before = listing(dir.path());
    let Some((code, stdout, stderr)) = run(dir.path(), case.args) else {
        return Err("genesis did not end within 30 s".to_owned());
    };
    let mut problems = Vec::new();
    if code != Some(case.code) {
        problems.push(format!("exit code {code:?}, expected {}", case.code));
    }
    let shown = if case.code == 0 {
        format!("{stdout}{stderr}")
    } else {
        stderr.clone()
    };
    for expected in case.expect {
        if !shown.contains(expected) {
            problems.push(format!("expected `{expected}`"));
        }
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        problems.push("genesis panicked".to_owned());
    }
    if listing(dir.path()) != before {
        problems.push("files were written".to_owned());
    }
    if dir.path().join(".genesis").exists() {
        problems.push("a state directory was created".to_owned());
    }
    for secret in secrets {
        if stdout.contains(secret.as_str()) || stderr.contains(secret.as_str()) {
            problems.push(format!("the output holds the secret value `{secret}`"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n--- stdout:\n{}\n--- stderr:\n{stderr}",
            problems.join("; "),
            stdout.chars().take(3000).collect::<String>()
        ))
    }
}

fn cases() -> Vec<Case> {
    let mut cases = files::cases();
    cases.extend(names::cases());
    cases.extend(values::cases());
    cases
}

/// The reference lab without its third machine (and its secrets stay unused).
fn two_machines(dir: &Path) {
    let path = dir.join(LAB);
    let text = std::fs::read_to_string(&path).expect("lab");
    let start = text.find("  - hostname: ms-02-3").expect("third machine");
    let end = text.find("\nvm_images:").expect("vm_images");
    let mut changed = text[..start].to_owned();
    changed.push_str(&text[end..]);
    std::fs::write(path, changed).expect("write");
}

#[test]
fn hostile_inputs_fail_cleanly_with_their_message_and_write_nothing() {
    let cases = cases();
    assert!(cases.len() >= 70, "the corpus has {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let secrets = secret_values();
    assert!(secrets.len() >= 8, "secret values found: {}", secrets.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            check(case, &secrets)
                .err()
                .map(|problem| format!("case `{}`: {problem}", case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
