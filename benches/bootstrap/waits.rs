//! Waits: genesis' watch against a 5 s poll loop, requests counted by the API server (the
//! bench's second part, moved from bootstrap.rs).

use genesis_harness::apimetrics::{self, Requests};
use genesis_harness::loopback::{LoopbackLab, Options};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use super::{GENESIS, PHASES, POLL_EVERY, median_max, ms};

/// xorshift64*: the poll loop's phase against the condition.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One write of a driven timeline, with its delay after the previous one.
struct Write {
    after: Duration,
    /// (verb, resource, subresource) as the API server counts it.
    key: (&'static str, &'static str, &'static str),
    body: WriteBody,
}

enum WriteBody {
    CreateNode(Value),
    NodeStatus(String, Value),
    NodeMeta(String, Value),
    WorkflowStatus(String, Value),
}

const WORKFLOW: &str = "harvester-install-ms-02-1-1";

fn ready() -> Value {
    json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}]}})
}

fn roles() -> Value {
    json!({"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/etcd": "true", "node-role.kubernetes.io/master": "true"})
}

/// Three Nodes registering, turning Ready and the two joined ones promoted one after the
/// other: the reference lab's order, compressed into 5 s. The last write makes the quorum.
fn quorum_timeline() -> Vec<Write> {
    let node = |name: &str, labels: Value| {
        WriteBody::CreateNode(json!({"metadata": {"name": name, "labels": labels}}))
    };
    let at = |after_ms: u64, key, body| Write {
        after: Duration::from_millis(after_ms),
        key,
        body,
    };
    let create = ("POST", "nodes", "");
    let status = ("PATCH", "nodes", "status");
    let meta = ("PATCH", "nodes", "");
    let promote = |name: &str, state: &str, labels: Value| {
        WriteBody::NodeMeta(
            name.to_owned(),
            json!({"metadata": {"labels": labels, "annotations": {"harvesterhci.io/promote-status": state}}}),
        )
    };
    vec![
        at(0, create, node("ms-02-1", roles())),
        at(
            500,
            status,
            WriteBody::NodeStatus("ms-02-1".into(), ready()),
        ),
        at(500, create, node("ms-02-2", json!({}))),
        at(0, create, node("ms-02-3", json!({}))),
        at(
            500,
            status,
            WriteBody::NodeStatus("ms-02-2".into(), ready()),
        ),
        at(0, status, WriteBody::NodeStatus("ms-02-3".into(), ready())),
        at(1000, meta, promote("ms-02-2", "running", json!({}))),
        at(1000, meta, promote("ms-02-2", "complete", roles())),
        at(500, meta, promote("ms-02-3", "running", json!({}))),
        at(1000, meta, promote("ms-02-3", "complete", roles())),
    ]
}

/// A Workflow going PREPARING → PENDING → RUNNING action by action → SUCCESS in 4.6 s.
fn workflow_timeline() -> Vec<Write> {
    let key = ("PATCH", "workflows", "status");
    let actions = |states: [&str; 3]| {
        let names = [
            "stream-harvester",
            "configure-harvester",
            "reboot-harvester",
        ];
        Value::Array(
            names
                .iter()
                .zip(states)
                .map(|(name, state)| json!({"id": name, "name": name, "image": "example/action", "state": state}))
                .collect(),
        )
    };
    let status = |after_ms: u64, state: &str, states: Option<[&str; 3]>| {
        let mut status = json!({"state": state});
        if let Some(states) = states {
            status["tasks"] = json!([{"id": "install", "name": "harvester-install", "agentID": "02:00:00:0a:0a:0b", "actions": actions(states)}]);
        }
        Write {
            after: Duration::from_millis(after_ms),
            key,
            body: WriteBody::WorkflowStatus(WORKFLOW.to_owned(), json!({"status": status})),
        }
    };
    vec![
        status(300, "PREPARING", None),
        status(500, "PENDING", None),
        status(700, "RUNNING", Some(["RUNNING", "PENDING", "PENDING"])),
        status(2000, "RUNNING", Some(["SUCCESS", "RUNNING", "PENDING"])),
        status(700, "RUNNING", Some(["SUCCESS", "SUCCESS", "RUNNING"])),
        status(400, "SUCCESS", Some(["SUCCESS", "SUCCESS", "SUCCESS"])),
    ]
}

