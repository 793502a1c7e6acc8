//! The Platform and Harvester clusters made to look installed for the preflight and the
//! quorum: namespaces, available Deployments, ready StatefulSets and Nodes (moved from
//! loopback.rs).

use genesis_testworld::World;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// Creates a namespace unless it exists.
pub async fn ensure_namespace(client: &kube::Client, name: &str) {
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("namespace {name}: {error}"),
    }
}

pub(super) fn workload_spec(name: &str) -> Value {
    json!({
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": name, "image": "example.invalid/controller:1"}]}
        }
    })
}

/// A one-replica Deployment (it never runs: no kubelet) with the status the controller-manager
/// would write once its pod is ready. Idempotent.
pub async fn available_deployment(client: &kube::Client, namespace: &str, name: &str) {
    let api = Api::<Deployment>::namespaced(client.clone(), namespace);
    let deployment: Deployment =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": workload_spec(name)}))
            .expect("deployment");
    match api.create(&PostParams::default(), &deployment).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("Deployment {namespace}/{name}: {error}"),
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1}
        })),
    )
    .await
    .expect("patch deployment status");
}

/// A one-replica StatefulSet with a ready replica, as its controller would report. Idempotent.
pub async fn ready_statefulset(client: &kube::Client, namespace: &str, name: &str) {
    let api = Api::<StatefulSet>::namespaced(client.clone(), namespace);
    let mut spec = workload_spec(name);
    spec["serviceName"] = json!(name);
    let statefulset: StatefulSet =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))
            .expect("statefulset");
    match api.create(&PostParams::default(), &statefulset).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("StatefulSet {namespace}/{name}: {error}"),
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        })),
    )
    .await
    .expect("patch statefulset status");
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
