//! Hand-made lab objects for cluster tests: what genesis (or an operator)
//! would write for one MS-02 machine. Field names follow `shared/crds`.

use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use serde_json::{Value, json};

/// Namespace the Tinkerbell objects live in.
pub const TINK_NAMESPACE: &str = "tink-system";

pub fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub fn machine_resource() -> ApiResource {
    resource("bmc.tinkerbell.org", "v1alpha1", "Machine", "machines")
}
pub fn hardware_resource() -> ApiResource {
    resource("tinkerbell.org", "v1alpha1", "Hardware", "hardware")
}
pub fn template_resource() -> ApiResource {
    resource("tinkerbell.org", "v1alpha1", "Template", "templates")
}
pub fn workflow_resource() -> ApiResource {
    resource("tinkerbell.org", "v1alpha1", "Workflow", "workflows")
}
pub fn job_resource() -> ApiResource {
    resource("bmc.tinkerbell.org", "v1alpha1", "Job", "jobs")
}
pub fn virtual_machine_resource() -> ApiResource {
    resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines")
}

/// A DynamicObject of `resource` named `name` in `namespace` with `body` (spec etc.).
pub fn object(resource: &ApiResource, namespace: &str, name: &str, body: Value) -> DynamicObject {
    let mut object = DynamicObject::new(name, resource).within(namespace);
    object.data = body;
    object
}

/// The MAC of machine number `index` (1-based).
pub fn mac(index: usize) -> String {
    format!("aa:bb:cc:dd:ee:{index:02x}")
}

pub fn machine(name: &str, index: usize) -> DynamicObject {
    object(
        &machine_resource(),
        TINK_NAMESPACE,
        name,
        json!({ "spec": { "connection": {
            "host": format!("10.0.0.{}", 20 + index), "port": 16992, "insecureTLS": true,
            "authSecretRef": { "name": format!("{name}-bmc"), "namespace": TINK_NAMESPACE },
            "providerOptions": { "preferredOrder": ["intelAMT"], "intelAMT": { "port": 16992, "hostScheme": "http" } },
        }}}),
    )
}

pub fn hardware(name: &str, index: usize) -> DynamicObject {
    object(
        &hardware_resource(),
        TINK_NAMESPACE,
        name,
        json!({ "spec": {
            "bmcRef": { "apiGroup": "bmc.tinkerbell.org", "kind": "Machine", "name": name },
            "disks": [{ "device": "/dev/nvme0n1" }],
            "userData": "scheme_version: 1\ninstall:\n  mode: create\n",
            "interfaces": [{
                "dhcp": {
                    "mac": mac(index), "hostname": name, "arch": "x86_64", "uefi": true, "lease_time": 86400,
                    "ip": { "address": format!("10.0.0.{}", 10 + index), "netmask": "255.255.255.0", "gateway": "10.0.0.1" },
                },
                "netboot": { "allowPXE": true, "allowWorkflow": true },
            }],
        }}),
    )
}

/// Harvester's stream-mode install template (shape of harvester/seeder's).
pub const INSTALL_TEMPLATE: &str = r#"version: "0.1"
name: harvester-install
global_timeout: 9800
tasks:
  - name: os-installation
    worker: "{{.device_1}}"
    volumes:
      - /dev:/dev
    actions:
      - name: stream-harvester
        image: quay.io/tinkerbell/actions/image2disk:latest
        timeout: 9600
        environment:
          IMG_URL: http://10.0.0.5:8080/harvester/v1.7.0/harvester-v1.7.0-amd64.raw.gz
          DEST_DISK: /dev/nvme0n1
          COMPRESSED: "true"
      - name: configure-harvester
        image: quay.io/tinkerbell/actions/writefile:latest
        timeout: 90
      - name: reboot-harvester
        image: ghcr.io/jacobweinstock/waitdaemon:latest
        timeout: 90
        pid: host
        command: ["reboot"]
"#;

pub fn template(name: &str) -> DynamicObject {
    object(
        &template_resource(),
        TINK_NAMESPACE,
        name,
        json!({ "spec": { "data": INSTALL_TEMPLATE } }),
    )
}

pub fn workflow(name: &str, hardware: &str, template: &str, index: usize) -> DynamicObject {
    object(
        &workflow_resource(),
        TINK_NAMESPACE,
        name,
        json!({ "spec": {
            "templateRef": template,
            "hardwareRef": hardware,
            "hardwareMap": { "device_1": mac(index) },
            "bootOptions": { "bootMode": "netboot", "toggleAllowNetboot": true },
        }}),
    )
}