fn workflows(client: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        "tink-system",
        &genesis_testworld::lab::workflow_resource(),
    )
}

/// Plays a timeline; returns the moment just before its last write was sent (the condition
/// turns true during that write) and the writes by (verb, resource, subresource).
async fn drive(world: &World, timeline: &[Write]) -> (Instant, Requests) {
    let nodes: Api<Node> = Api::all(world.harvester.client.clone());
    let workflows = workflows(&world.platform.client);
    let mut made = Requests::default();
    let mut last = Instant::now();
    for write in timeline {
        tokio::time::sleep(write.after).await;
        last = Instant::now();
        match &write.body {
            WriteBody::CreateNode(body) => {
                let node: Node = serde_json::from_value(body.clone()).expect("Node");
                nodes
                    .create(&PostParams::default(), &node)
                    .await
                    .expect("create Node");
            }
            WriteBody::NodeStatus(name, body) => {
                nodes
                    .patch_status(name, &PatchParams::default(), &Patch::Merge(body))
                    .await
                    .expect("Node status");
            }
            WriteBody::NodeMeta(name, body) => {
                nodes
                    .patch(name, &PatchParams::default(), &Patch::Merge(body))
                    .await
                    .expect("Node metadata");
            }
            WriteBody::WorkflowStatus(name, body) => {
                workflows
                    .patch_status(name, &PatchParams::default(), &Patch::Merge(body))
                    .await
                    .expect("Workflow status");
            }
        }
        let (verb, resource, subresource) = write.key;
        *made
            .0
            .entry((verb.into(), resource.into(), subresource.into()))
            .or_default() += 1;
    }
    (last, made)
}

/// What the other client made: the server's delta minus the driver's writes, which must be in
/// it exactly.
fn others(delta: &Requests, driver: &Requests, what: &str) -> Requests {
    let mut rest = delta.on_resources();
    for ((verb, resource, subresource), count) in &driver.0 {
        assert_eq!(
            delta.get(verb, resource, subresource),
            *count,
            "{what}: the server counted the driver's {verb} {resource}/{subresource} exactly"
        );
        rest.minus(verb, resource, subresource, *count);
    }
    rest
}

struct Measured {
    latency: Duration,
    /// The waiter's requests on the waited resource.
    requests: Requests,
    /// Requests on other resources in the same time (the API server's own informers).
    elsewhere: Requests,
    wait: Duration,
}

#[derive(Clone, Copy)]
enum Case {
    Quorum,
    Install,
}

