//! Cluster test: a real API server crash and restart (SIGKILL, then the same
//! data dir and port). etcd keeps the objects, the admin kubeconfig and the
//! clients made before stay valid, and the simulator carries the workflow it
//! was running through the outage to SUCCESS.

use std::time::{Duration, Instant};

use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use kube::api::{Api, DynamicObject};

const WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn cluster_platform_apiserver_restart_mid_workflow() {
    let mut world = World::start_with(WorldOptions::with_simulator().unwrap())
        .await
        .unwrap();
    let platform = world.platform.client.clone();
    let kubeconfig_before = std::fs::read_to_string(world.platform.kubeconfig_path()).unwrap();
    let url_before = world.platform.url().to_string();
    lab::ensure_namespace(&platform, TINK_NAMESPACE)
        .await
        .unwrap();
    lab::apply_strict(
        &platform,
        &lab::template_resource(),
        &lab::template("harvester-install"),
    )
    .await
    .unwrap();
    lab::apply_machine(&platform, "hv-1", 1, "harvester-install")
        .await
        .unwrap();
    lab::wait_workflow_state(&platform, "hv-1", &["RUNNING", "SUCCESS"], WAIT)
        .await
        .unwrap();

    let restart = Instant::now();
    let restarted_at = std::time::SystemTime::now();
    world.platform.server.restart().await.unwrap();
    eprintln!("platform apiserver restarted in {:?}", restart.elapsed());
    assert_eq!(world.platform.url(), url_before, "same port");
    assert_eq!(
        std::fs::read_to_string(world.platform.kubeconfig_path()).unwrap(),
        kubeconfig_before
    );

    // The client made before the restart works, and the objects survived.
    let machines: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::machine_resource());
    machines.get("hv-1").await.unwrap();
    let workflow = lab::wait_workflow_state(&platform, "hv-1", &["SUCCESS", "FAILED"], WAIT)
        .await
        .unwrap();
    assert_eq!(
        workflow.data["status"]["state"], "SUCCESS",
        "{:#?}",
        workflow.data["status"]
    );
    lab::wait_node_ready(&world.harvester.client, "hv-1", WAIT)
        .await
        .unwrap();
    // The workflow finished after the crash: the simulator wrote through it.
    let events = world.simulator.as_ref().unwrap().events();
    let success = events
        .iter()
        .find(|e| e.kind == "workflow.state" && e.detail == "SUCCESS")
        .unwrap();
    assert!(
        success.system_time > restarted_at,
        "the workflow was already done before the restart"
    );
    world.shutdown().await;
}
