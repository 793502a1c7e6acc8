//! Tinkerbell (`tinkerbell.org/v1alpha1`) on the Platform cluster: the Harvester install
//! `Template` (step 5), each machine's `Hardware` carrying its Harvester configuration (step 7),
//! and the install itself, a `Workflow` that netboots the machine through its BMC and streams
//! Harvester onto its disk (steps 8 and 10).

use std::sync::Arc;

use futures::StreamExt;
use genesis_engine::{
    ActionError, BoxFuture, ErrorKind, Outputs, PlanContext, PlanOutcome, RunContext, StepSpec,
};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::watcher::{self, Event};
use serde::Deserialize;
use serde_json::{Value, json};

use super::apply;
use super::platform::reachable::classify;
use super::support::{SecretRef, params, platform_client};
use crate::clients::kube::LazyClient;
use crate::secrets::Secrets;

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Label on Workflows: the machine they install.
const MACHINE_LABEL: &str = "genesis.dev/machine";
/// Label on Workflows: which install attempt of that machine (1, 2, …).
const ATTEMPT_LABEL: &str = "genesis.dev/attempt";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("tinkerbell.org", "v1alpha1", kind),
        plural,
    )
}

pub fn template_resource() -> ApiResource {
    resource("Template", "templates")
}

pub fn hardware_resource() -> ApiResource {
    resource("Hardware", "hardware")
}

pub fn workflow_resource() -> ApiResource {
    resource("Workflow", "workflows")
}

/// Plan half shared by the apply-one-object kinds. `hidden`: JSON pointers of secret fields.
async fn preview_one(
    lazy: &LazyClient,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    body: &Value,
    what: &str,
    hidden: &[&str],
) -> Result<PlanOutcome, ActionError> {
    let client = platform_client(lazy).await?;
    let preview =
        apply::preview_object(&client, resource, Some(namespace), name, body, what, hidden)
            .await
            .map_err(|error| {
                classify(error, format!("cannot preview {what} {namespace}/{name}"))
            })?;
    Ok(apply::outcome(&[preview]))
}

