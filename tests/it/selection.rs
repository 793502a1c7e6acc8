//! One selection for `plan`, `up --dry-run` and `status` on the shipped reference lab:
//! `--only`/`--from`/`--skip` by id, number or glob, `--machine` for a machine's branch, an
//! unknown name refused (exit 2) with the nearest names, and shell completion offering the
//! step ids and machine names of the lab being completed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs genesis on the shipped lab with a private copy of secrets.example, an empty state
/// directory and a kubeconfig that does not exist (so that a live plan falls back to offline
/// at once).
fn genesis(args: &[&str]) -> Output {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets.yaml");
    std::fs::copy(repo().join("secrets.example"), &secrets).expect("copy secrets.example");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(&secrets)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--kubeconfig")
        .arg(dir.path().join("no-kubeconfig"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("GENESIS_LAB")
        .env_remove("GENESIS_PHASES")
        .env_remove("GENESIS_STATE")
        .env_remove("COMPLETE")
        .output()
        .expect("run genesis")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn refused(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit 2; stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty(), "nothing on stdout when refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The ids of the steps a plan's JSON marks selected, in order.
fn selected(plan: &Value) -> Vec<String> {
    plan["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps"))
        .filter(|step| step["selected"] == Value::Bool(true))
        .map(|step| step["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn up_dry_run_only_shows_that_step_and_one_line_per_left_out_phase() {
    let text = stdout(&genesis(&["up", "--dry-run", "--only", "vm/cp-2"]));
    assert!(text.contains("vm/cp-2"), "{text}");
    for absent in ["vm/cp-3", "platform-api", "quorum", "  15/cp-2 "] {
        assert!(
            !text.contains(absent),
            "`{absent}` is not selected:\n{text}"
        );
    }
    assert!(
        text.contains("Phase 2: Platform ready (preflight): 4 steps not selected"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|line| line.starts_with("Phase 3:") && line.ends_with(": 13 steps not selected")),
        "{text}"
    );
    assert!(
        text.contains("  phase 4: 7 other steps not selected"),
        "{text}"
    );
    assert!(
        text.contains("1 of 25 steps selected: 1 pending."),
        "{text}"
    );
    // Only what the selected step reaches is listed as not observed.
    assert!(text.contains("  - the Harvester cluster at "), "{text}");
    assert!(!text.contains("the PXE artifact server"), "{text}");
    // Not one line per left-out step.
    assert_eq!(text.matches("not selected").count(), 3, "{text}");
}

#[test]
fn an_unknown_step_is_refused_with_the_nearest_ids() {
    let error = refused(&genesis(&["up", "--dry-run", "--only", "nosuchstep"]));
    assert!(
        error.contains("--only `nosuchstep` names no step of this run"),
        "{error}"
    );
    assert!(
        error.contains("hint: the steps are `platform-api`, `tinkerbell-stack`"),
        "{error}"
    );
    let error = refused(&genesis(&["plan", "--offline", "--only", "vm/cp-4"]));
    assert!(
        error.contains("did you mean `vm/cp-2` or `vm/cp-3`?"),
        "{error}"
    );
    let error = refused(&genesis(&["plan", "--offline", "--skip", "regster-argocd"]));
    assert!(error.contains("did you mean `register-argocd`?"), "{error}");
    let error = refused(&genesis(&["plan", "--offline", "--only", "ms-02-2"]));
    assert!(
        error.contains("`ms-02-2` is a machine, not a step: use --machine ms-02-2"),
        "{error}"
    );
    let error = refused(&genesis(&["status", "--machine", "ms-02-4"]));
    assert!(
        error.contains("--machine `ms-02-4` names no machine of this run"),
        "{error}"
    );
    assert!(
        error.contains("did you mean `ms-02-1`, `ms-02-2` or `ms-02-3`?"),
        "{error}"
    );
    let error = refused(&genesis(&["up", "--machine", "quorum"]));
    assert!(
        error.contains("`quorum` is a step, not a machine: use --only quorum"),
        "{error}"
    );
}

#[test]
fn a_machine_selects_its_branch_and_what_needs_it() {
    let plan: Value = serde_json::from_str(&stdout(&genesis(&[
        "plan",
        "--offline",
        "-o",
        "json",
        "--machine",
        "ms-02-2",
    ])))
    .expect("plan JSON");
    assert_eq!(
        selected(&plan),
        [
            "bmc/ms-02-2",
            "hardware/ms-02-2",
            "join-cluster/ms-02-2",
            "quorum",
            "register-argocd"
        ]
    );
    assert_eq!(
        plan["selection"]["machines"],
        serde_json::json!(["ms-02-2"])
    );
    assert_eq!(plan["totals"]["selected"], 5);
    let steps: Vec<&Value> = plan["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps"))
        .collect();
    assert_eq!(steps.len(), 25, "every step stays in the JSON");
    let left_out = steps
        .iter()
        .find(|step| step["id"] == "bmc/ms-02-1")
        .expect("bmc/ms-02-1");
    assert_eq!(left_out["selected"], false);
    assert_eq!(left_out["excluded_by"], "--machine");

    // Without a selection, every step is selected and nothing else is added.
    let all: Value = serde_json::from_str(&stdout(&genesis(&["plan", "--offline", "-o", "json"])))
        .expect("plan JSON");
    assert_eq!(selected(&all).len(), 25);
    assert!(all.get("selection").is_none() && all["totals"].get("selected").is_none());
}

#[test]
fn plan_only_takes_globs_numbers_and_templates() {
    let text = stdout(&genesis(&[
        "plan",
        "--offline",
        "--only",
        "vm/cp-*",
        "--only",
        "12",
    ]));
    for present in ["vm/cp-2", "vm/cp-3", "register-argocd"] {
        assert!(text.contains(present), "{present}:\n{text}");
    }
    assert!(text.contains("3 of 25 steps selected"), "{text}");
    let plan: Value = serde_json::from_str(&stdout(&genesis(&[
        "plan",
        "--offline",
        "-o",
        "json",
        "--only",
        "platform-join",
        "--skip",
        "17/cp-3",
    ])))
    .expect("plan JSON");
    assert_eq!(selected(&plan), ["platform-join/cp-2"]);
    let from: Value = serde_json::from_str(&stdout(&genesis(&[
        "plan",
        "--offline",
        "-o",
        "json",
        "--from",
        "vm",
    ])))
    .expect("plan JSON");
    assert_eq!(
        selected(&from),
        [
            "vm/cp-2",
            "vm/cp-3",
            "platform-join/cp-2",
            "platform-join/cp-3"
        ]
    );
}

#[test]
fn status_filters_the_same_way() {
    let text = stdout(&genesis(&["status", "--machine", "cp-2"]));
    for present in ["vm-userdata/cp-2", "vm/cp-2", "platform-join/cp-2"] {
        assert!(text.contains(present), "{present}:\n{text}");
    }
    for absent in ["cp-3", "quorum", "ms-02-1"] {
        assert!(!text.contains(absent), "{absent}:\n{text}");
    }
    for line in [
        "phase 2: 4 steps not selected",
        "phase 3: 13 steps not selected",
        "phase 4: 5 steps not selected",
    ] {
        assert!(text.contains(line), "{line}:\n{text}");
    }
    let document: Value = serde_json::from_str(&stdout(&genesis(&[
        "status", "-o", "json", "--only", "quorum",
    ])))
    .expect("status JSON");
    let rows = document["steps"].as_array().expect("rows");
    assert_eq!(rows.len(), 25);
    let chosen: Vec<&str> = rows
        .iter()
        .filter(|row| row["selected"] == true)
        .map(|row| row["step"].as_str().expect("step"))
        .collect();
    assert_eq!(chosen, ["quorum"]);
}

/// Asks genesis for completions the way the fish registration script does.
fn complete(words: &[&str], cwd: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--")
        .arg("genesis")
        .args(words)
        .current_dir(cwd)
        .env("COMPLETE", "fish")
        .env_remove("GENESIS_LAB")
        .env_remove("GENESIS_PHASES")
        .output()
        .expect("run genesis");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

fn values(completions: &str) -> Vec<&str> {
    completions
        .lines()
        .map(|line| line.split('\t').next().unwrap_or_default())
        .collect()
}

#[test]
fn completion_offers_step_ids_and_machine_names_of_the_lab() {
    let steps = complete(&["plan", "--only", "vm/"], &repo());
    assert_eq!(values(&steps), ["vm/cp-2", "vm/cp-3"], "{steps}");
    assert!(steps.contains("vm/cp-2\tstep 16/cp-2: "), "{steps}");
    let templates = complete(&["up", "--skip", "join"], &repo());
    assert_eq!(
        values(&templates),
        [
            "join-cluster",
            "join-cluster/ms-02-2",
            "join-cluster/ms-02-3"
        ],
        "{templates}"
    );
    let machines = complete(&["status", "--machine", ""], &repo());
    assert_eq!(
        values(&machines),
        ["ms-02-1", "ms-02-2", "ms-02-3", "cp-2", "cp-3"],
        "{machines}"
    );
    // The lab named on the command line is the one read, from anywhere.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let lab = repo().join("hardware/lab.yaml");
    let phases = repo().join("phases");
    let named = complete(
        &[
            "--lab",
            lab.to_str().expect("utf-8"),
            &format!("--phases={}", phases.display()),
            "up",
            "--from",
            "regis",
        ],
        elsewhere.path(),
    );
    assert_eq!(values(&named), ["register-argocd"], "{named}");
    // Without a lab there, nothing is offered (and nothing fails).
    assert_eq!(
        complete(&["plan", "--only", ""], elsewhere.path()),
        "",
        "no lab, no candidates"
    );
    // The static scripts keep working.
    let script = Command::new(env!("CARGO_BIN_EXE_genesis"))
        .args(["completions", "bash"])
        .env_remove("COMPLETE")
        .output()
        .expect("run genesis");
    assert!(script.status.success());
    assert!(String::from_utf8_lossy(&script.stdout).contains("--machine"));
}
