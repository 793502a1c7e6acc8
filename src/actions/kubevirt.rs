//! KubeVirt on Harvester: a VM's cloud-init NoCloud user data as a Secret (step 15) and the
//! `VirtualMachine` itself (step 16), waited for until it runs.
//!
//! The VM is built the way Harvester builds one (UPSTREAM-APIS §4; harvester `pkg/builder/vm.go`,
//! docs/actions.md): `runStrategy: Always` (never the deprecated `running`), the creator label,
//! CPU and memory as `resources.limits` (Harvester's VM mutator derives the guest memory and the
//! requests from them), its root disk a PVC that Harvester creates from the
//! `harvesterhci.io/volumeClaimTemplates` annotation (annotated with the image it is cloned
//! from and using the image's StorageClass), one bridged NIC on the VLAN network through multus
//! with the lab's MAC, and a `cloudInitNoCloud` volume whose `secretRef` and
//! `networkDataSecretRef` name step 15's Secret. Talos reads the NoCloud user data as its machine
//! configuration.
//!
//! The Platform's control-plane VMs must not share a host (two of three etcd members would go
//! with it): a *required* pod anti-affinity on `kubernetes.io/hostname` against the other
//! control-plane VMs (Harvester's own default is only preferred), and
//! `evictionStrategy: LiveMigrateIfPossible` so that a drained host migrates the VM instead of
//! stopping it (KubeVirt's default is `None`).
//!
//! The node name: Talos applies the NoCloud meta-data hostname (`local-hostname`, which KubeVirt
//! writes from the VMI's `hostname`) only when NoCloud network data is present too (siderolabs/
//! talos `platform/nocloud/nocloud.go`: `NetworkConfiguration` returns before `ParseMetadata`
//! without it). Step 15 therefore puts network data (DHCP on the VM's MAC) beside the user data,
//! and refuses a machine config that names the node otherwise (`crate::inputs::talos`).
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
/// The key of the NoCloud network data in the same Secret (kubevirt `pkg/cloud-init/cloud-init.go`
/// reads `networkdata` or `networkData`).
pub const NETWORKDATA_KEY: &str = "networkdata";
/// The label Harvester's VM builder puts on a VM and its template.
pub const CREATOR_LABEL: &str = "harvesterhci.io/creator";
/// The label by which the Platform control-plane VMs keep apart from each other.
pub const ROLE_LABEL: (&str, &str) = ("genesis.dev/role", "platform-control-plane");

