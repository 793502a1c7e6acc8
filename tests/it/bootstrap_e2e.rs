//! End-to-end: ONE `genesis up` runs phases 2 and 3 to the end on the loopback lab (three
//! machines; the test world's real API servers, sshd, the real upstream Tinkerbell workflow
//! controller and Rufio controllers, one real Redfish BMC emulator per machine, and the lab
//! simulator playing only the machines and the rest of the lab), then every object genesis
//! wrote is checked field by field on the real API servers, what the real controllers made of
//! it (the rendered Template, the netboot Jobs run against the emulated BMCs), the run's
//! reaction latency against the simulator's events, and a second `genesis up` is a no-op.
//! A last test breaks the install Template as issue 11 found it (a literal `{{…}}` in its
//! header comment): the real controller refuses to render it and genesis fails fast, naming
//! the machine and the controller's message.
//!
//! The lab is the reference lab moved onto loopback (`genesis_harness::loopback`), its
//! machines' BMCs speaking Redfish to the emulators.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::GENESIS;
use base64::Engine as _;
use genesis::actions::rufio::machine_resource;
use genesis::actions::tinkerbell::{hardware_resource, template_resource, workflow_resource};
use genesis_harness::latency;
use genesis_harness::loopback::{
    LoopbackLab, Options, assert_no_leaks, key_lines, kubeconfig_field, reference_bmcs,
    secret_text, text,
};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::{Value, json};

mod checks;
use checks::{check_phase_4, check_rendered_by_the_controller};

mod phases;
use phases::check_phases_2_and_3;

const LIMIT: Duration = Duration::from_secs(300);
const MACHINES: [&str; 3] = ["ms-02-1", "ms-02-2", "ms-02-3"];
const VMS: [&str; 2] = ["cp-2", "cp-3"];
const NS: &str = "tink-system";

