//! `kubevirt.userdata-secret` (step 15): a VM's cloud-init NoCloud user data as a Secret.
//!
//! The node name: Talos applies the NoCloud meta-data hostname (`local-hostname`, which KubeVirt
//! writes from the VMI's `hostname`) only when NoCloud network data is present too (siderolabs/
//! talos `platform/nocloud/nocloud.go`: `NetworkConfiguration` returns before `ParseMetadata`
//! without it). This step therefore puts network data (DHCP on the VM's MAC) beside the user
//! data, and refuses a machine config that names the node otherwise (`crate::inputs::talos`).

use std::sync::Arc;

use base64::Engine as _;
use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{NETWORKDATA_KEY, USERDATA_KEY, VM_NAME_LABEL, network_data, userdata_secret_name};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::harvester::{HarvesterAccess, MANAGED_BY, params, plan_apply};
use crate::actions::support::{SecretRef, secret_resource};
use crate::clients::kube::apply::Object;
use crate::secrets::Secrets;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserdataParams {
    namespace: String,
    vm: String,
    /// The VM's MAC: the network data brings that NIC up with DHCP.
    mac: String,
    user_data: SecretRef,
}

/// The `kubevirt.userdata-secret` action.
#[derive(Debug)]
pub struct UserdataSecret {
    harvester: Arc<HarvesterAccess>,
    secrets: Secrets,
}

impl UserdataSecret {
    pub fn new(harvester: Arc<HarvesterAccess>, secrets: Secrets) -> Self {
        Self { harvester, secrets }
    }

    fn body(&self, step: &StepSpec, params: &UserdataParams) -> Result<Value, ActionError> {
        let user_data = params.user_data.value(&self.secrets)?;
        check_user_data(step, &params.user_data.secret, user_data)?;
        check_node_name(step, &params.user_data.secret, user_data, &params.vm)?;
        Ok(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": userdata_secret_name(&params.vm),
                "namespace": params.namespace,
                "labels": {MANAGED_BY.0: MANAGED_BY.1, VM_NAME_LABEL: params.vm},
            },
            "type": "Opaque",
            "data": {
                USERDATA_KEY: base64::engine::general_purpose::STANDARD.encode(user_data),
                NETWORKDATA_KEY: base64::engine::general_purpose::STANDARD.encode(network_data(&params.mac)),
            },
        }))
    }
}

/// The Secret the step writes; the plan says per key whether it changes, never a value.
fn secret(params: &UserdataParams, body: Value) -> Object {
    Object::namespaced(
        secret_resource(),
        &params.namespace,
        &userdata_secret_name(&params.vm),
        body,
        "Secret",
    )
    .hiding(&["/data", "/stringData"])
}

/// Talos ignores NoCloud user data that is a cloud-config: it must be the machine config.
fn check_user_data(step: &StepSpec, name: &str, user_data: &str) -> Result<(), ActionError> {
    if user_data.trim().is_empty() {
        return Err(ActionError::new(
            ErrorKind::InvalidParams,
            format!("step `{}`: secret `{name}` is empty", step.id),
        ));
    }
    if user_data.trim_start().starts_with("#cloud-config") {
        return Err(ActionError::new(
            ErrorKind::InvalidParams,
            format!(
                "step `{}`: secret `{name}` is a #cloud-config; Talos ignores those. Put the Talos machine configuration itself there (`talosctl gen config` output)",
                step.id
            ),
        ));
    }
    Ok(())
}

/// The machine config must let the node be named like the VM, which step 17 waits for.
fn check_node_name(
    step: &StepSpec,
    name: &str,
    user_data: &str,
    vm: &str,
) -> Result<(), ActionError> {
    let problems = match crate::inputs::talos::MachineConfig::parse(user_data) {
        Ok(config) => config.problems(vm),
        Err(error) => vec![(
            format!("the Talos machine configuration {error}"),
            "put the Platform cluster's controlplane.yaml there".to_owned(),
        )],
    };
    match problems.into_iter().next() {
        None => Ok(()),
        Some((message, help)) => Err(ActionError::new(
            ErrorKind::InvalidParams,
            format!(
                "step `{}`: secret `{name}` (VM {vm}): {message}; {help}",
                step.id
            ),
        )),
    }
}

