//! Engine benchmarks, printed as plain figures (no harness: two numbers matter).
//!
//!     cargo bench -p genesis-engine --bench engine
//!
//! 1. Overhead of running 10,000 no-op steps (4 phases, each step needing up to two earlier
//!    steps of its phase), journal and fsync included, at parallelism 64.
//! 2. Loading a journal that holds 10,000 finished steps, and folding it into step states.

use std::sync::Arc;
use std::time::{Duration, Instant};

use genesis_engine::action::{Action, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext};
use genesis_engine::{
    EventSender, Graph, Journal, Registry, RetryPolicy, RunOptions, RunOutcome, Scrubber, StepId,
    StepSpec, journal,
};
use tokio_util::sync::CancellationToken;

struct NoOp;

impl Action for NoOp {
    fn plan<'a>(&'a self, _step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async {
            Ok(PlanOutcome::NoChange {
                summary: String::new(),
            })
        })
    }

    fn run<'a>(&'a self, _step: &'a StepSpec, _context: &'a RunContext) -> Ran<'a> {
        Box::pin(async {
            let mut outputs = Outputs::new();
            outputs.insert("ok".into(), true.into());
            Ok(outputs)
        })
    }
}

fn steps(count: usize) -> Vec<StepSpec> {
    let phases = 4;
    let per_phase = count / phases;
    (0..count)
        .map(|index| {
            let phase = index / per_phase;
            let start = phase * per_phase;
            // Deterministic "random" needs: up to two earlier steps of the same phase.
            let needs = [
                index.wrapping_mul(7919) % 97,
                index.wrapping_mul(104_729) % 389,
            ]
            .into_iter()
            .filter(|&back| back > 0 && index >= start + back)
            .map(|back| StepId::new(format!("s{}", index - back)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
            StepSpec {
                id: StepId::new(format!("s{index}")),
                number: index.to_string(),
                ordinal: u32::try_from(index).unwrap_or(u32::MAX),
                name: format!("no-op {index}"),
                phase: u32::try_from(phase + 2).unwrap_or(u32::MAX),
                kind: "noop".into(),
                item: None,
                params: serde_json::json!({"index": index}),
                needs,
                timeout: Duration::from_secs(60),
                retry: RetryPolicy::default(),
                estimate: None,
                secret_digests: Default::default(),
            }
        })
        .collect()
}

fn run_once(
    graph: &Graph,
    registry: &Registry,
    dir: &std::path::Path,
    parallelism: usize,
) -> Duration {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut journal, prior) =
        Journal::open(dir, Arc::new(Scrubber::empty())).expect("journal opens");
    let mut options = RunOptions::new(graph);
    options.parallelism = parallelism;
    let events = EventSender::discard();
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let summary = runtime
        .block_on(genesis_engine::run(
            graph,
            registry,
            &mut journal,
            &prior,
            &options,
            &events,
            &cancel,
        ))
        .expect("run");
    let elapsed = started.elapsed();
    assert_eq!(summary.outcome, RunOutcome::Succeeded);
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let count = 10_000;
    let mut registry = Registry::new();
    registry.register("noop", Arc::new(NoOp));
    let graph = Graph::build(steps(count)).expect("graph");

    let base = std::env::var_os("GENESIS_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    println!("journal directory under {}", base.display());
    for parallelism in [1, 64] {
        let mut samples = Vec::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir_in(&base).expect("tempdir");
            samples.push(run_once(&graph, &registry, dir.path(), parallelism));
        }
        let best = median(samples);
        println!(
            "run {count} no-op steps, parallelism {parallelism}: {:.1} ms total, {:.1} µs per step (median of 3)",
            best.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e6 / count as f64
        );
    }

    // A journal with 10,000 finished steps, made by a real run.
    let dir = tempfile::tempdir_in(&base).expect("tempdir");
    run_once(&graph, &registry, dir.path(), 64);
    let size = std::fs::metadata(dir.path().join(journal::FILE_NAME))
        .map(|meta| meta.len())
        .unwrap_or(0);
    let mut loads = Vec::new();
    let mut folds = Vec::new();
    for _ in 0..15 {
        let started = Instant::now();
        let state = journal::load(dir.path()).expect("loads");
        loads.push(started.elapsed());
        let started = Instant::now();
        let states = state.states(&graph);
        folds.push(started.elapsed());
        assert_eq!(states.len(), count);
    }
    println!(
        "load a journal of {count} finished steps ({} KiB): {:.1} ms; states for the graph: {:.1} ms (median of 15)",
        size / 1024,
        median(loads).as_secs_f64() * 1e3,
        median(folds).as_secs_f64() * 1e3
    );

    // A resume with everything done: the cost of deciding to do nothing.
    let samples: Vec<Duration> = (0..3)
        .map(|_| run_once(&graph, &registry, dir.path(), 64))
        .collect();
    println!(
        "resume with all {count} steps done: {:.1} ms (median of 3)",
        median(samples).as_secs_f64() * 1e3
    );
}
