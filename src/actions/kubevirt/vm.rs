//! `kubevirt.vm` (step 16): a KubeVirt `VirtualMachine` on Harvester, waited for until it
//! runs.
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
//! An operator who keeps the VMs in a GitOps repository passes them instead as `manifest:
//! {file: <path relative to the phases directory>}`, one VM or a YAML stream of all of them;
//! genesis then applies the VM named like the step's unchanged (after checking its kind, name
//! and namespace) and waits for it the same way.

mod manifest;

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use kube::api::{Api, DynamicObject};
use serde::Deserialize;
use serde_json::{Value, json};

use self::manifest::{checked_manifest, manifest_node_name, manifest_userdata_secret};
use super::*;
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::harvester::{
    HarvesterAccess, MANAGED_BY, image_resource, params, plan_apply, qualified,
};
use crate::actions::watch::{self, Check};
use crate::clients::kube::apply::{Change, Object};
use crate::clients::kube::classify;

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
    fn object(&self, body: Value) -> Object {
        Object::namespaced(
            vm_resource(),
            &self.namespace,
            &self.name,
            body,
            "VirtualMachine",
        )
    }

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
            let vm = checked_manifest(&params.namespace, &params.name, step, manifest)?;
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
                        "step `{}`: the VM manifest would not join as Node `{}`, which the `kube.node-joined` step waits for: {why}",
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
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: VmParams = params(step)?;
            let Some(client) = self.harvester.plan_client(&context.needs).await? else {
                return Ok(self.harvester.needs_kubeconfig(&format!(
                    "apply VirtualMachine {}/{} and wait until it runs",
                    params.namespace, params.name
                )));
            };
            let Some(body) = Self::body(&client, step, &params).await? else {
                return Ok(PlanOutcome::DependsOnEarlier {
                    what: format!(
                        "the StorageClass of image {} that Harvester sets once the `harvester.vm-image` step imported it; then apply VirtualMachine {}/{}",
                        params.image, params.namespace, params.name
                    ),
                });
            };
            let source = if params.manifest.is_some() {
                " (from the operator's manifest)"
            } else {
                ""
            };
            let (change, outcome) = plan_apply(&client, &params.object(body)).await?;
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

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: VmParams = params(step)?;
            let client = self.harvester.client(step, context.needs()).await?;
            let body = Self::body(&client, step, &params).await?.ok_or_else(|| {
                ActionError::new(
                    ErrorKind::NotFound,
                    format!(
                        "image {} has no StorageClass: Harvester sets it when it imports the image, which the `harvester.vm-image` step waits for; run that step first",
                        params.image
                    ),
                )
            })?;
            params.object(body).apply(&client, context).await?;
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

/// `kubevirt.vm`: a KubeVirt VirtualMachine, running.
/// The VirtualMachine the step applies (on the harvester cluster).
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    match (text(p, "namespace"), text(p, "name")) {
        (Some(namespace), Some(name)) => {
            vec![OwnedObject::named(
                Cluster::Harvester,
                super::vm_resource(),
                namespace,
                name,
            )]
        }
        _ => Vec::new(),
    }
}

pub(crate) const KIND: Definition = Definition {
    name: "kubevirt.vm",
    summary: "a KubeVirt VirtualMachine, running",
    target: Target::Harvester,
    preview: Preview::Apply,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<VmParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("name", NameRule::Object),
        ("network", NameRule::ObjectRef),
        ("image", NameRule::ObjectRef),
    ],
    describe: |p| {
        if p.0.get("manifest").is_some() {
            return vec![
                format!(
                    "apply VirtualMachine {}/{} from the operator's manifest",
                    p.text("namespace"),
                    p.text("name")
                ),
                "wait until the VM runs and reports ready".to_owned(),
            ];
        }
        vec![
            format!(
                "apply VirtualMachine {}/{}: {} cores, {} memory, {} root disk from image {}, NIC {} on network {}, runStrategy Always, never on a host with another control-plane VM, live-migrated on drain",
                p.text("namespace"),
                p.text("name"),
                p.text("cpu_cores"),
                p.text("memory"),
                p.text("disk"),
                p.text("image"),
                p.text("mac"),
                p.text("network")
            ),
            "wait until the VM runs and reports ready".to_owned(),
        ]
    },
    build: Build::Remote(|clusters| Arc::new(VirtualMachine::new(Arc::clone(&clusters.harvester)))),
};

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

    fn checked_with(params: &VmParams, step: &StepSpec, text: &str) -> Result<Value, ActionError> {
        checked_manifest(&params.namespace, &params.name, step, text)
    }

    #[test]
    fn a_manifest_must_be_this_steps_vm() {
        let step = test_step("kubevirt.vm", json!({}));
        let good = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: cp-2\n  resourceVersion: \"7\"\nspec:\n  runStrategy: Always\nstatus:\n  ready: true\n";
        let vm = checked_with(&params(Some(good)), &step, good).expect("accepted");
        assert_eq!(vm["metadata"]["namespace"], "default");
        assert!(vm.get("status").is_none() && vm["metadata"].get("resourceVersion").is_none());
        let stream = format!(
            "{}---\n{good}---\n",
            good.replace("name: cp-2", "name: cp-3")
        );
        let picked = checked_with(&params(Some(&stream)), &step, &stream)
            .expect("cp-2 picked from the stream");
        assert_eq!(picked["metadata"]["name"], "cp-2");
        let twice = format!("{good}---\n{good}");
        assert!(checked_with(&params(None), &step, &twice).is_err());
        for bad in [
            good.replace("name: cp-2", "name: cp-3"),
            good.replace("kind: VirtualMachine", "kind: VirtualMachineInstance"),
            good.replace("metadata:\n", "metadata:\n  namespace: other\n"),
            "::: not yaml".to_owned(),
        ] {
            let error = checked_with(&params(Some(&bad)), &step, &bad).expect_err("refused");
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
}
