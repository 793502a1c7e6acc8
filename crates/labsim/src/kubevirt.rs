//! KubeVirt on Harvester (virt-controller + virt-handler), the scheduler's placement and the
//! Platform join: a VirtualMachine whose run strategy asks it to run gets a
//! VirtualMachineInstance, placed on a Harvester node that its required pod anti-affinity on
//! `kubernetes.io/hostname` allows (else it stays unschedulable, `ErrorUnschedulable`), and
//! reports `printableStatus: Running`; then the guest (Talos) joins the Platform cluster as a
//! Ready control-plane Node.
//!
//! The Node's name follows Talos's hostname layers (docs/testworld.md): a hostname in the
//! machine config (`machine.network.hostname`, a `HostnameConfig` document) first; else the
//! NoCloud meta-data hostname (the VMI's `hostname`, else its name) when NoCloud network data is
//! present; else a Talos-made `talos-xxx-yyy`. A VM whose root disk comes from an image that was
//! a compressed file (stored as it came) never boots its guest.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::resources::{self, namespaced};
use crate::util::{key, log_error, name, now_rfc3339, patch_status, uid, watch_objects};
use crate::{Error, Fault, Shared};

pub async fn run_virtual_machines(shared: Arc<Shared>) {
    let api = resources::all(&shared.world.harvester, &resources::virtual_machine());
    let handler = shared.clone();
    watch_objects("kubevirt virtualmachines", api, move |vm: DynamicObject| {
        let printable = vm.data["status"]["printableStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if wants_running(&vm.data["spec"]) {
            if printable != "Running" && handler.claim("vm-run", &uid(&vm)) {
                let shared = handler.clone();
                handler.spawn(async move { log_error("kubevirt vm", start(&shared, vm).await) });
            }
        } else if printable.is_empty() && handler.claim("vm-stopped", &uid(&vm)) {
            let shared = handler.clone();
            handler.spawn(async move { log_error("kubevirt vm", stopped(&shared, vm).await) });
        }
    })
    .await;
}

/// KubeVirt's run strategies that start a VM (and the deprecated `running`).
fn wants_running(spec: &Value) -> bool {
    match spec["runStrategy"].as_str() {
        Some(strategy) => matches!(strategy, "Always" | "RerunOnFailure" | "Once"),
        None => spec["running"].as_bool() == Some(true),
    }
}

async fn stopped(shared: &Shared, vm: DynamicObject) -> Result<(), Error> {
    let api = namespaced(
        &shared.world.harvester,
        vm.metadata.namespace.as_deref().unwrap_or(""),
        &resources::virtual_machine(),
    );
    patch_status(
        &api,
        &name(&vm),
        json!({ "printableStatus": "Stopped", "created": false, "ready": false }),
    )
    .await?;
    shared.record("kubevirt", "vm.status", &key(&vm), "Stopped");
    Ok(())
}

fn ready_condition() -> Value {
    json!([{ "type": "Ready", "status": "True", "lastTransitionTime": now_rfc3339() }])
}

