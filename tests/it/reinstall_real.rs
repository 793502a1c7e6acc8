//! `genesis up --reinstall ms-02-2` against the real upstream Tinkerbell workflow controller and
//! Rufio, with a Redfish BMC emulator per machine (the world of `bootstrap_e2e`): Rufio carries
//! out genesis's power-off Job on the emulated BMC, and the workflow controller runs the new
//! install Workflow (its netboot Job of the same name as the first install's replaced, as
//! `deleteExisting` does), after which the node is back in quorum.

use std::time::Duration;

use genesis::actions::tinkerbell::workflow_resource;
use genesis_harness::loopback::{LoopbackLab, Options, reference_bmcs, text};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

use crate::GENESIS;

const LIMIT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstall_with_the_real_tinkerbell_and_rufio() {
    tokio::time::timeout(LIMIT, scenario())
        .await
        .expect("the test finishes in time");
}

async fn scenario() {
    let world = World::start_with(
        WorldOptions::with_real_tinkerbell(reference_bmcs()).expect("reference scenario"),
    )
    .await
    .expect("test world starts");
    let lab = LoopbackLab::build(
        GENESIS,
        &world,
        Options {
            phases: Some(&[2, 3]),
        },
    )
    .await;
    lab.prepare_platform(&world).await;
    let output = lab.genesis(&["up"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let workflows: Api<DynamicObject> = Api::namespaced_with(
        world.platform.client.clone(),
        "tink-system",
        &workflow_resource(),
    );
    let first = workflows
        .get("harvester-install-ms-02-2-1")
        .await
        .expect("first Workflow");

    let output = lab.genesis(&["up", "--reinstall", "ms-02-2"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    // Rufio ran the power-off on the emulated BMC.
    let jobs: Api<DynamicObject> = Api::namespaced_with(
        world.platform.client.clone(),
        "tink-system",
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("bmc.tinkerbell.org", "v1alpha1", "Job"),
            "jobs",
        ),
    );
    let job = jobs
        .get("genesis-power-off-ms-02-2")
        .await
        .expect("power-off Job");
    let completed = job.data["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|condition| condition["type"] == "Completed" && condition["status"] == "True")
        });
    assert!(completed, "{:?}", job.data["status"]);
    // A second install, run by the real controller to SUCCESS, with its own netboot Job.
    let second = workflows
        .get("harvester-install-ms-02-2-1")
        .await
        .expect("second Workflow");
    assert_ne!(second.metadata.uid, first.metadata.uid, "a new Workflow");
    let state = second.data["status"]["state"].as_str().unwrap_or_default();
    assert_eq!(
        state.trim_start_matches("STATE_"),
        "SUCCESS",
        "{:?}",
        second.data["status"]
    );
    let netboot = jobs
        .get("netboot-harvester-install-ms-02-2-1")
        .await
        .expect("netboot Job");
    let owners = netboot.metadata.owner_references.unwrap_or_default();
    assert!(
        owners
            .iter()
            .any(|owner| Some(&owner.uid) == second.metadata.uid.as_ref()),
        "the netboot Job is the new Workflow's: {owners:?}"
    );
    // Back in quorum.
    let node = Api::<Node>::all(world.harvester.client.clone())
        .get("ms-02-2")
        .await
        .expect("Node ms-02-2");
    let labels = node.metadata.labels.unwrap_or_default();
    assert!(
        labels.contains_key("node-role.kubernetes.io/control-plane"),
        "{labels:?}"
    );
    let journal = lab.journal();
    let quorum = journal
        .iter()
        .filter(|record| record["record"] == "step_succeeded" && record["step"] == "quorum")
        .count();
    assert_eq!(quorum, 2, "the quorum was checked again");
    world.shutdown().await;
}
