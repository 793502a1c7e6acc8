//! KubeVirt on Harvester: a VM's cloud-init NoCloud user data as a Secret (step 15) and the
//! `VirtualMachine` itself (step 16), waited for until it runs.
//!
//! The VM is built the way Harvester builds one (UPSTREAM-APIS §4): `runStrategy: Always`
//! (never the deprecated `running`), its root disk a PVC that Harvester creates from the
//! `harvesterhci.io/volumeClaimTemplates` annotation (annotated with the image it is cloned
//! from and using the image's StorageClass), one bridged NIC on the VLAN network through multus
//! with the lab's MAC, and a `cloudInitNoCloud` volume whose `secretRef` names step 15's Secret.
//! Talos reads the NoCloud user data as its machine configuration.
//!
//! An operator who keeps the VMs in a GitOps repository passes them instead as `manifest:
//! {file: <path relative to the phases directory>}`, one VM or a YAML stream of all of them;
//! genesis then applies the VM named like the step's unchanged (after checking its kind, name
//! and namespace) and waits for it the same way.

use std::sync::Arc;

use base64::Engine as _;
use genesis_engine::{
    ActionError, BoxFuture, ErrorKind, Outputs, PlanContext, PlanOutcome, RunContext, StepSpec,
};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::apply::{self, Change};
use super::harvester::image::image_resource;
use super::harvester::{
    HarvesterAccess, MANAGED_BY, needs_kubeconfig, params, plan_apply, qualified,
};
use super::platform::reachable::classify;
use super::support::{SecretRef, secret_resource};
use super::watch::{self, Check};
use crate::secrets::Secrets;

/// The annotation Harvester creates a VM's PVCs from.
pub const VOLUME_CLAIM_TEMPLATES: &str = "harvesterhci.io/volumeClaimTemplates";
/// The annotation on a PVC naming the image (`namespace/name`) it is made from.
pub const IMAGE_ID: &str = "harvesterhci.io/imageId";
/// The label Harvester puts on a VM's pods.
pub const VM_NAME_LABEL: &str = "harvesterhci.io/vmName";
/// The key of a NoCloud user-data Secret that KubeVirt reads.
pub const USERDATA_KEY: &str = "userdata";

pub fn vm_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachine"),
        "virtualmachines",
    )
}

/// The Secret holding a VM's user data.
pub fn userdata_secret_name(vm: &str) -> String {
    format!("{vm}-userdata")
}

/// The PVC of a VM's root disk.
pub fn root_claim_name(vm: &str) -> String {
    format!("{vm}-rootdisk")
}

// ---------------------------------------------------------------------------------------------
// Step 15: the user-data Secret.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserdataParams {
    namespace: String,
    vm: String,
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
        Ok(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": userdata_secret_name(&params.vm),
                "namespace": params.namespace,
                "labels": {MANAGED_BY.0: MANAGED_BY.1, VM_NAME_LABEL: params.vm},
            },
            "type": "Opaque",
            "data": {USERDATA_KEY: base64::engine::general_purpose::STANDARD.encode(user_data)},
        }))
    }
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

