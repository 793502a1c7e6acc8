//! Cluster test: the whole reference bootstrap, driven by hand the way
//! genesis will drive it, against the simulator's reference scenario: three
//! Harvester installs (the first creates the cluster), quorum (three Ready
//! nodes, two promoted), two VMs running, cp-2/cp-3 Ready control-plane
//! Nodes on the Platform cluster — well under a minute.

use std::time::{Duration, Instant};

use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject};
use kube::runtime::wait::await_condition;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn cluster_reference_bootstrap_reaches_the_final_state() {
    let world = World::start_with(WorldOptions::with_simulator().unwrap())
        .await
        .unwrap();
    let platform = &world.platform.client;
    let harvester = &world.harvester.client;
    let started = Instant::now();
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

    // Phase 3: the first node creates the cluster, then the others join.
    lab::apply_machine(platform, "hv-1", 1, "harvester-install")
        .await
        .unwrap();
    lab::wait_workflow_state(platform, "hv-1", &["SUCCESS"], WAIT)
        .await
        .unwrap();
    lab::wait_node_ready(harvester, "hv-1", WAIT).await.unwrap();
    for (name, index) in [("hv-2", 2), ("hv-3", 3)] {
        lab::apply_machine(platform, name, index, "harvester-install")
            .await
            .unwrap();
    }
    for name in ["hv-2", "hv-3"] {
        lab::wait_workflow_state(platform, name, &["SUCCESS"], WAIT)
            .await
            .unwrap();
    }
    // Quorum: three Ready nodes with the control-plane role, the joined two promoted.
    let nodes: Api<Node> = Api::all(harvester.clone());
    for name in ["hv-2", "hv-3"] {
        let promoted = |node: Option<&Node>| {
            node.and_then(|n| n.metadata.annotations.as_ref())
                .is_some_and(|a| {
                    a.get("harvesterhci.io/promote-status").map(String::as_str) == Some("complete")
                })
        };
        tokio::time::timeout(WAIT, await_condition(nodes.clone(), name, promoted))
            .await
            .unwrap_or_else(|_| panic!("{name} promoted in time"))
            .unwrap();
    }
    for name in ["hv-1", "hv-2", "hv-3"] {
        let node = lab::wait_node_ready(harvester, name, WAIT).await.unwrap();
        let labels = node.metadata.labels.unwrap_or_default();
        assert_eq!(
            labels
                .get("node-role.kubernetes.io/control-plane")
                .map(String::as_str),
            Some("true"),
            "{name}"
        );
    }
    let quorum_at = started.elapsed();

    // Phase 4: the VMs run on Harvester and join the Platform cluster.
    lab::ensure_namespace(harvester, "platform").await.unwrap();
    let vm_resource = lab::virtual_machine_resource();
    for name in ["cp-2", "cp-3"] {
        lab::apply_strict(
            harvester,
            &vm_resource,
            &lab::virtual_machine(name, "platform"),
        )
        .await
        .unwrap();
    }
    let vms: Api<DynamicObject> = Api::namespaced_with(harvester.clone(), "platform", &vm_resource);
    for name in ["cp-2", "cp-3"] {
        let running = |vm: Option<&DynamicObject>| {
            vm.is_some_and(|vm| {
                vm.data["status"]["printableStatus"] == "Running"
                    && vm.data["status"]["ready"] == true
            })
        };
        tokio::time::timeout(WAIT, await_condition(vms.clone(), name, running))
            .await
            .unwrap()
            .unwrap();
        let node = lab::wait_node_ready(platform, name, WAIT).await.unwrap();
        let labels = node.metadata.labels.unwrap_or_default();
        assert!(
            labels.contains_key("node-role.kubernetes.io/control-plane"),
            "{name}: {labels:?}"
        );
    }
    let vmis: Api<DynamicObject> = Api::namespaced_with(
        harvester.clone(),
        "platform",
        &lab::resource(
            "kubevirt.io",
            "v1",
            "VirtualMachineInstance",
            "virtualmachineinstances",
        ),
    );
    assert_eq!(
        vmis.get("cp-2").await.unwrap().data["status"]["phase"],
        "Running"
    );
    let total = started.elapsed();
    eprintln!("reference bootstrap: quorum after {quorum_at:?}, cp-2/cp-3 Ready after {total:?}");
    assert!(
        total < Duration::from_secs(60),
        "the reference scenario must run well under a minute: {total:?}"
    );

    // The event log tells the whole story, timestamped.
    let events = world.simulator.as_ref().unwrap().events();
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    assert_eq!(count("job.completed"), 3);
    assert_eq!(count("workflow.finished"), 3);
    assert_eq!(count("node.ready"), 5, "3 harvester + 2 platform nodes");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "node.promote" && e.detail == "complete")
            .count(),
        2
    );
    world.shutdown().await;
}
