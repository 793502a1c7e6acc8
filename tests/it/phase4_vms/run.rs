//! The plan before phase 4 runs, and the run itself across a restart of the Harvester API
//! server (moved from phase4_vms.rs: one function per stage of the test).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use genesis_testworld::World;
use serde_json::Value;

use super::{Outputs, Setup};

/// The live plan before the run: the plan halves observe Harvester (server-side dry runs).
pub(super) async fn plan_before_the_run(setup: &Setup, outputs: &mut Outputs) {
    let plan_before = setup.genesis(&["plan", "-o", "json"]).await;
    let (stdout_plan_before, stderr_plan_before) = outputs.add("plan before", &plan_before);
    assert_eq!(plan_before.status.code(), Some(0), "{stderr_plan_before}");
    let planned: Value = serde_json::from_str(&stdout_plan_before).expect("plan JSON");
    let observed = |id: &str| -> Value {
        planned["phases"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|phase| phase["steps"].as_array().into_iter().flatten())
            .find(|step| step["id"] == id)
            .unwrap_or_else(|| panic!("step {id} in the plan"))["observed"]
            .clone()
    };
    for (id, outcome, says) in [
        (
            "vm-network",
            "will-change",
            "NetworkAttachmentDefinition default/platform: create",
        ),
        (
            "vm-image",
            "will-change",
            "VirtualMachineImage default/talos-nocloud: create",
        ),
        (
            "vm-userdata/cp-2",
            "will-change",
            "Secret default/cp-2-userdata: create",
        ),
        (
            "vm/cp-3",
            "depends-on-earlier",
            "StorageClass of image talos-nocloud",
        ),
    ] {
        let found = observed(id);
        assert_eq!(found["outcome"], outcome, "{id}: {found}");
        let summary = found["summary"].as_str().unwrap_or_default();
        assert!(summary.contains(says), "{id}: {summary}");
    }
    assert!(
        observed("vm-userdata/cp-3")["summary"]
            .as_str()
            .is_some_and(|summary| summary.contains("value not shown")),
        "the plan names the secret, not its value"
    );
}

/// How long the run and the restart inside it took.
pub(super) struct Timing {
    pub run: Duration,
    pub restart: Duration,
}

/// The run, and the Harvester API server killed and restarted while step 14 waits.
pub(super) async fn run_across_a_restart(
    world: &mut World,
    setup: &Setup,
    outputs: &mut Outputs,
) -> Timing {
    let run_started = Instant::now();
    let child = setup
        .command(&["up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start genesis");
    let events = world
        .simulator
        .as_ref()
        .expect("simulator")
        .event_log()
        .clone();
    events
        .wait_for(
            "the image import to start",
            Duration::from_secs(30),
            |event| event.kind == "image.initialized",
        )
        .await
        .expect("genesis applied the image and the import started");
    let restart_at = SystemTime::now();
    let restart_began = Instant::now();
    world
        .harvester
        .server
        .restart()
        .await
        .expect("the Harvester API server restarts");
    let restart_took = restart_began.elapsed();
    let output = child.wait_with_output().await.expect("genesis ends");
    let run_took = run_started.elapsed();
    let (stdout, stderr) = outputs.add("", &output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");

    // The wait spanned the restart: the import ended, and step 14 finished, after it.
    let imported = events
        .snapshot()
        .into_iter()
        .find(|event| event.kind == "image.imported")
        .expect("the image was imported");
    assert!(
        imported.system_time > restart_at,
        "the import ended after the restart began"
    );
    let journal = setup.journal();
    let at_ms =
        |time: SystemTime| time.duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64;
    let succeeded = |step: &str| -> Value {
        journal
            .iter()
            .find(|record| record["record"] == "step_succeeded" && record["step"] == step)
            .unwrap_or_else(|| panic!("{step} succeeded in the journal"))
            .clone()
    };
    assert!(
        succeeded("vm-image")["at"].as_u64().expect("at") > at_ms(restart_at),
        "step 14 was waiting when the server went down"
    );
    for step in [
        "vm-network",
        "vm-userdata/cp-2",
        "vm-userdata/cp-3",
        "vm/cp-2",
        "vm/cp-3",
        "platform-join/cp-2",
        "platform-join/cp-3",
    ] {
        succeeded(step);
    }
    assert!(
        !journal
            .iter()
            .any(|record| record["record"] == "step_failed"),
        "no attempt failed, the restart included"
    );
    assert_eq!(
        succeeded("vm-image")["outputs"]["storage_class"],
        "longhorn-talos-nocloud"
    );
    assert_eq!(
        succeeded("vm/cp-2")["outputs"]["printable_status"],
        "Running"
    );
    Timing {
        run: run_took,
        restart: restart_took,
    }
}
