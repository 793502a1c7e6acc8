//! Reaction latency: from the moment the simulator made a condition true (its [`SimEvent`]'s
//! wall-clock time) to the moment genesis recorded the event of the step that waited for it
//! (the run log's `timestamp`, `<state>/logs/<run>.ndjson`).
//!
//! The genesis side is the run log's record of the engine event, written when genesis' event
//! loop handled it; so a figure includes the watch delivery, the action's own work after the
//! condition (e.g. reading outputs) and the event loop, which is what an operator sees.

use std::path::Path;
use std::time::{Duration, SystemTime};

use labsim::SimEvent;
use serde_json::Value;

/// One engine event from a run log, with its time.
#[derive(Debug, Clone)]
pub struct GenesisEvent {
    pub at: SystemTime,
    /// The engine event as JSON (`{"event": "step_finished", "step": …, …}`).
    pub event: Value,
}

/// Every engine event of every run log below `state/logs`, oldest first.
pub fn run_log_events(state: &Path) -> Vec<GenesisEvent> {
    let mut events = Vec::new();
    let Ok(entries) = std::fs::read_dir(state.join("logs")) else {
        return events;
    };
    for entry in entries {
        let path = entry.expect("log entry").path();
        let text = std::fs::read_to_string(&path).expect("read run log");
        for line in text.lines() {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("{}: {error}: {line}", path.display()));
            let Some(data) = record["event"].as_str() else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            let stamp = record["timestamp"].as_str().expect("timestamp");
            let at = humantime::parse_rfc3339_weak(stamp)
                .unwrap_or_else(|error| panic!("timestamp {stamp}: {error}"));
            events.push(GenesisEvent { at, event });
        }
    }
    events.sort_by_key(|event| event.at);
    events
}

/// A condition and the genesis event that reacts to it.
pub struct Expected {
    pub name: String,
    /// Matches the simulator event that makes the condition true. When several match, the
    /// last one before the genesis event (within [`SKEW`]) counts (for "all nodes Ready": the
    /// last to turn Ready).
    pub sim: Box<dyn Fn(&SimEvent) -> bool>,
    /// Matches genesis' event; the first match counts.
    pub genesis: Box<dyn Fn(&Value) -> bool>,
}

impl Expected {
    pub fn new(
        name: impl Into<String>,
        sim: impl Fn(&SimEvent) -> bool + 'static,
        genesis: impl Fn(&Value) -> bool + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            sim: Box::new(sim),
            genesis: Box::new(genesis),
        }
    }

    /// `step` finished successfully after the simulator's `kind` event on `object` with
    /// `detail`.
    pub fn step_after(step: &str, kind: &str, object: &str, detail: &str) -> Self {
        let (kind, object, detail, wanted) = (
            kind.to_owned(),
            object.to_owned(),
            detail.to_owned(),
            step.to_owned(),
        );
        Self::new(
            format!("{kind} {object} {detail} -> {step}"),
            move |event| event.kind == kind && event.object == object && event.detail == detail,
            move |event| {
                event["event"] == "step_finished"
                    && event["step"] == wanted.as_str()
                    && event["result"] == "succeeded"
            },
        )
    }
}

/// `event` is genesis' event of `step` finishing successfully.
pub fn finished(event: &Value, step: &str) -> bool {
    event["event"] == "step_finished" && event["step"] == step && event["result"] == "succeeded"
}

