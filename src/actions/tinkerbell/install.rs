//! `tinkerbell.install` (steps 8 and 10): the install `Workflow` of one machine, which
//! netboots it through its BMC and streams Harvester onto its disk, and a watch until it
//! finishes. A failed attempt is deleted and the next attempt is a new Workflow.

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MANAGED_BY, workflow_resource};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, Effect, ParamType, Preview, Target};
use crate::actions::support::params;
use crate::actions::watch::{self, Check, conditions};
use crate::clients::kube::apply::Object;
use crate::clients::kube::{LazyClient, classify};

/// Label on Workflows: the machine they install.
use super::MACHINE_LABEL;
/// Label on Workflows: which install attempt of that machine (1, 2, …).
const ATTEMPT_LABEL: &str = "genesis.dev/attempt";

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
    let message = conditions::find(&workflow.data, "TemplateRenderedSuccess")
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

/// The name of a machine's first install Workflow (`genesis rehearse` aims a
/// `workflow-fails-once` fault at it).
pub fn first_workflow_name(machine: &str) -> String {
    Install::workflow_name(machine, 1)
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
        namespace: &str,
        name: &str,
        machine: &str,
        context: &RunContext,
    ) -> Result<DynamicObject, ActionError> {
        watch::until_applied(
            api,
            "Workflow",
            namespace,
            name,
            "for it to finish",
            context,
            |workflow| {
                if let Some(message) = render_failure(workflow) {
                    // The controller retries rendering forever; the Template will not change
                    // by itself, so waiting out the step's timeout would only hide the cause.
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
                Ok(if WorkflowState::of(workflow).finished() {
                    Check::Done(workflow.clone())
                } else {
                    Check::Waiting(progress(workflow).0)
                })
            },
        )
        .await
    }
}

impl genesis_engine::Action for Install {
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: InstallParams = params(step)?;
            let client = self.client.for_step().await?;
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

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: InstallParams = params(step)?;
            let client = self.client.for_step().await?;
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
                    Object::namespaced(
                        workflow_resource(),
                        &params.namespace,
                        &name,
                        Self::body(&params, attempt),
                        "Workflow",
                    )
                    .apply(&client, context)
                    .await?;
                    name
                }
            };
            let what = format!("Workflow {name} to install Harvester on {}", params.machine);
            let finished = context
                .wait(
                    &what,
                    None,
                    Self::watch(api, &params.namespace, &name, &params.machine, context),
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

/// `tinkerbell.install`: PXE-boot a machine into the installer.
pub(crate) const KIND: Definition = Definition {
    name: "tinkerbell.install",
    summary: "PXE-boot a machine into the Harvester installer and wait for the install",
    target: Target::Platform,
    preview: Preview::Apply,
    effects: &[Effect::ErasesDisks, Effect::PowerCycles],
    owns: Some(crate::actions::owned::install),
    params: ParamType::of::<InstallParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("machine", NameRule::Object),
        ("template", NameRule::Object),
    ],
    describe: |p| {
        let machine = p.text("machine");
        vec![
            format!(
                "apply Workflow {}/harvester-install-{machine}-<attempt> from Template {} (netboot through the BMC, then netboot off)",
                p.text("namespace"),
                p.text("template")
            ),
            format!(
                "power-cycle {machine} into PXE through its BMC (off, one-time network boot, on)"
            ),
            "wait until the workflow succeeds, action by action".to_owned(),
        ]
    },
    build: Build::Remote(|clusters| Arc::new(Install::new(Arc::clone(&clusters.platform)))),
};

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
}