async fn start(shared: &Arc<Shared>, vm: DynamicObject) -> Result<(), Error> {
    let namespace = vm.metadata.namespace.clone().unwrap_or_default();
    let vm_name = name(&vm);
    let vms = namespaced(
        &shared.world.harvester,
        &namespace,
        &resources::virtual_machine(),
    );
    let vmis = namespaced(
        &shared.world.harvester,
        &namespace,
        &resources::virtual_machine_instance(),
    );
    patch_status(
        &vms,
        &vm_name,
        json!({ "printableStatus": "Starting", "created": false, "ready": false }),
    )
    .await?;
    shared.record("kubevirt", "vm.status", &key(&vm), "Starting");

    let template = &vm.data["spec"]["template"];
    let labels: Option<BTreeMap<String, String>> =
        serde_json::from_value(template["metadata"]["labels"].clone()).ok();
    let mut vmi =
        DynamicObject::new(&vm_name, &resources::virtual_machine_instance()).within(&namespace);
    vmi.metadata = ObjectMeta {
        name: Some(vm_name.clone()),
        namespace: Some(namespace.clone()),
        labels,
        owner_references: Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "kubevirt.io/v1".into(),
                kind: "VirtualMachine".into(),
                name: vm_name.clone(),
                uid: uid(&vm),
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
        ]),
        ..ObjectMeta::default()
    };
    vmi.data = json!({ "spec": template["spec"].clone(), "status": { "phase": "Scheduling" } });
    // An instance left by a deleted VirtualMachine of the same name (a VM deleted and made
    // again): KubeVirt's VM controller deletes a VM's instance with it, and the test world runs
    // no garbage collector, so the simulator removes it here.
    if let Ok(Some(old)) = vmis.get_opt(&vm_name).await
        && old
            .metadata
            .owner_references
            .as_ref()
            .is_some_and(|owners| owners.iter().all(|owner| owner.uid != uid(&vm)))
    {
        match vmis
            .delete(&vm_name, &kube::api::DeleteParams::background())
            .await
        {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(source) => {
                return Err(Error::Kube {
                    context: format!("delete old vmi {namespace}/{vm_name}"),
                    source,
                });
            }
        }
        shared.record("kubevirt", "vmi.old_deleted", &key(&vm), "of a deleted VM");
    }
    match retry_transient!(vmis.create(&PostParams::default(), &vmi)) {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(source) => {
            return Err(Error::Kube {
                context: format!("create vmi {namespace}/{vm_name}"),
                source,
            });
        }
    }
    shared.record("kubevirt", "vmi.phase", &key(&vm), "Scheduling");

    tokio::time::sleep(shared.scenario.scaled(shared.scenario.kubevirt.vm_start)).await;
    // One placement at a time, as the scheduler binds one pod at a time.
    let placing = PLACEMENT.lock().await;
    let node = match place(shared, &namespace, &vm_name, template).await? {
        Ok(node) => node,
        Err(why) => {
            drop(placing);
            return unschedulable(shared, &vm, &vms, &vmis, &why).await;
        }
    };
    // VirtualMachineInstance has no status subresource: its status is patched on the object.
    let vmi_status = json!({ "status": {
        "phase": "Running", "nodeName": node, "conditions": ready_condition(),
        "phaseTransitionTimestamps": [{ "phase": "Running", "phaseTransitionTimestamp": now_rfc3339() }],
    }});
    retry_transient!(vmis.patch(
        &vm_name,
        &PatchParams::default(),
        &Patch::Merge(&vmi_status)
    ))
    .map_err(|source| Error::Kube {
        context: format!("set vmi {namespace}/{vm_name} running"),
        source,
    })?;
    drop(placing);
    shared.record("kubevirt", "vmi.phase", &key(&vm), "Running");
    shared.record("kubevirt", "vmi.node", &key(&vm), &node);
    patch_status(
        &vms,
        &vm_name,
        json!({ "printableStatus": "Running", "created": true, "ready": true, "conditions": ready_condition() }),
    )
    .await?;
    shared.record("kubevirt", "vm.status", &key(&vm), "Running");

    if let Some(url) = compressed_root_image(shared, &namespace, &vm).await? {
        shared.record(
            "kubevirt",
            "guest.no_bootable_disk",
            &key(&vm),
            format!("the root disk holds the compressed file {url} as it came; the guest finds nothing to boot"),
        );
        return Ok(());
    }
    let hostname = talos_node_name(shared, &namespace, &vm).await?;
    join_platform(shared, &vm_name, &hostname).await
}

