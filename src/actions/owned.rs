//! The objects a step owns: what each kind writes, and what its step brings about without
//! writing it (the Harvester Node an install makes, the Platform Node a VM becomes), computed
//! from the step's resolved parameters. A kind declares it next to its definition
//! (`Definition::owns`; [`super::catalog::owned_objects`] reads it for a step). This is the one
//! model of them: `genesis describe` reads them live, `genesis health` finds the step-12 Secret
//! and the VMs through them, and `genesis down` and `genesis up --reinstall`
//! (`crate::teardown`) delete the ones genesis writes ([`Origin::Written`]).
//!
//! **Order.** A kind lists its objects in the order its action writes them: an object after
//! the objects it references (the Rufio Machine after the BMC Secret it names). Teardown
//! deletes a step's objects in the reverse of that order, as it takes the steps down in the
//! reverse of their run order. The engine knows nothing of this.

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
    /// The word the JSON and `describe` use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Harvester => "harvester",
        }
    }

    /// Its name in a sentence.
    pub fn name(self) -> &'static str {
        match self {
            Self::Platform => "Platform",
            Self::Harvester => "Harvester",
        }
    }
}

/// Whether genesis writes an object or its step only brings it about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// genesis writes it and labels it `app.kubernetes.io/managed-by: genesis`; `genesis down`
    /// deletes it while it carries that label.
    Written,
    /// The cluster makes it because the step ran (a Node a machine or VM becomes); shown by
    /// `describe` and `health`, never deleted by `genesis down`'s object list.
    BroughtAbout,
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
    pub origin: Origin,
}

impl OwnedObject {
    /// A namespaced object by name.
    pub fn named(cluster: Cluster, resource: ApiResource, namespace: &str, name: &str) -> Self {
        Self {
            cluster,
            resource,
            namespace: Some(namespace.to_owned()),
            select: Select::Name(name.to_owned()),
            origin: Origin::Written,
        }
    }

    /// Every object genesis writes with these labels (`k=v`), in a namespace.
    pub fn labelled(
        cluster: Cluster,
        resource: ApiResource,
        namespace: &str,
        selector: String,
    ) -> Self {
        Self {
            cluster,
            resource,
            namespace: Some(namespace.to_owned()),
            select: Select::Labels(selector),
            origin: Origin::Written,
        }
    }

    /// A Node by name: brought about, not written.
    pub fn node(cluster: Cluster, name: &str) -> Self {
        Self {
            cluster,
            resource: ApiResource::erase::<k8s_openapi::api::core::v1::Node>(&()),
            namespace: None,
            select: Select::Name(name.to_owned()),
            origin: Origin::BroughtAbout,
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

    /// Whether genesis writes it (and so may delete it).
    pub fn is_written(&self) -> bool {
        self.origin == Origin::Written
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

/// The label selector of the objects genesis makes for one machine: its install Workflows and
/// its power-off Jobs.
pub(crate) fn machine_selector(machine: &str) -> String {
    format!("{}={machine}", super::tinkerbell::MACHINE_LABEL)
}

/// `tinkerbell.install`: the machine's install Workflows (every attempt, by the machine label
/// the kind sets) and the Harvester Node the install makes.
pub(crate) fn install(params: &Value) -> Vec<OwnedObject> {
    let (Some(namespace), Some(machine)) = (text(params, "namespace"), text(params, "machine"))
    else {
        return Vec::new();
    };
    vec![
        OwnedObject::labelled(
            Cluster::Platform,
            super::tinkerbell::workflow_resource(),
            namespace,
            machine_selector(machine),
        ),
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
        assert!(owned[0].is_written(), "genesis writes the Workflows");
        assert!(!owned[1].is_written(), "the install brings the Node about");
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