fn rufio_job_resource() -> ApiResource {
    ApiResource {
        group: "bmc.tinkerbell.org".into(),
        version: "v1alpha1".into(),
        api_version: "bmc.tinkerbell.org/v1alpha1".into(),
        kind: "Job".into(),
        plural: "jobs".into(),
    }
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn nad_resource() -> ApiResource {
    resource(
        "k8s.cni.cncf.io",
        "v1",
        "NetworkAttachmentDefinition",
        "network-attachment-definitions",
    )
}

fn image_resource() -> ApiResource {
    resource(
        "harvesterhci.io",
        "v1beta1",
        "VirtualMachineImage",
        "virtualmachineimages",
    )
}

fn vm_resource() -> ApiResource {
    resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines")
}

fn dynamic(world: &World, resource: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(world.platform.client.clone(), NS, resource)
}

/// Every object genesis owns (or caused) on both clusters, by `cluster Kind name`, with its
/// resourceVersion: two equal snapshots mean nothing was written in between.
async fn objects(world: &World) -> BTreeMap<String, String> {
    let mut objects = BTreeMap::new();
    for resource in [
        machine_resource(),
        hardware_resource(),
        template_resource(),
        workflow_resource(),
        rufio_job_resource(),
    ] {
        for object in dynamic(world, &resource)
            .list(&ListParams::default())
            .await
            .expect("list")
        {
            objects.insert(
                format!(
                    "platform {} {}",
                    resource.kind,
                    object.metadata.name.unwrap_or_default()
                ),
                object.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    for namespace in [NS, "argocd"] {
        for secret in Api::<Secret>::namespaced(world.platform.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .expect("list Secrets")
        {
            objects.insert(
                format!(
                    "platform Secret {namespace}/{}",
                    secret.metadata.name.unwrap_or_default()
                ),
                secret.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    let harvester = world.harvester.client.clone();
    for resource in [
        nad_resource(),
        image_resource(),
        vm_resource(),
        ApiResource::erase::<Secret>(&()),
    ] {
        for object in Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &resource)
            .list(&ListParams::default())
            .await
            .expect("list")
        {
            objects.insert(
                format!(
                    "harvester {} {}",
                    resource.kind,
                    object.metadata.name.unwrap_or_default()
                ),
                object.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    objects
}

fn condition(object: &Value, kind: &str) -> Option<String> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|condition| condition["type"] == kind)
        .and_then(|condition| condition["status"].as_str())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_2_and_3_run_to_the_end_in_one_up() {
    tokio::time::timeout(LIMIT, end_to_end(false))
        .await
        .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_2_to_4_run_to_the_end_in_one_up() {
    tokio::time::timeout(LIMIT, end_to_end(true))
        .await
        .expect("the test finishes in time");
}

/// The steps of phases 2 and 3 (and 4) of the reference lab.
fn all_steps(phase_4: bool) -> Vec<String> {
    let mut steps: Vec<String> = [
        "platform-api",
        "tinkerbell-stack",
        "argocd",
        "pxe-artifacts",
        "install-template",
        "create-cluster/ms-02-1",
        "harvester-api",
        "join-cluster/ms-02-2",
        "join-cluster/ms-02-3",
        "quorum",
        "register-argocd",
    ]
    .iter()
    .map(|step| (*step).to_owned())
    .collect();
    for machine in MACHINES {
        steps.push(format!("bmc/{machine}"));
        steps.push(format!("hardware/{machine}"));
    }
    if phase_4 {
        steps.extend(["vm-network".to_owned(), "vm-image".to_owned()]);
        for vm in VMS {
            for step in ["vm-userdata", "vm", "platform-join"] {
                steps.push(format!("{step}/{vm}"));
            }
        }
    }
    steps.sort_unstable();
    steps
}

async fn end_to_end(phase_4: bool) {
    let started = Instant::now();
    let world = World::start_with(
        WorldOptions::with_real_tinkerbell(reference_bmcs()).expect("reference scenario"),
    )
    .await
    .expect("test world starts");
    let phases: &[u32] = if phase_4 { &[2, 3, 4] } else { &[2, 3] };
    let lab = LoopbackLab::build(
        GENESIS,
        &world,
        Options {
            phases: Some(phases),
        },
    )
    .await;
    lab.prepare_platform(&world).await;
    let world_up = started.elapsed();

    let run_started = Instant::now();
    let output = lab.genesis(&["up"]).await;
    let run_took = run_started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    // Every step succeeded, each once.
    let journal = lab.journal();
    let mut succeeded: Vec<&str> = journal
        .iter()
        .filter(|record| record["record"] == "step_succeeded")
        .filter_map(|record| record["step"].as_str())
        .collect();
    succeeded.sort_unstable();
    let expected_steps = all_steps(phase_4);
    assert_eq!(
        succeeded, expected_steps,
        "each step succeeded exactly once"
    );

    // The final report names the critical path, ending at the last step to finish.
    let report = format!("{stdout}{stderr}");
    let critical = report
        .lines()
        .find(|line| line.contains("critical path ("))
        .unwrap_or_else(|| panic!("a critical path in the report:\n{report}"));
    let last = if phase_4 {
        "platform-join/cp-"
    } else {
        "register-argocd"
    };
    assert!(critical.contains(last), "{critical}");
    eprintln!("{}", critical.trim());

    let mut leaks = check_phases_2_and_3(&world, &lab).await;
    if phase_4 {
        check_phase_4(&world).await;
    }

    // No secret value in the output or the state dir (the fetched kubeconfig aside, 0600).
    leaks.extend(lab.secret_values());
    assert!(leaks.len() > 12, "values to look for: {}", leaks.len());
    let mut places = vec![("stdout".to_owned(), stdout), ("stderr".to_owned(), stderr)];
    places.extend(lab.state_places());
    assert_no_leaks(&places, &leaks);

    // Reaction latency: each condition the simulator made true, to genesis' event for the step
    // that waited for it. The BMCs' contact and the installs' SUCCESS are the real
    // controllers' doing here, not the simulator's: those reactions are not paired.
    let expected: Vec<_> = latency::expectations(&lab.inputs().lab, phase_4)
        .into_iter()
        .filter(|expected| {
            !["bmc/", "create-cluster/", "join-cluster/"]
                .iter()
                .any(|prefix| expected.name.contains(prefix))
        })
        .collect();
    let simulator = world.simulator.as_ref().expect("simulator");
    let genesis_events = latency::run_log_events(&lab.state);
    let pairs = latency::pair(&simulator.events(), &genesis_events, &expected)
        .unwrap_or_else(|missing| panic!("unpaired reactions: {missing:#?}"));
    assert_eq!(pairs.len(), expected.len());
    let summary = latency::summary(&pairs);
    eprintln!("reaction latency: {summary}\n{}", latency::table(&pairs));

    // Again: every step already done, nothing written.
    let before = objects(&world).await;
    let started_before = genesis_events
        .iter()
        .filter(|event| event.event["event"] == "step_started")
        .count();
    let again = lab.genesis(&["up"]).await;
    let (stdout_again, stderr_again) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stderr_again}");
    let after = objects(&world).await;
    assert_eq!(before, after, "the second run wrote an object");
    let events_after = latency::run_log_events(&lab.state);
    let started_after = events_after
        .iter()
        .filter(|event| event.event["event"] == "step_started")
        .count();
    assert_eq!(started_before, started_after, "the second run ran a step");
    let skipped = events_after
        .iter()
        .filter(|event| {
            event.event["event"] == "step_skipped"
                && event.event["reason"]["reason"] == "done_earlier"
        })
        .count();
    assert_eq!(skipped, expected_steps.len(), "every step already done");
    assert_no_leaks(
        &[
            ("the second run's stdout".to_owned(), stdout_again),
            ("the second run's stderr".to_owned(), stderr_again),
        ],
        &leaks,
    );
    eprintln!(
        "world {world_up:?}, phases {phases:?} {run_took:?}, total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
}