/// Each condition the simulator makes true in a run of `lab`'s phases 2 and 3 (and 4 with
/// `phase_4`) and the step that waits for it; watch-based waits only (step 9's SSH fetch polls
/// with backoff by nature and has none).
pub fn expectations(lab: &genesis::inputs::lab::Lab, phase_4: bool) -> Vec<Expected> {
    let tink = &lab.endpoints.tinkerbell.namespace;
    let mut expected = Vec::new();
    for machine in &lab.machines {
        let name = &machine.hostname.value;
        expected.push(Expected::step_after(
            &format!("bmc/{name}"),
            "machine.contactable",
            &format!("{tink}/{name}"),
            "True",
        ));
        let step = match machine.role.value {
            genesis::inputs::lab::Role::Create => "create-cluster",
            _ => "join-cluster",
        };
        expected.push(Expected::step_after(
            &format!("{step}/{name}"),
            "workflow.state",
            &format!("{tink}/harvester-install-{name}-1"),
            "SUCCESS",
        ));
    }
    expected.push(Expected::new(
        "last node.promote complete -> quorum",
        |event| event.kind == "node.promote" && event.detail == "complete",
        |event| finished(event, "quorum"),
    ));
    if !phase_4 {
        return expected;
    }
    for image in &lab.vm_images {
        let object = format!("{}/{}", image.namespace, image.name.value);
        expected.push(Expected::new(
            format!("image.imported {object} -> vm-image"),
            move |event| event.kind == "image.imported" && event.object == object,
            |event| finished(event, "vm-image"),
        ));
    }
    for vm in &lab.vms {
        expected.push(Expected::step_after(
            &format!("vm/{}", vm.name.value),
            "vm.status",
            &format!("{}/{}", vm.namespace, vm.name.value),
            "Running",
        ));
        expected.push(Expected::step_after(
            &format!("platform-join/{}", vm.name.value),
            "node.ready",
            &vm.name.value,
            "control-plane",
        ));
    }
    expected
}

/// The simulator takes its timestamp after its API write returned; genesis' watch can deliver
/// the change a moment before that. A simulator event up to this much after genesis' event is
/// still its cause (the latency then counts as zero).
pub const SKEW: Duration = Duration::from_millis(20);

/// One measured reaction.
#[derive(Debug, Clone)]
pub struct Pair {
    pub name: String,
    pub sim_at: SystemTime,
    pub genesis_at: SystemTime,
    pub latency: Duration,
}

/// Pairs every expectation; `Err` lists those that found no genesis event or no simulator
/// event before it.
pub fn pair(
    sim: &[SimEvent],
    genesis: &[GenesisEvent],
    expected: &[Expected],
) -> Result<Vec<Pair>, Vec<String>> {
    let mut pairs = Vec::new();
    let mut missing = Vec::new();
    for expectation in expected {
        let Some(reaction) = genesis
            .iter()
            .find(|event| (expectation.genesis)(&event.event))
        else {
            missing.push(format!("{}: no genesis event", expectation.name));
            continue;
        };
        let Some(cause) = sim
            .iter()
            .filter(|event| (expectation.sim)(event) && event.system_time <= reaction.at + SKEW)
            .max_by_key(|event| event.system_time)
        else {
            missing.push(format!(
                "{}: no simulator event before genesis' event",
                expectation.name
            ));
            continue;
        };
        pairs.push(Pair {
            name: expectation.name.clone(),
            sim_at: cause.system_time,
            genesis_at: reaction.at,
            latency: reaction
                .at
                .duration_since(cause.system_time)
                .unwrap_or_default(),
        });
    }
    if missing.is_empty() {
        Ok(pairs)
    } else {
        Err(missing)
    }
}

/// p50, p99 and max of the pairs' latencies (nearest rank).
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn summary(pairs: &[Pair]) -> Summary {
    let mut latencies: Vec<Duration> = pairs.iter().map(|pair| pair.latency).collect();
    latencies.sort();
    let rank = |quantile: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        // Nearest rank: the smallest value with at least `quantile` of the values at or below.
        let count = latencies.len() as f64;
        let index = ((quantile * count).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index]
    };
    Summary {
        count: latencies.len(),
        p50: rank(0.50),
        p99: rank(0.99),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} reactions: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.count,
            self.p50.as_secs_f64() * 1000.0,
            self.p99.as_secs_f64() * 1000.0,
            self.max.as_secs_f64() * 1000.0
        )
    }
}

/// Each pair on a line, for test output.
pub fn table(pairs: &[Pair]) -> String {
    pairs
        .iter()
        .map(|pair| {
            format!(
                "  {:>8.1} ms  {}\n",
                pair.latency.as_secs_f64() * 1000.0,
                pair.name
            )
        })
        .collect()
}
