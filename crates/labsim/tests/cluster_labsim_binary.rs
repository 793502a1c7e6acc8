//! Cluster test of the `labsim` binary: run against the two real API servers
//! of a test world, it prints its events as JSON lines and plays Rufio.

use std::process::Stdio;
use std::time::Duration;

use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use kube::api::{Api, DynamicObject};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn cluster_labsim_binary_prints_events_and_plays_rufio() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reference.yaml");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_labsim"))
        .arg("--platform-kubeconfig")
        .arg(world.platform.kubeconfig_path())
        .arg("--harvester-kubeconfig")
        .arg(world.harvester.kubeconfig_path())
        .arg("--scenario")
        .arg(&scenario)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_event = async || -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("labsim still running");
        serde_json::from_str(&line).unwrap()
    };
    let started = next_event().await;
    assert_eq!(started["kind"], "simulator.started");
    assert_eq!(started["detail"], "reference");
    assert!(started["at"].as_str().unwrap().ends_with('Z'));

    let platform = &world.platform.client;
    lab::ensure_namespace(platform, TINK_NAMESPACE)
        .await
        .unwrap();
    lab::apply_strict(platform, &lab::machine_resource(), &lab::machine("hv-1", 1))
        .await
        .unwrap();
    let event = next_event().await;
    assert_eq!(
        (
            event["actor"].as_str(),
            event["kind"].as_str(),
            event["object"].as_str(),
            event["detail"].as_str()
        ),
        (
            Some("rufio"),
            Some("machine.contactable"),
            Some("tink-system/hv-1"),
            Some("True")
        )
    );
    let machines: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::machine_resource());
    let machine = machines.get("hv-1").await.unwrap();
    assert_eq!(machine.data["status"]["conditions"][0]["status"], "True");
    assert_eq!(machine.data["status"]["powerState"], "off");
    child.kill().await.unwrap();
    world.shutdown().await;
}
