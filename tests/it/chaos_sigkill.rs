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
/// joining install, that node registering and turning Ready, the two promotions one after the
/// other, and with phase 4 a VM starting and its node joining and turning Ready).
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
        + install(scenario)
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

/// Every object the run must leave, by watched kind, from the steps' resolved parameters and
/// genesis' naming rules (`namespace/name`, or `name` for cluster-scoped kinds).
fn expected_objects(inputs: &genesis::inputs::Inputs) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut expected: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for label in [
        "platform Machines",
        "platform Rufio Jobs",
        "platform Hardware",
        "platform Templates",
        "platform Workflows",
        "platform Secrets",
        "platform Nodes",
        "harvester Nodes",
        "harvester Secrets",
        "harvester NADs",
        "harvester VirtualMachineImages",
        "harvester VirtualMachines",
        "harvester VMIs",
    ] {
        expected.insert(label, BTreeSet::new());
    }
    let mut add = |label: &'static str, name: String| {
        expected.get_mut(label).expect("label").insert(name);
    };
    for step in inputs.graph.steps() {
        let param = |key: &str| {
            step.params[key]
                .as_str()
                .unwrap_or_else(|| panic!("step `{}`: no parameter {key}", step.id))
                .to_owned()
        };
        match step.kind.as_str() {
            "rufio.machine" => {
                let (namespace, machine) = (param("namespace"), param("machine"));
                add("platform Machines", format!("{namespace}/{machine}"));
                add("platform Secrets", format!("{namespace}/bmc-{machine}"));
            }
            "tinkerbell.hardware" => add(
                "platform Hardware",
                format!("{}/{}", param("namespace"), param("machine")),
            ),
            "tinkerbell.template" => add(
                "platform Templates",
                format!("{}/{}", param("namespace"), param("name")),
            ),
            "tinkerbell.install" => {
                // Attempt 1 only: no fault is injected (see the module's comment).
                let (namespace, machine) = (param("namespace"), param("machine"));
                let workflow = format!("harvester-install-{machine}-1");
                add("platform Workflows", format!("{namespace}/{workflow}"));
                add(
                    "platform Rufio Jobs",
                    format!("{namespace}/netboot-{workflow}"),
                );
                add("harvester Nodes", machine);
            }
            "argocd.cluster-secret" => add(
                "platform Secrets",
                format!("{}/{}", param("namespace"), param("secret_name")),
            ),
            "harvester.vm-network" => add(
                "harvester NADs",
                format!("{}/{}", param("namespace"), param("name")),
            ),
            "harvester.vm-image" => add(
                "harvester VirtualMachineImages",
                format!("{}/{}", param("namespace"), param("name")),
            ),
            "kubevirt.userdata-secret" => add(
                "harvester Secrets",
                format!("{}/{}-userdata", param("namespace"), param("vm")),
            ),
            "kubevirt.vm" => {
                let name = format!("{}/{}", param("namespace"), param("name"));
                add("harvester VirtualMachines", name.clone());
                add("harvester VMIs", name);
            }
            "kube.node-joined" => add("platform Nodes", param("node")),
            _ => {}
        }
    }
    expected
}

// ---------------------------------------------------------------------------------------------
// Running and killing genesis.

struct Runs {
    logs: PathBuf,
    count: usize,
}

impl Runs {
    fn spawn(&mut self, lab: &LoopbackLab) -> tokio::process::Child {
        self.count += 1;
        let stderr = std::fs::File::create(self.logs.join(format!("run-{}.stderr", self.count)))
            .expect("stderr file");
        lab.command()
            .arg("up")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("genesis starts")
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.join(format!("run-{}.stderr", self.count)))
            .unwrap_or_default()
    }
}