/// NoCloud network data (version 2) that brings the NIC with `mac` up with DHCP: with it Talos
/// applies the meta-data hostname (siderolabs/talos `platform/nocloud/metadata.go`,
/// `applyNetworkConfigV2` matches `macaddress` against the links).
pub fn network_data(mac: &str) -> String {
    format!(
        "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: \"{}\"\n    dhcp4: true\n",
        mac.to_ascii_lowercase()
    )
}

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
                "labels": {MANAGED_BY.0: MANAGED_BY.1, CREATOR_LABEL: "genesis"},
                "annotations": {VOLUME_CLAIM_TEMPLATES: claim_templates.to_string()},
            },
            "spec": {
                "runStrategy": "Always",
                "template": {
                    "metadata": {"labels": {
                        VM_NAME_LABEL: self.name,
                        CREATOR_LABEL: "genesis",
                        ROLE_LABEL.0: ROLE_LABEL.1,
                    }},
                    "spec": {
                        "hostname": self.name,
                        "evictionStrategy": "LiveMigrateIfPossible",
                        "affinity": {"podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [{
                                "labelSelector": {"matchLabels": {ROLE_LABEL.0: ROLE_LABEL.1}},
                                "topologyKey": "kubernetes.io/hostname",
                            }],
                        }},
                        "domain": {
                            "cpu": {"cores": self.cpu_cores, "sockets": 1, "threads": 1},
                            "resources": {"limits": {
                                "cpu": self.cpu_cores.to_string(),
                                "memory": self.memory,
                            }},
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
                                "networkDataSecretRef": {"name": userdata_secret_name(&self.name)},
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

/// The `cloudInitNoCloud` source of a VM's template, if any.
fn nocloud(vm: &Value) -> Option<&Value> {
    vm.pointer("/spec/template/spec/volumes")?
        .as_array()?
        .iter()
        .find_map(|volume| volume.get("cloudInitNoCloud"))
}

/// The Secret an operator's VM reads its NoCloud user data from (`secretRef`, KubeVirt's
/// `userDataSecretRef`).
fn manifest_userdata_secret(vm: &Value) -> Option<&str> {
    nocloud(vm)?.pointer("/secretRef/name")?.as_str()
}

/// Whether Talos in the operator's VM will name its node `name` (what step 17 waits for), given
/// the machine config it boots with. KubeVirt writes the VMI's `hostname` (else its name) as
/// `local-hostname` (kubevirt `pkg/cloud-init/cloud-init.go`); Talos applies it only with network
/// data (talos `platform/nocloud/nocloud.go`), and a hostname in the machine config wins.
fn manifest_node_name(vm: &Value, user_data: Option<&str>, name: &str) -> Result<(), String> {
    let config = user_data.and_then(|text| crate::inputs::talos::MachineConfig::parse(text).ok());
    if let Some((hostname, source)) = config
        .as_ref()
        .and_then(|config| config.explicit_hostname())
    {
        let short = hostname.split('.').next().unwrap_or(hostname);
        return if short == name {
            Ok(())
        } else {
            Err(format!(
                "its machine config names the node `{hostname}` ({source})"
            ))
        };
    }
    let source = nocloud(vm);
    let network_data = source.is_some_and(|source| {
        ["networkData", "networkDataBase64", "networkDataSecretRef"]
            .iter()
            .any(|key| source.get(*key).is_some())
    });
    if !network_data {
        return Err(format!(
            "its cloudInitNoCloud volume has no network data, so Talos ignores the meta-data hostname and names the node talos-xxx-yyy; add `networkDataSecretRef: {{name: {}}}` (step 15 writes `{NETWORKDATA_KEY}` there) or set the hostname in the machine config",
            userdata_secret_name(name)
        ));
    }
    let hostname = vm
        .pointer("/spec/template/spec/hostname")
        .and_then(Value::as_str)
        .unwrap_or(name);
    if hostname == name {
        Ok(())
    } else {
        Err(format!("its template's hostname is `{hostname}`"))
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
            let vm = params.checked_manifest(step, manifest)?;
            let user_data = match manifest_userdata_secret(&vm) {
                Some(secret) => {
                    let api: Api<k8s_openapi::api::core::v1::Secret> =
                        Api::namespaced(client.clone(), &params.namespace);
                    api.get_opt(secret)
                        .await
                        .map_err(|error| {
                            classify(
                                error,
                                format!("cannot read Secret {}/{secret}", params.namespace),
                            )
                        })?
                        .and_then(|secret| secret.data)
                        .and_then(|data| {
                            data.get(USERDATA_KEY)
                                .or_else(|| data.get("userData"))
                                .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
                        })
                }
                None => None,
            };
            manifest_node_name(&vm, user_data.as_deref(), &params.name).map_err(|why| {
                ActionError::new(
                    ErrorKind::InvalidParams,
                    format!(
                        "step `{}`: the VM manifest would not join as Node `{}`, which step 17 waits for: {why}",
                        step.id, params.name
                    ),
                )
            })?;
            return Ok(Some(vm));
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
        assert_eq!(
            spec["volumes"][1]["cloudInitNoCloud"]["networkDataSecretRef"]["name"],
            "cp-2-userdata"
        );
        // Never two control-plane VMs on one host; a drain migrates them.
        assert_eq!(spec["evictionStrategy"], "LiveMigrateIfPossible");
        assert_eq!(
            spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            json!([{"labelSelector": {"matchLabels": {"genesis.dev/role": "platform-control-plane"}},
                    "topologyKey": "kubernetes.io/hostname"}])
        );
        let labels = &vm["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["genesis.dev/role"], "platform-control-plane");
        assert_eq!(labels[CREATOR_LABEL], "genesis");
        assert_eq!(vm["metadata"]["labels"][CREATOR_LABEL], "genesis");
        assert_eq!(
            spec["domain"]["resources"]["limits"],
            json!({"cpu": "4", "memory": "16Gi"})
        );
    }

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
    fn an_operators_vm_without_network_data_is_named_by_talos_not_by_the_vm() {
        let built = params(None).build("longhorn-talos-nocloud");
        let no_hostname = "version: v1alpha1\nmachine: {type: controlplane}\n";
        assert_eq!(
            manifest_node_name(&built, Some(no_hostname), "cp-2"),
            Ok(())
        );
        let mut bare = built.clone();
        bare["spec"]["template"]["spec"]["volumes"][1]["cloudInitNoCloud"]
            .as_object_mut()
            .expect("source")
            .remove("networkDataSecretRef");
        let why = manifest_node_name(&bare, Some(no_hostname), "cp-2").expect_err("talos-xxx-yyy");
        assert!(why.contains("talos-xxx-yyy"), "{why}");
        let named = "version: v1alpha1\nmachine: {type: controlplane, network: {hostname: cp-2}}\n";
        assert_eq!(manifest_node_name(&bare, Some(named), "cp-2"), Ok(()));
        assert!(manifest_node_name(&bare, Some(named), "cp-3").is_err());
        assert_eq!(manifest_userdata_secret(&built), Some("cp-2-userdata"));
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
        assert!(check_node_name(&step, "t", "version: v1alpha1\n", "cp-2").is_err());
        let error = check_user_data(&step, "t", "#cloud-config\nusers: []\n").expect_err("refused");
        assert!(error.to_string().contains("Talos ignores"));
        assert!(check_user_data(&step, "t", "  \n").is_err());
    }
}
