//! KubeVirt on Harvester (virt-controller + virt-handler) and the Platform
//! join: a VirtualMachine whose run strategy asks it to run gets a
//! VirtualMachineInstance and reports `printableStatus: Running`; then the
//! guest (Talos) joins the Platform cluster as a Ready control-plane Node.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
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
    let node = shared
        .harvester_nodes
        .lock()
        .await
        .first
        .clone()
        .unwrap_or_default();
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
    shared.record("kubevirt", "vmi.phase", &key(&vm), "Running");
    patch_status(
        &vms,
        &vm_name,
        json!({ "printableStatus": "Running", "created": true, "ready": true, "conditions": ready_condition() }),
    )
    .await?;
    shared.record("kubevirt", "vm.status", &key(&vm), "Running");

    let hostname = template["spec"]["hostname"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| vm_name.clone());
    join_platform(shared, &vm_name, &hostname).await
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
        return Ok(());
    }
    tokio::time::sleep(shared.scenario.scaled(shared.scenario.platform.join)).await;
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
    shared.record(
        "platform",
        "node.registered",
        hostname,
        format!("from vm {vm}"),
    );
    tokio::time::sleep(shared.scenario.scaled(shared.scenario.platform.node_ready)).await;
    crate::harvester::set_node_ready(&nodes, hostname).await?;
    shared.record("platform", "node.ready", hostname, "control-plane");
    Ok(())
}
