//! Rufio: BMC Machines become contactable; power Jobs run task by task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::DynamicObject;
use serde_json::{Value, json};

use crate::resources::{self, namespaced};
use crate::util::{
    await_until, key, log_error, name, now_rfc3339, patch_status, uid, watch_objects,
};
use crate::{Error, Fault, Shared};

/// How long a Job waits for its Machine to exist and be probed.
const MACHINE_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run_machines(shared: Arc<Shared>) {
    let api = resources::all(&shared.world.platform, &resources::machine());
    let handler = shared.clone();
    watch_objects("rufio machines", api, move |machine: DynamicObject| {
        if !handler.claim("machine", &uid(&machine)) {
            return;
        }
        let shared = handler.clone();
        handler.spawn(async move {
            log_error("rufio machine", make_contactable(&shared, machine).await)
        });
    })
    .await;
}

pub async fn run_jobs(shared: Arc<Shared>) {
    let api = resources::all(&shared.world.platform, &resources::job());
    let handler = shared.clone();
    watch_objects("rufio jobs", api, move |job: DynamicObject| {
        if finished(&job) || !handler.claim("job", &uid(&job)) {
            return;
        }
        let shared = handler.clone();
        handler.spawn(async move { log_error("rufio job", run_job(&shared, job).await) });
    })
    .await;
}

fn unreachable_for(shared: &Shared, machine: &str) -> Option<Duration> {
    shared.faults().iter().find_map(|fault| match fault {
        Fault::BmcUnreachable {
            machine: m,
            duration,
        } if m == machine => Some(shared.scenario.scaled(*duration)),
        _ => None,
    })
}

fn is_unreachable(shared: &Shared, machine: &str) -> bool {
    shared
        .unreachable_until
        .lock()
        .map(|until| {
            until
                .get(machine)
                .is_some_and(|until| Instant::now() < *until)
        })
        .unwrap_or(false)
}

fn contactable(status: &str, message: &str) -> Value {
    json!([{ "type": "Contactable", "status": status, "lastUpdateTime": now_rfc3339(), "message": message }])
}

async fn make_contactable(shared: &Shared, machine: DynamicObject) -> Result<(), Error> {
    let name = name(&machine);
    let namespace = machine.metadata.namespace.clone().unwrap_or_default();
    let api = namespaced(&shared.world.platform, &namespace, &resources::machine());
    if let Some(outage) = unreachable_for(shared, &name) {
        if let Ok(mut until) = shared.unreachable_until.lock() {
            until.insert(name.clone(), Instant::now() + outage);
        }
        let message = "error getting power state: dial tcp: i/o timeout";
        patch_status(
            &api,
            &name,
            json!({ "powerState": "unknown", "conditions": contactable("False", message) }),
        )
        .await?;
        shared.record(
            "rufio",
            "machine.contactable",
            &key(&machine),
            "False (injected BMC outage)",
        );
        tokio::time::sleep(outage).await;
    } else {
        tokio::time::sleep(shared.scenario.scaled(shared.scenario.rufio.contact)).await;
    }
    patch_status(
        &api,
        &name,
        json!({ "powerState": "off", "conditions": contactable("True", "") }),
    )
    .await?;
    shared.record("rufio", "machine.contactable", &key(&machine), "True");
    Ok(())
}

fn finished(job: &DynamicObject) -> bool {
    job.data["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                (c["type"] == "Completed" || c["type"] == "Failed") && c["status"] == "True"
            })
        })
}

async fn run_job(shared: &Shared, job: DynamicObject) -> Result<(), Error> {
    let name = name(&job);
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let jobs = namespaced(&shared.world.platform, &namespace, &resources::job());
    let machine_name = job.data["spec"]["machineRef"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let machine_namespace = job.data["spec"]["machineRef"]["namespace"]
        .as_str()
        .unwrap_or(&namespace)
        .to_string();
    let machines = namespaced(
        &shared.world.platform,
        &machine_namespace,
        &resources::machine(),
    );
    let tasks = job.data["spec"]["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let started = now_rfc3339();
    patch_status(
        &jobs,
        &name,
        json!({ "startTime": started, "conditions": [{ "type": "Running", "status": "True" }] }),
    )
    .await?;
    shared.record(
        "rufio",
        "job.running",
        &key(&job),
        format!("{} tasks on {machine_name}", tasks.len()),
    );

    // Rufio talks to the BMC only once it has looked at it: wait until the
    // Machine has a Contactable condition (either way).
    let probed = |machine: Option<&DynamicObject>| {
        machine.is_some_and(|m| {
            m.data["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Contactable"))
        })
    };
    let waited = await_until(&machines, &machine_name, MACHINE_TIMEOUT, probed).await;
    let mut failure = match waited {
        Ok(_) => None,
        Err(_) => Some(format!(
            "machine {machine_namespace}/{machine_name} not found or never probed"
        )),
    };
    for (index, task) in tasks.iter().enumerate() {
        if failure.is_some() {
            break;
        }
        if is_unreachable(shared, &machine_name) {
            failure = Some(format!(
                "task {index}: error connecting to BMC: dial tcp: i/o timeout"
            ));
            break;
        }
        tokio::time::sleep(shared.scenario.scaled(shared.scenario.rufio.task)).await;
        if let Some(action) = task["powerAction"].as_str() {
            let power = match action {
                "off" | "soft" => Some("off"),
                "on" | "cycle" | "reset" => Some("on"),
                _ => None,
            };
            if let Some(power) = power {
                patch_status(&machines, &machine_name, json!({ "powerState": power })).await?;
            }
        }
        shared.record(
            "rufio",
            "job.task",
            &key(&job),
            format!("task {index} done: {task}"),
        );
    }
    let finished_at = now_rfc3339();
    match failure {
        Some(message) => {
            patch_status(
                &jobs,
                &name,
                json!({ "completionTime": finished_at, "conditions": [
                    { "type": "Running", "status": "False" },
                    { "type": "Failed", "status": "True", "message": message },
                ] }),
            )
            .await?;
            shared.record("rufio", "job.failed", &key(&job), message);
        }
        None => {
            patch_status(
                &jobs,
                &name,
                json!({ "completionTime": finished_at, "conditions": [
                    { "type": "Running", "status": "False" },
                    { "type": "Completed", "status": "True" },
                ] }),
            )
            .await?;
            shared.record("rufio", "job.completed", &key(&job), "");
        }
    }
    Ok(())
}