/// A Talos control-plane VM as genesis writes it to Harvester.
pub fn virtual_machine(name: &str, namespace: &str) -> DynamicObject {
    object(
        &virtual_machine_resource(),
        namespace,
        name,
        json!({ "spec": {
            "runStrategy": "Always",
            "template": {
                "metadata": { "labels": { "harvesterhci.io/vmName": name } },
                "spec": {
                    "hostname": name,
                    "domain": {
                        "cpu": { "cores": 4 },
                        "memory": { "guest": "8Gi" },
                        "devices": {
                            "disks": [{ "name": "root", "bootOrder": 1, "disk": { "bus": "virtio" } },
                                      { "name": "cidata", "disk": { "bus": "virtio" } }],
                            "interfaces": [{ "name": "lan", "bridge": {} }],
                        },
                    },
                    "networks": [{ "name": "lan", "multus": { "networkName": "default/vlan10" } }],
                    "volumes": [
                        { "name": "root", "persistentVolumeClaim": { "claimName": format!("{name}-root") } },
                        { "name": "cidata", "cloudInitNoCloud": { "secretRef": { "name": format!("{name}-talos") },
                          "networkData": "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n" } },
                    ],
                },
            },
        }}),
    )
}

/// Field manager of objects the tests write.
pub const FIELD_MANAGER: &str = "genesis-testworld";

/// Server-side applies `object` (of `resource`) with strict field
/// validation, as genesis writes.
pub async fn apply_strict(
    client: &kube::Client,
    resource: &ApiResource,
    object: &DynamicObject,
) -> Result<DynamicObject, kube::Error> {
    let namespace = object.metadata.namespace.as_deref().unwrap_or("default");
    let name = object.metadata.name.as_deref().unwrap_or_default();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let params = PatchParams::apply(FIELD_MANAGER).validation_strict();
    api.patch(name, &params, &Patch::Apply(object)).await
}

/// Creates `object` (of `resource`) by POST with `fieldValidation=Strict`:
/// the server rejects unknown and duplicate fields instead of dropping them.
pub async fn create_strict(
    client: &kube::Client,
    resource: &ApiResource,
    object: &DynamicObject,
) -> Result<DynamicObject, kube::Error> {
    create_with_validation(client, resource, object, "Strict").await
}

/// Creates `object` by POST with the given `fieldValidation` (Strict, Warn, Ignore).
pub async fn create_with_validation(
    client: &kube::Client,
    resource: &ApiResource,
    object: &DynamicObject,
    validation: &str,
) -> Result<DynamicObject, kube::Error> {
    use kube::Resource;
    let url = DynamicObject::url_path(resource, object.metadata.namespace.as_deref());
    let body = serde_json::to_vec(object).map_err(kube::Error::SerdeError)?;
    let request = http::Request::post(format!("{url}?fieldValidation={validation}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(kube::Error::HttpError)?;
    client.request::<DynamicObject>(request).await
}

/// Creates a namespace (no error if it exists).
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<Namespace> = Api::all(client.clone());
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &namespace).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
}

/// Waits (watch-based) until the Workflow's `status.state` is one of `states`; returns it.
pub async fn wait_workflow_state(
    client: &kube::Client,
    name: &str,
    states: &[&str],
    timeout: std::time::Duration,
) -> Result<DynamicObject, String> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), TINK_NAMESPACE, &workflow_resource());
    let wanted: Vec<String> = states.iter().map(|s| s.to_string()).collect();
    let condition = move |wf: Option<&DynamicObject>| {
        wf.and_then(|wf| wf.data["status"]["state"].as_str())
            .is_some_and(|state| wanted.iter().any(|w| w == state))
    };
    let found = tokio::time::timeout(
        timeout,
        kube::runtime::wait::await_condition(api, name, condition),
    )
    .await
    .map_err(|_| format!("workflow {name} not in {states:?} within {timeout:?}"))?
    .map_err(|e| format!("watch workflow {name}: {e}"))?;
    found.ok_or_else(|| format!("workflow {name} vanished"))
}

/// Waits (watch-based) until Node `name` exists and `Ready=True`.
pub async fn wait_node_ready(
    client: &kube::Client,
    name: &str,
    timeout: std::time::Duration,
) -> Result<k8s_openapi::api::core::v1::Node, String> {
    use k8s_openapi::api::core::v1::Node;
    let api: Api<Node> = Api::all(client.clone());
    let ready = |node: Option<&Node>| {
        node.and_then(|n| n.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let found = tokio::time::timeout(
        timeout,
        kube::runtime::wait::await_condition(api, name, ready),
    )
    .await
    .map_err(|_| format!("node {name} not Ready within {timeout:?}"))?
    .map_err(|e| format!("watch node {name}: {e}"))?;
    found.ok_or_else(|| format!("node {name} vanished"))
}

/// Applies Machine, Hardware and Workflow for machine `name` (number `index`).
pub async fn apply_machine(
    client: &kube::Client,
    name: &str,
    index: usize,
    template: &str,
) -> Result<(), kube::Error> {
    apply_strict(client, &machine_resource(), &machine(name, index)).await?;
    apply_strict(client, &hardware_resource(), &hardware(name, index)).await?;
    apply_strict(
        client,
        &workflow_resource(),
        &workflow(name, name, template, index),
    )
    .await?;
    Ok(())
}