/// Serializes placements across the simulator's VMs.
static PLACEMENT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether a label selector (`matchLabels`, `matchExpressions` with In/NotIn/Exists/
/// DoesNotExist) selects `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let matches_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key) == value.as_str());
    let matches_expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let key = expression["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = expression["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match expression["operator"].as_str() {
                Some("In") => label(key).is_some_and(|value| values.contains(&value)),
                Some("NotIn") => !label(key).is_some_and(|value| values.contains(&value)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        });
    matches_labels && matches_expressions
}

/// The pod anti-affinity terms on `kubernetes.io/hostname`: required ones, then preferred ones.
fn anti_affinity(template: &Value) -> (Vec<Value>, Vec<Value>) {
    let anti = &template["spec"]["affinity"]["podAntiAffinity"];
    let on_hostname = |term: &Value| term["topologyKey"].as_str() == Some("kubernetes.io/hostname");
    let required = anti["requiredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|term| on_hostname(term))
        .map(|term| term["labelSelector"].clone())
        .collect();
    let preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|weighted| &weighted["podAffinityTerm"])
        .filter(|term| on_hostname(term))
        .map(|term| term["labelSelector"].clone())
        .collect();
    (required, preferred)
}

/// The Ready Harvester Nodes, as the scheduler sees them: by name, the cluster's first node
/// first.
async fn ready_harvester_nodes(shared: &Shared) -> Result<Vec<String>, Error> {
    let nodes: Api<Node> = Api::all(shared.world.harvester.clone());
    let list =
        retry_transient!(nodes.list(&ListParams::default())).map_err(|source| Error::Kube {
            context: "list harvester nodes".into(),
            source,
        })?;
    let mut ready: Vec<String> = list
        .items
        .into_iter()
        .filter(|node| {
            node.status
                .as_ref()
                .and_then(|status| status.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                })
        })
        .filter_map(|node| node.metadata.name)
        .collect();
    ready.sort();
    if let Some(first) = shared.harvester_nodes.lock().await.first.clone()
        && let Some(position) = ready.iter().position(|node| *node == first)
    {
        let first = ready.remove(position);
        ready.insert(0, first);
    }
    Ok(ready)
}

/// The Harvester node the VMI goes to, as the scheduler would pick it for its virt-launcher pod
/// (which carries the VMI's labels): the Ready nodes, without
/// those a required anti-affinity term excludes, those a preferred term avoids last. Without
/// any anti-affinity every VMI goes to the first node. `Err` says why none fits.
async fn place(
    shared: &Shared,
    namespace: &str,
    vm_name: &str,
    template: &Value,
) -> Result<Result<String, String>, Error> {
    let candidates = ready_harvester_nodes(shared).await?;
    let (required, preferred) = anti_affinity(template);
    if required.is_empty() && preferred.is_empty() {
        // Without constraints (and, in worlds that play no Harvester install, without Nodes)
        // the VMI runs on the first node, or on none named.
        return Ok(Ok(candidates.first().cloned().unwrap_or_default()));
    }
    let vmis = resources::all(
        &shared.world.harvester,
        &resources::virtual_machine_instance(),
    );
    let running =
        retry_transient!(vmis.list(&ListParams::default())).map_err(|source| Error::Kube {
            context: "list vmis".into(),
            source,
        })?;
    // Pods already on each node (their labels), this VMI left out.
    let mut on_node: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for vmi in running.items {
        let this = vmi.metadata.namespace.as_deref() == Some(namespace) && name(&vmi) == vm_name;
        if let (false, Some(node)) = (this, vmi.data["status"]["nodeName"].as_str()) {
            let labels = serde_json::to_value(vmi.metadata.labels.clone().unwrap_or_default())
                .unwrap_or_default();
            on_node.entry(node.to_owned()).or_default().push(labels);
        }
    }
    let conflicts = |node: &String, terms: &[Value]| {
        on_node
            .get(node)
            .into_iter()
            .flatten()
            .any(|labels| terms.iter().any(|selector| selects(selector, labels)))
    };
    let allowed: Vec<&String> = candidates
        .iter()
        .filter(|node| !conflicts(node, &required))
        .collect();
    let chosen = allowed
        .iter()
        .find(|node| !conflicts(node, &preferred))
        .or(allowed.first());
    Ok(match chosen {
        Some(node) => Ok((*node).clone()),
        None => Err(format!(
            "0/{} nodes are available: {} node(s) didn't match pod anti-affinity rules",
            candidates.len(),
            candidates.len()
        )),
    })
}