/// The journal loads (torn last line or not); returns its raw records.
fn journal_loads(state: &Path, note: &str) -> Vec<Value> {
    if let Err(error) = journal::load(state) {
        panic!("{note}: the journal does not load: {error}");
    }
    let text = std::fs::read_to_string(state.join("journal.ndjson")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// No step is attempted again once the journal recorded its success (nothing here changes
/// inputs or resets steps).
fn assert_nothing_redone(records: &[Value]) {
    let mut succeeded = BTreeSet::new();
    for record in records {
        let step = record["step"].as_str().unwrap_or_default().to_owned();
        match record["record"].as_str() {
            Some("step_succeeded") => {
                succeeded.insert(step);
            }
            Some("step_attempt") => assert!(
                !succeeded.contains(&step),
                "step `{step}` was started again after the journal recorded its success"
            ),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_resume_reaches_the_final_state_once() {
    tokio::time::timeout(LIMIT, chaos())
        .await
        .expect("the chaos test finishes in time");
}

async fn chaos() {
    let started = Instant::now();
    let kills = kills_wanted();
    let mut moments = Moments::from_env("GENESIS_CHAOS_SEED");
    let mut scenario = labsim::Scenario::reference().expect("reference scenario");
    scenario.time_scale = TIME_SCALE;
    assert!(scenario.faults.is_empty(), "the chaos run injects no fault");
    let world = World::start_with(WorldOptions {
        scenario: Some(scenario.clone()),
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let lab = LoopbackLab::build(GENESIS, &world, Options { phases: PHASES }).await;
    lab.prepare_platform(&world).await;
    let inputs = genesis::inputs::load(&genesis::inputs::InputPaths {
        lab: lab.lab.clone(),
        phases: lab.phases.clone(),
        secrets: lab.secrets.clone(),
    })
    .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
    let phase_4 = inputs.graph.steps().iter().any(|step| step.phase == 4);
    let (ledger, watches) = start_ledger(watched(&world, phase_4));
    let world_up = started.elapsed();

    let window = critical_lower_bound(&scenario, phase_4).mul_f64(0.9);
    let plan = moments.within(window, kills);
    eprintln!(
        "chaos: {kills} kills over the first {window:?} (a lower bound of the run): {:?}",
        plan.iter().map(Duration::as_millis).collect::<Vec<_>>()
    );
    let logs = tempfile::tempdir().expect("log dir");
    let mut runs = Runs {
        logs: logs.path().to_owned(),
        count: 0,
    };
    let chaos_started = Instant::now();
    let mut child = runs.spawn(&lab);
    let mut killed = 0;
    let mut outcome_unknown_resumes = 0;
    for (index, moment) in plan.iter().enumerate() {
        tokio::time::sleep_until((chaos_started + *moment).into()).await;
        let note = format!("kill {} of {kills} at {moment:?}", index + 1);
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "{note}: run {} ended ({status}) before the kill, {killed} kills in; stderr:\n{}",
                runs.count,
                runs.stderr()
            );
        }
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        killed += 1;
        let records = journal_loads(&lab.state, &note);
        assert_nothing_redone(&records);
        child = runs.spawn(&lab);
    }
    let chaos_took = chaos_started.elapsed();

    // The run after the last kill goes to the end.
    let status = tokio::time::timeout(LAST_RUN_LIMIT, child.wait())
        .await
        .expect("the last run finishes")
        .expect("reaped");
    assert!(
        status.success(),
        "the run after {killed} kills failed ({status}):\n{}",
        runs.stderr()
    );
    let total = chaos_started.elapsed();
    assert!(killed >= kills, "{killed} kills, {kills} wanted");

    // The journal: every step done, nothing started again after its success.
    let records = journal_loads(&lab.state, "after the last run");
    assert_nothing_redone(&records);
    for record in &records {
        if record["record"] == "step_attempt" && record["outcome_unknown"] == true {
            outcome_unknown_resumes += 1;
        }
    }
    let state = journal::load(&lab.state).expect("journal");
    for (step, step_state) in inputs.graph.steps().iter().zip(state.states(&inputs.graph)) {
        assert_eq!(
            step_state.label(),
            "done",
            "step `{}` is not done after the last run",
            step.id
        );
        assert_eq!(
            state.step(&step.id).map(|record| record.state),
            Some(Journaled::Succeeded)
        );
    }
    let status = lab.genesis(&["status", "-o", "json"]).await;
    assert_eq!(status.status.code(), Some(0));
    let document: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let rows = document["steps"].as_array().expect("rows");
    assert_eq!(rows.len(), inputs.graph.len());
    for row in rows {
        assert_eq!(row["state"], "done", "genesis status: {row}");
    }

    // The objects: each created once, the expected set, in its final state.
    let expected = expected_objects(&inputs);
    let kinds = watched(&world, phase_4);
    let mut counts = Vec::new();
    for kind in &kinds {
        let seen = caught_up(&ledger, kind).await;
        for (name, entry) in &seen {
            assert_eq!(
                entry.uids.len(),
                1,
                "{} {name} was created {} times (uids {:?})",
                kind.label,
                entry.uids.len(),
                entry.uids
            );
            assert!(!entry.deleted, "{} {name} was deleted", kind.label);
        }
        let wanted = expected
            .get(kind.label.as_str())
            .unwrap_or_else(|| panic!("no expectation for {}", kind.label));
        let names: BTreeSet<String> = seen.keys().cloned().collect();
        assert_eq!(
            &names, wanted,
            "{}: exactly the expected objects",
            kind.label
        );
        counts.push(format!("{} {}", kind.label, seen.len()));
        if kind.label == "platform Workflows" {
            for (name, entry) in &seen {
                let object = entry.last.as_ref().expect("object");
                assert_eq!(
                    object.data["status"]["state"], "SUCCESS",
                    "Workflow {name} ended in its final state"
                );
                assert_eq!(
                    object
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("genesis.dev/attempt")),
                    Some(&"1".to_owned()),
                    "no fault was injected: the first attempt of {name} is the only one"
                );
            }
        }
        if kind.label == "harvester VirtualMachines" {
            for (name, entry) in &seen {
                let object = entry.last.as_ref().expect("object");
                assert_eq!(
                    object.data["status"]["printableStatus"], "Running",
                    "VM {name} runs"
                );
            }
        }
        if kind.label.ends_with("Nodes") {
            for (name, entry) in &seen {
                let object = entry.last.as_ref().expect("object");
                let ready = object.data["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                assert!(ready, "{} {name} is Ready", kind.label);
            }
        }
    }
    for task in watches {
        task.abort();
    }
    eprintln!(
        "chaos: world up {world_up:?}; {killed} kills over {chaos_took:?}, {} runs, {outcome_unknown_resumes} outcome-unknown resumes, completed {total:?} after the first start; total {:?}",
        runs.count,
        started.elapsed()
    );
    eprintln!("chaos: objects {}", counts.join(", "));
    drop(lab);
    world.shutdown().await;
}
