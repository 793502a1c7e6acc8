//! The malformed-input corpus (`tests/invalid/cases.yaml`): every case must make
//! `genesis validate` exit 2 with its own precise message, and write nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    file: String,
    from: String,
    to: String,
    expect: String,
    #[serde(default)]
    absent: Option<String>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the reference lab in a fresh directory, laid out as the CLI's defaults expect.
fn reference_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("hardware")).expect("hardware dir");
    std::fs::create_dir_all(dir.path().join("phases")).expect("phases dir");
    std::fs::copy(
        repo().join("hardware/lab.yaml"),
        dir.path().join("hardware/lab.yaml"),
    )
    .expect("copy lab");
    for entry in std::fs::read_dir(repo().join("phases")).expect("phases") {
        let path = entry.expect("entry").path();
        if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            let name = path.file_name().expect("file name");
            std::fs::copy(&path, dir.path().join("phases").join(name)).expect("copy phase");
        }
    }
    std::fs::create_dir_all(dir.path().join("phases/templates")).expect("templates dir");
    for entry in std::fs::read_dir(repo().join("phases/templates")).expect("templates") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        std::fs::copy(&path, dir.path().join("phases/templates").join(name))
            .expect("copy template");
    }
    std::fs::copy(
        repo().join("secrets.example"),
        dir.path().join("secrets.yaml"),
    )
    .expect("copy secrets");
    // Private, as genesis requires of a plaintext secrets file (git checks the example out 0644).
    std::fs::set_permissions(
        dir.path().join("secrets.yaml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod 600 secrets.yaml");
    dir
}

fn target(dir: &Path, file: &str) -> PathBuf {
    match file {
        "lab" => dir.join("hardware/lab.yaml"),
        "secrets" => dir.join("secrets.yaml"),
        phase => dir.join(format!("phases/{phase}.yaml")),
    }
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_malformed_input_has_its_own_precise_message_and_exit_2() {
    let text = std::fs::read_to_string(repo().join("tests/invalid/cases.yaml")).expect("corpus");
    let cases: Vec<Case> = serde_saphyr::from_str(&text).expect("corpus parses");
    assert!(cases.len() >= 25, "the corpus has {} cases", cases.len());
    let mut expectations: Vec<&str> = cases.iter().map(|case| case.expect.as_str()).collect();
    expectations.sort_unstable();
    expectations.dedup();
    assert_eq!(
        expectations.len(),
        cases.len(),
        "every case expects a message of its own"
    );

    let mut failures = Vec::new();
    for case in &cases {
        let dir = reference_copy();
        let path = target(dir.path(), &case.file);
        let original = std::fs::read_to_string(&path).expect("read target");
        assert_eq!(
            original.matches(&case.from).count(),
            1,
            "case `{}`: `from` must occur exactly once in {}",
            case.name,
            path.display()
        );
        std::fs::write(&path, original.replacen(&case.from, &case.to, 1)).expect("write target");
        let before = listing(dir.path());
        let output = Command::new(env!("CARGO_BIN_EXE_genesis"))
            .arg("validate")
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("GENESIS_LAB")
            .env_remove("GENESIS_PHASES")
            .env_remove("GENESIS_SECRETS")
            .env_remove("GENESIS_STATE_DIR")
            .output()
            .expect("run genesis");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut problems = Vec::new();
        if output.status.code() != Some(2) {
            problems.push(format!("exit code {:?}, expected 2", output.status.code()));
        }
        if !stderr.contains(&case.expect) {
            problems.push(format!("expected `{}`", case.expect));
        }
        if let Some(absent) = &case.absent
            && (stderr.contains(absent.as_str())
                || String::from_utf8_lossy(&output.stdout).contains(absent.as_str()))
        {
            problems.push(format!("output contains `{absent}`"));
        }
        if listing(dir.path()) != before {
            problems.push("files were written".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "case `{}`: {}\n--- stderr:\n{stderr}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
