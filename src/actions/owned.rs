//! The objects a step owns: what each kind writes (or what its step brings about, such as the
//! Harvester Node an install makes), computed from the step's resolved parameters. A kind
//! declares it next to its definition (`Definition::owns`; [`super::catalog::owned_objects`]
//! reads it for a step);
//! `genesis describe` reads them live and `genesis health` finds the step-12 Secret and the
//! VMs through them. The engine knows nothing of this.

use kube::api::ApiResource;
use serde_json::Value;

/// Which cluster holds an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cluster {
    Platform,
    Harvester,
}

impl Cluster {
    pub fn label(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Harvester => "harvester",
        }
    }
}

/// How the object is found: by name, or every object with these labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    Name(String),
    /// A label selector (`genesis.dev/machine=ms-02-2`).
    Labels(String),
}

/// One object a step owns.
#[derive(Debug, Clone)]
pub struct OwnedObject {
    pub cluster: Cluster,
    pub resource: ApiResource,
    /// `None` for a cluster-scoped object (a Node).
    pub namespace: Option<String>,
    pub select: Select,
}

impl OwnedObject {
    /// A namespaced object by name.
    pub fn named(cluster: Cluster, resource: ApiResource, namespace: &str, name: &str) -> Self {
        Self {
            cluster,
            resource,
            namespace: Some(namespace.to_owned()),
            select: Select::Name(name.to_owned()),
        }
    }

    /// A Node by name.
    pub fn node(cluster: Cluster, name: &str) -> Self {
        Self {
            cluster,
            resource: ApiResource::erase::<k8s_openapi::api::core::v1::Node>(&()),
            namespace: None,
            select: Select::Name(name.to_owned()),
        }
    }

    /// A Secret by name; its data is never read out (see `genesis describe`).
    pub fn secret(cluster: Cluster, namespace: &str, name: &str) -> Self {
        Self::named(
            cluster,
            ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
            namespace,
            name,
        )
    }

    /// Whether it is a Secret (shown as metadata and key names only).
    pub fn is_secret(&self) -> bool {
        self.resource.kind == "Secret" && self.resource.group.is_empty()
    }

    /// For messages: `Kind namespace/name` or `Kind (label selector)`.
    pub fn describe(&self) -> String {
        let namespace = self
            .namespace
            .as_deref()
            .map(|namespace| format!("{namespace}/"))
            .unwrap_or_default();
        match &self.select {
            Select::Name(name) => format!("{} {namespace}{name}", self.resource.kind),
            Select::Labels(labels) => format!("{} {namespace}({labels})", self.resource.kind),
        }
    }
}

/// A string parameter, `None` when absent or not a string.
pub(crate) fn text<'a>(params: &'a Value, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

/// `tinkerbell.install`: the machine's install Workflows (every attempt, by the machine label
/// the kind sets) and the Harvester Node the install makes.
pub(crate) fn install(params: &Value) -> Vec<OwnedObject> {
    let (Some(namespace), Some(machine)) = (text(params, "namespace"), text(params, "machine"))
    else {
        return Vec::new();
    };
    vec![
        OwnedObject {
            cluster: Cluster::Platform,
            resource: super::tinkerbell::workflow_resource(),
            namespace: Some(namespace.to_owned()),
            select: Select::Labels(format!("{}={machine}", super::tinkerbell::MACHINE_LABEL)),
        },
        OwnedObject::node(Cluster::Harvester, machine),
    ]
}

/// `argocd.cluster-secret`: the Argo CD cluster Secret (`secret_name`, else `cluster_name`).
pub(crate) fn cluster_secret(params: &Value) -> Vec<OwnedObject> {
    let name = text(params, "secret_name")
        .filter(|name| !name.is_empty())
        .or_else(|| text(params, "cluster_name"));
    match (text(params, "namespace"), name) {
        (Some(namespace), Some(name)) => {
            vec![OwnedObject::secret(Cluster::Platform, namespace, name)]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn install_owns_the_machines_workflows_and_its_harvester_node() {
        let params = json!({"namespace": "tink-system", "machine": "ms-02-2"});
        let owned = install(&params);
        assert_eq!(
            owned.iter().map(OwnedObject::describe).collect::<Vec<_>>(),
            [
                "Workflow tink-system/(genesis.dev/machine=ms-02-2)",
                "Node ms-02-2"
            ]
        );
        assert_eq!(owned[1].cluster, Cluster::Harvester);
    }

    #[test]
    fn the_cluster_secret_is_named_by_secret_name_else_cluster_name() {
        let named = json!({"namespace": "argocd", "cluster_name": "h", "secret_name": "s"});
        assert_eq!(cluster_secret(&named)[0].describe(), "Secret argocd/s");
        let unnamed = json!({"namespace": "argocd", "cluster_name": "h", "secret_name": null});
        let owned = cluster_secret(&unnamed);
        assert_eq!(owned[0].describe(), "Secret argocd/h");
        assert!(owned[0].is_secret());
    }
}
