//! Cluster test: the simulator's injected faults (crates/labsim/scenarios/faults.yaml):
//! a workflow that fails once, a BMC unreachable for a while, a node that
//! never comes up, a VM that never joins.

use std::path::Path;
use std::time::Duration;

use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::runtime::wait::await_condition;

const WAIT: Duration = Duration::from_secs(60);

async fn delete(client: &kube::Client, resource: &kube::api::ApiResource, name: &str) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), TINK_NAMESPACE, resource);
    api.delete(name, &DeleteParams::default()).await.unwrap();
}

#[tokio::test]
async fn cluster_injected_faults_happen_and_recover_as_scripted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labsim/scenarios/faults.yaml");
    let scenario = labsim::Scenario::from_file(&path).unwrap();
    assert_eq!(scenario.faults.len(), 4);
    let world = World::start_with(WorldOptions {
        scenario: Some(scenario),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let platform = &world.platform.client;
    let harvester = &world.harvester.client;
    let simulator = world.simulator.as_ref().unwrap();
    lab::ensure_namespace(platform, TINK_NAMESPACE)
        .await
        .unwrap();
    lab::apply_strict(
        platform,
        &lab::template_resource(),
        &lab::template("harvester-install"),
    )
    .await
    .unwrap();
    lab::apply_machine(platform, "hv-1", 1, "harvester-install")
        .await
        .unwrap();
    lab::wait_workflow_state(platform, "hv-1", &["SUCCESS"], WAIT)
        .await
        .unwrap();

    // hv-2's stream-harvester action fails the first time; a new run of the workflow succeeds.
    lab::apply_machine(platform, "hv-2", 2, "harvester-install")
        .await
        .unwrap();
    let failed = lab::wait_workflow_state(platform, "hv-2", &["FAILED", "SUCCESS"], WAIT)
        .await
        .unwrap();
    assert_eq!(failed.data["status"]["state"], "FAILED");
    let action = &failed.data["status"]["tasks"][0]["actions"][0];
    assert_eq!(
        (action["name"].as_str(), action["state"].as_str()),
        (Some("stream-harvester"), Some("FAILED"))
    );
    delete(platform, &lab::workflow_resource(), "hv-2").await;
    lab::apply_strict(
        platform,
        &lab::workflow_resource(),
        &lab::workflow("hv-2", "hv-2", "harvester-install", 2),
    )
    .await
    .unwrap();
    lab::wait_workflow_state(platform, "hv-2", &["SUCCESS"], WAIT)
        .await
        .unwrap();
    lab::wait_node_ready(harvester, "hv-2", WAIT).await.unwrap();

    // hv-3's BMC does not answer at first: Contactable=False, its netboot job fails.
    lab::apply_machine(platform, "hv-3", 3, "harvester-install")
        .await
        .unwrap();
    let failed = lab::wait_workflow_state(platform, "hv-3", &["FAILED", "SUCCESS"], WAIT)
        .await
        .unwrap();
    assert_eq!(
        failed.data["status"]["state"], "FAILED",
        "the netboot job must fail while the BMC is unreachable"
    );
    let events = simulator.events();
    assert!(events.iter().any(|e| e.kind == "machine.contactable"
        && e.object.ends_with("/hv-3")
        && e.detail.starts_with("False")));
    assert!(
        events
            .iter()
            .any(|e| e.kind == "job.failed" && e.object.ends_with("/netboot-hv-3"))
    );
    // Once the BMC answers again, a new run goes through...
    let machines: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::machine_resource());
    let contactable = |m: Option<&DynamicObject>| {
        m.is_some_and(|m| m.data["status"]["conditions"][0]["status"] == "True")
    };
    tokio::time::timeout(WAIT, await_condition(machines, "hv-3", contactable))
        .await
        .unwrap()
        .unwrap();
    delete(platform, &lab::job_resource(), "netboot-hv-3").await;
    delete(platform, &lab::workflow_resource(), "hv-3").await;
    lab::apply_strict(
        platform,
        &lab::workflow_resource(),
        &lab::workflow("hv-3", "hv-3", "harvester-install", 3),
    )
    .await
    .unwrap();
    lab::wait_workflow_state(platform, "hv-3", &["SUCCESS"], WAIT)
        .await
        .unwrap();
    // ...but the node never comes up: no Node, so no quorum and no promotion.
    simulator
        .event_log()
        .wait_for("hv-3 never comes up", WAIT, |e| {
            e.kind == "node.never_comes_up" && e.object == "hv-3"
        })
        .await
        .unwrap();
    let nodes: Api<Node> = Api::all(harvester.clone());
    let names: Vec<String> = nodes
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(names, ["hv-1", "hv-2"]);
    let hv2 = nodes.get("hv-2").await.unwrap();
    assert!(
        !hv2.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("harvesterhci.io/promote-status")
    );

    // cp-3's VM runs but never joins the Platform cluster; cp-2 joins.
    lab::ensure_namespace(harvester, "platform").await.unwrap();
    for name in ["cp-2", "cp-3"] {
        lab::apply_strict(
            harvester,
            &lab::virtual_machine_resource(),
            &lab::virtual_machine(name, "platform"),
        )
        .await
        .unwrap();
    }
    lab::wait_node_ready(platform, "cp-2", WAIT).await.unwrap();
    simulator
        .event_log()
        .wait_for("cp-3 never joins", WAIT, |e| {
            e.kind == "node.never_joins" && e.object == "cp-3"
        })
        .await
        .unwrap();
    let vms: Api<DynamicObject> = Api::namespaced_with(
        harvester.clone(),
        "platform",
        &lab::virtual_machine_resource(),
    );
    assert_eq!(
        vms.get("cp-3").await.unwrap().data["status"]["printableStatus"],
        "Running"
    );
    let platform_nodes: Api<Node> = Api::all(platform.clone());
    assert!(platform_nodes.get_opt("cp-3").await.unwrap().is_none());
    world.shutdown().await;
}
