//! Cluster test (each run includes step 1, which steps 2 and 3 need): steps 2 (`tinkerbell.stack`) and 3 (`argocd.present`) through `genesis up`,
//! against the test world's real Platform API server. The world installs the upstream
//! Tinkerbell and Rufio CRDs (the API server marks them Established itself).
//!
//! The world runs no controller-manager and no kubelet, so nothing would ever make a Deployment
//! available: the test plays that part and writes the `status` subresource itself, the way the
//! Deployment and StatefulSet controllers would report running pods.

use crate::GENESIS;
use genesis_harness::loopback::{available_deployment, ready_statefulset};
use genesis_harness::{create_namespace, genesis};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_and_argocd_are_checked_on_the_real_api_server() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let client = world.platform.client.clone();
    let kubeconfig = world.platform.kubeconfig_path();

    // Nothing installed yet: the namespace and the controllers are missing, said together.
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        GENESIS,
        state.path(),
        kubeconfig,
        &["up", "--only", "platform-api", "--only", "tinkerbell-stack"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("namespace tink-system does not exist"),
        "{stderr}"
    );

    // The namespace without a running controller: the precise message.
    create_namespace(&client, "tink-system").await;
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        GENESIS,
        state.path(),
        kubeconfig,
        &["up", "--only", "platform-api", "--only", "tinkerbell-stack"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no available Deployment in tink-system: are the Tinkerbell controllers running? kubectl -n tink-system get deploy"),
        "{stderr}"
    );

    // Argo CD without its application controller.
    create_namespace(&client, "argocd").await;
    available_deployment(&client, "argocd", "argocd-server").await;
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        GENESIS,
        state.path(),
        kubeconfig,
        &["up", "--only", "platform-api", "--only", "argocd"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("StatefulSet argocd-application-controller not found in argocd"),
        "{stderr}"
    );

    // Everything installed and running: both steps pass, with step 1 before them.
    available_deployment(&client, "tink-system", "tink-controller").await;
    available_deployment(&client, "tink-system", "rufio").await;
    ready_statefulset(&client, "argocd", "argocd-application-controller").await;
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        GENESIS,
        state.path(),
        kubeconfig,
        &[
            "up",
            "--only",
            "platform-api",
            "--only",
            "tinkerbell-stack",
            "--only",
            "argocd",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).unwrap_or_default();
    assert!(
        journal.contains("tink-controller") && journal.contains("rufio"),
        "the available controllers are journaled: {journal}"
    );

    // A missing Deployment: argocd-server deleted.
    Api::<Deployment>::namespaced(client.clone(), "argocd")
        .delete("argocd-server", &Default::default())
        .await
        .expect("delete argocd-server");
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        GENESIS,
        state.path(),
        kubeconfig,
        &["up", "--only", "platform-api", "--only", "argocd"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Deployment argocd-server not found in argocd: install Argo CD"),
        "{stderr}"
    );

    world.shutdown().await;
}
