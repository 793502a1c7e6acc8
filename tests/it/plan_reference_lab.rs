//! `genesis plan`, `validate` and `graph` on the shipped reference lab: what an operator sees
//! first, and the stable JSON shape machines read.

use std::path::PathBuf;
use std::process::{Command, Output};

use genesis::secrets::Secrets;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A private (0600) copy of secrets.example in `dir`: genesis refuses a plaintext secrets file
/// that others may read, and git checks the example out 0644.
fn private_secrets(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("secrets.yaml");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets.example"),
        &path,
    )
    .expect("copy secrets.example");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    path
}

fn genesis(args: &[&str], state_dir: &std::path::Path) -> Output {
    let secrets = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(private_secrets(secrets.path()))
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("GENESIS_LAB")
        .env_remove("GENESIS_PHASES")
        .output()
        .expect("run genesis")
}

fn text(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

#[test]
fn plan_shows_phases_two_to_four_with_step_12_registering_argocd() {
    let state = tempfile::tempdir().expect("temp dir");
    let plan = text(&genesis(&["plan", "--offline"], state.path()));
    for phase in ["Phase 2: ", "Phase 3: ", "Phase 4: "] {
        assert!(plan.contains(phase), "missing {phase}:\n{plan}");
    }
    let step_12 = plan
        .lines()
        .position(|line| line.trim_start().starts_with("12 "))
        .expect("a step numbered 12");
    let lines: Vec<&str> = plan.lines().collect();
    assert!(
        lines[step_12].contains("register-argocd"),
        "{}",
        lines[step_12]
    );
    assert!(
        lines[step_12].contains("argocd.cluster-secret"),
        "{}",
        lines[step_12]
    );
    assert_eq!(lines[step_12 + 1].trim(), "Register Harvester with Argo CD");
    insta::assert_snapshot!("reference_lab_plan", plan);
    assert!(
        std::fs::read_dir(state.path())
            .expect("state dir")
            .next()
            .is_none(),
        "plan wrote into the state dir"
    );
}

#[test]
fn plan_json_has_the_documented_shape_and_one_branch_per_machine() {
    let state = tempfile::tempdir().expect("temp dir");
    let json: Value = serde_json::from_str(&text(&genesis(
        &["plan", "-o", "json", "--offline"],
        state.path(),
    )))
    .expect("plan is JSON");
    assert_eq!(json["schema"], "genesis.plan/v1");
    assert_eq!(json["mode"], "offline");
    let phases: Vec<u64> = json["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|phase| phase["number"].as_u64().expect("phase number"))
        .collect();
    assert_eq!(phases, [2, 3, 4]);
    let steps: Vec<&Value> = json["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps"))
        .collect();
    assert_eq!(json["totals"]["steps"].as_u64(), Some(steps.len() as u64));
    let step_12 = steps
        .iter()
        .find(|step| step["number"] == "12")
        .expect("step 12");
    assert_eq!(step_12["id"], "register-argocd");
    assert_eq!(step_12["kind"], "argocd.cluster-secret");
    assert_eq!(step_12["preview"], "depends-on-earlier");
    assert_eq!(step_12["needs"], serde_json::json!(["quorum"]));
    for field in [
        "number",
        "id",
        "name",
        "kind",
        "item",
        "needs",
        "state",
        "preview",
        "target",
        "actions",
        "timeout_seconds",
        "attempts",
    ] {
        assert!(step_12.get(field).is_some(), "step lacks `{field}`");
    }
    let branches = json["branches"].as_array().expect("branches");
    for (machine, install) in [
        ("ms-02-1", "create-cluster"),
        ("ms-02-2", "join-cluster"),
        ("ms-02-3", "join-cluster"),
    ] {
        let branch = branches
            .iter()
            .find(|branch| branch["item"] == machine)
            .unwrap_or_else(|| panic!("no branch for {machine}"));
        let expected = serde_json::json!([
            format!("bmc/{machine}"),
            format!("hardware/{machine}"),
            format!("{install}/{machine}")
        ]);
        assert_eq!(branch["steps"], expected);
    }
    // The join installs run alongside the first one (their first boot waits for the VIP); the
    // quorum waits for both the first node's API and the joins (docs/actions.md).
    let needs = |id: &str| {
        steps
            .iter()
            .find(|step| step["id"] == id)
            .unwrap_or_else(|| panic!("no step {id}"))["needs"]
            .as_array()
            .expect("needs")
            .clone()
    };
    assert!(!needs("join-cluster/ms-02-2").contains(&Value::from("harvester-api")));
    for need in [
        "harvester-api",
        "join-cluster/ms-02-2",
        "join-cluster/ms-02-3",
    ] {
        assert!(needs("quorum").contains(&Value::from(need)), "{need}");
    }
}

#[test]
fn no_secret_value_reaches_any_output() {
    let example = repo().join("secrets.example");
    let secrets = Secrets::parse(
        &example,
        &std::fs::read_to_string(&example).expect("read secrets.example"),
    )
    .expect("secrets.example parses");
    let state = tempfile::tempdir().expect("temp dir");
    let mut outputs = Vec::new();
    for args in [
        &["plan", "--offline"][..],
        &["plan", "-o", "json", "--offline"],
        &["validate"],
        &["graph", "-o", "dot"],
        &["graph", "-o", "mermaid"],
    ] {
        let output = genesis(args, state.path());
        assert!(output.status.success(), "{args:?}");
        outputs.push((args, String::from_utf8_lossy(&output.stdout).into_owned()));
        outputs.push((args, String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let mut checked = 0;
    for secret in secrets.values() {
        // Every line of a multi-line secret is checked on its own too.
        for needle in std::iter::once(secret.expose()).chain(secret.expose().lines()) {
            let needle = needle.trim();
            if needle.len() < 8 {
                continue;
            }
            checked += 1;
            for (args, output) in &outputs {
                assert!(!output.contains(needle), "{args:?} printed a secret value");
            }
        }
    }
    assert!(checked >= 10, "only {checked} secret values were checked");
}

#[test]
fn graph_draws_every_step_and_need() {
    let state = tempfile::tempdir().expect("temp dir");
    let dot = text(&genesis(&["graph", "-o", "dot"], state.path()));
    assert!(dot.starts_with("digraph genesis {"));
    assert!(dot.contains("label=\"Phase 3: Harvester provisioned\""));
    assert!(dot.contains("12 Register Harvester with Argo CD"));
    let mermaid = text(&genesis(&["graph", "-o", "mermaid"], state.path()));
    assert!(mermaid.starts_with("flowchart LR"));
    let json: Value = serde_json::from_str(&text(&genesis(
        &["plan", "-o", "json", "--offline"],
        state.path(),
    )))
    .expect("plan is JSON");
    let needs: usize = json["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps"))
        .map(|step| step["needs"].as_array().expect("needs").len())
        .sum();
    let solid_dot = dot
        .lines()
        .filter(|line| line.contains(" -> s"))
        .filter(|line| !line.contains("barrier"))
        .count();
    let solid_mermaid = mermaid
        .lines()
        .filter(|line| line.contains(" --> "))
        .count();
    assert_eq!(solid_dot, needs);
    assert_eq!(solid_mermaid, needs);
}