/// Run half shared by the apply-one-object kinds: intent, then apply.
async fn apply_one(
    lazy: &LazyClient,
    context: &RunContext,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    body: &Value,
    what: &str,
) -> Result<(), ActionError> {
    let client = platform_client(lazy).await?;
    apply::apply_journaled(
        &client,
        context,
        resource,
        Some(namespace),
        name,
        body,
        what,
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Step 5: the install Template.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateParams {
    namespace: String,
    name: String,
    harvester_version: String,
    pxe_base_url: String,
    /// `endpoints.pxe.artifacts`: the one with role `disk-image` is what the machines stream.
    artifacts: Vec<TemplateArtifact>,
    metadata_url: String,
    /// The template text, read from the phases directory by the loader.
    template: String,
    image2disk_image: String,
    configure_image: String,
    reboot_image: String,
}

/// One `endpoints.pxe.artifacts` entry, as far as the Template needs it.
#[derive(Debug, Deserialize)]
struct TemplateArtifact {
    role: String,
    file: String,
}

/// The artifact role of the Harvester raw disk image that image2disk streams.
pub const DISK_IMAGE_ROLE: &str = "disk-image";

/// How image2disk reads a disk image file: with `COMPRESSED=true` it picks the decompressor by
/// the URL's extension (tinkerbell/actions image2disk/image/image.go `findDecompressor`), and
/// refuses any other extension; with `COMPRESSED=false` it writes the bytes as they come.
/// `None`: a name image2disk cannot stream as a disk image.
pub fn disk_image_compressed(file: &str) -> Option<bool> {
    let extension = file.rsplit_once('.').map(|(_, extension)| extension)?;
    match extension.to_ascii_lowercase().as_str() {
        "gz" | "xz" | "zs" | "zst" | "bz2" | "bzip2" => Some(true),
        "raw" | "img" => Some(false),
        _ => None,
    }
}

/// The Go text/template actions the install Template may contain: each is rendered by
/// Tinkerbell's controller against the Workflow's `hardwareMap` and the Hardware
/// (tinkerbell/tinkerbell v0.25.0, tink/controller/internal/workflow/reconciler.go). Anything
/// else between double braces is a defect (see the test below and docs/actions.md).
pub const TEMPLATE_ACTIONS: &[&str] = &[
    // hardwareMap key that genesis's Workflow sets: the machine's PXE MAC.
    ".device_1",
    // The Hardware as a map of its JSON fields: the first disk's device path.
    "(index .hardware.spec.disks 0).device",
];

impl TemplateParams {
    /// The `disk-image` artifact's URL and whether image2disk must decompress it.
    fn disk_image(&self) -> Result<(String, bool), ActionError> {
        let artifact = self
            .artifacts
            .iter()
            .find(|artifact| artifact.role == DISK_IMAGE_ROLE)
            .ok_or_else(|| {
                ActionError::new(
                    ErrorKind::InvalidParams,
                    format!(
                        "endpoints.pxe.artifacts has no `{DISK_IMAGE_ROLE}`: the install Template streams the Harvester raw disk image named there"
                    ),
                )
            })?;
        let compressed = disk_image_compressed(&artifact.file).ok_or_else(|| {
            ActionError::new(
                ErrorKind::InvalidParams,
                format!(
                    "the {DISK_IMAGE_ROLE} `{}` ends in neither .raw/.img nor a compression image2disk reads (.gz, .xz, .zst, .bz2)",
                    artifact.file
                ),
            )
        })?;
        let url = format!(
            "{}/{}",
            self.pxe_base_url.trim_end_matches('/'),
            artifact.file.trim_start_matches('/')
        );
        Ok((url, compressed))
    }

    /// The template text with genesis's `${…}` filled in; Tinkerbell's `{{…}}` stay.
    fn rendered(&self) -> Result<String, ActionError> {
        let (disk_image_url, compressed) = self.disk_image()?;
        let text = [
            ("name", self.name.clone()),
            ("harvester_version", self.harvester_version.clone()),
            ("disk_image_url", disk_image_url),
            ("disk_image_compressed", compressed.to_string()),
            (
                "metadata_url",
                self.metadata_url.trim_end_matches('/').to_owned(),
            ),
            ("image2disk_image", self.image2disk_image.clone()),
            ("configure_image", self.configure_image.clone()),
            ("reboot_image", self.reboot_image.clone()),
        ]
        .iter()
        .fold(self.template.clone(), |text, (key, value)| {
            text.replace(&format!("${{{key}}}"), value)
        });
        Ok(text)
    }

    fn body(&self) -> Result<Value, ActionError> {
        Ok(json!({
            "apiVersion": "tinkerbell.org/v1alpha1",
            "kind": "Template",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": {MANAGED_BY: "genesis"}},
            "spec": {"data": self.rendered()?},
        }))
    }
}

/// The `tinkerbell.template` action.
#[derive(Debug)]
pub struct InstallTemplate {
    client: Arc<LazyClient>,
}

impl InstallTemplate {
    pub fn new(client: Arc<LazyClient>) -> Self {
        Self { client }
    }
}

impl genesis_engine::Action for InstallTemplate {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: TemplateParams = params(step)?;
            preview_one(
                &self.client,
                &template_resource(),
                &params.namespace,
                &params.name,
                &params.body()?,
                "Template",
                &[],
            )
            .await
        })
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let params: TemplateParams = params(step)?;
            apply_one(
                &self.client,
                context,
                &template_resource(),
                &params.namespace,
                &params.name,
                &params.body()?,
                "Template",
            )
            .await?;
            let mut outputs = Outputs::new();
            outputs.insert("template".to_owned(), params.name.clone().into());
            Ok(outputs)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Step 7: the Hardware, with the machine's Harvester configuration as user data.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HardwareParams {
    namespace: String,
    machine: String,
    role: String,
    mac: String,
    ip: String,
    netmask: String,
    gateway: Option<String>,
    #[serde(default = "yes")]
    uefi: bool,
    install_disk: String,
    data_disk: Option<String>,
    vip: String,
    #[serde(default)]
    dns_servers: Vec<String>,
    #[serde(default)]
    ntp_servers: Vec<String>,
    #[serde(default)]
    ssh_authorized_keys: Vec<String>,
    /// Extra names (DNS names or addresses) for the serving certificate of the Harvester API
    /// (RKE2's kube-apiserver), e.g. the hostname Argo CD reaches it by.
    #[serde(default)]
    tls_sans: Vec<String>,
    token: SecretRef,
    os_password: SecretRef,
}