impl genesis_engine::Action for UserdataSecret {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: UserdataParams = params(step)?;
            let body = self.body(step, &params)?;
            let name = userdata_secret_name(&params.vm);
            let Some(client) = self.harvester.plan_client(&context.needs).await? else {
                return Ok(needs_kubeconfig(&format!(
                    "apply Secret {}/{name} (key {USERDATA_KEY} from secret `{}`, value not shown)",
                    params.namespace, params.user_data.secret
                )));
            };
            let (_, outcome) = plan_apply(
                &client,
                &secret_resource(),
                &params.namespace,
                &name,
                &body,
                "Secret",
                // Per key changed or unchanged, never a value.
                &["/data", "/stringData"],
            )
            .await?;
            let source = format!(
                " [{USERDATA_KEY} from secret `{}`, value not shown]",
                params.user_data.secret
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

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let params: UserdataParams = params(step)?;
            let body = self.body(step, &params)?;
            let client = self.harvester.client(step, context.needs()).await?;
            let name = userdata_secret_name(&params.vm);
            apply::apply_journaled(
                &client,
                context,
                &secret_resource(),
                Some(&params.namespace),
                &name,
                &body,
                "Secret",
            )
            .await?;
            let mut outputs = Outputs::new();
            outputs.insert(
                "secret".to_owned(),
                format!("{}/{name}", params.namespace).into(),
            );
            Ok(outputs)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Step 16: the VirtualMachine.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VmParams {
    namespace: String,
    name: String,
    /// The VLAN network (`name` or `namespace/name`; the VM's namespace by default).
    network: String,
    mac: String,
    cpu_cores: u32,
    memory: String,
    disk: String,
    /// The Harvester image (`name` or `namespace/name`) the root disk is made from.
    image: String,
    /// The VM as the operator keeps it (a `{file: …}` parameter, read by the loader).
    manifest: Option<String>,
}

impl VmParams {
    fn image_ref(&self) -> (String, String) {
        qualified(&self.image, &self.namespace)
    }

    /// The VM genesis builds, with the root disk in `storage_class`.
    fn build(&self, storage_class: &str) -> Value {
        let (image_namespace, image_name) = self.image_ref();
        let (network_namespace, network_name) = qualified(&self.network, &self.namespace);
        let claim = root_claim_name(&self.name);
        let claim_templates = json!([{
            "metadata": {
                "name": claim,
                "annotations": {IMAGE_ID: format!("{image_namespace}/{image_name}")},
            },
            "spec": {
                "accessModes": ["ReadWriteMany"],
                "volumeMode": "Block",
                "storageClassName": storage_class,
                "resources": {"requests": {"storage": self.disk}},
            },
        }]);
        json!({
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {MANAGED_BY.0: MANAGED_BY.1},
                "annotations": {VOLUME_CLAIM_TEMPLATES: claim_templates.to_string()},
            },
            "spec": {
                "runStrategy": "Always",
                "template": {
                    "metadata": {"labels": {VM_NAME_LABEL: self.name}},
                    "spec": {
                        "hostname": self.name,
                        "domain": {
                            "cpu": {"cores": self.cpu_cores, "sockets": 1, "threads": 1},
                            "memory": {"guest": self.memory},
                            "devices": {
                                "disks": [
                                    {"name": "rootdisk", "bootOrder": 1, "disk": {"bus": "virtio"}},
                                    {"name": "cloudinitdisk", "disk": {"bus": "virtio"}},
                                ],
                                "interfaces": [{
                                    "name": network_name,
                                    "bridge": {},
                                    "model": "virtio",
                                    "macAddress": self.mac.to_ascii_lowercase(),
                                }],
                            },
                        },
                        "networks": [{
                            "name": network_name,
                            "multus": {"networkName": format!("{network_namespace}/{network_name}")},
                        }],
                        "volumes": [
                            {"name": "rootdisk", "persistentVolumeClaim": {"claimName": claim}},
                            {"name": "cloudinitdisk", "cloudInitNoCloud": {
                                "secretRef": {"name": userdata_secret_name(&self.name)},
                            }},
                        ],
                    },
                },
            },
        })
    }

    /// This step's VirtualMachine from the operator's manifest: one object, or a YAML stream
    /// (`---`-separated) holding every VM, from which the one named like this step's is taken.
    fn checked_manifest(&self, step: &StepSpec, text: &str) -> Result<Value, ActionError> {
        let bad = |what: String| {
            ActionError::new(
                ErrorKind::InvalidParams,
                format!("step `{}`: the VM manifest {what}", step.id),
            )
        };
        let documents: Vec<Value> = serde_saphyr::from_multiple(text)
            .map_err(|error| bad(format!("is not YAML ({error})")))?;
        let is_vm = |document: &Value| {
            document.get("apiVersion").and_then(Value::as_str) == Some("kubevirt.io/v1")
                && document.get("kind").and_then(Value::as_str) == Some("VirtualMachine")
        };
        let name_of = |document: &Value| {
            document
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("(no name)")
                .to_owned()
        };
        let vms: Vec<&Value> = documents
            .iter()
            .filter(|document| is_vm(document))
            .collect();
        if vms.is_empty() {
            return Err(bad("holds no kubevirt.io/v1 VirtualMachine".to_owned()));
        }
        let mut matching = vms.iter().filter(|document| name_of(document) == self.name);
        let mut manifest = match (matching.next(), matching.next()) {
            (Some(vm), None) => (*vm).clone(),
            (Some(_), Some(_)) => {
                return Err(bad(format!("holds VirtualMachine `{}` twice", self.name)));
            }
            (None, _) => {
                return Err(bad(format!(
                    "holds no VirtualMachine named `{}` (it has: {}); metadata.name must match the lab's VM",
                    self.name,
                    vms.iter()
                        .map(|vm| name_of(vm))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        };
        let metadata = manifest
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| bad("has no metadata".to_owned()))?;
        match metadata.get("namespace").and_then(Value::as_str) {
            None => {
                metadata.insert("namespace".to_owned(), json!(self.namespace));
            }
            Some(namespace) if namespace == self.namespace => {}
            Some(namespace) => {
                return Err(bad(format!(
                    "is in namespace `{namespace}`, the lab puts the VM in `{}`",
                    self.namespace
                )));
            }
        }
        // What a server wrote into an exported object is not the operator's to apply.
        for field in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            metadata.remove(field);
        }
        if let Some(object) = manifest.as_object_mut() {
            object.remove("status");
        }
        Ok(manifest)
    }
}

/// Where a VM stands: running and ready, or its printable status.
pub(crate) fn vm_state(vm: &Value) -> Result<(), String> {
    let printable = vm
        .pointer("/status/printableStatus")
        .and_then(Value::as_str)
        .unwrap_or("");
    let ready = vm.pointer("/status/ready").and_then(Value::as_bool) == Some(true);
    match (printable, ready) {
        ("Running", true) => Ok(()),
        ("", _) => Err("VM created; KubeVirt has not reported a status yet".to_owned()),
        ("Running", false) => Err("VM Running, not ready yet".to_owned()),
        (status, _) => {
            let reason = vm
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| c.get("status").and_then(Value::as_str) == Some("False"))
                .find_map(|c| c.get("message").and_then(Value::as_str))
                .filter(|message| !message.is_empty());
            Err(match reason {
                Some(reason) => format!("VM {status}: {reason}"),
                None => format!("VM {status}"),
            })
        }
    }
}

/// The `kubevirt.vm` action.
#[derive(Debug)]
pub struct VirtualMachine {
    harvester: Arc<HarvesterAccess>,
}

impl VirtualMachine {
    pub fn new(harvester: Arc<HarvesterAccess>) -> Self {
        Self { harvester }
    }

    /// The image's StorageClass, which Harvester's image controller sets on import.
    async fn storage_class(
        client: &kube::Client,
        params: &VmParams,
    ) -> Result<Option<String>, ActionError> {
        let (namespace, name) = params.image_ref();
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), &namespace, &image_resource());
        let image = api.get_opt(&name).await.map_err(|error| {
            classify(
                error,
                format!("cannot read VirtualMachineImage {namespace}/{name}"),
            )
        })?;
        Ok(image.and_then(|image| {
            image
                .data
                .pointer("/status/storageClassName")
                .and_then(Value::as_str)
                .filter(|class| !class.is_empty())
                .map(str::to_owned)
        }))
    }

