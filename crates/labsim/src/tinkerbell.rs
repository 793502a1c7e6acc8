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
    shared.scenario.faults.iter().find_map(|fault| match fault {
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

// ---------------------------------------------------------------------------
// The machine side, for worlds running the real upstream Tinkerbell and Rufio
// controllers and the real tink server (genesis-testworld's
// `TinkerbellControllers`). The simulator then renders nothing, creates no Job,
// toggles nothing and writes no Workflow status: it only plays the machine that
// PXE-booted into the Tinkerbell agent. That agent is `genesis-tinkerbell agent`,
// a client of the real server's gRPC WorkflowService; the simulator decides,
// through it, when each served action ends and whether it fails.

/// How long a simulated machine waits for the real controller to make its Workflow runnable,
/// and at most for any one message of its agent.
const AGENT_WAIT: Duration = Duration::from_secs(900);

/// What the agent's failed action reports (an injected fault).
const INJECTED_FAILURE: &str = "action exited with code 1 (injected fault)";

/// Plays, for every Workflow, the machine and its agent.
pub async fn run_agents(shared: Arc<Shared>) {
    let api = resources::all(&shared.world.platform, &resources::workflow());
    let handler = shared.clone();
    watch_objects("machine agents", api, move |workflow: DynamicObject| {
        let state = workflow.data["status"]["state"]
            .as_str()
            .unwrap_or_default();
        let disabled = workflow.data["spec"]["disabled"].as_bool().unwrap_or(false);
        let finished = matches!(state, "SUCCESS" | "FAILED" | "TIMEOUT" | "POST");
        if finished || disabled || !handler.claim("agent", &uid(&workflow)) {
            return;
        }
        let shared = handler.clone();
        handler.spawn(async move {
            let key = key(&workflow);
            let result = run_agent(&shared, workflow).await;
            if let Err(error) = &result {
                shared.record("machine", "agent.error", &key, error.to_string());
            }
            log_error("machine agent", result);
        });
    })
    .await;
}

/// The Workflow is runnable for an agent: the real controller rendered the Template
/// (`status.tasks`) and moved it to PENDING, which with `bootMode: netboot` it does only
/// after its Rufio Job `netboot-<workflow>` completed (the machine was powered on into PXE).
fn runnable(workflow: &DynamicObject) -> bool {
    let status = &workflow.data["status"];
    let rendered = status["tasks"]
        .as_array()
        .is_some_and(|tasks| !tasks.is_empty());
    rendered && status["state"] == "PENDING"
}

fn gave_up(workflow: &DynamicObject) -> bool {
    let status = &workflow.data["status"];
    status["templateRendering"] == "failed"
        || matches!(
            status["state"].as_str(),
            Some("FAILED" | "TIMEOUT" | "SUCCESS")
        )
}

/// The worker id a netbooted machine's agent runs with: Smee's iPXE script passes
/// `worker_id` = the Hardware's `spec.agentID`, or else the MAC of the interface the
/// machine netbooted from (tinkerbell/tinkerbell `smee/internal/ipxe/script/ipxe.go`,
/// `defaultScript`, v0.25.0). Also that MAC, for the agent's attributes.
fn worker_id(hardware: &DynamicObject) -> Option<(String, Option<String>)> {
    let interfaces = hardware.data["spec"]["interfaces"].as_array();
    let mac = interfaces.and_then(|interfaces| {
        let mac = |i: &Value| i["dhcp"]["mac"].as_str().map(str::to_owned);
        interfaces
            .iter()
            .find(|i| i["netboot"]["allowPXE"] == true)
            .and_then(mac)
            .or_else(|| interfaces.iter().find_map(mac))
    });
    match hardware.data["spec"]["agentID"].as_str() {
        Some(agent) if !agent.is_empty() => Some((agent.to_owned(), mac)),
        _ => mac.map(|mac| (mac.clone(), Some(mac))),
    }
}

/// One line the agent prints (`tests/tinkerbell/agent.go`).
#[derive(Debug, Deserialize)]
struct AgentLine {
    event: String,
    #[serde(default)]
    task_id: String,
    #[serde(default)]
    action_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The running `genesis-tinkerbell agent` of one machine; killed on drop.
struct Agent {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    stderr: Arc<std::sync::Mutex<String>>,
    key: String,
}

impl Agent {
    fn spawn(
        server: &crate::TinkServer,
        worker: &str,
        mac: Option<&str>,
        key: &str,
    ) -> Result<Self, Error> {
        use tokio::io::AsyncBufReadExt;
        let mut command = tokio::process::Command::new(&server.agent_program);
        command
            .arg("agent")
            .arg(format!("--server={}", server.address))
            .arg(format!("--worker-id={worker}"));
        if let Some(mac) = mac {
            command.arg(format!("--mac={mac}"));
        }
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                Error::Invalid(format!(
                    "{key}: cannot start the machine's agent {}: {error}",
                    server.agent_program.display()
                ))
            })?;
        let missing = || Error::Invalid(format!("{key}: the agent's pipes are missing"));
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = child.stdout.take().ok_or_else(missing)?;
        let stderr_pipe = child.stderr.take().ok_or_else(missing)?;
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr_pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        Ok(Self {
            child,
            stdin: Some(stdin),
            lines: tokio::io::BufReader::new(stdout).lines(),
            stderr,
            key: key.to_owned(),
        })
    }

    fn failure(&self, what: &str) -> Error {
        let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        Error::Invalid(format!(
            "{}: the machine's agent {what}; its stderr: {}",
            self.key,
            stderr.trim()
        ))
    }

    /// The next line the agent prints; `waiting` lines are recorded (each distinct one once)
    /// and skipped.
    async fn next(
        &mut self,
        shared: &Shared,
        waited: &mut Vec<String>,
    ) -> Result<AgentLine, Error> {
        loop {
            let line = match tokio::time::timeout(AGENT_WAIT, self.lines.next_line()).await {
                Err(_) => return Err(self.failure(&format!("printed nothing for {AGENT_WAIT:?}"))),
                Ok(Err(error)) => return Err(self.failure(&format!("stdout failed: {error}"))),
                Ok(Ok(None)) => return Err(self.failure("exited")),
                Ok(Ok(Some(line))) => line,
            };
            let Ok(parsed) = serde_json::from_str::<AgentLine>(&line) else {
                return Err(self.failure(&format!("printed {line:?}")));
            };
            match parsed.event.as_str() {
                "started" => {}
                "waiting" => {
                    let detail = format!("{}: {}", parsed.code, parsed.message);
                    if !waited.contains(&detail) {
                        shared.record("machine", "agent.waiting", &self.key, detail.clone());
                        waited.push(detail);
                    }
                }
                "error" => {
                    return Err(self.failure(&format!(
                        "was refused by tink-server ({}): {}",
                        parsed.code, parsed.message
                    )));
                }
                _ => return Ok(parsed),
            }
        }
    }

    async fn answer(&mut self, answer: &str) -> Result<(), Error> {
        use tokio::io::AsyncWriteExt;
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(self.failure("has no stdin"));
        };
        let written = stdin.write_all(format!("{answer}\n").as_bytes()).await;
        match written {
            Ok(()) => Ok(()),
            Err(error) => Err(self.failure(&format!("did not take the answer: {error}"))),
        }
    }

    /// Closes its stdin (the machine stops its agent) and waits for it to exit.
    async fn stop(mut self) -> Result<(), Error> {
        self.stdin = None;
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(self.failure(&format!("exited with {status}"))),
            Ok(Err(error)) => Err(self.failure(&format!("could not be waited for: {error}"))),
            Err(_) => Err(self.failure("did not exit within 30 s of its stdin closing")),
        }
    }
}