/// No node fits: the VMI stays Scheduling and the VM says why, as KubeVirt reports an
/// unschedulable launcher pod.
async fn unschedulable(
    shared: &Shared,
    vm: &DynamicObject,
    vms: &Api<DynamicObject>,
    vmis: &Api<DynamicObject>,
    why: &str,
) -> Result<(), Error> {
    let vm_name = name(vm);
    let status = json!({ "status": { "phase": "Scheduling", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why,
        "lastTransitionTime": now_rfc3339() }] } });
    retry_transient!(vmis.patch(&vm_name, &PatchParams::default(), &Patch::Merge(&status)))
        .map_err(|source| Error::Kube {
            context: format!("set vmi {vm_name} unschedulable"),
            source,
        })?;
    patch_status(
        vms,
        &vm_name,
        json!({ "printableStatus": "ErrorUnschedulable", "created": true, "ready": false,
                "conditions": [{ "type": "Ready", "status": "False", "reason": "Unschedulable",
                                 "message": why, "lastTransitionTime": now_rfc3339() }] }),
    )
    .await?;
    shared.record("kubevirt", "vmi.unschedulable", &key(vm), why);
    Ok(())
}

/// The `cloudInitNoCloud` source of the VM's template.
fn nocloud(vm: &DynamicObject) -> Option<&Value> {
    vm.data["spec"]["template"]["spec"]["volumes"]
        .as_array()?
        .iter()
        .find_map(|volume| volume.get("cloudInitNoCloud"))
}

/// A key of a Secret, as text.
async fn secret_key(
    shared: &Shared,
    namespace: &str,
    secret: &str,
    keys: &[&str],
) -> Result<Option<String>, Error> {
    let api: Api<Secret> = Api::namespaced(shared.world.harvester.clone(), namespace);
    let found = retry_transient!(api.get_opt(secret)).map_err(|source| Error::Kube {
        context: format!("read secret {namespace}/{secret}"),
        source,
    })?;
    Ok(found.and_then(|secret| secret.data).and_then(|data| {
        keys.iter()
            .find_map(|key| data.get(*key))
            .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
    }))
}

/// The NoCloud user data and network data KubeVirt would write on the cidata disk (kubevirt
/// `pkg/cloud-init/cloud-init.go`: `secretRef`/`networkDataSecretRef` read keys
/// `userdata`/`userData` and `networkdata`/`networkData`; inline `userData`/`networkData`
/// otherwise; `network-config` is written only when the network data is not empty).
async fn nocloud_data(
    shared: &Shared,
    namespace: &str,
    vm: &DynamicObject,
) -> Result<(Option<String>, Option<String>), Error> {
    let Some(source) = nocloud(vm) else {
        return Ok((None, None));
    };
    let inline = |key: &str| source[key].as_str().map(str::to_owned);
    let user_data = match source["secretRef"]["name"].as_str() {
        Some(secret) => secret_key(shared, namespace, secret, &["userdata", "userData"]).await?,
        None => inline("userData"),
    };
    let network_data = match source["networkDataSecretRef"]["name"].as_str() {
        Some(secret) => {
            secret_key(shared, namespace, secret, &["networkdata", "networkData"]).await?
        }
        None => inline("networkData"),
    };
    Ok((
        user_data,
        network_data.filter(|data| !data.trim().is_empty()),
    ))
}

/// A hostname the machine config sets itself (Talos's machine-configuration layer).
fn config_hostname(user_data: &str) -> Option<String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(user_data).ok()?;
    let from_document = documents.iter().find_map(|document| {
        (document["kind"].as_str() == Some("HostnameConfig"))
            .then(|| document["hostname"].as_str())
            .flatten()
    });
    let from_v1alpha1 = documents
        .iter()
        .find_map(|document| document["machine"]["network"]["hostname"].as_str());
    from_document
        .or(from_v1alpha1)
        .map(|hostname| hostname.split('.').next().unwrap_or(hostname).to_owned())
}

/// The name the simulated Talos gives its Node (docs/testworld.md "Talos node names").
async fn talos_node_name(
    shared: &Shared,
    namespace: &str,
    vm: &DynamicObject,
) -> Result<String, Error> {
    let (user_data, network_data) = nocloud_data(shared, namespace, vm).await?;
    if let Some(hostname) = user_data.as_deref().and_then(config_hostname) {
        return Ok(hostname);
    }
    if network_data.is_some() {
        // KubeVirt's local-hostname: the VMI's hostname, else its name.
        return Ok(vm.data["spec"]["template"]["spec"]["hostname"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| name(vm)));
    }
    // No network data: Talos never applies the meta-data hostname and makes its own.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    uid(vm).hash(&mut hasher);
    let digest = format!("{:012x}", hasher.finish());
    let hostname = format!("talos-{}-{}", &digest[..3], &digest[3..6]);
    shared.record(
        "platform",
        "node.talos_hostname",
        &key(vm),
        format!(
            "no NoCloud network data: the meta-data hostname is ignored, the node is {hostname}"
        ),
    );
    Ok(hostname)
}

