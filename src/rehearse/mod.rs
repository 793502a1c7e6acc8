//! `genesis rehearse`: the whole bootstrap of the operator's lab, on this machine, before any
//! hardware is touched (docs/rehearse.md).
//!
//! The operator's inputs are loaded and checked as `genesis up` checks them; then a private
//! world comes up in a rehearsal directory (`genesis_rehearse`: two real kube-apiservers with
//! the upstream CRDs, a real sshd as the first node, the lab simulator as the hardware), the lab
//! moved onto loopback, with stand-in secrets ([`standins`]: no value of the operator's is
//! written anywhere) and phase timeouts scaled to the rehearsal's pace ([`phases`]). The same
//! `genesis up` then runs as a child process with the operator's terminal, every line marked
//! as a rehearsal's; the rehearsal ends with two clocks ([`clocks`]) and stops the world, or
//! keeps it for `--resume` (faults lifted), for exploring with kubectl, and for `--down`.
//!
//! The simulator is reached only from here: no other command links to it.

pub mod clocks;
pub mod error;
pub mod faults;
pub mod phases;
pub mod standins;
pub mod world;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use genesis_rehearse::control::Request;
use genesis_rehearse::{Layout, Scenario, WorldInfo};

pub use error::RehearseError;
use faults::RehearsalFault;

/// The scenario of a rehearsal: the reference one or the operator's file, at `speed` times its
/// pace, with the simulated faults added.
pub fn scenario(
    file: Option<&std::path::Path>,
    speed: f64,
    faults: &[RehearsalFault],
) -> Result<Scenario, RehearseError> {
    if !(speed > 0.0 && speed.is_finite()) {
        return Err(RehearseError::Input(format!(
            "--speed must be a positive number, not {speed}"
        )));
    }
    let mut scenario = match file {
        Some(path) => Scenario::from_file(path),
        None => Scenario::reference(),
    }
    .map_err(|error| RehearseError::Input(format!("--scenario: {error}")))?;
    scenario.time_scale /= speed;
    for fault in faults {
        if let RehearsalFault::Simulated { fault, .. } = fault {
            scenario = scenario.with_fault(fault.clone());
        }
    }
    Ok(scenario)
}

/// How `genesis up` ended in a rehearsal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpEnd {
    /// Its exit code.
    Exited(i32),
    /// Killed by the `sigkill:random` fault after this long.
    Killed(Duration),
}

/// Everything `genesis up` runs with in a rehearsal.
pub struct UpRun<'a> {
    pub layout: &'a Layout,
    pub info: &'a WorldInfo,
    /// `--color` as the operator gave it.
    pub color: &'a str,
    /// Arguments after `--`.
    pub extra: &'a [String],
    pub faults: &'a [RehearsalFault],
    /// The pace: the phases' estimates were scaled by it.
    pub time_scale: f64,
}

/// When a timed fault strikes, in milliseconds from the start of `up` at the reference pace:
/// `genesis up` killed mid-run; the Platform API server while the machines install (Workflows
/// and Rufio Jobs on it); the Harvester API server once it answers, while the quorum and the
/// Argo CD registration use it (the reference rehearsal's timeline: phase 2 ends near 0.5 s,
/// Harvester answers near 3 s, phase 4 runs from near 5.5 s to 7 s).
const SIGKILL_WINDOW: (u64, u64) = (1_000, 6_000);
const PLATFORM_RESTART_WINDOW: (u64, u64) = (1_000, 4_000);
const HARVESTER_RESTART_WINDOW: (u64, u64) = (3_500, 5_500);

/// A moment in `window` (reference-pace milliseconds), different each run, at the pace
/// `time_scale` (a slower pace, a later moment).
fn moment(salt: u64, window: (u64, u64), time_scale: f64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::from(elapsed.subsec_nanos()));
    let span = (window.1 - window.0).max(1);
    let at = window.0 + nanos.wrapping_mul(31).wrapping_add(salt * 7_919) % span;
    let reference = Scenario::reference().map_or(time_scale, |scenario| scenario.time_scale);
    Duration::from_millis(at).mul_f64(time_scale / reference)
}

