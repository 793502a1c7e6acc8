//! The Platform and Harvester clusters made to look installed for the preflight and the
//! quorum: namespaces, available Deployments, ready StatefulSets and Nodes (moved from
//! loopback.rs).

use genesis_testworld::World;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// Creates a namespace unless it exists ([`genesis_rehearse::platform::ensure_namespace`]).
pub async fn ensure_namespace(client: &kube::Client, name: &str) {
    genesis_rehearse::platform::ensure_namespace(client, name)
        .await
        .unwrap_or_else(|error| panic!("namespace {name}: {error}"));
}

/// A one-replica Deployment reported available
/// ([`genesis_rehearse::platform::available_deployment`]).
pub async fn available_deployment(client: &kube::Client, namespace: &str, name: &str) {
    genesis_rehearse::platform::available_deployment(client, namespace, name)
        .await
        .unwrap_or_else(|error| panic!("Deployment {namespace}/{name}: {error}"));
}

/// A one-replica StatefulSet reported ready ([`genesis_rehearse::platform::ready_statefulset`]).
pub async fn ready_statefulset(client: &kube::Client, namespace: &str, name: &str) {
    genesis_rehearse::platform::ready_statefulset(client, namespace, name)
        .await
        .unwrap_or_else(|error| panic!("StatefulSet {namespace}/{name}: {error}"));
}

/// The Harvester cluster phase 4 runs on: three Ready nodes named after the reference lab's
/// machines (what step 11 waited for). The simulator places the anti-affine control-plane VMs
/// on them, as the scheduler would.
pub async fn ready_harvester_nodes(world: &World) {
    let nodes: Api<Node> = Api::all(world.harvester.client.clone());
    for name in ["ms-02-1", "ms-02-2", "ms-02-3"] {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": name}}}))
        .expect("Node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("create Node");
        let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True",
            "reason": "KubeletReady", "message": "kubelet is posting ready status"}]}});
        nodes
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("Node Ready");
    }
}