    /// The VM to apply: the operator's manifest, or the one genesis builds (which needs the
    /// image's StorageClass; `None` while the image is not imported).
    async fn body(
        client: &kube::Client,
        step: &StepSpec,
        params: &VmParams,
    ) -> Result<Option<Value>, ActionError> {
        if let Some(manifest) = &params.manifest {
            return params.checked_manifest(step, manifest).map(Some);
        }
        Ok(Self::storage_class(client, params)
            .await?
            .map(|class| params.build(&class)))
    }
}

impl genesis_engine::Action for VirtualMachine {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: VmParams = params(step)?;
            let Some(client) = self.harvester.plan_client(&context.needs).await? else {
                return Ok(needs_kubeconfig(&format!(
                    "apply VirtualMachine {}/{} and wait until it runs",
                    params.namespace, params.name
                )));
            };
            let Some(body) = Self::body(&client, step, &params).await? else {
                return Ok(PlanOutcome::DependsOnEarlier {
                    what: format!(
                        "the StorageClass of image {} that Harvester sets once step 14 (vm-image) imported it; then apply VirtualMachine {}/{}",
                        params.image, params.namespace, params.name
                    ),
                });
            };
            let source = if params.manifest.is_some() {
                " (from the operator's manifest)"
            } else {
                ""
            };
            let (change, outcome) = plan_apply(
                &client,
                &vm_resource(),
                &params.namespace,
                &params.name,
                &body,
                "VirtualMachine",
                &[],
            )
            .await?;
            let running = match change {
                Change::Create => false,
                _ => {
                    Api::<DynamicObject>::namespaced_with(client, &params.namespace, &vm_resource())
                        .get_opt(&params.name)
                        .await
                        .map_err(|error| {
                            classify(error, format!("cannot read VM {}", params.name))
                        })?
                        .is_some_and(|vm| vm_state(&vm.data).is_ok())
                }
            };
            Ok(match outcome {
                PlanOutcome::NoChange { summary } if running => PlanOutcome::NoChange {
                    summary: format!("{summary}{source}; running"),
                },
                PlanOutcome::NoChange { summary } => PlanOutcome::WillChange {
                    summary: format!("{summary}{source}; wait until it runs"),
                    diff: None,
                },
                PlanOutcome::WillChange { summary, diff } => PlanOutcome::WillChange {
                    summary: format!("{summary}{source}; then wait until it runs"),
                    diff,
                },
                other => other,
            })
        })
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let params: VmParams = params(step)?;
            let client = self.harvester.client(step, context.needs()).await?;
            let body = Self::body(&client, step, &params).await?.ok_or_else(|| {
                ActionError::new(
                    ErrorKind::NotFound,
                    format!(
                        "image {} has no StorageClass: Harvester sets it when it imports the image, which step 14 (vm-image) waits for; run that step first",
                        params.image
                    ),
                )
            })?;
            apply::apply_journaled(
                &client,
                context,
                &vm_resource(),
                Some(&params.namespace),
                &params.name,
                &body,
                "VirtualMachine",
            )
            .await?;
            let api: Api<DynamicObject> =
                Api::namespaced_with(client, &params.namespace, &vm_resource());
            let what = format!("VM {}/{} to run", params.namespace, params.name);
            let printable = context
                .wait(
                    &what,
                    None,
                    watch::until_applied(
                        api,
                        "VirtualMachine",
                        &params.namespace,
                        &params.name,
                        "for it to run",
                        context,
                        |vm| {
                            Ok(match vm_state(&vm.data) {
                                Ok(()) => Check::Done("Running".to_owned()),
                                Err(note) => Check::Waiting(note),
                            })
                        },
                    ),
                )
                .await?;
            let mut outputs = Outputs::new();
            outputs.insert(
                "vm".to_owned(),
                format!("{}/{}", params.namespace, params.name).into(),
            );
            outputs.insert("printable_status".to_owned(), printable.into());
            outputs.insert(
                "source".to_owned(),
                if params.manifest.is_some() {
                    "manifest"
                } else {
                    "built"
                }
                .into(),
            );
            Ok(outputs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::harvester::test_step;

    fn params(manifest: Option<&str>) -> VmParams {
        VmParams {
            namespace: "default".into(),
            name: "cp-2".into(),
            network: "platform".into(),
            mac: "52:54:00:0A:1E:02".into(),
            cpu_cores: 4,
            memory: "16Gi".into(),
            disk: "40Gi".into(),
            image: "talos-nocloud".into(),
            manifest: manifest.map(str::to_owned),
        }
    }

    #[test]
    fn the_vm_is_built_the_way_harvester_builds_one() {
        let vm = params(None).build("longhorn-talos-nocloud");
        assert_eq!(vm["spec"]["runStrategy"], "Always");
        assert!(vm["spec"].get("running").is_none());
        let templates: Value = serde_json::from_str(
            vm["metadata"]["annotations"][VOLUME_CLAIM_TEMPLATES]
                .as_str()
                .expect("JSON text"),
        )
        .expect("JSON");
        assert_eq!(templates[0]["metadata"]["name"], "cp-2-rootdisk");
        assert_eq!(
            templates[0]["metadata"]["annotations"][IMAGE_ID],
            "default/talos-nocloud"
        );
        assert_eq!(
            templates[0]["spec"]["storageClassName"],
            "longhorn-talos-nocloud"
        );
        assert_eq!(
            templates[0]["spec"]["resources"]["requests"]["storage"],
            "40Gi"
        );
        let spec = &vm["spec"]["template"]["spec"];
        assert_eq!(
            spec["networks"][0]["multus"]["networkName"],
            "default/platform"
        );
        assert_eq!(
            spec["domain"]["devices"]["interfaces"][0]["macAddress"],
            "52:54:00:0a:1e:02"
        );
        assert_eq!(
            spec["volumes"][1]["cloudInitNoCloud"]["secretRef"]["name"],
            "cp-2-userdata"
        );
    }

    #[test]
    fn a_manifest_must_be_this_steps_vm() {
        let step = test_step("kubevirt.vm", json!({}));
        let good = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: cp-2\n  resourceVersion: \"7\"\nspec:\n  runStrategy: Always\nstatus:\n  ready: true\n";
        let vm = params(Some(good))
            .checked_manifest(&step, good)
            .expect("accepted");
        assert_eq!(vm["metadata"]["namespace"], "default");
        assert!(vm.get("status").is_none() && vm["metadata"].get("resourceVersion").is_none());
        let stream = format!(
            "{}---\n{good}---\n",
            good.replace("name: cp-2", "name: cp-3")
        );
        let picked = params(Some(&stream))
            .checked_manifest(&step, &stream)
            .expect("cp-2 picked from the stream");
        assert_eq!(picked["metadata"]["name"], "cp-2");
        let twice = format!("{good}---\n{good}");
        assert!(params(None).checked_manifest(&step, &twice).is_err());
        for bad in [
            good.replace("name: cp-2", "name: cp-3"),
            good.replace("kind: VirtualMachine", "kind: VirtualMachineInstance"),
            good.replace("metadata:\n", "metadata:\n  namespace: other\n"),
            "::: not yaml".to_owned(),
        ] {
            let error = params(Some(&bad))
                .checked_manifest(&step, &bad)
                .expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::InvalidParams, "{bad}");
        }
    }

    #[test]
    fn only_a_running_ready_vm_is_done() {
        assert!(
            vm_state(&json!({"status": {"printableStatus": "Running", "ready": true}})).is_ok()
        );
        assert_eq!(
            vm_state(&json!({"status": {"printableStatus": "Starting"}})),
            Err("VM Starting".to_owned())
        );
        assert_eq!(
            vm_state(
                &json!({"status": {"printableStatus": "ErrorPvcNotFound", "conditions": [
                {"type": "Ready", "status": "False", "message": "PVC cp-2-rootdisk not found"}]}})
            ),
            Err("VM ErrorPvcNotFound: PVC cp-2-rootdisk not found".to_owned())
        );
        assert!(vm_state(&json!({})).is_err());
    }

    #[test]
    fn cloud_config_user_data_is_refused() {
        let step = test_step("kubevirt.userdata-secret", json!({}));
        assert!(check_user_data(&step, "talos.cp-2.machine_config", "version: v1alpha1\n").is_ok());
        let error = check_user_data(&step, "t", "#cloud-config\nusers: []\n").expect_err("refused");
        assert!(error.to_string().contains("Talos ignores"));
        assert!(check_user_data(&step, "t", "  \n").is_err());
    }
}
