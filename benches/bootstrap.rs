//! The simulated bootstrap's speed, on the test world (real kube-apiservers, real sshd, the lab
//! simulator). Run with `cargo bench --bench bootstrap`; `cargo test` never runs it.
//!
//! 1. **Full runs**: `--runs N` (default 5) fresh worlds, each a whole `genesis up -o json` on
//!    the loopback lab with the reference scenario. Per run: the run's wall time and critical
//!    path from its final report (`run_finished`), their ratio (target ≤ 1.03), and the
//!    reaction latencies: simulator event that made a condition true → genesis' event for the
//!    step that waited for it, paired by `genesis_harness::latency` (target p99 ≤ 100 ms).
//! 2. **Waits**: `--waits N` (default 3) repetitions of two waits, against a world without the
//!    simulator, where this bench plays the controllers with writes only: the quorum wait
//!    (step 11 on the Harvester API: three Nodes registering, turning Ready and being
//!    promoted) and the install wait (step 8 on the Platform API: a Workflow going through its
//!    states). Each is done once by genesis (`genesis up --only STEP`) and once by a 5 s poll
//!    loop written here as the comparison baseline. Requests are counted by the API server
//!    itself (`apiserver_request_total` from `/metrics`, before and after); the bench's own
//!    writes are subtracted by verb and resource, and must match its own count exactly.
//!
//! `--only full` or `--only waits` runs one part; `--seed N` replays the poll loop's phases.

use std::time::{Duration, Instant};

use genesis_harness::latency::{self, Expected};
use genesis_harness::loopback::{LoopbackLab, Options};
use genesis_testworld::{World, WorldOptions};
use serde_json::Value;

#[path = "bootstrap/waits.rs"]
mod waits;

use waits::waits;

/// The `genesis` binary under test (Cargo builds it for benches).
const GENESIS: &str = env!("CARGO_BIN_EXE_genesis");
/// Phases of a full run: all of them (2–4).
const PHASES: Option<&[u32]> = None;
/// The comparison baseline's poll period.
const POLL_EVERY: Duration = Duration::from_secs(5);

struct Args {
    runs: usize,
    waits: usize,
    full: bool,
    waits_part: bool,
    seed: u64,
}

fn args() -> Option<Args> {
    let mut parsed = Args {
        runs: 5,
        waits: 3,
        full: true,
        waits_part: true,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_nanos() as u64)
            | 1,
    };
    let mut bench = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |default: u64| args.next().and_then(|v| v.parse().ok()).unwrap_or(default);
        match arg.as_str() {
            "--bench" => bench = true,
            "--runs" => parsed.runs = number(5) as usize,
            "--waits" => parsed.waits = number(3) as usize,
            "--seed" => parsed.seed = number(1),
            "--only" => match args.next().as_deref() {
                Some("full") => parsed.waits_part = false,
                Some("waits") => parsed.full = false,
                other => panic!("--only full|waits, not {other:?}"),
            },
            _ => {}
        }
    }
    // `cargo test --benches` runs bench binaries without `--bench`: do nothing then.
    bench.then_some(parsed)
}

fn main() {
    let Some(args) = args() else {
        eprintln!("bootstrap: a benchmark; run it with `cargo bench --bench bootstrap`");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        if args.full {
            full_runs(args.runs).await;
        }
        if args.waits_part {
            waits(args.waits, args.seed).await;
        }
    });
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median and max, nearest rank.
fn median_max(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = values[(values.len() - 1) / 2];
    (median, values[values.len() - 1])
}

// ---------------------------------------------------------------------------------------------
// 1. Full runs.

struct FullRun {
    wall_ms: f64,
    critical_ms: f64,
    process_ms: f64,
    critical_path: String,
    /// The report's projection of the same steps on real hardware (phase-file estimates).
    projected_ms: Option<f64>,
    pairs: Vec<latency::Pair>,
    ssh_fetch: Option<latency::Pair>,
}

