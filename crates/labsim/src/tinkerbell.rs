//! Tinkerbell's workflow controller and agent: a Workflow goes PREPARING (a
//! netboot Rufio Job, when `bootOptions.bootMode: netboot`) → PENDING (the
//! machine PXE-boots) → RUNNING (action by action) → SUCCESS or FAILED.
//! State strings are the monorepo's (tinkerbell/tinkerbell api/v1alpha1).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{DynamicObject, ObjectMeta, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::resources::{self, namespaced};
use crate::util::{
    await_object, await_until, go_duration, key, log_error, name, now_rfc3339, patch_status, uid,
    watch_objects,
};
use crate::{Error, Fault, Shared};

/// How long the simulated controller waits for objects a Workflow refers to.
mod agent;

pub use agent::run_agents;

const REFERENCE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the netboot preparation waits for its Rufio Job.
const BOOT_JOB_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn run_workflows(shared: Arc<Shared>) {
    let api = resources::all(&shared.world.platform, &resources::workflow());
    let handler = shared.clone();
    watch_objects(
        "tinkerbell workflows",
        api,
        move |workflow: DynamicObject| {
            let state = workflow.data["status"]["state"]
                .as_str()
                .unwrap_or_default();
            let disabled = workflow.data["spec"]["disabled"].as_bool().unwrap_or(false);
            if !state.is_empty() || disabled || !handler.claim("workflow", &uid(&workflow)) {
                return;
            }
            let shared = handler.clone();
            handler.spawn(async move {
                let key = key(&workflow);
                let result = run_workflow(&shared, workflow).await;
                if let Err(error) = &result {
                    shared.record("tinkerbell", "workflow.error", &key, error.to_string());
                }
                log_error("tinkerbell workflow", result);
            });
        },
    )
    .await;
}

#[derive(Debug, Deserialize)]
struct TemplateData {
    #[serde(default)]
    global_timeout: Option<i64>,
    tasks: Vec<TemplateTask>,
}

#[derive(Debug, Deserialize)]
struct TemplateTask {
    name: String,
    #[serde(default)]
    worker: Option<String>,
    #[serde(default)]
    volumes: Option<Vec<String>>,
    #[serde(default)]
    environment: Option<BTreeMap<String, String>>,
    actions: Vec<TemplateAction>,
}

#[derive(Debug, Deserialize)]
struct TemplateAction {
    name: String,
    image: String,
    #[serde(default)]
    timeout: Option<i64>,
    #[serde(default)]
    command: Option<Vec<String>>,
    #[serde(default)]
    volumes: Option<Vec<String>>,
    #[serde(default)]
    environment: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pid: Option<String>,
}

/// Renders `{{.key}}` / `{{ .key }}` from the hardware map, as Tinkerbell's
/// Go template rendering does for the simple cases templates use.
fn render(data: &str, hardware_map: &BTreeMap<String, String>) -> String {
    let mut out = data.to_string();
    for (name, value) in hardware_map {
        out = out
            .replace(&format!("{{{{.{name}}}}}"), value)
            .replace(&format!("{{{{ .{name} }}}}"), value);
    }
    out
}

fn condition(kind: &str, reason: &str, message: &str) -> Value {
    json!({ "type": kind, "status": "True", "reason": reason, "message": message, "time": now_rfc3339() })
}

struct Run<'a> {
    shared: &'a Shared,
    api: kube::Api<DynamicObject>,
    name: String,
    key: String,
    status: Value,
}

impl Run<'_> {
    async fn set(&mut self, state: &str) -> Result<(), Error> {
        self.status["state"] = json!(state);
        self.push().await?;
        self.shared
            .record("tinkerbell", "workflow.state", &self.key, state);
        Ok(())
    }
    async fn push(&self) -> Result<(), Error> {
        patch_status(&self.api, &self.name, self.status.clone()).await
    }
    fn add_condition(&mut self, condition: Value) {
        if let Some(conditions) = self.status["conditions"].as_array_mut() {
            conditions.push(condition);
        }
    }
    async fn fail(&mut self, reason: &str, message: String) -> Result<(), Error> {
        self.add_condition(json!({ "type": reason, "status": "True", "reason": "Error", "message": message, "time": now_rfc3339() }));
        self.status["globalExecutionStop"] = json!(now_rfc3339());
        self.set("FAILED").await
    }
}

