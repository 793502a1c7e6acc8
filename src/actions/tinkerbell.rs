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
struct TemplateParams {
    namespace: String,
    name: String,
    harvester_version: String,
    pxe_base_url: String,
    metadata_url: String,
    /// The template text, read from the phases directory by the loader.
    template: String,
    image2disk_image: String,
    configure_image: String,
    reboot_image: String,
}

impl TemplateParams {
    /// The template text with genesis's `${…}` filled in; Tinkerbell's `{{…}}` stay.
    fn rendered(&self) -> String {
        [
            ("name", &self.name),
            ("harvester_version", &self.harvester_version),
            (
                "pxe_base_url",
                &self.pxe_base_url.trim_end_matches('/').to_owned(),
            ),
            (
                "metadata_url",
                &self.metadata_url.trim_end_matches('/').to_owned(),
            ),
            ("image2disk_image", &self.image2disk_image),
            ("configure_image", &self.configure_image),
            ("reboot_image", &self.reboot_image),
        ]
        .iter()
        .fold(self.template.clone(), |text, (key, value)| {
            text.replace(&format!("${{{key}}}"), value)
        })
    }

    fn body(&self) -> Value {
        json!({
            "apiVersion": "tinkerbell.org/v1alpha1",
            "kind": "Template",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": {MANAGED_BY: "genesis"}},
            "spec": {"data": self.rendered()},
        })
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
                &params.body(),
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
                &params.body(),
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
struct HardwareParams {
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
    token: SecretRef,
    os_password: SecretRef,
}

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
struct InstallParams {
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
    }
}