impl genesis_engine::Action for UserdataSecret {
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: UserdataParams = params(step)?;
            let body = self.body(step, &params)?;
            let name = userdata_secret_name(&params.vm);
            let Some(client) = self.harvester.plan_client(&context.needs).await? else {
                return Ok(self.harvester.needs_kubeconfig(&format!(
                    "apply Secret {}/{name} (key {USERDATA_KEY} from secret `{}`, value not shown)",
                    params.namespace, params.user_data.secret
                )));
            };
            let (_, outcome) = plan_apply(&client, &secret(&params, body)).await?;
            let source = format!(
                " [{USERDATA_KEY} from secret `{}`, value not shown; {NETWORKDATA_KEY}: DHCP on {}]",
                params.user_data.secret,
                params.mac.to_ascii_lowercase()
            );
            Ok(match outcome {
                PlanOutcome::WillChange { summary, diff } => PlanOutcome::WillChange {
                    summary: summary + &source,
                    diff,
                },
                PlanOutcome::NoChange { summary } => PlanOutcome::NoChange {
                    summary: summary + &source,
                },
                other => other,
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: UserdataParams = params(step)?;
            let body = self.body(step, &params)?;
            let client = self.harvester.client(step, context.needs()).await?;
            let name = userdata_secret_name(&params.vm);
            secret(&params, body).apply(&client, context).await?;
            let mut outputs = Outputs::new();
            outputs.insert(
                "secret".to_owned(),
                format!("{}/{name}", params.namespace).into(),
            );
            Ok(outputs)
        })
    }
}

/// `kubevirt.userdata-secret`: a VM's user data.
/// The VM's NoCloud user-data Secret (on the Harvester cluster).
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    match (text(p, "namespace"), text(p, "vm")) {
        (Some(namespace), Some(vm)) => vec![OwnedObject::secret(
            Cluster::Harvester,
            namespace,
            &super::userdata_secret_name(vm),
        )],
        _ => Vec::new(),
    }
}

pub(crate) const KIND: Definition = Definition {
    name: "kubevirt.userdata-secret",
    summary: "a VM's cloud-init NoCloud user data, as a Secret",
    target: Target::Harvester,
    preview: Preview::Apply,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<UserdataParams>(),
    names: &[("namespace", NameRule::Namespace), ("vm", NameRule::Object)],
    describe: |p| {
        vec![format!(
            "apply Secret {}/{}-userdata on Harvester: key userdata = {} (never shown), key networkdata = DHCP on {}",
            p.text("namespace"),
            p.text("vm"),
            p.text("user_data"),
            p.text("mac")
        )]
    },
    build: Build::Remote(|clusters| {
        Arc::new(UserdataSecret::new(
            Arc::clone(&clusters.harvester),
            clusters.secrets.clone(),
        ))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::harvester::test_step;

    #[test]
    fn the_network_data_brings_the_vms_nic_up_with_dhcp() {
        let data: Value = serde_saphyr::from_str(&network_data("52:54:00:0A:1E:02")).expect("YAML");
        assert_eq!(
            data,
            json!({"version": 2, "ethernets": {"eth0": {
                "match": {"macaddress": "52:54:00:0a:1e:02"}, "dhcp4": true}}})
        );
    }

    #[test]
    fn a_machine_config_naming_another_node_is_refused_before_the_vm_exists() {
        let step = test_step("kubevirt.userdata-secret", json!({}));
        let config = "version: v1alpha1\nmachine: {type: controlplane, network: {hostname: cp-2}}\ncluster: {controlPlane: {endpoint: https://10.10.10.15:6443}}\n";
        assert!(check_node_name(&step, "s", config, "cp-2").is_ok());
        let error = check_node_name(&step, "s", config, "cp-3").expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::InvalidParams);
        assert!(error.to_string().contains("Node `cp-3`"), "{error}");
        let worker = config.replace("controlplane", "worker");
        assert!(check_node_name(&step, "s", &worker, "cp-2").is_err());
    }

    #[test]
    fn cloud_config_user_data_is_refused() {
        let step = test_step("kubevirt.userdata-secret", json!({}));
        assert!(check_user_data(&step, "talos.cp-2.machine_config", "version: v1alpha1\n").is_ok());
        assert!(check_node_name(&step, "t", "version: v1alpha1\n", "cp-2").is_err());
        let error = check_user_data(&step, "t", "#cloud-config\nusers: []\n").expect_err("refused");
        assert!(error.to_string().contains("Talos ignores"));
        assert!(check_user_data(&step, "t", "  \n").is_err());
    }
}