/// The RKE2 config drop-in through which genesis adds `tls_sans` to the API certificate. RKE2
/// reads `/etc/rancher/rke2/config.yaml.d/*.yaml` in name order after `config.yaml`, and a key
/// ending in `+` appends to the value of the files before it (k3s-io/k3s
/// pkg/configfilearg/parser.go `readConfigFile`), so the VIP that harvester-installer writes as
/// `tls-san` in `90-harvester-server.yaml` stays.
pub const TLS_SAN_DROP_IN: &str = "/etc/rancher/rke2/config.yaml.d/95-genesis-tls-san.yaml";

fn yes() -> bool {
    true
}

/// The `tinkerbell.hardware` action.
#[derive(Debug)]
pub struct Hardware {
    client: Arc<LazyClient>,
    secrets: Secrets,
}

impl Hardware {
    pub fn new(client: Arc<LazyClient>, secrets: Secrets) -> Self {
        Self { client, secrets }
    }

    /// The Harvester install configuration (harvester-installer's config file), per machine:
    /// the first node creates the cluster at the VIP, the others join through it.
    fn harvester_config(params: &HardwareParams, token: &str, password: &str) -> Value {
        let mut management = json!({
            "interfaces": [{"hwAddr": params.mac}],
            "method": "static",
            "ip": params.ip,
            "subnet_mask": params.netmask,
        });
        if let Some(gateway) = &params.gateway {
            management["gateway"] = json!(gateway);
        }
        let mut install = json!({
            "mode": params.role,
            "automatic": true,
            "device": params.install_disk,
            "management_interface": management,
        });
        if let Some(data_disk) = &params.data_disk {
            install["data_disk"] = json!(data_disk);
        }
        let mut config = json!({
            "scheme_version": 1,
            "token": token,
            "os": {
                "hostname": params.machine,
                "password": password,
                "ssh_authorized_keys": params.ssh_authorized_keys,
                "dns_nameservers": params.dns_servers,
                "ntp_servers": params.ntp_servers,
            },
            "install": install,
        });
        if !params.tls_sans.is_empty() {
            // harvester-installer writes `os.write_files` into the installed system on every
            // boot of every node (pkg/config/cos.go), unlike the top-level `sans`, which only
            // the node that creates the cluster gets (its 90-harvester-server.yaml); a node
            // promoted to control plane later would serve a certificate without the name.
            let content = format!(
                "# Written by genesis: names of the Harvester API besides RKE2's defaults.\ntls-san+:\n{}",
                params
                    .tls_sans
                    .iter()
                    .map(|name| format!(
                        "  - {}\n",
                        serde_json::to_string(name).unwrap_or_default()
                    ))
                    .collect::<String>()
            );
            config["os"]["write_files"] = json!([{
                "path": TLS_SAN_DROP_IN,
                "content": content,
                "permissions": "0600",
            }]);
        }
        if params.role == "create" {
            config["install"]["vip"] = json!(params.vip);
            config["install"]["vip_mode"] = json!("static");
        } else {
            config["server_url"] = json!(format!("https://{}:443", params.vip));
        }
        config
    }

    fn body(&self, params: &HardwareParams) -> Result<Value, ActionError> {
        let config = Self::harvester_config(
            params,
            params.token.value(&self.secrets)?,
            params.os_password.value(&self.secrets)?,
        );
        let user_data = serde_saphyr::to_string(&config).map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                "cannot write the Harvester configuration",
                error,
            )
        })?;
        let mut dhcp = json!({
            "mac": params.mac.to_ascii_lowercase(),
            "hostname": params.machine,
            "arch": "x86_64",
            "uefi": params.uefi,
            "lease_time": 86400,
            "name_servers": params.dns_servers,
            "ip": {"address": params.ip, "netmask": params.netmask, "family": 4},
        });
        if let Some(gateway) = &params.gateway {
            dhcp["ip"]["gateway"] = json!(gateway);
        }
        Ok(json!({
            "apiVersion": "tinkerbell.org/v1alpha1",
            "kind": "Hardware",
            "metadata": {"name": params.machine, "namespace": params.namespace, "labels": {MANAGED_BY: "genesis"}},
            "spec": {
                "bmcRef": {"apiGroup": "bmc.tinkerbell.org", "kind": "Machine", "name": params.machine},
                "disks": [{"device": params.install_disk}],
                // allowPXE is left to the Workflow's toggleAllowNetboot: on for the install, off
                // after it, so the machine then boots the installed system.
                "interfaces": [{"dhcp": dhcp, "netboot": {"allowWorkflow": true}}],
                "userData": user_data,
            },
        }))
    }
}

