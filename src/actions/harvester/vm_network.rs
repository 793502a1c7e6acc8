//! `harvester.vm-network` (step 13): a VLAN network for VMs, written the way Harvester's own
//! network controller writes one: a multus `NetworkAttachmentDefinition` labelled with its
//! cluster network, type `L2VlanNetwork` and VLAN id, whose CNI config is a `bridge` on the
//! cluster network's bridge (`<cluster network>-br`, `mgmt-br` for the management network)
//! tagging the VLAN, with no IPAM (addresses come from the VLAN's DHCP).

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, Planned, Ran, RunContext, StepSpec,
};
use kube::api::{ApiResource, GroupVersionKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{HarvesterAccess, MANAGED_BY, params, plan_apply};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::clients::kube::apply::Object;

pub const CLUSTER_NETWORK_LABEL: &str = "network.harvesterhci.io/clusternetwork";
pub const TYPE_LABEL: &str = "network.harvesterhci.io/type";
pub const VLAN_LABEL: &str = "network.harvesterhci.io/vlan-id";

pub fn nad_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("k8s.cni.cncf.io", "v1", "NetworkAttachmentDefinition"),
        "network-attachment-definitions",
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NetworkParams {
    namespace: String,
    name: String,
    vlan: u16,
    /// Harvester's cluster network carrying the VLAN; `mgmt` (the management NICs) by default.
    #[serde(default = "management")]
    cluster_network: String,
}

fn management() -> String {
    "mgmt".to_owned()
}

impl NetworkParams {
    /// The parameters, with the VLAN id checked (802.1Q: 1 to 4094).
    pub(crate) fn of(step: &StepSpec) -> Result<Self, ActionError> {
        let params: Self = params(step)?;
        if !(1..=4094).contains(&params.vlan) {
            return Err(ActionError::new(
                ErrorKind::InvalidParams,
                format!(
                    "step `{}`: VLAN id {} is outside 1-4094; fix the network's `vlan` in the lab file",
                    step.id, params.vlan
                ),
            ));
        }
        Ok(params)
    }

    /// The CNI configuration Harvester writes for a VLAN network.
    fn config(&self) -> String {
        json!({
            "cniVersion": "0.3.1",
            "name": self.name,
            "type": "bridge",
            "bridge": format!("{}-br", self.cluster_network),
            "promiscMode": true,
            "vlan": self.vlan,
            "ipam": {},
        })
        .to_string()
    }

    fn object(&self) -> Object {
        Object::namespaced(
            nad_resource(),
            &self.namespace,
            &self.name,
            self.body(),
            "NetworkAttachmentDefinition",
        )
    }

    pub(crate) fn body(&self) -> Value {
        json!({
            "apiVersion": "k8s.cni.cncf.io/v1",
            "kind": "NetworkAttachmentDefinition",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {
                    MANAGED_BY.0: MANAGED_BY.1,
                    CLUSTER_NETWORK_LABEL: self.cluster_network,
                    TYPE_LABEL: "L2VlanNetwork",
                    VLAN_LABEL: self.vlan.to_string(),
                },
            },
            "spec": {"config": self.config()},
        })
    }
}

/// The `harvester.vm-network` action.
#[derive(Debug)]
pub struct VmNetwork {
    harvester: Arc<HarvesterAccess>,
}

impl VmNetwork {
    pub fn new(harvester: Arc<HarvesterAccess>) -> Self {
        Self { harvester }
    }
}

impl genesis_engine::Action for VmNetwork {
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params = NetworkParams::of(step)?;
            let Some(client) = self.harvester.plan_client(&context.needs).await? else {
                return Ok(self.harvester.needs_kubeconfig(&format!(
                    "apply NetworkAttachmentDefinition {}/{} (VLAN {})",
                    params.namespace, params.name, params.vlan
                )));
            };
            let (_, outcome) = plan_apply(&client, &params.object()).await?;
            Ok(outcome)
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params = NetworkParams::of(step)?;
            let client = self.harvester.client(step, context.needs()).await?;
            params.object().apply(&client, context).await?;
            let mut outputs = Outputs::new();
            outputs.insert(
                "network".to_owned(),
                format!("{}/{}", params.namespace, params.name).into(),
            );
            outputs.insert("vlan".to_owned(), params.vlan.into());
            Ok(outputs)
        })
    }
}

/// `harvester.vm-network`: a VLAN network for VMs.
/// The NetworkAttachmentDefinition the step applies (on the harvester cluster).
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    match (text(p, "namespace"), text(p, "name")) {
        (Some(namespace), Some(name)) => {
            vec![OwnedObject::named(
                Cluster::Harvester,
                nad_resource(),
                namespace,
                name,
            )]
        }
        _ => Vec::new(),
    }
}

pub(crate) const KIND: Definition = Definition {
    name: "harvester.vm-network",
    summary: "a VLAN network for VMs on Harvester",
    target: Target::Harvester,
    preview: Preview::Apply,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<NetworkParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("name", NameRule::Object),
        ("cluster_network", NameRule::Object),
    ],
    describe: |p| {
        let cluster_network = match p.0.get("cluster_network") {
            Some(_) => p.text("cluster_network"),
            None => "mgmt".to_owned(),
        };
        vec![format!(
            "apply NetworkAttachmentDefinition {}/{}: bridge {cluster_network}-br, VLAN {}, labelled as a Harvester L2VlanNetwork",
            p.text("namespace"),
            p.text("name"),
            p.text("vlan")
        )]
    },
    build: Build::Remote(|clusters| Arc::new(VmNetwork::new(Arc::clone(&clusters.harvester)))),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_has_harvesters_labels_and_bridge_config() {
        let params: NetworkParams =
            serde_json::from_value(json!({"namespace": "default", "name": "platform", "vlan": 30}))
                .expect("params");
        let body = params.body();
        let labels = &body["metadata"]["labels"];
        assert_eq!(labels[CLUSTER_NETWORK_LABEL], "mgmt");
        assert_eq!(labels[TYPE_LABEL], "L2VlanNetwork");
        assert_eq!(labels[VLAN_LABEL], "30");
        let config: Value =
            serde_json::from_str(body["spec"]["config"].as_str().expect("text")).expect("JSON");
        assert_eq!(
            config,
            json!({"cniVersion": "0.3.1", "name": "platform", "type": "bridge",
                   "bridge": "mgmt-br", "promiscMode": true, "vlan": 30, "ipam": {}})
        );
        for vlan in [0, 4095] {
            let step = super::super::test_step(
                "harvester.vm-network",
                json!({"namespace": "d", "name": "n", "vlan": vlan}),
            );
            let error = NetworkParams::of(&step).expect_err("out of range");
            assert_eq!(error.kind(), ErrorKind::InvalidParams);
        }
    }
}