impl Case {
    fn label(self) -> &'static str {
        match self {
            Self::Quorum => "quorum: 3 Nodes Ready + promoted (Harvester API)",
            Self::Install => "install: Workflow to SUCCESS (Platform API)",
        }
    }
    fn step(self) -> &'static str {
        match self {
            Self::Quorum => "quorum",
            Self::Install => "create-cluster/ms-02-1",
        }
    }
    fn timeline(self) -> Vec<Write> {
        match self {
            Self::Quorum => quorum_timeline(),
            Self::Install => workflow_timeline(),
        }
    }
    /// The resource waited on.
    fn resource(self) -> &'static str {
        match self {
            Self::Quorum => "nodes",
            Self::Install => "workflows",
        }
    }
    fn client(self, world: &World) -> kube::Client {
        match self {
            Self::Quorum => world.harvester.client.clone(),
            Self::Install => world.platform.client.clone(),
        }
    }
    /// Removes what the last repetition left (before counting starts).
    async fn clean(self, world: &World) {
        let params = DeleteParams::default();
        match self {
            Self::Quorum => {
                Api::<Node>::all(world.harvester.client.clone())
                    .delete_collection(&params, &ListParams::default())
                    .await
                    .expect("delete Nodes");
            }
            Self::Install => {
                workflows(&world.platform.client)
                    .delete_collection(&params, &ListParams::default())
                    .await
                    .expect("delete Workflows");
            }
        }
    }
    /// Is the condition true, from one read (the poll loop's check)?
    fn holds(self, objects: &[Value]) -> bool {
        match self {
            Self::Quorum => {
                objects
                    .iter()
                    .filter(|node| {
                        let ready = node["status"]["conditions"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True");
                        let control_plane = node["metadata"]["labels"]
                            ["node-role.kubernetes.io/control-plane"]
                            == "true";
                        let promoted = node["metadata"]["name"] == "ms-02-1"
                            || node["metadata"]["annotations"]["harvesterhci.io/promote-status"]
                                == "complete";
                        ready && control_plane && promoted
                    })
                    .count()
                    >= 3
            }
            Self::Install => objects
                .iter()
                .any(|workflow| workflow["status"]["state"] == "SUCCESS"),
        }
    }
    /// One read of the poll loop.
    async fn read(self, world: &World) -> Vec<Value> {
        match self {
            Self::Quorum => Api::<Node>::all(world.harvester.client.clone())
                .list(&ListParams::default())
                .await
                .expect("list Nodes")
                .items
                .into_iter()
                .map(|node| serde_json::to_value(node).expect("JSON"))
                .collect(),
            Self::Install => workflows(&world.platform.client)
                .get_opt(WORKFLOW)
                .await
                .expect("get Workflow")
                .into_iter()
                .map(|workflow| serde_json::to_value(workflow).expect("JSON"))
                .collect(),
        }
    }
}