impl genesis_engine::Action for Hardware {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: HardwareParams = params(step)?;
            // The user data holds the cluster token and password: it shows as changed or
            // unchanged, never by value.
            preview_one(
                &self.client,
                &hardware_resource(),
                &params.namespace,
                &params.machine,
                &self.body(&params)?,
                "Hardware",
                &["/spec/userData"],
            )
            .await
        })
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let params: HardwareParams = params(step)?;
            apply_one(
                &self.client,
                context,
                &hardware_resource(),
                &params.namespace,
                &params.machine,
                &self.body(&params)?,
                "Hardware",
            )
            .await?;
            let mut outputs = Outputs::new();
            outputs.insert("hardware".to_owned(), params.machine.clone().into());
            outputs.insert("mode".to_owned(), params.role.clone().into());
            Ok(outputs)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Steps 8 and 10: the install Workflow.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstallParams {
    namespace: String,
    machine: String,
    template: String,
    mac: String,
}

/// A Workflow's state, read from either Tinkerbell generation (`SUCCESS` or `STATE_SUCCESS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowState {
    /// Not picked up by the controller yet.
    New,
    Preparing,
    Pending,
    Running,
    Post,
    Success,
    Failed,
    Timeout,
    Other(String),
}

impl WorkflowState {
    pub fn parse(text: &str) -> Self {
        match text.strip_prefix("STATE_").unwrap_or(text) {
            "" => Self::New,
            "PREPARING" => Self::Preparing,
            "PENDING" => Self::Pending,
            "RUNNING" => Self::Running,
            "POST" => Self::Post,
            "SUCCESS" => Self::Success,
            "FAILED" => Self::Failed,
            "TIMEOUT" => Self::Timeout,
            other => Self::Other(other.to_owned()),
        }
    }

    fn of(workflow: &DynamicObject) -> Self {
        Self::parse(
            workflow
                .data
                .pointer("/status/state")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )
    }

    fn finished(&self) -> bool {
        matches!(self, Self::Success | Self::Failed | Self::Timeout)
    }
}

/// The controller's message when it failed to render the Workflow's Template
/// (`status.templateRendering: failed`, condition `TemplateRenderedSuccess` False:
/// tinkerbell/tinkerbell tink/controller/internal/workflow/reconciler.go, v0.25.0).
fn render_failure(workflow: &DynamicObject) -> Option<String> {
    let status = workflow.data.get("status")?;
    if status.get("templateRendering").and_then(Value::as_str) != Some("failed") {
        return None;
    }
    let message = status
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|condition| {
            condition.get("type").and_then(Value::as_str) == Some("TemplateRenderedSuccess")
        })
        .and_then(|condition| condition.get("message").and_then(Value::as_str))
        .unwrap_or("no message");
    Some(message.to_owned())
}

