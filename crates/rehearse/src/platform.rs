//! The Platform cluster made to look installed for the phase-2 preflight: the namespaces of
//! Tinkerbell and Argo CD with an available controller Deployment, `argocd-server` and a ready
//! `argocd-application-controller`. The world runs no controller-manager and no kubelet, so the
//! status subresources are written here, as those controllers would write them.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// Creates a namespace unless it exists.
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
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
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
}

fn workload_spec(name: &str) -> Value {
    json!({
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": name, "image": "example.invalid/controller:1"}]}
        }
    })
}

/// Creates `object` unless it exists, then writes `status` as its controller would.
async fn with_status<K>(
    api: Api<K>,
    name: &str,
    object: &K,
    status: Value,
) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => return Err(error),
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .map(drop)
}

/// A one-replica Deployment (it never runs: no kubelet) with the status the controller-manager
/// would write once its pod is ready. Idempotent.
pub async fn available_deployment(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(), kube::Error> {
    let deployment: Deployment =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": workload_spec(name)}))
            .map_err(kube::Error::SerdeError)?;
    with_status(
        Api::namespaced(client.clone(), namespace),
        name,
        &deployment,
        json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1}),
    )
    .await
}

/// A one-replica StatefulSet with a ready replica, as its controller would report. Idempotent.
pub async fn ready_statefulset(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(), kube::Error> {
    let mut spec = workload_spec(name);
    spec["serviceName"] = json!(name);
    let statefulset: StatefulSet =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))
            .map_err(kube::Error::SerdeError)?;
    with_status(
        Api::namespaced(client.clone(), namespace),
        name,
        &statefulset,
        json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
    )
    .await
}

/// Tinkerbell's controller in `tinkerbell_namespace`, Argo CD's server and application
/// controller in `argocd_namespace`, all ready. Idempotent.
pub async fn prepare_platform(
    client: &kube::Client,
    tinkerbell_namespace: &str,
    argocd_namespace: &str,
) -> Result<(), kube::Error> {
    ensure_namespace(client, tinkerbell_namespace).await?;
    available_deployment(client, tinkerbell_namespace, "tinkerbell").await?;
    ensure_namespace(client, argocd_namespace).await?;
    available_deployment(client, argocd_namespace, "argocd-server").await?;
    ready_statefulset(client, argocd_namespace, "argocd-application-controller").await
}