/// Runs `genesis up` on the rehearsal's inputs, with the terminal, and plays the timed faults.
pub fn run_up(
    runtime: &tokio::runtime::Runtime,
    run: &UpRun,
) -> Result<(UpEnd, Duration), RehearseError> {
    let exe = std::env::current_exe().map_err(RehearseError::io("find the genesis binary"))?;
    let mut command = tokio::process::Command::new(exe);
    command
        .arg("--lab")
        .arg(run.layout.lab())
        .arg("--phases")
        .arg(run.layout.phases())
        .arg("--secrets")
        .arg(run.layout.secrets())
        .arg("--state-dir")
        .arg(run.layout.state())
        .args(["--state", "local", "--color", run.color, "--kubeconfig"])
        .arg(&run.info.platform_kubeconfig)
        .args(["--context", "default", "up", "--yes"])
        .args(run.extra)
        .env(crate::ui::REHEARSAL_ENV, run.time_scale.to_string())
        // The operator's environment must not point the run at their own clusters or state.
        .env_remove("KUBECONFIG")
        .env_remove("GENESIS_HARVESTER_CONTEXT")
        .env_remove("GENESIS_STATE")
        .env_remove("GENESIS_STATE_NAMESPACE")
        .kill_on_drop(true);
    let sigkill = run.faults.contains(&RehearsalFault::Sigkill);
    let restarts: Vec<(Duration, genesis_rehearse::control::Cluster)> = run
        .faults
        .iter()
        .zip(1u64..)
        .filter_map(|(fault, salt)| match fault {
            RehearsalFault::ApiserverRestart(cluster) => {
                let window = match cluster {
                    genesis_rehearse::control::Cluster::Platform => PLATFORM_RESTART_WINDOW,
                    genesis_rehearse::control::Cluster::Harvester => HARVESTER_RESTART_WINDOW,
                };
                Some((moment(salt, window, run.time_scale), *cluster))
            }
            _ => None,
        })
        .collect();
    let started = Instant::now();
    runtime.block_on(async {
        // Ctrl-C reaches `up` (same process group); the rehearsal waits for it to stop.
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(interrupted);
        let mut child = command
            .spawn()
            .map_err(RehearseError::io("start genesis up"))?;
        let mut pending = Vec::new();
        for (at, cluster) in restarts {
            let socket = run.layout.socket();
            let task = tokio::spawn(async move {
                tokio::time::sleep(at).await;
                crate::errln!(
                    "rehearsal: fault apiserver-restart:{0}: killing the {0} API server {1:.1} s into the run; it starts again on the same data and port",
                    cluster.name(),
                    at.as_secs_f64()
                );
                let answer = tokio::task::spawn_blocking(move || {
                    genesis_rehearse::control::request(
                        &socket,
                        Request::Restart(cluster),
                        Duration::from_secs(120),
                    )
                })
                .await;
                match answer {
                    Ok(Ok(_)) => crate::errln!(
                        "rehearsal: fault apiserver-restart:{}: it answers again",
                        cluster.name()
                    ),
                    Ok(Err(error)) => crate::errln!(
                        "rehearsal: fault apiserver-restart:{}: it did not start again: {error}",
                        cluster.name()
                    ),
                    Err(error) => crate::errln!(
                        "rehearsal: fault apiserver-restart:{}: {error}",
                        cluster.name()
                    ),
                }
            });
            pending.push((task, at, cluster));
        }
        // After `up`: a restart under way is waited for; one whose moment had not come is
        // called off, and said so.
        let settle = |pending: Vec<(tokio::task::JoinHandle<()>, Duration, genesis_rehearse::control::Cluster)>| async move {
            let elapsed = started.elapsed();
            for (task, at, cluster) in pending {
                if at <= elapsed {
                    let _ = task.await;
                } else {
                    task.abort();
                    crate::errln!(
                        "rehearsal: fault apiserver-restart:{}: the run ended before its moment ({:.1} s); nothing was restarted",
                        cluster.name(),
                        at.as_secs_f64()
                    );
                }
            }
        };
        let kill_at = moment(0, SIGKILL_WINDOW, run.time_scale);
        let kill = async {
            if sigkill {
                tokio::time::sleep(kill_at).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(kill);
        loop {
            tokio::select! {
                status = child.wait() => {
                    let status = status.map_err(RehearseError::io("wait for genesis up"))?;
                    let took = started.elapsed();
                    if sigkill {
                        crate::errln!(
                            "rehearsal: fault sigkill:random: the run ended before its moment ({:.1} s); nothing was killed",
                            kill_at.as_secs_f64()
                        );
                    }
                    settle(pending).await;
                    return Ok((UpEnd::Exited(status.code().unwrap_or(1)), took));
                }
                () = &mut kill => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    let took = started.elapsed();
                    settle(pending).await;
                    return Ok((UpEnd::Killed(kill_at), took));
                }
                _ = &mut interrupted => {
                    // `up` got the same Ctrl-C and stops on its own; wait for it.
                    interrupted.set(tokio::signal::ctrl_c());
                }
            }
        }
    })
}

/// Writes the inputs `genesis up` runs with: stand-in secrets, scaled phases (the world wrote
/// the lab on loopback).
pub fn write_inputs(
    layout: &Layout,
    info: &WorldInfo,
    inputs: &crate::inputs::Inputs,
    uses: &[crate::inputs::secret_values::SecretUse],
    time_scale: f64,
    real_controllers: bool,
) -> Result<(), RehearseError> {
    let key =
        std::fs::read_to_string(&info.ssh_private_key).map_err(RehearseError::io(format!(
            "read the world's SSH key {}",
            info.ssh_private_key.display()
        )))?;
    let text = standins::file(&inputs.secrets, uses, &key).map_err(RehearseError::Input)?;
    write_private(&layout.secrets(), &text)?;
    let min_timeout = if real_controllers {
        phases::MIN_TIMEOUT_REAL_CONTROLLERS
    } else {
        phases::MIN_TIMEOUT
    };
    phases::copy_scaled(
        &inputs.paths.phases,
        &layout.phases(),
        time_scale,
        min_timeout,
    )
    .map_err(RehearseError::Input)
}

/// Writes `path` readable by its owner only (genesis refuses a secrets file others may read).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), RehearseError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(RehearseError::io(format!("create {}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(RehearseError::io(format!("write {}", path.display())))
}

