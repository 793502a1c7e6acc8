//! Cluster test: step 6 (`rufio.machine`) on the test world: the BMC credentials Secret and the
//! Rufio Machine are applied with strict validation against the upstream CRD, the simulated
//! Rufio makes each Machine Contactable, and a second run changes nothing. A BMC that does not
//! answer for a while is waited out; one that stays silent past the step's timeout fails the
//! step with a message naming it. Those two run the real upstream Rufio controller against real
//! Redfish BMC emulators (sushy-tools), the silent BMC's emulator stopped for the outage (the
//! `bmc_unreachable` fault of a world with `real_tinkerbell`).

use crate::GENESIS;
use genesis_harness::latency;
use genesis_harness::loopback::{LoopbackLab, Options, ensure_namespace, reference_bmcs, text};
use genesis_harness::{create_namespace, files_below, genesis};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmc_step_registers_each_machine_and_waits_until_contactable() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::with_simulator().expect("reference scenario")
    })
    .await
    .expect("test world starts");
    let client = world.platform.client.clone();
    create_namespace(&client, "tink-system").await;
    let kubeconfig = world.platform.kubeconfig_path().to_owned();
    let state = tempfile::tempdir().expect("state dir");

    let output = genesis(GENESIS, state.path(), &kubeconfig, &["up", "--only", "bmc"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("fake-amt-password"),
        "a BMC password reached stderr"
    );

    let machines: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "tink-system",
        &genesis::actions::rufio::machine_resource(),
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "tink-system");
    let mut versions = Vec::new();
    for (index, host) in ["ms-02-1", "ms-02-2", "ms-02-3"].iter().enumerate() {
        let machine = machines.get(host).await.expect("Machine exists");
        let connection = &machine.data["spec"]["connection"];
        assert_eq!(connection["host"], format!("10.10.10.11{}", index + 1));
        assert_eq!(connection["port"], 16992);
        assert_eq!(connection["authSecretRef"]["name"], format!("bmc-{host}"));
        assert_eq!(
            connection["providerOptions"]["preferredOrder"],
            serde_json::json!(["IntelAMT"])
        );
        assert_eq!(
            connection["providerOptions"]["intelAMT"]["hostScheme"],
            "http"
        );
        let conditions = machine.data["status"]["conditions"]
            .as_array()
            .expect("conditions");
        assert!(
            conditions
                .iter()
                .any(|c| c["type"] == "Contactable" && c["status"] == "True")
        );
        let managers: Vec<String> = machine
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|entry| entry.manager.clone())
            .collect();
        assert!(managers.contains(&"genesis".to_owned()), "{managers:?}");
        let secret = secrets
            .get(&format!("bmc-{host}"))
            .await
            .expect("Secret exists");
        let data = secret.data.expect("data");
        assert_eq!(data["username"].0, b"admin");
        assert_eq!(
            data["password"].0,
            format!("fake-amt-password-{}!", index + 1).as_bytes()
        );
        versions.push((
            machine.metadata.resource_version.clone(),
            secret.metadata.resource_version.clone(),
        ));
    }

    // Again, forced: the same objects, not rewritten.
    let output = genesis(GENESIS, state.path(), &kubeconfig, &["up", "--only", "bmc"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (index, host) in ["ms-02-1", "ms-02-2", "ms-02-3"].iter().enumerate() {
        let machine = machines.get(host).await.expect("Machine exists");
        let secret = secrets
            .get(&format!("bmc-{host}"))
            .await
            .expect("Secret exists");
        assert_eq!(
            (
                machine.metadata.resource_version.clone(),
                secret.metadata.resource_version.clone()
            ),
            versions[index],
            "{host}: a repeated apply rewrote the objects"
        );
    }
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).expect("journal");
    assert!(
        journal.contains("apply Machine tink-system/ms-02-2"),
        "intent journaled"
    );
    for (path, text) in files_below(state.path()) {
        assert!(
            !text.contains("fake-amt-password"),
            "a BMC password reached {}",
            path.display()
        );
    }
    world.shutdown().await;
}