/// "action 2/3 configure-harvester" and the failing action's message, from either generation's
/// status shape.
fn progress(workflow: &DynamicObject) -> (String, Option<String>) {
    let actions: Vec<&Value> = workflow
        .data
        .pointer("/status/tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|task| {
            task.get("actions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .collect();
    let state_of = |action: &Value| {
        let text = action
            .get("state")
            .or_else(|| action.get("status"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        WorkflowState::parse(text)
    };
    let failed = actions
        .iter()
        .find(|action| {
            matches!(
                state_of(action),
                WorkflowState::Failed | WorkflowState::Timeout
            )
        })
        .map(|action| {
            format!(
                "action `{}` {}",
                action.get("name").and_then(Value::as_str).unwrap_or("?"),
                action
                    .get("message")
                    .and_then(Value::as_str)
                    .filter(|message| !message.is_empty())
                    .unwrap_or("failed")
            )
        });
    let current = actions
        .iter()
        .position(|action| state_of(action) != WorkflowState::Success)
        .unwrap_or(actions.len().saturating_sub(1));
    let state = WorkflowState::of(workflow);
    let text = match actions.get(current) {
        Some(action) if matches!(state, WorkflowState::Running) => format!(
            "workflow action {}/{} {}",
            current + 1,
            actions.len(),
            action.get("name").and_then(Value::as_str).unwrap_or("?")
        ),
        _ => format!("workflow {}", format!("{state:?}").to_lowercase()),
    };
    (text, failed)
}

/// The `tinkerbell.install` action.
#[derive(Debug)]
pub struct Install {
    client: Arc<LazyClient>,
}

impl Install {
    pub fn new(client: Arc<LazyClient>) -> Self {
        Self { client }
    }

    fn workflow_name(machine: &str, attempt: u32) -> String {
        format!("harvester-install-{machine}-{attempt}")
    }

    fn body(params: &InstallParams, attempt: u32) -> Value {
        json!({
            "apiVersion": "tinkerbell.org/v1alpha1",
            "kind": "Workflow",
            "metadata": {
                "name": Self::workflow_name(&params.machine, attempt),
                "namespace": params.namespace,
                "labels": {MANAGED_BY: "genesis", MACHINE_LABEL: params.machine, ATTEMPT_LABEL: attempt.to_string()},
            },
            "spec": {
                "templateRef": params.template,
                "hardwareRef": params.machine,
                "hardwareMap": {"device_1": params.mac.to_ascii_lowercase()},
                // The controller power-cycles the machine into PXE through its BMC (a Rufio Job)
                // and turns netboot off again once the install succeeded.
                "bootOptions": {"toggleAllowNetboot": true, "bootMode": "netboot"},
            },
        })
    }

    /// The machine's latest install Workflow, with its attempt number.
    async fn latest(
        api: &Api<DynamicObject>,
        machine: &str,
    ) -> Result<Option<(u32, DynamicObject)>, ActionError> {
        let list = api
            .list(&ListParams::default().labels(&format!("{MACHINE_LABEL}={machine}")))
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("cannot list the install Workflows of {machine}"),
                )
            })?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|workflow| {
                let attempt = workflow
                    .metadata
                    .labels
                    .as_ref()?
                    .get(ATTEMPT_LABEL)?
                    .parse::<u32>()
                    .ok()?;
                Some((attempt, workflow))
            })
            .max_by_key(|(attempt, _)| *attempt))
    }

    /// Watches the Workflow until it finishes; reports progress as the step's sub-state.
    async fn watch(
        api: Api<DynamicObject>,
        name: &str,
        machine: &str,
        context: &RunContext,
    ) -> Result<DynamicObject, ActionError> {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mut stream = std::pin::pin!(watcher::watcher(api, config));
        while let Some(event) = stream.next().await {
            let workflow = match event {
                Ok(Event::Apply(workflow) | Event::InitApply(workflow)) => workflow,
                Ok(Event::Delete(_)) => {
                    return Err(ActionError::new(
                        ErrorKind::Conflict,
                        format!("Workflow {name} was deleted while genesis waited for it"),
                    ));
                }
                Ok(_) => continue,
                Err(error) => {
                    context.set_substate(format!("watch interrupted ({error}); reconnecting"));
                    continue;
                }
            };
            context.set_substate(progress(&workflow).0);
            if let Some(message) = render_failure(&workflow) {
                // The controller retries rendering forever; the Template will not change by
                // itself, so waiting out the step's timeout would only hide the cause.
                let template = workflow
                    .data
                    .pointer("/spec/templateRef")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                return Err(ActionError::new(
                    ErrorKind::InvalidParams,
                    format!(
                        "the Tinkerbell controller cannot render Template {template} for {machine} (Workflow {name}): {message}; fix the template and run again"
                    ),
                ));
            }
            if WorkflowState::of(&workflow).finished() {
                return Ok(workflow);
            }
        }
        Err(ActionError::new(
            ErrorKind::Unreachable,
            format!("the watch on Workflow {name} ended"),
        ))
    }
}