async fn full_run(index: usize) -> FullRun {
    let world = World::start_with(WorldOptions::with_simulator().expect("reference scenario"))
        .await
        .expect("test world starts");
    let lab = LoopbackLab::build(GENESIS, &world, Options { phases: PHASES }).await;
    lab.prepare_platform(&world).await;
    let started = Instant::now();
    let output = lab.genesis(&["up", "-o", "json"]).await;
    let process_ms = ms(started.elapsed());
    let (stdout, stderr) = genesis_harness::loopback::text(&output);
    assert_eq!(output.status.code(), Some(0), "run {index}: {stderr}");
    let report = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "run_finished")
        .map(|event| event["report"].clone())
        .expect("a run_finished event");
    let inputs = lab.inputs();
    let simulator = world.simulator.as_ref().expect("simulator");
    let sim_events = simulator.events();
    let genesis_events = latency::run_log_events(&lab.state);
    let pairs = latency::pair(
        &sim_events,
        &genesis_events,
        &latency::expectations(&inputs.lab, true),
    )
    .unwrap_or_else(|missing| panic!("run {index}: unpaired: {missing:?}"));
    let first = inputs
        .lab
        .machines
        .iter()
        .find(|machine| matches!(machine.role.value, genesis::inputs::lab::Role::Create))
        .map(|machine| machine.hostname.value.clone())
        .unwrap_or_default();
    let ssh_fetch = latency::pair(
        &sim_events,
        &genesis_events,
        &[Expected::step_after(
            "harvester-api",
            "node.kubeconfig",
            &first,
            "/etc/rancher/rke2/rke2.yaml",
        )],
    )
    .ok()
    .and_then(|mut pairs| pairs.pop());
    let run = FullRun {
        wall_ms: report["wall_ms"].as_f64().expect("wall_ms"),
        critical_ms: report["critical_path_ms"]
            .as_f64()
            .expect("critical_path_ms"),
        process_ms,
        critical_path: report["critical_path"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" → "),
        projected_ms: report["projected"]["critical_path_ms"].as_f64(),
        pairs,
        ssh_fetch,
    };
    drop(lab);
    world.shutdown().await;
    run
}

async fn full_runs(runs: usize) {
    println!("== full runs: `genesis up` on the simulated lab (reference scenario), {runs} runs");
    let mut results = Vec::new();
    for index in 0..runs {
        let run = full_run(index).await;
        println!(
            "  run {}: wall {:.0} ms, critical path {:.0} ms, ratio {:.4}; process {:.0} ms; {}",
            index + 1,
            run.wall_ms,
            run.critical_ms,
            run.wall_ms / run.critical_ms,
            run.process_ms,
            latency::summary(&run.pairs)
        );
        results.push(run);
    }
    let mut walls: Vec<f64> = results.iter().map(|run| run.wall_ms).collect();
    let mut criticals: Vec<f64> = results.iter().map(|run| run.critical_ms).collect();
    let mut ratios: Vec<f64> = results
        .iter()
        .map(|run| run.wall_ms / run.critical_ms)
        .collect();
    let mut processes: Vec<f64> = results.iter().map(|run| run.process_ms).collect();
    let all: Vec<latency::Pair> = results.iter().flat_map(|run| run.pairs.clone()).collect();
    let summary = latency::summary(&all);
    let mut ssh: Vec<f64> = results
        .iter()
        .filter_map(|run| run.ssh_fetch.as_ref().map(|pair| ms(pair.latency)))
        .collect();
    println!();
    println!("  | figure | median | max | target |");
    println!("  |---|---|---|---|");
    let (median, max) = median_max(&mut walls);
    println!("  | wall time of the run (report) | {median:.0} ms | {max:.0} ms | |");
    let (median, max) = median_max(&mut criticals);
    println!("  | critical path (report) | {median:.0} ms | {max:.0} ms | |");
    let (median, max) = median_max(&mut ratios);
    println!("  | wall / critical path | {median:.4} | {max:.4} | ≤ 1.03 |");
    let (median, max) = median_max(&mut processes);
    println!("  | `genesis up` process, start to exit | {median:.0} ms | {max:.0} ms | |");
    println!(
        "  | reaction latency, {} watch-based waits | p50 {:.1} ms | p99 {:.1} ms (max {:.1} ms) | p99 ≤ 100 ms |",
        summary.count,
        ms(summary.p50),
        ms(summary.p99),
        ms(summary.max)
    );
    if !ssh.is_empty() {
        let (median, max) = median_max(&mut ssh);
        println!(
            "  | step 9: rke2.yaml written → kubeconfig fetched (one SSH session waiting on the node) | {median:.0} ms | {max:.0} ms | |"
        );
    }
    if let Some(run) = results.first() {
        println!("  critical path of run 1: {}", run.critical_path);
        if let Some(projected) = run.projected_ms {
            println!(
                "  the same steps projected on hardware (report, phase-file estimates): {:.1} min",
                projected / 60_000.0
            );
        }
    }
    println!("  slowest reactions of all runs:");
    let mut sorted = all.clone();
    sorted.sort_by_key(|pair| std::cmp::Reverse(pair.latency));
    sorted.truncate(5);
    print!("{}", latency::table(&sorted));
    println!();
}