/// Creates the rehearsal directory: others may not list it; run as root they may pass through
/// it, because the world's sshd, started by root, reads the node user's `authorized_keys` below
/// it as that user. Nothing in it is the operator's (the secrets are stand-ins, 0600).
pub fn create_dir(dir: &std::path::Path) -> Result<(), RehearseError> {
    use std::os::unix::fs::DirBuilderExt as _;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(if root { 0o711 } else { 0o700 })
        .create(dir)
        .map_err(RehearseError::io(format!("create {}", dir.display())))
}

/// The lines that tell the operator how to reach a kept world.
pub fn kept_lines(layout: &Layout, info: &WorldInfo) -> Vec<String> {
    let dir = layout.path().display();
    vec![
        format!("the world is kept in {dir}:"),
        format!(
            "  export KUBECONFIG={}   # the Platform cluster (context default)",
            info.platform_kubeconfig.display()
        ),
        format!(
            "  kubectl --kubeconfig {} get nodes   # the Harvester cluster",
            info.harvester_kubeconfig.display()
        ),
        "  genesis rehearse --resume   # lift its faults and run genesis up again".into(),
        format!("  genesis rehearse --down     # stop it and remove {dir}"),
    ]
}

/// The rehearsal directory's path: `dir` or the default.
pub fn layout(dir: Option<PathBuf>) -> Layout {
    Layout::new(dir.unwrap_or_else(world::default_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_takes_the_speed_and_the_simulated_faults() {
        let lab = crate::inputs::reference_lab().lab;
        let faults: Vec<RehearsalFault> = ["node-never-ready:ms-02-3", "sigkill:random"]
            .iter()
            .flat_map(|spec| faults::parse(spec, &lab).unwrap())
            .collect();
        let reference = Scenario::reference().unwrap();
        let scenario = scenario(None, 2.0, &faults).unwrap();
        assert_eq!(scenario.time_scale, reference.time_scale / 2.0);
        assert_eq!(
            scenario.faults.len(),
            1,
            "sigkill is the rehearsal's, not the simulator's"
        );
        assert!(super::scenario(None, 0.0, &[]).is_err());
        assert!(super::scenario(None, f64::NAN, &[]).is_err());
    }

    #[test]
    fn timed_faults_strike_inside_their_window_at_the_pace() {
        let reference = Scenario::reference().unwrap().time_scale;
        for salt in 0..50 {
            let at = moment(salt, HARVESTER_RESTART_WINDOW, reference);
            assert!(
                at >= Duration::from_millis(3_500) && at < Duration::from_millis(5_500),
                "{at:?}"
            );
            // Half the pace: twice as late.
            let slow = moment(salt, (1_000, 1_001), reference * 2.0);
            assert_eq!(slow, Duration::from_secs(2));
        }
    }
}