/// The URL of the image the VM's root disk is made from, when that file was compressed.
async fn compressed_root_image(
    shared: &Shared,
    namespace: &str,
    vm: &DynamicObject,
) -> Result<Option<String>, Error> {
    let annotation = vm
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get("harvesterhci.io/volumeClaimTemplates"));
    let Some(templates) = annotation.and_then(|text| serde_json::from_str::<Value>(text).ok())
    else {
        return Ok(None);
    };
    for template in templates.as_array().into_iter().flatten() {
        let Some(image_id) =
            template["metadata"]["annotations"]["harvesterhci.io/imageId"].as_str()
        else {
            continue;
        };
        let (image_namespace, image_name) =
            image_id.split_once('/').unwrap_or((namespace, image_id));
        let images = resources::namespaced(
            &shared.world.harvester,
            image_namespace,
            &resources::virtual_machine_image(),
        );
        let image = retry_transient!(images.get_opt(image_name)).map_err(|source| Error::Kube {
            context: format!("read image {image_id}"),
            source,
        })?;
        if let Some(url) = image
            .as_ref()
            .and_then(|image| image.data["spec"]["url"].as_str())
            .filter(|url| crate::images::compressed(url))
        {
            return Ok(Some(url.to_owned()));
        }
    }
    Ok(None)
}

/// The guest boots Talos from its NoCloud config and joins the Platform cluster.
async fn join_platform(shared: &Shared, vm: &str, hostname: &str) -> Result<(), Error> {
    if shared.has_fault(|f| matches!(f, Fault::VmNeverJoins { vm: v } if v == vm)) {
        shared.record(
            "platform",
            "node.never_joins",
            hostname,
            "injected fault: the VM runs but never joins",
        );
        // Until the faults are lifted (a rehearsal's `--resume`): then it joins after all.
        shared.faults_lifted().await;
        shared.record("platform", "vm.mended", vm, "the fault was lifted");
    }
    tokio::time::sleep(shared.scenario.scaled(shared.scenario.platform.join)).await;
    create_platform_node(shared, hostname).await?;
    shared.record(
        "platform",
        "node.registered",
        hostname,
        format!("from vm {vm}"),
    );
    tokio::time::sleep(shared.scenario.scaled(shared.scenario.platform.node_ready)).await;
    let nodes: Api<Node> = Api::all(shared.world.platform.clone());
    crate::harvester::set_node_ready(&nodes, hostname).await?;
    shared.record("platform", "node.ready", hostname, "control-plane");
    Ok(())
}

/// A control-plane Node `hostname` on the Platform API, created once (Talos labels a
/// control-plane node with an empty value).
pub(crate) async fn create_platform_node(shared: &Shared, hostname: &str) -> Result<(), Error> {
    let nodes: Api<Node> = Api::all(shared.world.platform.clone());
    let labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), hostname.to_string()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), "amd64".to_string()),
        // Talos labels control-plane nodes with an empty value.
        (crate::harvester::CONTROL_PLANE.to_string(), String::new()),
    ]);
    let node = Node {
        metadata: ObjectMeta {
            name: Some(hostname.to_string()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Node::default()
    };
    match retry_transient!(nodes.create(&PostParams::default(), &node)) {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(source) => {
            return Err(Error::Kube {
                context: format!("create platform node {hostname}"),
                source,
            });
        }
    }
    Ok(())
}

/// A Ready control-plane Node `hostname` on the Platform API (the Platform's own node).
pub(crate) async fn register_platform_node(shared: &Shared, hostname: &str) -> Result<(), Error> {
    create_platform_node(shared, hostname).await?;
    let nodes: Api<Node> = Api::all(shared.world.platform.clone());
    crate::harvester::set_node_ready(&nodes, hostname).await?;
    shared.record(
        "platform",
        "node.ready",
        hostname,
        "control-plane (platform node)",
    );
    Ok(())
}