async fn run_workflow(shared: &Arc<Shared>, workflow: DynamicObject) -> Result<(), Error> {
    let namespace = workflow.metadata.namespace.clone().unwrap_or_default();
    let spec = &workflow.data["spec"];
    let hardware_name = spec["hardwareRef"].as_str().unwrap_or_default().to_string();
    let template_name = spec["templateRef"].as_str().unwrap_or_default().to_string();
    let hardware_map: BTreeMap<String, String> =
        serde_json::from_value(spec["hardwareMap"].clone()).unwrap_or_default();
    let mut run = Run {
        shared,
        api: namespaced(&shared.world.platform, &namespace, &resources::workflow()),
        name: name(&workflow),
        key: key(&workflow),
        status: json!({ "conditions": [] }),
    };

    let templates = namespaced(&shared.world.platform, &namespace, &resources::template());
    let template = match await_object(&templates, &template_name, REFERENCE_TIMEOUT).await {
        Ok(template) => template,
        Err(_) => {
            run.status["templateRendering"] = json!("failed");
            return run
                .fail(
                    "TemplateRenderedSuccess",
                    format!("template {template_name} not found"),
                )
                .await;
        }
    };
    let data = template.data["spec"]["data"].as_str().unwrap_or_default();
    let parsed: TemplateData = match serde_saphyr::from_str(&render(data, &hardware_map)) {
        Ok(parsed) => parsed,
        Err(error) => {
            run.status["templateRendering"] = json!("failed");
            return run
                .fail(
                    "TemplateRenderedSuccess",
                    format!("template {template_name}: {error}"),
                )
                .await;
        }
    };
    let agent = hardware_map
        .get("device_1")
        .cloned()
        .unwrap_or_else(|| hardware_name.clone());
    run.status["templateRendering"] = json!("successful");
    run.status["globalTimeout"] = json!(parsed.global_timeout.unwrap_or(0));
    run.status["tasks"] = status_tasks(&parsed, &agent);
    run.add_condition(condition(
        "TemplateRenderedSuccess",
        "Complete",
        "template rendered successfully",
    ));

    let hardware_api = namespaced(&shared.world.platform, &namespace, &resources::hardware());
    let hardware = await_object(&hardware_api, &hardware_name, REFERENCE_TIMEOUT).await;
    if spec["bootOptions"]["bootMode"].as_str() == Some("netboot") {
        run.set("PREPARING").await?;
        let hardware = match &hardware {
            Ok(hardware) => hardware,
            Err(_) => {
                return run
                    .fail(
                        "BootJobSetupFailed",
                        format!("hardware {hardware_name} not found"),
                    )
                    .await;
            }
        };
        if let Err(message) = netboot(&mut run, &namespace, hardware).await? {
            return run.fail("BootJobFailed", message).await;
        }
    }
    run.set("PENDING").await?;
    tokio::time::sleep(
        shared
            .scenario
            .scaled(shared.scenario.tinkerbell.agent_boot),
    )
    .await;

    run.status["agentID"] = json!(agent);
    run.set("RUNNING").await?;
    let injected = injected_failure(shared, &run.key, &run.name, &parsed);
    let workflow_started = Instant::now();
    for (task_index, task) in parsed.tasks.iter().enumerate() {
        for (action_index, action) in task.actions.iter().enumerate() {
            let path = format!("{}/{}", task.name, action.name);
            run.status["currentState"] = json!({
                "agentID": agent, "taskID": task_id(task_index), "actionID": action_id(task_index, action_index),
                "state": "RUNNING", "actionName": action.name, "taskName": task.name,
            });
            let entry = &mut run.status["tasks"][task_index]["actions"][action_index];
            entry["state"] = json!("RUNNING");
            entry["executionStart"] = json!(now_rfc3339());
            run.push().await?;
            shared.record(
                "tinkerbell",
                "action.state",
                &run.key,
                format!("{path} RUNNING"),
            );
            let started = Instant::now();
            tokio::time::sleep(shared.scenario.action_duration(&action.name)).await;
            let fails = injected.as_deref() == Some(path.as_str());
            let state = if fails { "FAILED" } else { "SUCCESS" };
            let entry = &mut run.status["tasks"][task_index]["actions"][action_index];
            entry["state"] = json!(state);
            entry["executionStop"] = json!(now_rfc3339());
            entry["executionDuration"] = json!(go_duration(started.elapsed()));
            if fails {
                entry["message"] = json!("action exited with code 1 (injected fault)");
            }
            run.status["currentState"]["state"] = json!(state);
            run.push().await?;
            shared.record(
                "tinkerbell",
                "action.state",
                &run.key,
                format!("{path} {state}"),
            );
            if fails {
                if let Ok(mut failed) = shared.failed_once.lock() {
                    failed.insert(run.key.clone());
                }
                run.status["globalExecutionStop"] = json!(now_rfc3339());
                return run.set("FAILED").await;
            }
        }
    }
    // The post step (tink/controller/internal/workflow/post.go) runs in POST.
    if spec["bootOptions"]["toggleAllowNetboot"].as_bool() == Some(true)
        && let Ok(hardware) = &hardware
    {
        run.set("POST").await?;
        disallow_netboot(&hardware_api, hardware).await?;
        run.status["bootOptions"]["allowNetboot"] = json!({ "toggledFalse": true });
        run.add_condition(condition(
            "AllowNetbootFalse",
            "Complete",
            "allowPXE set to false",
        ));
    }
    run.status["globalExecutionStop"] = json!(now_rfc3339());
    run.set("SUCCESS").await?;
    shared.record(
        "tinkerbell",
        "workflow.finished",
        &run.key,
        format!(
            "{} actions in {}",
            parsed.tasks.iter().map(|t| t.actions.len()).sum::<usize>(),
            go_duration(workflow_started.elapsed())
        ),
    );
    // The installed machine reboots into Harvester.
    crate::harvester::installed(shared, hardware_name).await
}

