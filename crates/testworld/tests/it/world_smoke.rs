//! Cluster smoke test of the whole test world: both real API servers with the
//! CRDs, the lab simulator, and real sshd. A Machine, Hardware, Template and
//! Workflow written by hand make the workflow reach SUCCESS (through a real
//! netboot Rufio Job), the Harvester Node appears and turns Ready, and the
//! node's rke2 kubeconfig read over SSH is a working admin kubeconfig.

use std::time::{Duration, Instant};

use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject};
use kube::runtime::wait::await_condition;

const WAIT: Duration = Duration::from_secs(60);

fn node_ready(node: Option<&Node>) -> bool {
    node.and_then(|n| n.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn cluster_world_smoke_workflow_node_and_ssh() {
    let test_started = Instant::now();
    let world = World::start_with(WorldOptions::with_simulator().unwrap())
        .await
        .unwrap();
    eprintln!(
        "world up in {:?} (platform apiserver {:?}, harvester apiserver {:?})",
        world.startup, world.platform.server.startup, world.harvester.server.startup
    );
    let platform = &world.platform.client;
    lab::ensure_namespace(platform, TINK_NAMESPACE)
        .await
        .unwrap();
    for (resource, object) in [
        (lab::machine_resource(), lab::machine("hv-1", 1)),
        (lab::hardware_resource(), lab::hardware("hv-1", 1)),
        (lab::template_resource(), lab::template("harvester-install")),
        (
            lab::workflow_resource(),
            lab::workflow("hv-1", "hv-1", "harvester-install", 1),
        ),
    ] {
        lab::apply_strict(platform, &resource, &object)
            .await
            .unwrap();
    }
    let created = Instant::now();

    // The workflow reaches SUCCESS.
    let workflows: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::workflow_resource());
    let success =
        |wf: Option<&DynamicObject>| wf.is_some_and(|wf| wf.data["status"]["state"] == "SUCCESS");
    let workflow = tokio::time::timeout(WAIT, await_condition(workflows, "hv-1", success))
        .await
        .expect("workflow reaches SUCCESS in time")
        .unwrap()
        .unwrap();
    eprintln!("workflow SUCCESS {:?} after creation", created.elapsed());
    let status = &workflow.data["status"];
    let actions = status["tasks"][0]["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 3);
    assert!(
        actions
            .iter()
            .all(|a| a["state"] == "SUCCESS" && a["executionDuration"].is_string()),
        "{actions:?}"
    );
    assert_eq!(status["templateRendering"], "successful");
    assert_eq!(status["agentID"], lab::mac(1));
    assert_eq!(
        status["bootOptions"]["jobs"]["netboot-hv-1"]["complete"],
        true
    );

    // The netboot Job ran on the Machine, which is now contactable and on.
    let jobs: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::job_resource());
    let job = jobs.get("netboot-hv-1").await.unwrap();
    assert!(
        job.data["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Completed")
    );
    let machines: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::machine_resource());
    let machine = machines.get("hv-1").await.unwrap();
    assert_eq!(machine.data["status"]["powerState"], "on");
    assert_eq!(
        machine.data["status"]["conditions"][0]["type"],
        "Contactable"
    );
    // After success the controller disallows netboot on the Hardware.
    let hardware: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::hardware_resource());
    let hardware = hardware.get("hv-1").await.unwrap();
    assert_eq!(
        hardware.data["spec"]["interfaces"][0]["netboot"]["allowPXE"],
        false
    );

    // A Node appears on the Harvester API server and turns Ready.
    let nodes: Api<Node> = Api::all(world.harvester.client.clone());
    tokio::time::timeout(WAIT, await_condition(nodes.clone(), "hv-1", node_ready))
        .await
        .expect("harvester node Ready in time")
        .unwrap();
    let node = nodes.get("hv-1").await.unwrap();
    let labels = node.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("node-role.kubernetes.io/control-plane")
            .map(String::as_str),
        Some("true")
    );
    eprintln!(
        "harvester node Ready {:?} after creation",
        created.elapsed()
    );

    // The kubeconfig appears on the node; read it the product's way over real sshd.
    let simulator = world.simulator.as_ref().unwrap();
    simulator
        .event_log()
        .wait_for("rke2 kubeconfig written", WAIT, |e| {
            e.kind == "node.kubeconfig" && e.object == "hv-1"
        })
        .await
        .unwrap();
    let ssh = world.ssh.as_ref().unwrap();
    assert_eq!(
        ssh.endpoint.user,
        if is_root() {
            "rancher"
        } else {
            ssh.endpoint.user.as_str()
        }
    );
    let kubeconfig = ssh
        .exec("sudo cat /etc/rancher/rke2/rke2.yaml")
        .await
        .unwrap();
    let on_disk = std::fs::read_to_string(world.harvester.kubeconfig_path()).unwrap();
    assert_eq!(kubeconfig, on_disk);
    for field in [
        "certificate-authority-data",
        "client-certificate-data",
        "client-key-data",
    ] {
        assert!(kubeconfig.contains(field), "rke2.yaml lacks {field}");
    }
    // It is a working admin kubeconfig for the Harvester cluster.
    let path = world.dir().join("fetched-rke2.yaml");
    std::fs::write(&path, &kubeconfig).unwrap();
    let fetched = genesis_testworld::apiserver::client_from_kubeconfig(&path)
        .await
        .unwrap();
    let listed = Api::<Node>::all(fetched)
        .list(&Default::default())
        .await
        .unwrap();
    assert!(
        listed
            .items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some("hv-1"))
    );

    // The simulator recorded, with timestamps, what it did, in order.
    let events = simulator.events();
    let position = |kind: &str, detail: &str| {
        events
            .iter()
            .position(|e| e.kind == kind && e.detail.starts_with(detail))
            .unwrap_or_else(|| panic!("no {kind} {detail} in {events:#?}"))
    };
    assert!(position("machine.contactable", "True") < position("job.completed", ""));
    assert!(position("workflow.state", "PREPARING") < position("workflow.state", "PENDING"));
    assert!(position("workflow.state", "PENDING") < position("workflow.state", "RUNNING"));
    assert!(position("workflow.state", "RUNNING") < position("workflow.state", "SUCCESS"));
    assert!(position("workflow.state", "SUCCESS") < position("node.registered", ""));
    assert!(
        events
            .windows(2)
            .all(|w| w[0].system_time <= w[1].system_time)
    );
    assert!(events.iter().all(|e| e.at.ends_with('Z')));

    world.shutdown().await;
    eprintln!("smoke test took {:?}", test_started.elapsed());
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