/// Genesis waits (`genesis up --only STEP -o json`) while the timeline plays.
async fn genesis_wait(world: &World, lab: &LoopbackLab, case: Case) -> Measured {
    case.clean(world).await;
    let _ = std::fs::remove_dir_all(&lab.state);
    match case {
        Case::Quorum => lab.record_nodes_joined(world),
        Case::Install => lab.record_done(&["hardware/ms-02-1", "install-template"]),
    }
    let client = case.client(world);
    let open_before = apimetrics::open_watches(&client, case.resource()).await;
    let before = apimetrics::requests(&client).await;
    let mut child = lab
        .command()
        .args(["up", "--only", case.step(), "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("genesis starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let step = case.step();
    // Waiting: the step's first sub-state after the watch's initial list.
    let waiting = Instant::now();
    loop {
        let line = lines
            .next_line()
            .await
            .expect("stdout")
            .unwrap_or_else(|| panic!("genesis ended before waiting for {step}"));
        let event: Value = serde_json::from_str(&line).expect("an event");
        let substate = event["substate"].as_str().unwrap_or_default();
        if event["event"] == "step_progress"
            && event["step"] == step
            && (substate.contains("not registered yet") || substate.starts_with("workflow "))
        {
            break;
        }
    }
    let (condition, driven) = drive(world, &case.timeline()).await;
    let finished = loop {
        let line = lines
            .next_line()
            .await
            .expect("stdout")
            .unwrap_or_else(|| panic!("genesis ended without finishing {step}"));
        let event: Value = serde_json::from_str(&line).expect("an event");
        if event["event"] == "step_finished" && event["step"] == step {
            assert_eq!(event["result"], "succeeded", "{event}");
            break Instant::now();
        }
    };
    while lines.next_line().await.expect("stdout").is_some() {}
    let status = child.wait().await.expect("genesis exits");
    assert!(status.success(), "genesis up --only {step}: {status}");
    let closed = apimetrics::watches_back_to(
        &client,
        case.resource(),
        open_before,
        Duration::from_secs(10),
    )
    .await;
    assert!(
        closed,
        "a WATCH on {} stayed open after genesis exited ({} open before it started, {} now)",
        case.resource(),
        open_before,
        apimetrics::open_watches(&client, case.resource()).await
    );
    let after = apimetrics::requests(&client).await;
    let rest = others(&after.since(&before), &driven, case.label());
    Measured {
        latency: finished.duration_since(condition),
        requests: rest.on(case.resource()),
        elsewhere: rest.besides(case.resource()),
        wait: finished.duration_since(waiting),
    }
}

/// The comparison baseline: read every 5 s until the condition holds.
async fn poll_wait(world: &World, case: Case, rng: &mut Rng) -> Measured {
    case.clean(world).await;
    if let Case::Install = case {
        let workflow = genesis_testworld::lab::object(
            &genesis_testworld::lab::workflow_resource(),
            "tink-system",
            WORKFLOW,
            json!({"spec": {"templateRef": "harvester-install", "hardwareRef": "ms-02-1",
                            "hardwareMap": {"device_1": "02:00:00:0a:0a:0b"}}}),
        );
        genesis_testworld::lab::create_strict(
            &world.platform.client,
            &genesis_testworld::lab::workflow_resource(),
            &workflow,
        )
        .await
        .expect("create Workflow");
    }
    let client = case.client(world);
    let before = apimetrics::requests(&client).await;
    let started = Instant::now();
    let poll = async {
        let mut reads = 0u64;
        loop {
            reads += 1;
            if case.holds(&case.read(world).await) {
                return (Instant::now(), reads);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    };
    // The condition arrives at a random phase of the poll period, as it would in a lab.
    let offset = POLL_EVERY.mul_f64(rng.unit());
    let drive = async {
        tokio::time::sleep(offset).await;
        drive(world, &case.timeline()).await
    };
    let ((finished, reads), (condition, driven)) = tokio::join!(poll, drive);
    let after = apimetrics::requests(&client).await;
    let rest = others(&after.since(&before), &driven, case.label());
    let requests = rest.on(case.resource());
    assert_eq!(requests.total(), reads, "the server counted every poll");
    Measured {
        latency: finished.saturating_duration_since(condition),
        requests,
        elsewhere: rest.besides(case.resource()),
        wait: finished.duration_since(started),
    }
}

pub(super) async fn waits(repetitions: usize, seed: u64) {
    println!(
        "== waits: genesis (watch) against a 5 s poll loop, requests counted by the API server; {repetitions} repetitions, --seed {seed}"
    );
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let lab = LoopbackLab::build(GENESIS, &world, Options { phases: PHASES }).await;
    lab.prepare_platform(&world).await;
    let mut rng = Rng(seed);
    let mut elsewhere = Vec::new();
    println!();
    println!("  | wait | waiter | requests per wait (server count) | reaction latency | wait |");
    println!("  |---|---|---|---|---|");
    for case in [Case::Quorum, Case::Install] {
        for waiter in ["genesis (watch)", "5 s poll loop (baseline)"] {
            let mut latencies = Vec::new();
            let mut counts = Vec::new();
            let mut descriptions = Vec::new();
            let mut lengths = Vec::new();
            for _ in 0..repetitions {
                let measured = if waiter.starts_with("genesis") {
                    genesis_wait(&world, &lab, case).await
                } else {
                    poll_wait(&world, case, &mut rng).await
                };
                latencies.push(ms(measured.latency));
                counts.push(measured.requests.total() as f64);
                descriptions.push(measured.requests.describe());
                if measured.elsewhere.total() > 0 {
                    elsewhere.push(measured.elsewhere.describe());
                }
                lengths.push(measured.wait.as_secs_f64());
            }
            descriptions.sort();
            descriptions.dedup();
            let (latency_median, latency_max) = median_max(&mut latencies);
            let (count_median, count_max) = median_max(&mut counts);
            let (length_median, _) = median_max(&mut lengths);
            println!(
                "  | {} | {waiter} | median {count_median:.0}, max {count_max:.0} ({}) | median {latency_median:.1} ms, max {latency_max:.1} ms | {length_median:.1} s |",
                case.label(),
                descriptions.join(" / ")
            );
        }
    }
    println!();
    if !elsewhere.is_empty() {
        println!(
            "  meanwhile on other resources (the API server's own informers, not the waiters): {}",
            elsewhere.join(" / ")
        );
    }
    drop(lab);
    world.shutdown().await;
}
