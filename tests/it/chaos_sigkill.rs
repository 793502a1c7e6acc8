//! Chaos: the whole bootstrap on the simulated lab, its `genesis up` killed with SIGKILL at
//! random moments and started again each time, until a run completes. Then:
//!
//! - every step is done in the journal and in `genesis status`;
//! - every object reached its final state (Workflows `SUCCESS`, Nodes Ready, VMs running);
//! - no object was created twice: watches opened before the first run record every object of
//!   every kind genesis writes (and of the kinds the simulator makes in answer: Rufio Jobs,
//!   Harvester and Platform Nodes, VMIs), with its uid. Each name must have exactly one uid
//!   (created once, never deleted and made again), and the set of names must be exactly the
//!   expected one (no extra object, not even a transient one);
//! - the journal loads after every kill (`genesis_engine::journal::load`), and no step that
//!   the journal called finished was started again by a later run.
//!
//! Workflows: genesis names them `harvester-install-<machine>-<attempt>` (label
//! `genesis.dev/attempt`). A resumed install step whose outcome is unknown lists the machine's
//! Workflows and continues the latest attempt unless it FAILED or timed out; only then does it
//! delete it and create attempt + 1. So the invariant, for any run: per machine the attempts
//! seen are 1..n, every attempt before n failed and was deleted by genesis, attempt n reached
//! `SUCCESS`, and no name was created twice. This scenario injects no fault, so n must be 1:
//! a kill alone must never cost an install. Rufio Jobs are made by the (simulated) Tinkerbell
//! controller, one per Workflow (`netboot-<workflow>`); genesis makes none.
//!
//! The kill moments are drawn uniformly over a window that the run cannot outlast (a lower
//! bound of the simulated critical path, from the scenario's durations), so each of them finds
//! a run to kill. `GENESIS_CHAOS_SEED=<n>` replays a sequence (the seed is printed);
//! `GENESIS_CHAOS_KILLS=<n>` sets how many kills (default 20).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::GENESIS;
use futures::StreamExt as _;
use genesis_engine::journal::{self, Journaled};
use genesis_harness::kill_moments::Moments;
use genesis_harness::loopback::{LoopbackLab, Options};
use genesis_testworld::{World, WorldOptions};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use serde_json::Value;

mod checks;

/// The whole test, world start-up included.
const LIMIT: Duration = Duration::from_secs(300);
/// The simulated lab runs 5× slower than the reference scenario (0.002), so that 20 kills
/// spread over the run are ~1 s apart instead of ~0.2 s (mostly genesis' own start-up).
const TIME_SCALE: f64 = 0.01;
/// Phases of the run: all of them (2–4).
const PHASES: Option<&[u32]> = None;
/// The last run (after the last kill) must finish within this.
const LAST_RUN_LIMIT: Duration = Duration::from_secs(120);

