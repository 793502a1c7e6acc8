//! `genesis rehearse` of the shipped lab, as an operator starts it: the real binary, its whole
//! process. Run with `cargo bench --bench rehearse`; `cargo test` never runs it.
//!
//! Per run, from the moment the command starts: the world answering (`world up` line), the
//! first step running (the first `: started` line of its `genesis up`), and the whole rehearsal
//! (exit). `--runs N` (default 5) warm runs use the build cache as it is; `--cold` first runs
//! once with an empty cache (`GENESIS_CACHE_DIR` a fresh temp dir), so that the rehearsal
//! builds the kube-apiserver itself, as on a new machine.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GENESIS: &str = env!("CARGO_BIN_EXE_genesis");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Run {
    world_up: Option<Duration>,
    first_step: Option<Duration>,
    total: Duration,
}

fn rehearse(cache: Option<&std::path::Path>) -> Run {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets.yaml");
    std::fs::copy(format!("{ROOT}/secrets.example"), &secrets).expect("secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut command = Command::new(GENESIS);
    command
        .current_dir(ROOT)
        .args(["--secrets"])
        .arg(&secrets)
        .arg("rehearse")
        .env("GENESIS_REHEARSAL_DIR", dir.path().join("rehearsal"))
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(cache) = cache {
        command.env("GENESIS_CACHE_DIR", cache);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("genesis rehearse starts");
    let stderr = child.stderr.take().expect("stderr");
    let (mut world_up, mut first_step) = (None, None);
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("a line");
        if world_up.is_none() && line.starts_with("rehearsal: world up in") {
            world_up = Some(started.elapsed());
        }
        if first_step.is_none() && line.starts_with("rehearsal │ [") && line.ends_with(": started")
        {
            first_step = Some(started.elapsed());
        }
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "rehearse failed");
    Run {
        world_up,
        first_step,
        total: started.elapsed(),
    }
}

fn seconds(duration: Option<Duration>) -> String {
    duration.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()))
}

fn summary(name: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    println!(
        "{name}: min {:.1} s, median {:.1} s, max {:.1} s",
        values[0],
        values[(values.len() - 1) / 2],
        values[values.len() - 1]
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut bench, mut runs, mut cold) = (false, 5usize, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--cold" => cold = true,
            _ => {}
        }
    }
    if !bench {
        eprintln!("rehearse: a benchmark; run it with `cargo bench --bench rehearse`");
        return;
    }
    if cold {
        let cache = tempfile::tempdir().expect("cache dir");
        let run = rehearse(Some(cache.path()));
        println!(
            "cold (empty build cache): world up {}, first step {}, whole {:.1} s",
            seconds(run.world_up),
            seconds(run.first_step),
            run.total.as_secs_f64()
        );
    }
    let (mut world, mut first, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for index in 0..runs {
        let run = rehearse(None);
        println!(
            "warm run {}: world up {}, first step {}, whole {:.1} s",
            index + 1,
            seconds(run.world_up),
            seconds(run.first_step),
            run.total.as_secs_f64()
        );
        world.extend(run.world_up.map(|d| d.as_secs_f64()));
        first.extend(run.first_step.map(|d| d.as_secs_f64()));
        total.push(run.total.as_secs_f64());
    }
    if runs > 0 {
        summary("warm, to the world up", &mut world);
        summary("warm, to the first step running", &mut first);
        summary("warm, the whole rehearsal", &mut total);
    }
}
