//! `genesis up --reinstall NAME` on the test world with the lab simulator: one full run of
//! phases 2–4, then, on the same world:
//!
//! - an unknown name is exit 2 with the nearest names; the machine that created the cluster is
//!   refused; without a terminal and without `--yes` the reinstall refuses (exit 2) and the
//!   journal and the objects stay as they were;
//! - `--reinstall ms-02-2 --yes` cordons and powers the machine off (a Rufio Job), deletes its
//!   Harvester Node and its install Workflow, each journaled before it happens, and the run
//!   installs it again: a second, successful Workflow (a new object), the node registered
//!   again (a new Node) and promoted, the quorum step passed again;
//! - `--reinstall cp-3 --yes` deletes the VirtualMachine and the Platform Node and the run
//!   creates both again;
//! - a reinstall of ms-02-3 cut short after its Node and Workflow were deleted finishes when
//!   run again;
//! - then `genesis down` and `genesis up` ([`down`]).

use std::time::Duration;

use genesis::actions::tinkerbell::workflow_resource;
use genesis_harness::loopback::{LoopbackLab, Options, text};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use crate::GENESIS;

mod down;

const LIMIT: Duration = Duration::from_secs(300);
const NS: &str = "tink-system";

fn rufio_job() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bmc.tinkerbell.org", "v1alpha1", "Job"),
        "jobs",
    )
}

fn vm_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachine"),
        "virtualmachines",
    )
}

fn uid<K: kube::Resource>(object: &K) -> String {
    object.meta().uid.clone().unwrap_or_default()
}

/// How many `step_succeeded` records `step` has in the journal.
fn successes(journal: &[Value], step: &str) -> usize {
    journal
        .iter()
        .filter(|record| record["record"] == "step_succeeded" && record["step"] == step)
        .count()
}

/// The `teardown` records' `what`, in order.
fn teardowns(journal: &[Value]) -> Vec<String> {
    journal
        .iter()
        .filter(|record| record["record"] == "teardown")
        .filter_map(|record| record["what"].as_str().map(str::to_owned))
        .collect()
}

fn ready_control_plane(node: &Node) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|condition| condition.type_ == "Ready" && condition.status == "True")
        });
    ready && labels.contains_key("node-role.kubernetes.io/control-plane")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstall_a_machine_and_a_vm_after_a_full_run() {
    tokio::time::timeout(LIMIT, scenario())
        .await
        .expect("the test finishes in time");
}