/// The failing action (`task/action`) if a fault targets this Workflow and has not fired yet.
fn injected_failure(
    shared: &Shared,
    key: &str,
    name: &str,
    template: &TemplateData,
) -> Option<String> {
    let already = shared
        .failed_once
        .lock()
        .map(|failed| failed.contains(key))
        .unwrap_or(true);
    if already {
        return None;
    }
    shared.faults().iter().find_map(|fault| match fault {
        Fault::WorkflowFailsOnce { workflow, action } if workflow == name => {
            template.tasks.iter().find_map(|task| {
                task.actions
                    .iter()
                    .find(|a| action.as_deref().is_none_or(|wanted| wanted == a.name))
                    .map(|a| format!("{}/{}", task.name, a.name))
            })
        }
        _ => None,
    })
}

fn task_id(task: usize) -> String {
    format!("task-{task}")
}

fn action_id(task: usize, action: usize) -> String {
    format!("task-{task}-action-{action}")
}

fn status_tasks(template: &TemplateData, agent: &str) -> Value {
    let tasks: Vec<Value> = template
        .tasks
        .iter()
        .enumerate()
        .map(|(task_index, task)| {
            let actions: Vec<Value> = task
                .actions
                .iter()
                .enumerate()
                .map(|(action_index, action)| {
                    let mut entry = json!({
                        "id": action_id(task_index, action_index),
                        "name": action.name,
                        "image": action.image,
                        "timeout": action.timeout.unwrap_or(0),
                        "state": "PENDING",
                    });
                    if let Some(command) = &action.command {
                        entry["command"] = json!(command);
                    }
                    if let Some(volumes) = &action.volumes {
                        entry["volumes"] = json!(volumes);
                    }
                    if let Some(environment) = &action.environment {
                        entry["environment"] = json!(environment);
                    }
                    if let Some(pid) = &action.pid {
                        entry["pid"] = json!(pid);
                    }
                    entry
                })
                .collect();
            let mut entry = json!({
                "id": task_id(task_index),
                "name": task.name,
                "agentID": task.worker.clone().unwrap_or_else(|| agent.to_string()),
                "actions": actions,
            });
            if let Some(volumes) = &task.volumes {
                entry["volumes"] = json!(volumes);
            }
            if let Some(environment) = &task.environment {
                entry["environment"] = json!(environment);
            }
            entry
        })
        .collect();
    json!(tasks)
}

