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
    vec![
        // ---- Panics: empty and comment-only files (snippets sliced past the end).
        Case {
            name: "empty lab file",
            setup: write(LAB, ""),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "comment-only lab file",
            setup: write(LAB, "# nothing here yet\n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "whitespace-only lab file",
            setup: write(LAB, "\n\n   \n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "document marker only",
            setup: write(LAB, "---\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "lab file is a list",
            setup: write(LAB, "[]\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "lab file is a scalar",
            setup: write(LAB, "schema"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "empty phase file",
            setup: write(PHASE2, ""),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-2.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "comment-only phase file",
            setup: write(PHASE3, "# to do\n# later\n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-3.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "comment-only phase file in plan",
            setup: write(PHASE4, "#\n"),
            args: PLAN,
            code: 2,
            expect: &[
                "phases/phase-4.yaml: the file is empty (nothing but blank lines and comments)",
            ],
        },
        Case {
            name: "error on the last line without a newline",
            setup: write(LAB, "schema: 1\nname: x\nnetworks: {"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        // ---- Panics: durations that overflow the clock.
        Case {
            name: "step timeout u64::MAX seconds",
            setup: replace(
                PHASE3,
                "    timeout: 30m\n",
                "    timeout: 18446744073709551615s\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-3.yaml:",
                "steps[6].timeout: `18446744073709551615s` is longer than the maximum of 7days",
            ],
        },
        Case {
            name: "step timeout u64::MAX seconds in plan",
            setup: replace(
                PHASE3,
                "    timeout: 30m\n",
                "    timeout: 18446744073709551615s\n",
            ),
            args: PLAN,
            code: 2,
            expect: &["steps[6].timeout: `18446744073709551615s` is longer than the maximum"],
        },
        Case {
            name: "step timeout of eight days",
            setup: replace(PHASE3, "    timeout: 30m\n", "    timeout: 8d\n"),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].timeout: `8d` is longer than the maximum of 7days"],
        },
        Case {
            name: "step timeout beyond what humantime counts",
            setup: replace(
                PHASE3,
                "    timeout: 30m\n",
                "    timeout: 99999999999999999999999h\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].timeout: `99999999999999999999999h` is not a duration"],
        },
        Case {
            name: "negative timeout",
            setup: replace(PHASE3, "    timeout: 30m\n", "    timeout: -5s\n"),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].timeout: `-5s` is not a duration"],
        },
        Case {
            name: "retry backoff of two hours",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 2, backoff: 2h, max_backoff: 2m}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[3].retry.backoff: `2h` is longer than the maximum of 1h"],
        },
        Case {
            name: "retry max_backoff u64::MAX seconds",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 2, backoff: 30s, max_backoff: 18446744073709551615s}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[3].retry.max_backoff: `18446744073709551615s` is longer than the maximum of 1h",
            ],
        },
        Case {
            name: "retry attempts u32::MAX",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 4294967295, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[3].retry.attempts: 4294967295 attempts is more than the maximum of 100",
            ],
        },
        Case {
            name: "retry attempts beyond u32",
            setup: replace(
                PHASE3,
                "retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
                "retry: {attempts: 4294967296, backoff: 30s, max_backoff: 2m}\n\n  - id: harvester-api",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-3.yaml:"],
        },
        // ---- Unsafe input files: FIFOs, devices, directories, unbounded sizes.
        Case {
            name: "--lab /dev/zero",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--lab", "/dev/zero"],
            code: 2,
            expect: &["/dev/zero: this is a character device, not a regular file"],
        },
        Case {
            name: "--lab /dev/zero in plan",
            setup: Setup::Custom(|_| {}),
            args: &["plan", "--offline", "--lab", "/dev/zero"],
            code: 2,
            expect: &["/dev/zero: this is a character device, not a regular file"],
        },
        Case {
            name: "--lab /dev/urandom",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--lab", "/dev/urandom"],
            code: 2,
            expect: &["/dev/urandom: this is a character device, not a regular file"],
        },
        Case {
            name: "lab file is a FIFO",
            setup: Setup::Custom(|dir| {
                std::fs::remove_file(dir.join(LAB)).expect("remove");
                mkfifo(&dir.join(LAB));
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: this is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "lab file is a symlink to a FIFO",
            setup: Setup::Custom(|dir| {
                mkfifo(&dir.join("pipe"));
                std::fs::remove_file(dir.join(LAB)).expect("remove");
                std::os::unix::fs::symlink(dir.join("pipe"), dir.join(LAB)).expect("symlink");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: this is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "lab path is a directory",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--lab", "phases"],
            code: 2,
            expect: &["phases: this is a directory, not a regular file"],
        },
        Case {
            name: "lab file larger than 4 MiB",
            setup: Setup::Custom(|dir| {
                let mut text = std::fs::read_to_string(dir.join(LAB)).expect("lab");
                text.push_str(&format!("# {}\n", "x".repeat(5 * 1024 * 1024)));
                std::fs::write(dir.join(LAB), text).expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: larger than the 4194304-byte limit for an input file"],
        },
        Case {
            name: "lab file not UTF-8",
            setup: Setup::Custom(|dir| {
                std::fs::write(dir.join(LAB), b"schema: 1\nname: \xff\xfe\n").expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml: not UTF-8 text"],
        },
        Case {
            name: "lab file holds a NUL byte",
            setup: write(LAB, "schema: 1\nname: \"a\0b\"\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "phase file is a FIFO",
            setup: Setup::Custom(|dir| mkfifo(&dir.join("phases/phase-9.yaml"))),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-9.yaml: this is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "phase file is a symlink to /dev/zero",
            setup: Setup::Custom(|dir| {
                std::os::unix::fs::symlink("/dev/zero", dir.join("phases/phase-9.yaml"))
                    .expect("symlink");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-9.yaml: this is a character device, not a regular file"],
        },
        Case {
            name: "phase entry is a directory",
            setup: Setup::Custom(|dir| {
                std::fs::create_dir(dir.join("phases/phase-9.yaml")).expect("mkdir");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["phases/phase-9.yaml: this is a directory, not a regular file"],
        },
        Case {
            name: "--phases is a device",
            setup: Setup::Custom(|_| {}),
            args: &["validate", "--phases", "/dev/null"],
            code: 2,
            expect: &["/dev/null: cannot read the phases directory"],
        },
        Case {
            name: "template path leaves the phases directory",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: ../secrets.yaml}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[install-template].params.template: `../secrets.yaml` leaves the phases directory (`..`)",
            ],
        },
        Case {
            name: "template path is absolute",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: /etc/passwd}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[install-template].params.template: `/etc/passwd` is absolute"],
        },
        Case {
            name: "template is a symlink to the secrets file",
            setup: Setup::Custom(|dir| {
                let template = dir.join("phases/templates/harvester-install.yaml");
                std::fs::remove_file(&template).expect("remove");
                std::os::unix::fs::symlink("../../secrets.yaml", &template).expect("symlink");
            }),
            args: PLAN,
            code: 2,
            expect: &[
                "`templates/harvester-install.yaml` resolves to",
                "outside the phases directory",
            ],
        },
        Case {
            name: "template directory is a symlink out of the phases directory",
            setup: Setup::Custom(|dir| {
                let templates = dir.join("phases/templates");
                std::fs::rename(&templates, dir.join("elsewhere")).expect("move");
                std::os::unix::fs::symlink("../elsewhere", &templates).expect("symlink");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["outside the phases directory"],
        },
        Case {
            name: "template is a FIFO",
            setup: Setup::Custom(|dir| {
                let template = dir.join("phases/templates/harvester-install.yaml");
                std::fs::remove_file(&template).expect("remove");
                mkfifo(&template);
            }),
            args: VALIDATE,
            code: 2,
            expect: &["is a FIFO (named pipe), not a regular file"],
        },
        Case {
            name: "template is a directory",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: templates}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["is a directory, not a regular file"],
        },
        Case {
            name: "template file missing",
            setup: replace(
                PHASE3,
                "{file: templates/harvester-install.yaml}",
                "{file: templates/nope.yaml}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[install-template].params.template: cannot read",
                "nope.yaml",
            ],
        },
        // ---- Parser abuse.
        Case {
            name: "alias bomb",
            setup: write(
                LAB,
                "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "deeply nested flow sequences",
            setup: Setup::Custom(|dir| {
                let depth = 100_000;
                let text = format!("schema: {}{}\n", "[".repeat(depth), "]".repeat(depth));
                std::fs::write(dir.join(LAB), text).expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml"],
        },
        Case {
            name: "duplicate key",
            setup: replace(
                LAB,
                "name: reference-lab\n",
                "name: reference-lab\nname: other\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml:"],
        },
        Case {
            name: "unknown field suggests the nearest one",
            setup: replace(
                LAB,
                "    pxe_mac: \"02:00:00:0a:0a:0c\"",
                "    pxe_macc: \"02:00:00:0a:0a:0c\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["unknown field `pxe_macc`", "did you mean `pxe_mac`?"],
        },
        Case {
            name: "unknown step field suggests the nearest one",
            setup: replace(PHASE3, "    timeout: 30m\n", "    timeot: 30m\n"),
            args: VALIDATE,
            code: 2,
            expect: &["unknown field `timeot`", "did you mean `timeout`?"],
        },
        // ---- Kubernetes names.
        Case {
            name: "Tinkerbell namespace with uppercase and underscore",
            setup: replace(LAB, "namespace: tink-system", "namespace: Tink_System"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml:39:16: endpoints.tinkerbell.namespace: `Tink_System` is not a valid Kubernetes namespace: the uppercase letter `T` is not allowed",
            ],
        },
        Case {
            name: "Argo CD namespace with a dot",
            setup: replace(LAB, "    namespace: argocd\n", "    namespace: argo.cd\n"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.namespace: `argo.cd` is not a valid Kubernetes namespace: `.` is not allowed",
            ],
        },
        Case {
            name: "namespace longer than 63",
            setup: replace(
                LAB,
                "    namespace: argocd\n",
                "    namespace: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.namespace: `aaaa",
                "is 64 characters long, more than 63",
            ],
        },
        Case {
            name: "namespace ending with a dash",
            setup: replace(LAB, "namespace: tink-system", "namespace: tink-"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.tinkerbell.namespace: `tink-` is not a valid Kubernetes namespace: it starts or ends with `-`",
            ],
        },
        Case {
            name: "VM image name Talos_NoCloud",
            setup: Setup::Custom(|dir| {
                let path = dir.join(LAB);
                let text = std::fs::read_to_string(&path).expect("lab");
                std::fs::write(path, text.replace("talos-nocloud", "Talos_NoCloud"))
                    .expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &[
                "vm_images[0].name: `Talos_NoCloud` is not a valid Kubernetes object name (a Harvester VirtualMachineImage)",
            ],
        },
        Case {
            name: "VM image namespace with a space",
            setup: replace(
                LAB,
                "  - name: talos-nocloud\n    namespace: default",
                "  - name: talos-nocloud\n    namespace: \"my ns\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "vm_images[0].namespace: `my ns` is not a valid Kubernetes namespace: a space is not allowed",
            ],
        },
        Case {
            name: "VM namespace Default",
            setup: replace(
                LAB,
                "  - name: cp-2\n    namespace: default",
                "  - name: cp-2\n    namespace: Default",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].namespace: `Default` is not a valid Kubernetes namespace"],
        },
        Case {
            name: "Argo CD Secret name with spaces and a slash",
            setup: replace(
                LAB,
                "secret_name: harvester",
                "secret_name: \"my lab/harvester\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.secret_name: `my lab/harvester` is not a valid Secret name",
            ],
        },
        Case {
            name: "Argo CD cluster name with spaces and a slash, naming the Secret",
            setup: Setup::Custom(|dir| {
                // Without `secret_name` the Secret is named after the cluster.
                let path = dir.join(LAB);
                let text = std::fs::read_to_string(&path).expect("read lab");
                let text = text
                    .replacen(
                        "    cluster_name: harvester\n",
                        "    cluster_name: \"my lab/harvester\"\n",
                        1,
                    )
                    .replacen("    secret_name: harvester\n", "", 1);
                std::fs::write(&path, text).expect("write lab");
            }),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.argocd.cluster_name: `my lab/harvester` cannot name Argo CD's cluster Secret",
            ],
        },
        Case {
            name: "Harvester hostname with a space",
            setup: replace(
                LAB,
                "hostname: harvester.lab.local",
                "hostname: \"harvester lab\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.hostname: `harvester lab` is not a DNS name"],
        },
        Case {
            name: "network name with uppercase",
            setup: replace(LAB, "  - name: storage\n", "  - name: Storage_Net\n"),
            args: VALIDATE,
            code: 2,
            expect: &["networks[3].name: `Storage_Net` is not a valid network name"],
        },
        Case {
            name: "namespace literal in a phase file",
            setup: replace(
                PHASE4,
                "      namespace: default\n      name: platform",
                "      namespace: Default\n      name: platform",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-4.yaml:",
                "params.namespace: `Default` is not a valid Kubernetes namespace",
            ],
        },
        Case {
            name: "object name literal in a phase file",
            setup: replace(
                PHASE4,
                "      namespace: default\n      name: platform",
                "      namespace: default\n      name: Platform_VLAN",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["params.name: `Platform_VLAN` is not a valid Kubernetes object name"],
        },
        Case {
            name: "Harvester version that breaks the Template's name",
            setup: replace(
                LAB,
                "    version: v1.7.0\n",
                "    version: \"V1.7.0 final\"\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[install-template].params.name: `harvester-install-V1.7.0 final` is not a valid Kubernetes object name",
            ],
        },
        // ---- MACs.
        Case {
            name: "MAC with dashes is normalised",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"02-00-00-0A-0A-0C\""),
            args: PLAN,
            code: 0,
            expect: &["MAC 02:00:00:0a:0a:0c"],
        },
        Case {
            name: "uppercase MAC is a duplicate of a lowercase one",
            setup: replace(LAB, "\"02:00:00:0a:0a:0d\"", "\"02:00:00:0A:0A:0B\""),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[2].pxe_mac: MAC 02:00:00:0A:0A:0B is already used by machines[0].pxe_mac",
            ],
        },
        Case {
            name: "MAC with mixed separators",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"02:00-00:0a-0a:0c\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `02:00-00:0a-0a:0c` mixes `:` and `-` separators"],
        },
        Case {
            name: "all-zero MAC",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"00:00:00:00:00:00\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `00:00:00:00:00:00` is the all-zero MAC"],
        },
        Case {
            name: "broadcast MAC",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"ff:ff:ff:ff:ff:ff\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `ff:ff:ff:ff:ff:ff` is a multicast (or broadcast) MAC"],
        },
        Case {
            name: "MAC with seven octets",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"02:00:00:0a:0a:0c:0d\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `02:00:00:0a:0a:0c:0d` is not a MAC address"],
        },
        Case {
            name: "MAC in dotted form",
            setup: replace(LAB, "\"02:00:00:0a:0a:0c\"", "\"0200.000a.0a0c\""),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].pxe_mac: `0200.000a.0a0c` is not a MAC address"],
        },
        Case {
            name: "multicast VM MAC",
            setup: replace(LAB, "\"52:54:00:0a:1e:03\"", "\"53:54:00:0a:1e:03\""),
            args: VALIDATE,
            code: 2,
            expect: &["vms[1].mac: `53:54:00:0a:1e:03` is a multicast (or broadcast) MAC"],
        },
        // ---- Ports.
        Case {
            name: "API port 0",
            setup: replace(LAB, "api_port: 6443", "api_port: 0"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "hardware/lab.yaml:45:15: endpoints.harvester.api_port: port 0 is not a port one can connect to",
            ],
        },
        Case {
            name: "SSH port 0",
            setup: replace(LAB, "api_port: 6443", "api_port: 6443\n    ssh_port: 0"),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.ssh_port: port 0 is not a port one can connect to"],
        },
        Case {
            name: "BMC port 0",
            setup: replace(
                LAB,
                "{address: 10.10.10.112, protocol: intel-amt}",
                "{address: 10.10.10.112, protocol: intel-amt, port: 0}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].bmc.port: port 0 is not a port one can connect to"],
        },
        Case {
            name: "API port 65536",
            setup: replace(LAB, "api_port: 6443", "api_port: 65536"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml:45:"],
        },
        Case {
            name: "metadata URL with port 0",
            setup: replace(
                LAB,
                "metadata_url: http://10.10.10.10:7080",
                "metadata_url: http://10.10.10.10:0",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.tinkerbell.metadata_url: `http://10.10.10.10:0` names port 0"],
        },
        // ---- Sizes.
        Case {
            name: "VM with 0 CPU cores",
            setup: replace(
                LAB,
                "    cpu_cores: 4\n    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    cpu_cores: 0\n    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].cpu_cores: a VM with 0 CPU cores cannot start"],
        },
        Case {
            name: "VM with 0Gi memory",
            setup: replace(
                LAB,
                "    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    memory: 0Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].memory: `0Gi` is zero"],
        },
        Case {
            name: "VM with a 0Mi disk",
            setup: replace(
                LAB,
                "    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    disk: 0Mi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].disk: `0Mi` is zero"],
        },
        Case {
            name: "VM memory too large to count",
            setup: replace(
                LAB,
                "    memory: 16Gi\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
                "    memory: 99999999999999999999Ti\n    disk: 40Gi\n    image: talos-nocloud\n  - name: cp-3",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["vms[0].memory: `99999999999999999999Ti` is too large"],
        },
        Case {
            name: "artifact of 0 bytes",
            setup: replace(
                LAB,
                "        file: harvester-v1.7.0-amd64.raw.zst\n",
                "        file: harvester-v1.7.0-amd64.raw.zst\n        size: 0\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.pxe.artifacts[0].size: an expected size of 0 bytes"],
        },
        // ---- Addresses.
        Case {
            name: "VIP is the network address",
            setup: replace(LAB, "vip: 10.10.10.20 ", "vip: 10.10.10.0 "),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.harvester.vip: VIP 10.10.10.0 is the network address of network `mgmt`",
            ],
        },
        Case {
            name: "VIP is the broadcast address",
            setup: replace(LAB, "vip: 10.10.10.20 ", "vip: 10.10.10.255 "),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.harvester.vip: VIP 10.10.10.255 is the broadcast address of network `mgmt`",
            ],
        },
        Case {
            name: "VIP is the gateway",
            setup: replace(LAB, "vip: 10.10.10.20 ", "vip: 10.10.10.1 "),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.vip: VIP 10.10.10.1 is the gateway of network `mgmt`"],
        },
        Case {
            name: "machine IP is the gateway",
            setup: replace(LAB, "    ip: 10.10.10.12 ", "    ip: 10.10.10.1 "),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].ip: 10.10.10.1 is the gateway of network `mgmt`"],
        },
        Case {
            name: "gateway is the network address",
            setup: replace(LAB, "gateway: 10.10.30.1", "gateway: 10.10.30.0"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "networks[1].gateway: gateway 10.10.30.0 is the network or broadcast address of 10.10.30.0/24",
            ],
        },
        Case {
            name: "DNS server 0.0.0.0",
            setup: replace(LAB, "dns_servers: [10.10.10.1]", "dns_servers: [0.0.0.0]"),
            args: VALIDATE,
            code: 2,
            expect: &["endpoints.harvester.dns_servers[0]: 0.0.0.0 is not a DNS server's address"],
        },
        Case {
            name: "DNS server is the broadcast address",
            setup: replace(
                LAB,
                "dns_servers: [10.10.10.1]",
                "dns_servers: [255.255.255.255]",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "endpoints.harvester.dns_servers[0]: 255.255.255.255 is not a DNS server's address",
            ],
        },
        // ---- Disks and interfaces.
        Case {
            name: "install disk escapes /dev",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: /dev/../etc/passwd\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `/dev/../etc/passwd` is not a device path: it has a `.` or `..` component",
            ],
        },
        Case {
            name: "install disk is /dev/ itself",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: /dev/\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `/dev/` is not a device path: it names /dev/ itself",
            ],
        },
        Case {
            name: "data disk with a double slash",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev//nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].data_disk: `/dev//nvme1n1` is not a device path: it has an empty component",
            ],
        },
        Case {
            name: "relative install disk",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `nvme0n1` is not a device path: it is not below /dev/",
            ],
        },
        Case {
            name: "install disk with a space",
            setup: replace(
                LAB,
                "    install_disk: /dev/nvme0n1\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
                "    install_disk: \"/dev/nvme0n1 p1\"\n    data_disk: /dev/nvme1n1\n  - hostname: ms-02-2",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[0].install_disk: `/dev/nvme0n1 p1` is not a device path: it contains whitespace",
            ],
        },
        Case {
            name: "interface name with a slash",
            setup: replace(
                LAB,
                "    network: mgmt\n    ip: 10.10.10.12 ",
                "    network: mgmt\n    interface: eth0/1\n    ip: 10.10.10.12 ",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["machines[1].interface: `eth0/1` is not a network interface name"],
        },
        Case {
            name: "interface name longer than 15",
            setup: replace(
                LAB,
                "    network: mgmt\n    ip: 10.10.10.12 ",
                "    network: mgmt\n    interface: enp1s0f0np0abcdef\n    ip: 10.10.10.12 ",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "machines[1].interface: `enp1s0f0np0abcdef` is not a network interface name: it must be 1 to 15 characters long",
            ],
        },
        // ---- Terminal control characters in the lab's text.
        Case {
            name: "escape sequence in the lab's name",
            setup: replace(LAB, "name: reference-lab\n", "name: \"lab\\e[31m red\"\n"),
            args: VALIDATE,
            code: 2,
            expect: &["hardware/lab.yaml:10:7: name: the lab's name contains a control character"],
        },
        Case {
            name: "newline in the lab's name",
            setup: replace(
                LAB,
                "name: reference-lab\n",
                "name: \"lab\\nFAKE: all good\"\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["name: the lab's name spans more than one line"],
        },
        Case {
            name: "escape sequence in a network's purpose",
            setup: replace(
                LAB,
                "purpose: Harvester host management",
                "purpose: \"\\e]0;owned\\a\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["networks[0].purpose: contains a control character"],
        },
        // ---- Step parameters typed by their kind.
        Case {
            name: "namespace is a list of numbers",
            setup: replace(
                PHASE2,
                "namespace: ${lab.endpoints.argocd.namespace}",
                "namespace: [1, 2]",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "phases/phase-2.yaml:",
                "steps[argocd].params.namespace: step `argocd` (kind `argocd.present`): parameter `namespace` is a list: invalid type: sequence, expected a string",
            ],
        },
        Case {
            name: "quorum nodes is text",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: three",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: step `quorum` (kind `harvester.quorum`): parameter `nodes` is text: invalid type: string \"three\"",
            ],
        },
        Case {
            name: "VLAN is text",
            setup: replace(PHASE4, "vlan: ${networks.platform.vlan}", "vlan: ten"),
            args: VALIDATE,
            code: 2,
            expect: &[
                "params.vlan: step `vm-network` (kind `harvester.vm-network`): parameter `vlan` is text",
            ],
        },
        Case {
            name: "artifacts is a number",
            setup: replace(
                PHASE2,
                "artifacts: ${lab.endpoints.pxe.artifacts}",
                "artifacts: 5",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "params.artifacts: step `pxe-artifacts` (kind `http.artifacts`): parameter `artifacts` is a number: invalid type: integer `5`, expected a sequence",
            ],
        },
        Case {
            name: "insecure_tls is text",
            setup: replace(
                PHASE3,
                "insecure_tls: ${machine.bmc.insecure_tls}",
                "insecure_tls: \"yes\"",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[bmc].params.insecure_tls: step `bmc` (kind `rufio.machine`): parameter `insecure_tls` is text: invalid type: string \"yes\", expected a boolean",
            ],
        },
        Case {
            name: "api_port is a mapping",
            setup: replace(
                PHASE3,
                "api_port: ${lab.endpoints.harvester.api_port}",
                "api_port: {port: 6443}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[harvester-api].params.api_port: step `harvester-api` (kind `harvester.api`): parameter `api_port` is a mapping",
            ],
        },
        Case {
            name: "a secret where text is expected",
            setup: replace(
                PHASE3,
                "      ssh_user: rancher\n",
                "      ssh_user: {secret: ssh.private_key}\n",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[harvester-api].params.ssh_user: step `harvester-api` (kind `harvester.api`): parameter `ssh_user` is a mapping",
            ],
        },
        Case {
            name: "params is a list",
            setup: replace(
                PHASE3,
                "    params:\n      nodes: ${inventory.control_plane_nodes}",
                "    params: [3]",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[6].params: params must be a mapping"],
        },
        // ---- The quorum and the lab's machines.
        Case {
            name: "constant quorum of three with two machines",
            setup: Setup::Custom(|dir| {
                two_machines(dir);
                let path = dir.join(PHASE3);
                let text = std::fs::read_to_string(&path).expect("phase 3");
                std::fs::write(
                    path,
                    text.replace("nodes: ${inventory.control_plane_nodes}", "nodes: 3"),
                )
                .expect("write");
            }),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: a quorum of 3 control-plane nodes cannot be reached: the lab has 2 machines, and Harvester runs 1 control-plane node with that many",
            ],
        },
        Case {
            name: "derived quorum with two machines",
            setup: Setup::Custom(two_machines),
            args: PLAN,
            code: 0,
            expect: &[
                "watch Harvester Nodes until 1 are Ready with the control-plane and etcd roles",
            ],
        },
        Case {
            name: "quorum of four",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: 4",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: a quorum of 4 control-plane nodes cannot be reached: the lab has 3 machines, and Harvester runs 3 control-plane nodes",
            ],
        },
        Case {
            name: "quorum of zero",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: 0",
            ),
            args: VALIDATE,
            code: 2,
            expect: &[
                "steps[quorum].params.nodes: a quorum of 0 control-plane nodes cannot be reached",
            ],
        },
        Case {
            name: "unknown inventory count",
            setup: replace(
                PHASE3,
                "nodes: ${inventory.control_plane_nodes}",
                "nodes: ${inventory.nodes}",
            ),
            args: VALIDATE,
            code: 2,
            expect: &["steps[quorum].params.nodes: `inventory` has no `nodes`"],
        },
    ]
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