async fn scenario() {
    let world = World::start_with(WorldOptions::with_simulator().expect("reference scenario"))
        .await
        .expect("test world starts");
    let lab = LoopbackLab::build(GENESIS, &world, Options { phases: None }).await;
    lab.prepare_platform(&world).await;
    let output = lab.genesis(&["up"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let workflows: Api<DynamicObject> =
        Api::namespaced_with(world.platform.client.clone(), NS, &workflow_resource());
    let harvester_nodes: Api<Node> = Api::all(world.harvester.client.clone());
    let platform_nodes: Api<Node> = Api::all(world.platform.client.clone());
    let jobs: Api<DynamicObject> =
        Api::namespaced_with(world.platform.client.clone(), NS, &rufio_job());
    let first_workflow = workflows
        .get("harvester-install-ms-02-2-1")
        .await
        .expect("the first install Workflow");
    let first_node = harvester_nodes.get("ms-02-2").await.expect("Node ms-02-2");

    // Unknown names: exit 2, the nearest names, nothing written.
    let journal_before = std::fs::read(lab.state.join("journal.ndjson")).expect("journal");
    let output = lab.genesis(&["up", "--reinstall", "ms-02-9"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`ms-02-9`"), "{stderr}");
    assert!(stderr.contains("did you mean"), "{stderr}");
    assert!(stderr.contains("ms-02-2"), "{stderr}");
    // The first machine created the cluster: refused.
    let output = lab.genesis(&["up", "--reinstall", "ms-02-1"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("created the Harvester cluster"), "{stderr}");
    // No terminal and no --yes: the plan is shown, then refused; nothing written.
    let output = lab
        .command()
        .env_remove("GENESIS_YES")
        .stdin(std::process::Stdio::null())
        .args(["up", "--reinstall", "ms-02-2"])
        .output()
        .await
        .expect("genesis runs");
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("delete Harvester Node ms-02-2"), "{stderr}");
    assert!(stderr.contains("power ms-02-2 off"), "{stderr}");
    assert!(stderr.contains("no terminal to confirm on"), "{stderr}");
    assert_eq!(
        std::fs::read(lab.state.join("journal.ndjson")).expect("journal"),
        journal_before,
        "a refused reinstall writes nothing to the journal"
    );
    let node = harvester_nodes.get("ms-02-2").await.expect("Node ms-02-2");
    assert_eq!(uid(&node), uid(&first_node), "the Node is untouched");
    assert!(
        jobs.get_opt("genesis-power-off-ms-02-2")
            .await
            .expect("get")
            .is_none(),
        "no power-off Job"
    );

    // The reinstall.
    let output = lab.genesis(&["up", "--reinstall", "ms-02-2"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = lab.journal();
    assert_eq!(
        teardowns(&journal),
        [
            "cordon Harvester Node ms-02-2",
            "power ms-02-2 off through Rufio Job tink-system/genesis-power-off-ms-02-2",
            "delete Harvester Node ms-02-2",
            "delete Workflow tink-system/harvester-install-ms-02-2-1",
        ]
    );
    // Each reset comes after the teardown records, before the run.
    let last_teardown = journal
        .iter()
        .rposition(|record| record["record"] == "teardown")
        .expect("teardown records");
    let reset_steps: Vec<&str> = journal[last_teardown..]
        .iter()
        .filter(|record| record["record"] == "step_reset")
        .filter_map(|record| record["step"].as_str())
        .collect();
    for step in [
        "join-cluster/ms-02-2",
        "quorum",
        "register-argocd",
        "vm/cp-2",
    ] {
        assert!(reset_steps.contains(&step), "{step} reset: {reset_steps:?}");
    }
    assert!(
        !reset_steps.contains(&"join-cluster/ms-02-3"),
        "{reset_steps:?}"
    );
    assert!(
        !reset_steps.contains(&"hardware/ms-02-2"),
        "{reset_steps:?}"
    );
    assert_eq!(successes(&journal, "join-cluster/ms-02-2"), 2);
    assert_eq!(successes(&journal, "join-cluster/ms-02-3"), 1);
    assert_eq!(successes(&journal, "quorum"), 2);

    // A second install Workflow: a new object, successful.
    let second = workflows
        .get("harvester-install-ms-02-2-1")
        .await
        .expect("the second install Workflow");
    assert_ne!(uid(&second), uid(&first_workflow), "a new Workflow");
    let state = second.data["status"]["state"].as_str().unwrap_or_default();
    assert_eq!(state.trim_start_matches("STATE_"), "SUCCESS", "{second:?}");
    // Powered off through Rufio before, by a Job genesis owns.
    let job = jobs
        .get("genesis-power-off-ms-02-2")
        .await
        .expect("power-off Job");
    assert_eq!(
        job.data["spec"]["tasks"],
        serde_json::json!([{"powerAction": "off"}])
    );
    assert_eq!(
        job.metadata.labels.as_ref().expect("labels")["app.kubernetes.io/managed-by"],
        "genesis"
    );
    // The node joined again and is back in quorum: a new Node, Ready, promoted.
    let node = harvester_nodes.get("ms-02-2").await.expect("Node ms-02-2");
    assert_ne!(uid(&node), uid(&first_node), "a new Node");
    assert!(ready_control_plane(&node), "{node:?}");
    assert_eq!(
        node.metadata.annotations.as_ref().expect("annotations")["harvesterhci.io/promote-status"],
        "complete"
    );
    let events = world.simulator.as_ref().expect("simulator").events();
    let reinstalled = events
        .iter()
        .filter(|event| event.kind == "node.reinstalled" && event.object == "ms-02-2")
        .count();
    assert_eq!(
        reinstalled, 1,
        "the simulator saw the machine installed again"
    );

    // A VM: deleted and created again, and joined again.
    let vms: Api<DynamicObject> =
        Api::namespaced_with(world.harvester.client.clone(), "default", &vm_resource());
    let first_vm = vms.get("cp-3").await.expect("VM cp-3");
    let first_platform_node = platform_nodes.get("cp-3").await.expect("Node cp-3");
    let output = lab.genesis(&["up", "--reinstall", "cp-3"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = lab.journal();
    let whats = teardowns(&journal);
    assert_eq!(
        whats[4..],
        [
            "delete VirtualMachine default/cp-3",
            "delete Platform Node cp-3"
        ]
    );
    let vm = vms.get("cp-3").await.expect("VM cp-3 again");
    assert_ne!(uid(&vm), uid(&first_vm), "a new VirtualMachine");
    let vmis: Api<DynamicObject> = Api::namespaced_with(
        world.harvester.client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachineInstance"),
            "virtualmachineinstances",
        ),
    );
    let vmi = vmis.get("cp-3").await.expect("VMI cp-3");
    let owners = vmi.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(
        owners
            .iter()
            .map(|owner| owner.uid.clone())
            .collect::<Vec<_>>(),
        [uid(&vm)],
        "the new VM's own instance"
    );
    let node = platform_nodes.get("cp-3").await.expect("Node cp-3 again");
    assert_ne!(uid(&node), uid(&first_platform_node), "a new Platform Node");
    assert!(ready_control_plane(&node), "{node:?}");
    assert_eq!(
        successes(&journal, "vm/cp-3"),
        3,
        "full run, machine reinstall, VM reinstall"
    );
    assert_eq!(
        successes(&journal, "join-cluster/ms-02-2"),
        2,
        "the machine was left alone"
    );

    // A reinstall cut short after it deleted the Node and the Workflow (both gone by hand
    // here, with nothing journaled): run again, it skips what is gone and finishes.
    workflows
        .delete("harvester-install-ms-02-3-1", &Default::default())
        .await
        .expect("delete Workflow");
    harvester_nodes
        .delete("ms-02-3", &Default::default())
        .await
        .expect("delete Node");
    let output = lab.genesis(&["up", "--reinstall", "ms-02-3"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = lab.journal();
    assert_eq!(
        teardowns(&journal)[6..],
        ["power ms-02-3 off through Rufio Job tink-system/genesis-power-off-ms-02-3"],
        "only what was still to do"
    );
    let node = harvester_nodes.get("ms-02-3").await.expect("Node ms-02-3");
    assert!(ready_control_plane(&node), "{node:?}");
    assert_eq!(successes(&journal, "join-cluster/ms-02-3"), 2);
    assert_eq!(successes(&journal, "quorum"), 3);

    down::down_then_up(&world, &lab).await;
    world.shutdown().await;
}