async fn run_agent(shared: &Arc<Shared>, workflow: DynamicObject) -> Result<(), Error> {
    let Some(server) = shared.tink_server.clone() else {
        return Err(Error::Invalid(
            "machines-only simulator without a tink server".into(),
        ));
    };
    let namespace = workflow.metadata.namespace.clone().unwrap_or_default();
    let api = namespaced(&shared.world.platform, &namespace, &resources::workflow());
    let name = name(&workflow);
    let key = key(&workflow);
    let ready = await_until(&api, &name, AGENT_WAIT, |w: Option<&DynamicObject>| {
        w.is_some_and(|w| runnable(w) || gave_up(w))
    })
    .await?;
    if !runnable(&ready) {
        shared.record(
            "machine",
            "agent.not_runnable",
            &key,
            format!(
                "state {} templateRendering {}",
                ready.data["status"]["state"], ready.data["status"]["templateRendering"]
            ),
        );
        return Ok(());
    }
    let spec = &ready.data["spec"];
    let hardware_name = spec["hardwareRef"].as_str().unwrap_or_default().to_string();
    if spec["bootOptions"]["bootMode"] == "netboot" {
        let job = format!("netboot-{name}");
        let complete = ready.data["status"]["bootOptions"]["jobs"][&job]["complete"] == true;
        if !complete {
            return Err(Error::Invalid(format!(
                "{key} is PENDING but its boot job {job} is not complete"
            )));
        }
        shared.record("machine", "machine.pxe_boot", &key, job);
    }
    let hardware_api = namespaced(&shared.world.platform, &namespace, &resources::hardware());
    let hardware =
        retry_transient!(hardware_api.get(&hardware_name)).map_err(|source| Error::Kube {
            context: format!("get hardware {hardware_name}"),
            source,
        })?;
    let Some((worker, mac)) = worker_id(&hardware) else {
        return Err(Error::Invalid(format!(
            "hardware {hardware_name} has neither spec.agentID nor an interface MAC: no worker_id to boot with"
        )));
    };
    // PXE boot, HookOS, the agent starts and asks tink-server for an action.
    tokio::time::sleep(
        shared
            .scenario
            .scaled(shared.scenario.tinkerbell.agent_boot),
    )
    .await;

    // The rendered tasks, to name the served actions in events and to choose a fault's action.
    let tasks = ready.data["status"]["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let template = TemplateData {
        global_timeout: None,
        tasks: tasks
            .iter()
            .map(|task| TemplateTask {
                name: task["name"].as_str().unwrap_or_default().into(),
                worker: None,
                volumes: None,
                environment: None,
                actions: task["actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|action| TemplateAction {
                        name: action["name"].as_str().unwrap_or_default().into(),
                        image: String::new(),
                        timeout: None,
                        command: None,
                        volumes: None,
                        environment: None,
                        pid: None,
                    })
                    .collect(),
            })
            .collect(),
    };
    let total: usize = template.tasks.iter().map(|t| t.actions.len()).sum();
    let injected = injected_failure(shared, &key, &name, &template);
    let task_name = |task_id: &str| {
        tasks
            .iter()
            .find(|t| t["id"] == task_id)
            .and_then(|t| t["name"].as_str())
            .unwrap_or(task_id)
            .to_owned()
    };

    let mut agent = Agent::spawn(&server, &worker, mac.as_deref(), &key)?;
    shared.record(
        "machine",
        "agent.started",
        &key,
        format!("worker_id {worker}, tink-server {}", server.address),
    );
    let workflow_started = Instant::now();
    let mut waited = Vec::new();
    let mut done = 0;
    while done < total {
        // tink-server served an action and accepted its RUNNING report.
        let served = agent.next(shared, &mut waited).await?;
        if served.event != "action" {
            return Err(agent.failure(&format!("printed {served:?} where an action was due")));
        }
        let path = format!("{}/{}", task_name(&served.task_id), served.name);
        shared.record("machine", "action.state", &key, format!("{path} RUNNING"));
        tokio::time::sleep(shared.scenario.action_duration(&served.name)).await;
        let fails = injected.as_deref() == Some(path.as_str());
        agent
            .answer(&if fails {
                format!("failed {INJECTED_FAILURE}")
            } else {
                "success".to_owned()
            })
            .await?;
        let reported = agent.next(shared, &mut waited).await?;
        if reported.event != "reported" || reported.action_id != served.action_id {
            return Err(agent.failure(&format!(
                "printed {reported:?} where the report of action {} was due",
                served.action_id
            )));
        }
        shared.record(
            "machine",
            "action.state",
            &key,
            format!("{path} {}", reported.state),
        );
        if fails {
            if let Ok(mut failed) = shared.failed_once.lock() {
                failed.insert(key.clone());
            }
            break;
        }
        done += 1;
    }
    // The machine is done with its agent (installed, rebooting; or failed).
    agent.stop().await?;
    // The real server wrote POST (last action) or FAILED; the real controller's post step
    // (allowPXE false when asked) then SUCCESS.
    let finished = await_until(&api, &name, AGENT_WAIT, |w: Option<&DynamicObject>| {
        w.is_some_and(|w| {
            matches!(
                w.data["status"]["state"].as_str(),
                Some("SUCCESS" | "FAILED" | "TIMEOUT")
            )
        })
    })
    .await?;
    let state = finished.data["status"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    shared.record(
        "machine",
        "workflow.finished",
        &key,
        format!(
            "{state}: {done} of {total} actions in {}",
            go_duration(workflow_started.elapsed())
        ),
    );
    if state != "SUCCESS" {
        return Ok(());
    }
    // The installed machine reboots into Harvester.
    crate::harvester::installed(shared, hardware_name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hardware(spec: Value) -> DynamicObject {
        let mut object = DynamicObject::new("hv-1", &resources::hardware());
        object.data = json!({ "spec": spec });
        object
    }

    #[test]
    fn worker_id_is_the_agent_id_or_the_netboot_mac() {
        let interfaces = json!([
            { "dhcp": { "mac": "aa:aa:aa:aa:aa:01" }, "netboot": { "allowPXE": false } },
            { "dhcp": { "mac": "aa:aa:aa:aa:aa:02" }, "netboot": { "allowPXE": true } },
        ]);
        assert_eq!(
            worker_id(&hardware(json!({ "interfaces": interfaces }))),
            Some((
                "aa:aa:aa:aa:aa:02".to_owned(),
                Some("aa:aa:aa:aa:aa:02".to_owned())
            ))
        );
        assert_eq!(
            worker_id(&hardware(
                json!({ "agentID": "worker-7", "interfaces": interfaces })
            )),
            Some(("worker-7".to_owned(), Some("aa:aa:aa:aa:aa:02".to_owned())))
        );
        assert_eq!(
            worker_id(&hardware(
                json!({ "interfaces": [{ "dhcp": { "mac": "aa:aa:aa:aa:aa:03" } }] })
            )),
            Some((
                "aa:aa:aa:aa:aa:03".to_owned(),
                Some("aa:aa:aa:aa:aa:03".to_owned())
            ))
        );
        assert_eq!(worker_id(&hardware(json!({}))), None);
    }
}