fn kills_wanted() -> usize {
    std::env::var("GENESIS_CHAOS_KILLS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20)
}

/// A lower bound of the simulated run's length: the chain every run must wait through, from
/// the scenario's durations (the first BMC answering, the first install, its kubeconfig, a
/// joining node registering and turning Ready — its install runs alongside the first one's, and
/// its first boot waits for the first node's API —, the two promotions one after the other, and
/// with phase 4 a VM starting and its node joining and turning Ready).
fn critical_lower_bound(scenario: &labsim::Scenario, phase_4: bool) -> Duration {
    let install = |scenario: &labsim::Scenario| {
        let tasks = scenario.scaled(scenario.rufio.task) * 3;
        let actions: Duration = [
            "stream-harvester",
            "configure-harvester",
            "reboot-harvester",
        ]
        .iter()
        .map(|action| scenario.action_duration(action))
        .sum();
        tasks + scenario.scaled(scenario.tinkerbell.agent_boot) + actions
    };
    let mut bound = scenario.scaled(scenario.rufio.contact)
        + install(scenario)
        + scenario.scaled(scenario.harvester.kubeconfig)
        + scenario.scaled(scenario.harvester.node_register)
        + scenario.scaled(scenario.harvester.node_ready)
        + scenario.scaled(scenario.harvester.promote) * 2;
    if phase_4 {
        bound += scenario.scaled(scenario.kubevirt.vm_start)
            + scenario.scaled(scenario.platform.join)
            + scenario.scaled(scenario.platform.node_ready);
    }
    bound
}

// ---------------------------------------------------------------------------------------------
// The ledger: every object of the watched kinds, with every uid its name ever had.

#[derive(Debug, Default, Clone)]
struct Seen {
    uids: Vec<String>,
    deleted: bool,
    last: Option<DynamicObject>,
}

type Ledger = Arc<Mutex<BTreeMap<String, BTreeMap<String, Seen>>>>;

struct Watched {
    label: String,
    cluster: kube::Client,
    resource: ApiResource,
    namespace: Option<String>,
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn watched(world: &World, phase_4: bool) -> Vec<Watched> {
    let platform = world.platform.client.clone();
    let harvester = world.harvester.client.clone();
    let on = |cluster: &kube::Client,
              label: &str,
              resource: ApiResource,
              namespace: Option<&str>| Watched {
        label: label.to_owned(),
        cluster: cluster.clone(),
        resource,
        namespace: namespace.map(str::to_owned),
    };
    let mut list = vec![
        on(
            &platform,
            "platform Machines",
            resource("bmc.tinkerbell.org", "v1alpha1", "Machine", "machines"),
            None,
        ),
        on(
            &platform,
            "platform Rufio Jobs",
            resource("bmc.tinkerbell.org", "v1alpha1", "Job", "jobs"),
            None,
        ),
        on(
            &platform,
            "platform Hardware",
            resource("tinkerbell.org", "v1alpha1", "Hardware", "hardware"),
            None,
        ),
        on(
            &platform,
            "platform Templates",
            resource("tinkerbell.org", "v1alpha1", "Template", "templates"),
            None,
        ),
        on(
            &platform,
            "platform Workflows",
            resource("tinkerbell.org", "v1alpha1", "Workflow", "workflows"),
            None,
        ),
        on(
            &platform,
            "platform Secrets",
            resource("", "v1", "Secret", "secrets"),
            None,
        ),
        on(
            &platform,
            "platform Nodes",
            resource("", "v1", "Node", "nodes"),
            None,
        ),
        on(
            &harvester,
            "harvester Nodes",
            resource("", "v1", "Node", "nodes"),
            None,
        ),
    ];
    if phase_4 {
        list.extend([
            on(
                &harvester,
                "harvester Secrets",
                resource("", "v1", "Secret", "secrets"),
                None,
            ),
            on(
                &harvester,
                "harvester NADs",
                resource(
                    "k8s.cni.cncf.io",
                    "v1",
                    "NetworkAttachmentDefinition",
                    "network-attachment-definitions",
                ),
                None,
            ),
            on(
                &harvester,
                "harvester VirtualMachineImages",
                resource(
                    "harvesterhci.io",
                    "v1beta1",
                    "VirtualMachineImage",
                    "virtualmachineimages",
                ),
                None,
            ),
            on(
                &harvester,
                "harvester VirtualMachines",
                resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines"),
                None,
            ),
            on(
                &harvester,
                "harvester VMIs",
                resource(
                    "kubevirt.io",
                    "v1",
                    "VirtualMachineInstance",
                    "virtualmachineinstances",
                ),
                None,
            ),
        ]);
    }
    list
}

fn key_of(object: &DynamicObject) -> String {
    match &object.metadata.namespace {
        Some(namespace) => format!(
            "{namespace}/{}",
            object.metadata.name.clone().unwrap_or_default()
        ),
        None => object.metadata.name.clone().unwrap_or_default(),
    }
}

/// Starts one watch per kind; they record into the ledger until the task is aborted.
fn start_ledger(kinds: Vec<Watched>) -> (Ledger, Vec<tokio::task::JoinHandle<()>>) {
    let ledger: Ledger = Arc::default();
    let mut tasks = Vec::new();
    for kind in kinds {
        let ledger = Arc::clone(&ledger);
        ledger
            .lock()
            .expect("ledger")
            .insert(kind.label.clone(), BTreeMap::new());
        tasks.push(tokio::spawn(async move {
            let api: Api<DynamicObject> = match &kind.namespace {
                Some(namespace) => {
                    Api::namespaced_with(kind.cluster.clone(), namespace, &kind.resource)
                }
                None => Api::all_with(kind.cluster.clone(), &kind.resource),
            };
            let mut stream = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
            while let Some(event) = stream.next().await {
                let (object, deleted) = match event {
                    Ok(Event::Apply(object) | Event::InitApply(object)) => (object, false),
                    Ok(Event::Delete(object)) => (object, true),
                    Ok(_) => continue,
                    Err(error) => {
                        eprintln!("chaos: the watch on {} broke: {error}", kind.label);
                        continue;
                    }
                };
                let uid = object.metadata.uid.clone().unwrap_or_default();
                let mut ledger = ledger.lock().expect("ledger");
                let seen = ledger
                    .get_mut(&kind.label)
                    .expect("kind")
                    .entry(key_of(&object))
                    .or_default();
                if !seen.uids.contains(&uid) {
                    seen.uids.push(uid);
                }
                seen.deleted |= deleted;
                seen.last = Some(object);
            }
        }));
    }
    (ledger, tasks)
}

/// What the ledger holds for `label`, once it has caught up with a fresh list of the kind.
async fn caught_up(ledger: &Ledger, kind: &Watched) -> BTreeMap<String, Seen> {
    let api: Api<DynamicObject> = match &kind.namespace {
        Some(namespace) => Api::namespaced_with(kind.cluster.clone(), namespace, &kind.resource),
        None => Api::all_with(kind.cluster.clone(), &kind.resource),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = api.list(&Default::default()).await.expect("list");
        let current: BTreeMap<String, String> = list
            .items
            .iter()
            .map(|object| {
                (
                    key_of(object),
                    object.metadata.resource_version.clone().unwrap_or_default(),
                )
            })
            .collect();
        let seen = ledger
            .lock()
            .expect("ledger")
            .get(&kind.label)
            .cloned()
            .unwrap_or_default();
        let same = current.iter().all(|(key, version)| {
            seen.get(key)
                .and_then(|seen| seen.last.as_ref())
                .is_some_and(|last| {
                    last.metadata.resource_version.as_deref() == Some(version.as_str())
                })
        });
        if same {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "the watch on {} did not catch up with the server",
            kind.label
        );
        // The watch events are already on their way; this only gives them a moment.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