/// A world (no sshd) with the real Rufio and one Redfish emulator per machine, `machine`'s
/// emulator down for `outage` (lab time, scaled by the reference scenario's 0.002) from the
/// moment its Rufio Machine is created, and a loopback lab for it.
async fn world_with_outage(machine: &str, outage: &str) -> (World, LoopbackLab) {
    let scenario = labsim::Scenario::reference()
        .expect("reference scenario")
        .with_fault(labsim::Fault::BmcUnreachable {
            machine: machine.to_owned(),
            duration: labsim::SimDuration(
                labsim::scenario::parse_duration(outage).expect("duration"),
            ),
        });
    let world = World::start_with(WorldOptions {
        ssh: false,
        scenario: Some(scenario),
        real_tinkerbell: Some(reference_bmcs()),
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let lab = LoopbackLab::build(
        GENESIS,
        &world,
        Options {
            phases: Some(&[2, 3]),
        },
    )
    .await;
    ensure_namespace(&world.platform.client, "tink-system").await;
    (world, lab)
}

/// The run log's `step_progress` sub-states of `step`.
fn substates(lab: &LoopbackLab, step: &str) -> Vec<String> {
    latency::run_log_events(&lab.state)
        .into_iter()
        .filter(|event| event.event["event"] == "step_progress" && event.event["step"] == step)
        .filter_map(|event| event.event["substate"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bmc_unreachable_for_a_while_is_waited_out() {
    // 15 lab minutes: 1.8 s here; the step's timeout (5 min) is far away.
    let (world, lab) = world_with_outage("ms-02-2", "15m").await;
    let started = std::time::Instant::now();
    let output = lab.genesis(&["up", "--only", "bmc"]).await;
    let took = started.elapsed();
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    // The sub-state said why it was still waiting, with the real Rufio's message: its
    // Redfish client could not reach the stopped emulator.
    let seen = substates(&lab, "bmc/ms-02-2");
    assert!(
        seen.iter()
            .any(|substate| substate.contains("not contactable yet")
                && substate.contains("failed to open connection to BMC")),
        "{seen:#?}"
    );
    // Waited out in one attempt: no retry, no failure.
    let journal = lab.journal();
    assert!(
        !journal.iter().any(|record| record["step"] == "bmc/ms-02-2"
            && (record["record"] == "step_retrying" || record["record"] == "step_failed")),
        "{journal:#?}"
    );
    // Contactable now: Rufio reached the emulator once it ran again.
    let machines: Api<DynamicObject> = Api::namespaced_with(
        world.platform.client.clone(),
        "tink-system",
        &genesis::actions::rufio::machine_resource(),
    );
    let machine = machines.get("ms-02-2").await.expect("Machine");
    let contactable = machine.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|condition| condition["type"] == "Contactable")
        .cloned();
    assert_eq!(
        contactable.as_ref().map(|condition| &condition["status"]),
        Some(&serde_json::json!("True")),
        "{machine:?}"
    );
    eprintln!("outage of 1.8 s waited out; run {took:?}");
    assert!(took >= std::time::Duration::from_millis(1800), "{took:?}");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bmc_unreachable_past_the_step_timeout_fails_naming_machine_and_address() {
    // An hour of lab time (7.2 s) against a step timeout of 3 s.
    let (world, lab) = world_with_outage("ms-02-2", "1h").await;
    lab.edit_phase(3, |text| {
        text.replace(
            // The estimate may not exceed the timeout (validate refuses it), so it shrinks too.
            "estimate: 30s\n    timeout: 5m\n    retry: {attempts: 5, backoff: 5s",
            "estimate: 2s\n    timeout: 3s\n    retry: {attempts: 5, backoff: 5s",
        )
    });
    let output = lab.genesis(&["up", "--only", "bmc"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");

    let journal = lab.journal();
    let failure = journal
        .iter()
        .find(|record| record["record"] == "step_failed" && record["step"] == "bmc/ms-02-2")
        .unwrap_or_else(|| panic!("bmc/ms-02-2 failed in the journal: {journal:#?}"));
    let message = failure.to_string();
    let address = format!("127.0.0.112:{}", world.bmcs["ms-02-2"].port);
    for wanted in [
        "ms-02-2",
        address.as_str(),
        "failed to open connection to BMC",
        "check",
    ] {
        assert!(message.contains(wanted), "`{wanted}` in {message}");
        assert!(stderr.contains(wanted), "`{wanted}` in stderr:\n{stderr}");
    }
    // The other two BMCs answered and their steps succeeded.
    for machine in ["ms-02-1", "ms-02-3"] {
        assert!(
            journal
                .iter()
                .any(|record| record["record"] == "step_succeeded"
                    && record["step"] == format!("bmc/{machine}")),
            "{machine}"
        );
    }
    world.shutdown().await;
}