impl genesis_engine::Action for Install {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: InstallParams = params(step)?;
            let client = platform_client(&self.client).await?;
            let api: Api<DynamicObject> =
                Api::namespaced_with(client, &params.namespace, &workflow_resource());
            Ok(match Self::latest(&api, &params.machine).await? {
                Some((_, workflow)) if WorkflowState::of(&workflow) == WorkflowState::Success => {
                    PlanOutcome::NoChange {
                        summary: format!(
                            "Workflow {} already succeeded",
                            workflow.metadata.name.unwrap_or_default()
                        ),
                    }
                }
                Some((attempt, workflow)) if !WorkflowState::of(&workflow).finished() => {
                    PlanOutcome::NoChange {
                        summary: format!(
                            "Workflow {} is in progress; genesis would wait for it",
                            Self::workflow_name(&params.machine, attempt)
                        ),
                    }
                }
                Some((attempt, _)) => PlanOutcome::WillChange {
                    summary: format!(
                        "attempt {attempt} failed: delete it, create Workflow {} and netboot {} again",
                        Self::workflow_name(&params.machine, attempt + 1),
                        params.machine
                    ),
                    diff: None,
                },
                None => PlanOutcome::WillChange {
                    summary: format!(
                        "create Workflow {} and netboot {} into the installer",
                        Self::workflow_name(&params.machine, 1),
                        params.machine
                    ),
                    diff: None,
                },
            })
        })
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let params: InstallParams = params(step)?;
            let client = platform_client(&self.client).await?;
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &params.namespace, &workflow_resource());
            // Observe first: a Workflow of an earlier attempt or run may exist.
            let name = match Self::latest(&api, &params.machine).await? {
                Some((attempt, workflow))
                    if !matches!(
                        WorkflowState::of(&workflow),
                        WorkflowState::Failed | WorkflowState::Timeout
                    ) =>
                {
                    Self::workflow_name(&params.machine, attempt)
                }
                latest => {
                    let attempt = match latest {
                        Some((attempt, failed)) => {
                            let old = Self::workflow_name(&params.machine, attempt);
                            let reason = progress(&failed)
                                .1
                                .unwrap_or_else(|| "no action reported why".to_owned());
                            context
                                .intent(format!(
                                    "delete failed Workflow {}/{old} ({reason})",
                                    params.namespace
                                ))
                                .await?;
                            match api.delete(&old, &DeleteParams::default()).await {
                                Ok(_) => {}
                                Err(kube::Error::Api(status)) if status.code == 404 => {}
                                Err(error) => {
                                    return Err(classify(
                                        error,
                                        format!("cannot delete the failed Workflow {old}"),
                                    ));
                                }
                            }
                            attempt + 1
                        }
                        None => 1,
                    };
                    let name = Self::workflow_name(&params.machine, attempt);
                    apply_one(
                        &self.client,
                        context,
                        &workflow_resource(),
                        &params.namespace,
                        &name,
                        &Self::body(&params, attempt),
                        "Workflow",
                    )
                    .await?;
                    name
                }
            };
            let what = format!("Workflow {name} to install Harvester on {}", params.machine);
            let finished = context
                .wait(
                    &what,
                    None,
                    Self::watch(api, &name, &params.machine, context),
                )
                .await?;
            match WorkflowState::of(&finished) {
                WorkflowState::Success => {
                    let mut outputs = Outputs::new();
                    outputs.insert("workflow".to_owned(), name.into());
                    Ok(outputs)
                }
                state => {
                    let reason = progress(&finished)
                        .1
                        .unwrap_or_else(|| format!("it ended in state {state:?}"));
                    // A failed install is worth another attempt: the retry makes a new Workflow.
                    Err(ActionError::new(
                        ErrorKind::CommandFailed,
                        format!("the install of {} failed: {reason}", params.machine),
                    ))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_rendering_is_reported_with_the_controllers_message() {
        let mut workflow = DynamicObject::new("w", &workflow_resource());
        assert_eq!(render_failure(&workflow), None);
        workflow.data = json!({"status": {"templateRendering": "successful", "conditions": []}});
        assert_eq!(render_failure(&workflow), None);
        workflow.data = json!({"status": {"templateRendering": "failed", "conditions": [
            {"type": "TemplateRenderedSuccess", "status": "False", "reason": "Error",
             "message": "error rendering template: template: x:3: unexpected \"}\""}
        ]}});
        assert_eq!(
            render_failure(&workflow).as_deref(),
            Some("error rendering template: template: x:3: unexpected \"}\"")
        );
    }

    #[test]
    fn reads_both_generations_of_state_strings() {
        assert_eq!(
            WorkflowState::parse("STATE_SUCCESS"),
            WorkflowState::Success
        );
        assert_eq!(WorkflowState::parse("SUCCESS"), WorkflowState::Success);
        assert_eq!(WorkflowState::parse("STATE_FAILED"), WorkflowState::Failed);
        assert_eq!(WorkflowState::parse(""), WorkflowState::New);
        assert!(WorkflowState::parse("TIMEOUT").finished());
        assert!(!WorkflowState::parse("STATE_RUNNING").finished());
    }

    const SHIPPED_TEMPLATE: &str = include_str!("../../phases/templates/harvester-install.yaml");

    /// Every double-brace action of `text`, or the first stray brace pair.
    fn template_actions(text: &str) -> Result<Vec<String>, String> {
        let mut actions = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let before = &rest[..open];
            if before.contains("}}") {
                return Err(format!("a `}}}}` without its `{{{{`: {before:?}"));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("a `{{{{` that is never closed: {after:?}"))?;
            let inner = &after[..close];
            if inner.contains("{{") {
                return Err(format!("nested `{{{{` in {inner:?}"));
            }
            // Go's trim markers `{{-` and `-}}` only eat white space around the action.
            let inner = inner.strip_prefix("- ").unwrap_or(inner);
            let inner = inner.strip_suffix(" -").unwrap_or(inner);
            actions.push(inner.trim().to_owned());
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err(format!("a `}}}}` without its `{{{{`: {rest:?}"));
        }
        Ok(actions)
    }

    fn shipped_params() -> TemplateParams {
        TemplateParams {
            namespace: "tink-system".into(),
            name: "harvester-install-v1.7.0".into(),
            harvester_version: "v1.7.0".into(),
            pxe_base_url: "http://10.10.10.10:8080/harvester/v1.7.0/".into(),
            artifacts: vec![TemplateArtifact {
                role: DISK_IMAGE_ROLE.into(),
                file: "harvester-v1.7.0-amd64.raw.zst".into(),
            }],
            metadata_url: "http://10.10.10.10:7080".into(),
            template: SHIPPED_TEMPLATE.into(),
            image2disk_image: "quay.io/tinkerbell/actions/image2disk:latest".into(),
            configure_image: "gmehta3/configure-harvester:latest".into(),
            reboot_image: "ghcr.io/jacobweinstock/waitdaemon:0.4.3".into(),
        }
    }

    #[test]
    fn every_double_brace_in_the_template_is_an_action_the_controller_renders() {
        let actions = template_actions(SHIPPED_TEMPLATE).expect("balanced braces");
        assert!(
            !actions.is_empty(),
            "the template uses Tinkerbell's actions"
        );
        for action in &actions {
            assert!(
                TEMPLATE_ACTIONS.contains(&action.as_str()),
                "`{{{{{action}}}}}` is not one of the actions Tinkerbell's controller renders for this template: {TEMPLATE_ACTIONS:?}"
            );
        }
        // What genesis applies: its own placeholders filled, the same actions and no others.
        let rendered = shipped_params().rendered().expect("rendered");
        assert!(!rendered.contains("${"), "{rendered}");
        assert_eq!(template_actions(&rendered).expect("balanced"), actions);
    }

    #[test]
    fn the_guard_rejects_braces_that_are_not_actions() {
        assert!(template_actions("# Tinkerbell fills in `{{…}}` per machine\n").is_ok());
        let found = template_actions("# Tinkerbell fills in `{{…}}`\n").expect("balanced");
        assert!(!TEMPLATE_ACTIONS.contains(&found[0].as_str()));
        assert!(template_actions("a }} b").is_err());
        assert!(template_actions("a {{ .device_1 b").is_err());
    }

    /// The template as Tinkerbell's controller reads it after rendering: its `Workflow`, `Task`
    /// and `Action` (tink/controller/internal/workflow/types.go, v0.25.0), strictly.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Workflow {
        #[allow(dead_code)]
        version: String,
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        global_timeout: u64,
        tasks: Vec<Task>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Task {
        #[allow(dead_code)]
        name: String,
        worker: String,
        #[serde(default)]
        #[allow(dead_code)]
        volumes: Vec<String>,
        actions: Vec<WorkflowAction>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WorkflowAction {
        name: String,
        image: String,
        #[allow(dead_code)]
        timeout: u64,
        #[serde(default)]
        command: Vec<String>,
        #[serde(default)]
        volumes: Vec<String>,
        #[serde(default)]
        environment: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        pid: Option<String>,
    }

    /// The shipped template with Tinkerbell's actions replaced by a machine's values.
    fn as_rendered_for_a_machine() -> Workflow {
        let text = shipped_params()
            .rendered()
            .expect("rendered")
            .replace("{{ .device_1 }}", "02:00:00:0a:0a:0b")
            .replace(
                "{{ (index .hardware.spec.disks 0).device }}",
                "/dev/nvme0n1",
            );
        assert!(!text.contains("{{"), "{text}");
        serde_saphyr::from_str(&text).expect("the rendered template is a Tinkerbell workflow")
    }

    #[test]
    fn the_reboot_action_is_waitdaemon_with_its_command_and_the_docker_socket() {
        let workflow = as_rendered_for_a_machine();
        let task = &workflow.tasks[0];
        assert_eq!(task.worker, "02:00:00:0a:0a:0b");
        let reboot = task
            .actions
            .iter()
            .find(|action| action.name == "reboot-harvester")
            .expect("reboot action");
        assert!(
            reboot
                .image
                .starts_with("ghcr.io/jacobweinstock/waitdaemon:")
        );
        // waitdaemon runs the action's own command in IMAGE (main.go runUserImage).
        assert_eq!(reboot.command, ["reboot"]);
        assert_eq!(
            reboot.environment.get("IMAGE").map(String::as_str),
            Some("alpine")
        );
        assert!(
            !reboot.environment.contains_key("COMMAND"),
            "waitdaemon reads no COMMAND variable"
        );
        assert!(
            reboot
                .volumes
                .iter()
                .any(|volume| volume == "/var/run/docker.sock:/var/run/docker.sock"),
            "waitdaemon starts its containers through the Docker socket"
        );
        assert_eq!(reboot.pid.as_deref(), Some("host"));
    }

    #[test]
    fn the_streamed_image_is_the_labs_disk_image_artifact() {
        let workflow = as_rendered_for_a_machine();
        let stream = workflow.tasks[0]
            .actions
            .iter()
            .find(|action| action.name == "stream-harvester")
            .expect("stream action");
        assert_eq!(
            stream.environment["IMG_URL"],
            "http://10.10.10.10:8080/harvester/v1.7.0/harvester-v1.7.0-amd64.raw.zst"
        );
        assert_eq!(stream.environment["COMPRESSED"], "true");
        assert_eq!(stream.environment["DEST_DISK"], "/dev/nvme0n1");

        let mut params = shipped_params();
        params.artifacts[0].file = "harvester.raw".into();
        assert!(
            params
                .rendered()
                .expect("rendered")
                .contains("COMPRESSED: \"false\"")
        );
        params.artifacts[0].file = "harvester.iso".into();
        assert!(params.rendered().is_err(), "an ISO is not a disk image");
        params.artifacts[0].role = "iso".into();
        let error = params.rendered().expect_err("no disk image");
        assert!(error.to_string().contains("disk-image"), "{error}");
    }

    #[test]
    fn first_node_creates_at_the_vip_and_others_join_through_it() {
        let mut params = HardwareParams {
            namespace: "tink-system".into(),
            machine: "ms-02-1".into(),
            role: "create".into(),
            mac: "02:00:00:0a:0a:0b".into(),
            ip: "10.10.10.11".into(),
            netmask: "255.255.255.0".into(),
            gateway: Some("10.10.10.1".into()),
            uefi: true,
            install_disk: "/dev/nvme0n1".into(),
            data_disk: None,
            vip: "10.10.10.20".into(),
            dns_servers: vec![],
            ntp_servers: vec![],
            ssh_authorized_keys: vec![],
            tls_sans: vec!["harvester.lab.local".into()],
            token: SecretRef { secret: "t".into() },
            os_password: SecretRef { secret: "p".into() },
        };
        let create = Hardware::harvester_config(&params, "tok", "pw");
        assert_eq!(create["install"]["mode"], "create");
        assert_eq!(create["install"]["vip"], "10.10.10.20");
        assert!(create.get("server_url").is_none());
        params.role = "join".into();
        let join = Hardware::harvester_config(&params, "tok", "pw");
        assert_eq!(join["server_url"], "https://10.10.10.20:443");
        assert!(join["install"].get("vip").is_none());
        assert_eq!(join["token"], "tok");
        // Every node, joining ones included, carries the drop-in with the extra name.
        for config in [&create, &join] {
            let file = &config["os"]["write_files"][0];
            assert_eq!(file["path"], TLS_SAN_DROP_IN);
            let drop_in: Value =
                serde_saphyr::from_str(file["content"].as_str().expect("content")).expect("YAML");
            assert_eq!(drop_in["tls-san+"], json!(["harvester.lab.local"]));
        }
    }
}
