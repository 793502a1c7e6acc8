//! The projected hardware clock (issue 16): the phase files' `estimate:` fields agree with the
//! lab simulator's reference scenario (so the two cannot drift apart), and `genesis plan`
//! projects the reference lab to the pinned minutes and critical path, before and after the
//! join installs were moved alongside the first one (docs/benchmarks.md, "The projected hardware
//! clock").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(crate::ROOT)
}

/// Every step of the shipped phase files: id → (estimate, timeout).
fn shipped_steps() -> BTreeMap<String, (Option<Duration>, Duration)> {
    let mut steps = BTreeMap::new();
    for phase in [2, 3, 4] {
        let path = repo().join(format!("phases/phase-{phase}.yaml"));
        let text = std::fs::read_to_string(&path).expect("read phase file");
        let file: Value = serde_saphyr::from_str(&text).expect("phase file is YAML");
        for step in file["steps"].as_array().expect("steps") {
            let duration = |field: &str| {
                step[field].as_str().map(|text| {
                    humantime::parse_duration(text)
                        .unwrap_or_else(|error| panic!("{field} `{text}`: {error}"))
                })
            };
            steps.insert(
                step["id"].as_str().expect("id").to_owned(),
                (duration("estimate"), duration("timeout").expect("timeout")),
            );
        }
    }
    steps
}

/// The action names of the install Template, in order.
fn install_actions() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("phases/templates/harvester-install.yaml"))
        .expect("read the install template");
    let template: Value = serde_saphyr::from_str(&text).expect("template is YAML");
    template["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .flat_map(|task| task["actions"].as_array().expect("actions").iter())
        .map(|action| action["name"].as_str().expect("action name").to_owned())
        .collect()
}

#[test]
fn phase_file_estimates_agree_with_the_simulators_reference_scenario() {
    let scenario = labsim::Scenario::reference().expect("reference scenario");
    let steps = shipped_steps();
    let estimate = |id: &str| {
        steps
            .get(id)
            .unwrap_or_else(|| panic!("no step `{id}`"))
            .0
            .unwrap_or_else(|| panic!("step `{id}` has no estimate"))
    };
    // Everything genesis runs has an estimate, and none exceeds its step's timeout.
    for (id, (estimate, timeout)) in &steps {
        let estimate = estimate.unwrap_or_else(|| panic!("step `{id}` has no estimate"));
        assert!(estimate <= *timeout, "`{id}`: {estimate:?} > {timeout:?}");
    }
    let actions = install_actions();
    assert_eq!(
        actions,
        [
            "stream-harvester",
            "configure-harvester",
            "reboot-harvester"
        ]
    );
    let action = |name: &str| {
        scenario
            .tinkerbell
            .actions
            .get(name)
            .copied()
            .unwrap_or(scenario.tinkerbell.action_default)
            .0
    };
    // An install: the netboot Rufio Job (three tasks), HookOS boot, then each action.
    let install = scenario.rufio.task.0 * 3
        + scenario.tinkerbell.agent_boot.0
        + actions.iter().map(|name| action(name)).sum::<Duration>();
    let harvester = &scenario.harvester;
    let modelled = [
        ("bmc", scenario.rufio.contact.0),
        ("create-cluster", install),
        ("join-cluster", install),
        ("harvester-api", harvester.kubeconfig.0),
        // From the first node's API: the joined nodes register and turn Ready, then Harvester
        // promotes them one at a time.
        (
            "quorum",
            harvester.node_register.0
                + harvester.node_ready.0
                + harvester.promote.0 * u32::try_from(harvester.management_nodes - 1).unwrap(),
        ),
        ("vm-image", harvester.image_import.0),
        ("vm", scenario.kubevirt.vm_start.0),
        (
            "platform-join",
            scenario.platform.join.0 + scenario.platform.node_ready.0,
        ),
    ];
    for (id, simulated) in modelled {
        assert_eq!(
            estimate(id),
            simulated,
            "`{id}`: phases say {:?}, crates/labsim/scenarios/reference.yaml {simulated:?}",
            estimate(id)
        );
    }
    // The rest the simulator does not slow down: API calls and checks, seconds each.
    for (id, (estimate, _)) in &steps {
        if modelled.iter().all(|(modelled, _)| modelled != id) {
            let estimate = estimate.expect("checked above");
            assert!(estimate <= Duration::from_secs(10), "`{id}`: {estimate:?}");
        }
    }
}

