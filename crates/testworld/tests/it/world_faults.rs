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

/// Installs Harvester machines `names` (one after the other: each Ready before the next).
async fn install(world: &World, names: &[&str]) {
    let platform = &world.platform.client;
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
    for (index, name) in names.iter().enumerate() {
        lab::apply_machine(platform, name, index + 1, "harvester-install")
            .await
            .unwrap();
        lab::wait_node_ready(&world.harvester.client, name, WAIT)
            .await
            .unwrap();
    }
}

/// A control-plane VM the way genesis builds it for placement: the role label and a required
/// anti-affinity on kubernetes.io/hostname against that label.
fn kept_apart(name: &str) -> DynamicObject {
    let mut vm = lab::virtual_machine(name, "platform");
    let template = &mut vm.data["spec"]["template"];
    template["metadata"]["labels"]["genesis.dev/role"] = "platform-control-plane".into();
    template["spec"]["affinity"] = serde_json::json!({"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"genesis.dev/role": "platform-control-plane"}},
            "topologyKey": "kubernetes.io/hostname"}]}});
    vm
}

async fn vmi_node(harvester: &kube::Client, name: &str) -> Option<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        harvester.clone(),
        "platform",
        &lab::resource(
            "kubevirt.io",
            "v1",
            "VirtualMachineInstance",
            "virtualmachineinstances",
        ),
    );
    api.get(name).await.unwrap().data["status"]["nodeName"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn cluster_vms_are_placed_and_named_as_kubevirt_and_talos_do() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::with_simulator().unwrap()
    })
    .await
    .unwrap();
    install(&world, &["hv-1", "hv-2", "hv-3"]).await;
    let platform = &world.platform.client;
    let harvester = &world.harvester.client;
    let simulator = world.simulator.as_ref().unwrap();
    lab::ensure_namespace(harvester, "platform").await.unwrap();

    // Kept apart by a required anti-affinity: three VMs on three hosts, a fourth fits nowhere.
    for name in ["cp-2", "cp-3", "cp-4", "cp-5"] {
        lab::apply_strict(
            harvester,
            &lab::virtual_machine_resource(),
            &kept_apart(name),
        )
        .await
        .unwrap();
    }
    // Which VM is left out depends on the order the scheduler sees them in: any one of the four.
    let unschedulable = simulator
        .event_log()
        .wait_for("one VM unschedulable", WAIT, |e| {
            e.kind == "vmi.unschedulable"
        })
        .await
        .unwrap();
    let left_out = unschedulable
        .object
        .trim_start_matches("platform/")
        .to_owned();
    for name in ["cp-2", "cp-3", "cp-4", "cp-5"] {
        if name != left_out {
            lab::wait_node_ready(platform, name, WAIT).await.unwrap();
        }
    }
    assert!(
        unschedulable
            .detail
            .contains("didn't match pod anti-affinity rules"),
        "{unschedulable:?}"
    );
    let mut hosts = Vec::new();
    for name in ["cp-2", "cp-3", "cp-4", "cp-5"] {
        hosts.push(vmi_node(harvester, name).await);
    }
    let placed: std::collections::BTreeSet<String> = hosts.iter().flatten().cloned().collect();
    assert_eq!(placed.len(), 3, "three distinct hosts: {hosts:?}");
    assert_eq!(hosts.iter().filter(|host| host.is_none()).count(), 1);
    let vms: Api<DynamicObject> = Api::namespaced_with(
        harvester.clone(),
        "platform",
        &lab::virtual_machine_resource(),
    );
    assert_eq!(
        vms.get(&left_out).await.unwrap().data["status"]["printableStatus"],
        "ErrorUnschedulable"
    );

    // Without anti-affinity a VM goes to the first host; without NoCloud network data Talos
    // ignores the meta-data hostname and names the node itself.
    let mut bare = lab::virtual_machine("bare", "platform");
    bare.data["spec"]["template"]["spec"]["volumes"][1]["cloudInitNoCloud"]
        .as_object_mut()
        .unwrap()
        .remove("networkData");
    lab::apply_strict(harvester, &lab::virtual_machine_resource(), &bare)
        .await
        .unwrap();
    let named = simulator
        .event_log()
        .wait_for("Talos names the node", WAIT, |e| {
            e.kind == "node.talos_hostname" && e.object == "platform/bare"
        })
        .await
        .unwrap();
    assert!(named.detail.contains("talos-"), "{named:?}");
    assert_eq!(vmi_node(harvester, "bare").await.as_deref(), Some("hv-1"));
    let talos_node = simulator
        .event_log()
        .wait_for("the talos-xxx-yyy node", WAIT, |e| {
            e.kind == "node.registered" && e.detail == "from vm bare"
        })
        .await
        .unwrap();
    assert!(talos_node.object.starts_with("talos-"), "{talos_node:?}");
    let nodes: Api<Node> = Api::all(platform.clone());
    assert!(nodes.get_opt("bare").await.unwrap().is_none());

    // An image that was a compressed file is stored as it came: the VM never boots its guest.
    let image_resource = lab::resource(
        "harvesterhci.io",
        "v1beta1",
        "VirtualMachineImage",
        "virtualmachineimages",
    );
    lab::apply_strict(
        harvester,
        &image_resource,
        &lab::object(
            &image_resource,
            "platform",
            "talos-xz",
            serde_json::json!({"spec": {"displayName": "talos", "sourceType": "download",
                "url": "http://10.10.10.10:8080/talos/nocloud-amd64.raw.xz"}}),
        ),
    )
    .await
    .unwrap();
    simulator
        .event_log()
        .wait_for("the xz file stored as is", WAIT, |e| {
            e.kind == "image.stored_compressed"
        })
        .await
        .unwrap();
    let mut from_xz = lab::virtual_machine("xz", "platform");
    from_xz.metadata.annotations = Some(
        [(
            "harvesterhci.io/volumeClaimTemplates".to_owned(),
            serde_json::json!([{"metadata": {"name": "xz-root",
                "annotations": {"harvesterhci.io/imageId": "platform/talos-xz"}}}])
            .to_string(),
        )]
        .into(),
    );
    lab::apply_strict(harvester, &lab::virtual_machine_resource(), &from_xz)
        .await
        .unwrap();
    simulator
        .event_log()
        .wait_for("no bootable disk", WAIT, |e| {
            e.kind == "guest.no_bootable_disk" && e.object == "platform/xz"
        })
        .await
        .unwrap();
    assert!(nodes.get_opt("xz").await.unwrap().is_none());
    world.shutdown().await;
}

#[tokio::test]
async fn cluster_a_hung_promotion_holds_up_the_next_one() {
    let scenario =
        labsim::Scenario::reference()
            .unwrap()
            .with_fault(labsim::Fault::PromotionHangs {
                node: "hv-2".into(),
            });
    let world = World::start_with(WorldOptions {
        ssh: false,
        scenario: Some(scenario),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    install(&world, &["hv-1", "hv-2", "hv-3"]).await;
    let simulator = world.simulator.as_ref().unwrap();
    simulator
        .event_log()
        .wait_for("hv-2's promotion hangs", WAIT, |e| {
            e.kind == "node.promote_hangs" && e.object == "hv-2"
        })
        .await
        .unwrap();
    // Several promote durations later: hv-2 still running, hv-3 never started.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let nodes: Api<Node> = Api::all(world.harvester.client.clone());
    let status = |node: Node| {
        node.metadata
            .annotations
            .unwrap_or_default()
            .get("harvesterhci.io/promote-status")
            .cloned()
    };
    assert_eq!(
        status(nodes.get("hv-2").await.unwrap()).as_deref(),
        Some("running")
    );
    assert_eq!(status(nodes.get("hv-3").await.unwrap()), None);
    world.shutdown().await;
}
