//! The cluster tests of `confirm_destructive`: a refused `up` changes nothing on the test
//! world and `GENESIS_YES=1` lets it install; a saved plan applies only while it holds.

use std::os::unix::fs::PermissionsExt as _;

use genesis::actions::rufio::machine_resource;
use genesis::actions::tinkerbell::{hardware_resource, template_resource, workflow_resource};
use genesis_harness::create_namespace;
use genesis_testworld::{World, WorldOptions};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::{Inputs, ok, text};

async fn world() -> World {
    let mut options = WorldOptions::with_simulator().expect("reference scenario");
    options.ssh = false;
    let world = World::start_with(options).await.expect("test world starts");
    create_namespace(&world.platform.client, "tink-system").await;
    world
}

async fn names(world: &World, resource: &kube::discovery::ApiResource) -> Vec<String> {
    Api::<DynamicObject>::namespaced_with(world.platform.client.clone(), "tink-system", resource)
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|object| object.metadata.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_up_changes_nothing_and_genesis_yes_lets_it_install() {
    let world = world().await;
    let kubeconfig = world.platform.kubeconfig_path().to_owned();
    let inputs = Inputs::shipped();
    let run = |args: &[&str], yes: bool| {
        let mut command = inputs.command(Some(&kubeconfig), args);
        if yes {
            command.env("GENESIS_YES", "1");
        }
        command.output().expect("genesis runs")
    };
    // Not destructive: runs without a question.
    ok(&run(&["up", "--only", "install-template"], false));
    let journal = inputs.journal().expect("a journal");

    let install = [
        "up",
        "--only",
        "install-template",
        "--only",
        "bmc",
        "--only",
        "hardware",
        "--only",
        "create-cluster",
    ];
    let refused = run(&install, false);
    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("there is no terminal to confirm on"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ms-02-1: install disk /dev/nvme0n1, data disk /dev/nvme1n1"),
        "{stderr}"
    );
    assert_eq!(inputs.journal(), Some(journal), "the journal is untouched");
    assert!(names(&world, &machine_resource()).await.is_empty());
    assert!(names(&world, &hardware_resource()).await.is_empty());
    assert!(names(&world, &workflow_resource()).await.is_empty());
    assert_eq!(
        names(&world, &template_resource()).await,
        ["harvester-install-v1.7.0"]
    );

    let output = run(&install, true);
    ok(&output);
    assert_eq!(
        names(&world, &workflow_resource()).await,
        ["harvester-install-ms-02-1-1"]
    );
    assert_eq!(names(&world, &machine_resource()).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_applied_only_while_its_inputs_and_world_hold() {
    let world = world().await;
    let kubeconfig = world.platform.kubeconfig_path().to_owned();
    let inputs = Inputs::first_install();
    let plan_file = inputs.dir.path().join("lab.plan");
    let plan_arg = plan_file.to_str().expect("utf-8 path");
    let run = |args: &[&str]| {
        inputs
            .command(Some(&kubeconfig), args)
            .env("GENESIS_YES", "1")
            .output()
            .expect("genesis runs")
    };

    // 1. The saved plan: live, private, fingerprinted, free of secret values.
    let output = run(&["plan", "--out", plan_arg]);
    let (_, stderr) = text(&output);
    ok(&output);
    assert!(stderr.contains("saved the plan to"), "{stderr}");
    let mode = std::fs::metadata(&plan_file)
        .expect("plan file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let saved_text = std::fs::read_to_string(&plan_file).expect("plan file");
    let saved: Value = serde_json::from_str(&saved_text).expect("plan JSON");
    assert_eq!(saved["schema"], "genesis.plan/v1");
    assert_eq!(saved["mode"], "live", "{saved_text}");
    assert_eq!(saved["saved"]["schema"], "genesis.saved-plan/v1");
    assert_eq!(
        saved["saved"]["run"].as_array().expect("run").len(),
        8,
        "template, 3 BMCs, 3 Hardware, the first install"
    );
    assert!(
        saved["saved"]["secrets"]["harvester.token"]
            .as_str()
            .is_some_and(|print| print.starts_with("hmac-sha256:"))
    );
    assert_eq!(
        saved["summary"]["machines_erased"],
        serde_json::json!(["ms-02-1"])
    );
    // The Template, a Secret and a Machine per BMC, a Hardware per machine, the Workflow.
    assert_eq!(
        saved["summary"]["objects"]["create"],
        1 + 2 * 3 + 3 + 1,
        "{}",
        saved["summary"]
    );
    for value in inputs.secret_values() {
        assert!(
            !saved_text.contains(&value),
            "a secret value is in the saved plan"
        );
    }

    // 2. The lab file changed: refused, naming it; nothing done.
    let original = std::fs::read_to_string(&inputs.lab).expect("lab");
    std::fs::write(
        &inputs.lab,
        format!("{original}\n# edited after the plan\n"),
    )
    .expect("edit");
    let output = run(&["up", "--plan", plan_arg]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("note: file {} changed", inputs.lab.display())),
        "{stderr}"
    );
    assert!(stderr.contains("genesis plan --out"), "{stderr}");
    assert!(inputs.journal().is_none(), "nothing ran");
    assert!(names(&world, &machine_resource()).await.is_empty());
    std::fs::write(&inputs.lab, &original).expect("restore");

    // 3. The observed world changed (the Template now exists): refused, naming the step.
    let elsewhere = inputs.dir.path().join("other-state");
    let output = inputs
        .command_in(
            &elsewhere,
            Some(&kubeconfig),
            &["up", "--only", "install-template"],
        )
        .output()
        .expect("genesis runs");
    ok(&output);
    let output = run(&["up", "--plan", plan_arg]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("step `install-template`: the plan observed \"will-change: Template tink-system/harvester-install-v1.7.0: create\""),
        "{stderr}"
    );
    assert!(inputs.journal().is_none(), "nothing ran");

    // 4. A fresh plan applies, exactly its steps.
    ok(&run(&["plan", "--out", plan_arg]));
    let output = run(&["up", "--plan", plan_arg]);
    let (_, stderr) = text(&output);
    ok(&output);
    assert!(stderr.contains("confirmed by --yes"), "{stderr}");
    assert_eq!(
        names(&world, &workflow_resource()).await,
        ["harvester-install-ms-02-1-1"]
    );
    let journal = genesis_engine::journal::load(&inputs.state).expect("journal");
    assert_eq!(journal.steps().count(), 8);

    // 5. Applied, the plan is stale: the journal says done now.
    let output = run(&["up", "--plan", plan_arg]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "step `install-template`: the journal said `pending` at plan time and says `run-again` now (it finished since the plan was made)"
        ),
        "{stderr}"
    );
}