fn private_secrets(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("secrets.yaml");
    std::fs::copy(repo().join("secrets.example"), &path).expect("copy secrets.example");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    path
}

/// `genesis plan --offline -o json` of the reference lab with `phases`.
fn plan_json(phases: &Path) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(crate::GENESIS)
        .arg("--secrets")
        .arg(private_secrets(dir.path()))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .arg("--phases")
        .arg(phases)
        .args(["plan", "--offline", "-o", "json"])
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("GENESIS_LAB")
        .env_remove("GENESIS_PHASES")
        .output()
        .expect("run genesis");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("plan JSON")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|item| item.as_str().expect("string"))
        .collect()
}

fn minutes_seconds(seconds: u64) -> (u64, u64) {
    (seconds / 60, seconds % 60)
}

#[test]
fn plan_projects_the_reference_lab_to_the_pinned_minutes_and_path() {
    let plan = plan_json(&repo().join("phases"));
    let projection = &plan["projection"];
    let milestones: Vec<(u64, &str, (u64, u64))> = projection["milestones"]
        .as_array()
        .expect("milestones")
        .iter()
        .map(|milestone| {
            (
                milestone["phase"].as_u64().expect("phase"),
                milestone["name"].as_str().expect("name"),
                minutes_seconds(milestone["at_seconds"].as_u64().expect("at_seconds")),
            )
        })
        .collect();
    assert_eq!(
        milestones,
        [
            (2, "Platform ready", (0, 4)),
            (
                3,
                "Harvester quorum, registered with Argo CD (step 12)",
                (27, 50)
            ),
            (4, "Platform HA", (34, 20)),
        ]
    );
    assert_eq!(
        minutes_seconds(projection["total_seconds"].as_u64().expect("total")),
        (34, 20)
    );
    let to_quorum = [
        "platform-api",
        "tinkerbell-stack",
        "bmc/ms-02-1",
        "hardware/ms-02-1",
        "create-cluster/ms-02-1",
        "harvester-api",
        "quorum",
        "register-argocd",
    ];
    assert_eq!(
        strings(&projection["milestones"][1]["critical_path"]),
        to_quorum
    );
    let mut to_ha = to_quorum.to_vec();
    to_ha.extend(["vm-image", "vm/cp-2", "platform-join/cp-2"]);
    assert_eq!(strings(&projection["critical_path"]), to_ha);
    assert_eq!(strings(&projection["unestimated"]), Vec::<&str>::new());
    assert_eq!(projection["done"], 0);
}

/// The phase files as they were before issue 16: the join installs waited for step 9.
fn phases_with_serial_joins(dir: &Path) -> PathBuf {
    let phases = dir.join("phases");
    std::fs::create_dir_all(phases.join("templates")).expect("mkdir");
    for entry in std::fs::read_dir(repo().join("phases/templates")).expect("templates") {
        let entry = entry.expect("entry");
        std::fs::copy(
            entry.path(),
            phases.join("templates").join(entry.file_name()),
        )
        .expect("copy template");
    }
    for phase in [2, 3, 4] {
        let name = format!("phase-{phase}.yaml");
        let mut text = std::fs::read_to_string(repo().join("phases").join(&name)).expect("read");
        if phase == 3 {
            let join = text
                .find("  - id: join-cluster")
                .expect("join-cluster step");
            let needs = join
                + text[join..]
                    .find("    needs: [hardware, install-template]")
                    .expect("join-cluster needs");
            text.replace_range(
                needs..needs + "    needs: [hardware, install-template]".len(),
                "    needs: [hardware, install-template, harvester-api]",
            );
        }
        std::fs::write(phases.join(&name), text).expect("write phase file");
    }
    phases
}

#[test]
fn the_join_installs_alongside_the_first_save_the_length_of_one_install() {
    let dir = tempfile::tempdir().expect("temp dir");
    let before = plan_json(&phases_with_serial_joins(dir.path()));
    let after = plan_json(&repo().join("phases"));
    let total = |plan: &Value| plan["projection"]["total_seconds"].as_u64().expect("total");
    assert_eq!(minutes_seconds(total(&before)), (45, 30));
    assert_eq!(minutes_seconds(total(&after)), (34, 20));
    // Exactly one install (11 min 10 s) left the critical path.
    assert_eq!(total(&before) - total(&after), 11 * 60 + 10);
    let path = strings(&before["projection"]["critical_path"]);
    let api = path
        .iter()
        .position(|id| *id == "harvester-api")
        .expect("api");
    assert_eq!(path[api + 1], "join-cluster/ms-02-2");
}