/// The controller's netboot preparation (tink/controller/internal/workflow/pre.go):
/// a Rufio Job `netboot-<workflow>` power-cycles the machine into PXE. The
/// outer error is an API failure; the inner one a failed boot job.
async fn netboot(
    run: &mut Run<'_>,
    namespace: &str,
    hardware: &DynamicObject,
) -> Result<Result<(), String>, Error> {
    let Some(machine) = hardware.data["spec"]["bmcRef"]["name"].as_str() else {
        run.add_condition(
            json!({ "type": "BootJobSetupFailed", "status": "True", "reason": "Error",
            "message": "hardware has no spec.bmcRef", "time": now_rfc3339() }),
        );
        return Ok(Err("netboot needs Hardware.spec.bmcRef".into()));
    };
    let efi_boot = hardware.data["spec"]["interfaces"]
        .as_array()
        .is_some_and(|interfaces| interfaces.iter().any(|i| i["dhcp"]["uefi"] == true));
    let job_name = format!("netboot-{}", run.name);
    let jobs = namespaced(&run.shared.world.platform, namespace, &resources::job());
    let mut job = DynamicObject::new(&job_name, &resources::job()).within(namespace);
    job.metadata = ObjectMeta {
        name: Some(job_name.clone()),
        namespace: Some(namespace.into()),
        ..ObjectMeta::default()
    };
    job.data = json!({ "spec": {
        "machineRef": { "name": machine, "namespace": namespace },
        "tasks": [
            { "powerAction": "off" },
            { "oneTimeBootDeviceAction": { "device": ["pxe"], "efiBoot": efi_boot } },
            { "powerAction": "on" },
        ],
    }});
    // A Job of that name left by an earlier Workflow of the same name (a machine installed
    // again) is deleted first, as the controller's `deleteExisting` does
    // (tink/controller/internal/workflow/job.go, v0.25.0): else it would adopt a finished Job
    // and the machine would not be power-cycled.
    match jobs
        .delete(&job_name, &kube::api::DeleteParams::background())
        .await
    {
        Ok(_) => {
            run.shared.record(
                "tinkerbell",
                "workflow.old_boot_job_deleted",
                &run.key,
                &job_name,
            );
        }
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(source) => {
            return Err(Error::Kube {
                context: format!("delete old job {job_name}"),
                source,
            });
        }
    }
    let created = match retry_transient!(jobs.create(&PostParams::default(), &job)) {
        Ok(created) => created,
        Err(kube::Error::Api(status)) if status.code == 409 => {
            jobs.get(&job_name).await.map_err(|source| Error::Kube {
                context: format!("get job {job_name}"),
                source,
            })?
        }
        Err(source) => {
            return Err(Error::Kube {
                context: format!("create job {job_name}"),
                source,
            });
        }
    };
    run.status["bootOptions"] =
        json!({ "jobs": { job_name.clone(): { "uid": created.metadata.uid, "complete": false } } });
    run.add_condition(condition("BootJobSetupComplete", "Created", "job created"));
    run.add_condition(condition("BootJobRunning", "Running", "job is running"));
    run.push().await?;
    run.shared.record(
        "tinkerbell",
        "workflow.boot_job",
        &run.key,
        job_name.clone(),
    );

    let finished = |job: Option<&DynamicObject>| {
        job.is_some_and(|job| {
            job.data["status"]["conditions"]
                .as_array()
                .is_some_and(|conditions| {
                    conditions.iter().any(|c| {
                        (c["type"] == "Completed" || c["type"] == "Failed") && c["status"] == "True"
                    })
                })
        })
    };
    let job = Some(await_until(&jobs, &job_name, BOOT_JOB_TIMEOUT, finished).await?);
    let failed = job.as_ref().and_then(|job| {
        job.data["status"]["conditions"]
            .as_array()
            .and_then(|conditions| {
                conditions
                    .iter()
                    .find(|c| c["type"] == "Failed" && c["status"] == "True")
                    .map(|c| {
                        c["message"]
                            .as_str()
                            .unwrap_or("boot job failed")
                            .to_string()
                    })
            })
    });
    if let Some(message) = failed {
        return Ok(Err(format!("boot job {job_name} failed: {message}")));
    }
    run.status["bootOptions"]["jobs"][&job_name]["complete"] = json!(true);
    run.add_condition(condition("BootJobComplete", "Complete", "job completed"));
    run.push().await?;
    Ok(Ok(()))
}

/// The controller's post step: `allowPXE: false` on every netboot interface.
/// A merge patch replaces the whole list, so it carries the resourceVersion
/// it was computed from (a concurrent change makes it fail, not get lost).
async fn disallow_netboot(
    api: &kube::Api<DynamicObject>,
    hardware: &DynamicObject,
) -> Result<(), Error> {
    let current = retry_transient!(api.get(&name(hardware))).map_err(|source| Error::Kube {
        context: format!("get hardware {}", name(hardware)),
        source,
    })?;
    let Some(mut interfaces) = current.data["spec"]["interfaces"].as_array().cloned() else {
        return Ok(());
    };
    let mut changed = false;
    for interface in &mut interfaces {
        if interface["netboot"].is_object() && interface["netboot"]["allowPXE"] != false {
            interface["netboot"]["allowPXE"] = json!(false);
            changed = true;
        }
    }
    if !changed {
        return Ok(());
    }
    let patch = json!({
        "metadata": { "resourceVersion": current.metadata.resource_version },
        "spec": { "interfaces": interfaces },
    });
    let hardware_name = name(hardware);
    let params = kube::api::PatchParams::default();
    retry_transient!(api.patch(&hardware_name, &params, &kube::api::Patch::Merge(&patch)))
        .map(|_| ())
        .map_err(|source| Error::Kube {
            context: format!("patch hardware {}", name(hardware)),
            source,
        })
}
