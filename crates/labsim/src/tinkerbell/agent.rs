//! The machine side, for worlds running the real upstream Tinkerbell and Rufio
//! controllers and the real tink server (genesis-testworld's
//! `TinkerbellControllers`). The simulator then renders nothing, creates no Job,
//! toggles nothing and writes no Workflow status: it only plays the machine that
//! PXE-booted into the Tinkerbell agent. That agent is `genesis-tinkerbell agent`,
//! a client of the real server's gRPC WorkflowService; the simulator decides,
//! through it, when each served action ends and whether it fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::DynamicObject;
use serde::Deserialize;
use serde_json::Value;

use crate::resources::{self, namespaced};
use crate::util::{await_until, go_duration, key, log_error, name, uid, watch_objects};
use crate::{Error, Shared};

use super::{TemplateAction, TemplateData, TemplateTask, injected_failure};

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
    use serde_json::json;

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
