//! `kubevirt.vm` with the operator's own VM manifest (`manifest: {file: …}`): which VM of the
//! file is this step's, what is checked before it is applied, and whether Talos in it will
//! name its node like the VM.

use genesis_engine::{ActionError, ErrorKind, StepSpec};
use serde_json::{Value, json};

use crate::actions::kubevirt::{NETWORKDATA_KEY, userdata_secret_name};

/// This step's VirtualMachine (`namespace`/`name`) from the operator's manifest: one object, or
/// a YAML stream (`---`-separated) holding every VM, from which the one named like this step's
/// is taken.
pub(super) fn checked_manifest(
    namespace: &str,
    name: &str,
    step: &StepSpec,
    text: &str,
) -> Result<Value, ActionError> {
    let bad = |what: String| {
        ActionError::new(
            ErrorKind::InvalidParams,
            format!("step `{}`: the VM manifest {what}", step.id),
        )
    };
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|error| bad(format!("is not YAML ({error})")))?;
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
    let mut matching = vms.iter().filter(|document| name_of(document) == name);
    let mut manifest = match (matching.next(), matching.next()) {
        (Some(vm), None) => (*vm).clone(),
        (Some(_), Some(_)) => {
            return Err(bad(format!("holds VirtualMachine `{}` twice", name)));
        }
        (None, _) => {
            return Err(bad(format!(
                "holds no VirtualMachine named `{}` (it has: {}); metadata.name must match the lab's VM",
                name,
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
            metadata.insert("namespace".to_owned(), json!(namespace));
        }
        Some(theirs) if theirs == namespace => {}
        Some(theirs) => {
            return Err(bad(format!(
                "is in namespace `{theirs}`, the lab puts the VM in `{namespace}`"
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

/// The `cloudInitNoCloud` source of a VM's template, if any.
fn nocloud(vm: &Value) -> Option<&Value> {
    vm.pointer("/spec/template/spec/volumes")?
        .as_array()?
        .iter()
        .find_map(|volume| volume.get("cloudInitNoCloud"))
}

/// The Secret an operator's VM reads its NoCloud user data from (`secretRef`, KubeVirt's
/// `userDataSecretRef`).
pub(super) fn manifest_userdata_secret(vm: &Value) -> Option<&str> {
    nocloud(vm)?.pointer("/secretRef/name")?.as_str()
}

/// Whether Talos in the operator's VM will name its node `name` (what the `kube.node-joined` step waits for), given
/// the machine config it boots with. KubeVirt writes the VMI's `hostname` (else its name) as
/// `local-hostname` (kubevirt `pkg/cloud-init/cloud-init.go`); Talos applies it only with network
/// data (talos `platform/nocloud/nocloud.go`), and a hostname in the machine config wins.
pub(super) fn manifest_node_name(
    vm: &Value,
    user_data: Option<&str>,
    name: &str,
) -> Result<(), String> {
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
            "its cloudInitNoCloud volume has no network data, so Talos ignores the meta-data hostname and names the node talos-xxx-yyy; add `networkDataSecretRef: {{name: {}}}` (the `kubevirt.userdata-secret` step writes `{NETWORKDATA_KEY}` there) or set the hostname in the machine config",
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
