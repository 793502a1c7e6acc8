//! The rehearsal's world seen from the foreground: what it needs on this machine, the one
//! build it may need first, starting the world process and talking to it.

use std::io::{BufRead as _, BufReader, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use genesis_rehearse::testworld::{apiserver, redfish, sshd, tinkerbell};
use genesis_rehearse::{Layout, WorldInfo, control};

use super::error::RehearseError;

/// How long the world process may take to answer `ready` (two API servers with the CRDs, sshd).
const READY_TIMEOUT: Duration = Duration::from_secs(240);

/// The first builds as measured on the project's machine (2 cores; docs/testworld.md,
/// "Measured figures", and docs/benchmarks.md, "Rehearsal"), shown as a first run's estimates:
/// with nothing in Go's caches, and with Go's build cache already warm.
pub const COLD_BUILD_ESTIMATE: &str =
    "about 15 min on 2 cores with nothing cached, under a minute with Go's build cache warm";
const CONTROLLERS_BUILD_ESTIMATE: &str =
    "about 5 min on 2 idle cores with nothing cached, under a minute with Go's build cache warm";
const EMULATOR_INSTALL_ESTIMATE: &str = "about 40 s from PyPI";

/// Checks what a rehearsal needs on this machine, saying what to install when something is
/// missing: OpenSSH's sshd, the upstream CRDs, Go unless what it builds is built already, and
/// with the real controllers (`real`) Python 3 for the Redfish emulators unless installed.
pub fn prerequisites(real: bool) -> Result<(), RehearseError> {
    if !Path::new(sshd::SSHD).is_file() {
        return Err(RehearseError::Missing {
            what: format!("OpenSSH's sshd ({})", sshd::SSHD),
            install: "install OpenSSH's server (Debian, Ubuntu: `apt-get install openssh-server`; \
                      it need not run as a service: the rehearsal starts its own on loopback)"
                .into(),
        });
    }
    let crds = apiserver::crds_dir();
    if !crds.is_dir() {
        return Err(RehearseError::Missing {
            what: format!("the upstream CRDs ({})", crds.display()),
            install: format!(
                "put the CRDs of shared/crds beside the repository, or set {} to their directory",
                apiserver::CRDS_DIR_ENV
            ),
        });
    }
    let go_builds = !api_server_built() || (real && !controllers_built());
    if real && !emulator_installed() && !succeeds("python3", &["-c", "import venv"]) {
        return Err(RehearseError::Missing {
            what: "Python 3 with venv, to install the Redfish BMC emulator (sushy-tools) once"
                .into(),
            install: "install Python 3 and its venv module (Debian, Ubuntu: `apt-get install \
                      python3-venv`), or rehearse with --simulated-controllers"
                .into(),
        });
    }
    if go_builds && !succeeds("go", &["version"]) {
        return Err(RehearseError::Missing {
            what: "Go, to build the real kube-apiserver once".into(),
            install: "install Go 1.25 or later (https://go.dev/dl/) and put `go` on PATH; the \
                      build is cached, later rehearsals start in seconds"
                .into(),
        });
    }
    Ok(())
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether the upstream Tinkerbell and Rufio controllers are built (or named by their variable).
pub fn controllers_built() -> bool {
    std::env::var_os(tinkerbell::TINKERBELL_BIN_ENV).is_some()
        || tinkerbell::cached_binary_path().is_ok_and(|path| path.is_file())
}

/// Whether the Redfish emulator is installed (or named by its variable).
pub fn emulator_installed() -> bool {
    std::env::var_os(redfish::SUSHY_EMULATOR_ENV).is_some()
        || redfish::cached_emulator_path()
            .parent()
            .and_then(Path::parent)
            .is_some_and(|venv| venv.join(".installed").exists())
}

/// Whether the API server the world runs is there already (built, or named by
/// `GENESIS_APISERVER_BIN`).
pub fn api_server_built() -> bool {
    std::env::var_os(apiserver::APISERVER_BIN_ENV).is_some()
        || apiserver::cached_binary_path().is_ok_and(|path| path.is_file())
}

/// Builds into the cache what the world needs and is not there yet (the API server; with the
/// real controllers also the Tinkerbell/Rufio program and the Redfish emulator), one at a
/// time, each with a spinner showing the time so far and the estimate (a line without a
/// terminal).
pub fn ensure_built(runtime: &tokio::runtime::Runtime, real: bool) -> Result<(), RehearseError> {
    if !api_server_built() {
        build(
            runtime,
            "the real kube-apiserver",
            COLD_BUILD_ESTIMATE,
            async { apiserver::binary().await.map(drop) },
        )?;
    }
    if real && !controllers_built() {
        build(
            runtime,
            "the upstream Tinkerbell and Rufio controllers",
            CONTROLLERS_BUILD_ESTIMATE,
            async { tinkerbell::binary().await.map(drop) },
        )?;
    }
    if real && !emulator_installed() {
        build(
            runtime,
            "the Redfish BMC emulator (sushy-tools, from PyPI)",
            EMULATOR_INSTALL_ESTIMATE,
            async { redfish::emulator().await.map(drop) },
        )?;
    }
    Ok(())
}

fn build(
    runtime: &tokio::runtime::Runtime,
    what: &str,
    estimate: &str,
    work: impl std::future::Future<Output = Result<(), genesis_rehearse::testworld::Error>>,
) -> Result<(), RehearseError> {
    let started = Instant::now();
    let spinner = std::io::stderr().is_terminal().then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{spinner}} rehearsal: building {what} into the cache, once [{{elapsed}}; {estimate}]"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(Duration::from_millis(120));
        spinner
    });
    if spinner.is_none() {
        crate::errln!("rehearsal: building {what} into the cache, once ({estimate})");
    }
    let built = runtime.block_on(work);
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    built.map_err(|error| RehearseError::World(error.into()))?;
    crate::errln!(
        "rehearsal: built {what} in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Starts the world process for `layout` (the scenario and the lab are written) and waits for
/// its `ready` line. The process runs in a process group of its own, so that Ctrl-C in the
/// terminal reaches `genesis up`, not the world; a Ctrl-C while the world starts stops it (it
/// shuts down on SIGTERM) and removes the rehearsal directory.
pub fn spawn(
    layout: &Layout,
    runtime: &tokio::runtime::Runtime,
) -> Result<WorldInfo, RehearseError> {
    let exe = std::env::current_exe().map_err(RehearseError::io("find the genesis binary"))?;
    std::fs::create_dir_all(layout.world_tmp()).map_err(RehearseError::io(format!(
        "create {}",
        layout.world_tmp().display()
    )))?;
    let log = std::fs::File::create(layout.world_log()).map_err(RehearseError::io(format!(
        "create {}",
        layout.world_log().display()
    )))?;
    let mut command = Command::new(exe);
    command
        .arg("rehearse")
        .arg("--serve-world")
        .arg(layout.path())
        .env("TMPDIR", layout.world_tmp())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .map_err(RehearseError::io("start the rehearsal world"))?;
    let stdout = child.stdout.take().ok_or_else(|| {
        RehearseError::World(genesis_rehearse::Error::Control("no stdout".into()))
    })?;
    let read = runtime.block_on(async {
        let ready = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            line
        });
        tokio::select! {
            line = tokio::time::timeout(READY_TIMEOUT, ready) => {
                Some(line.ok().and_then(Result::ok).unwrap_or_default())
            }
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let Some(line) = read else {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill has no memory effects; `pid` is our child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = child.wait();
        let _ = remove(layout.path());
        return Err(RehearseError::Interrupted);
    };
    let line = line.trim_end();
    if let Some(json) = line.strip_prefix("ready ") {
        return serde_json::from_str(json).map_err(|error| {
            RehearseError::World(genesis_rehearse::Error::Control(format!(
                "its ready line: {error}"
            )))
        });
    }
    // No ready line: the world failed (its reason on the line, its log in world.log); make sure
    // nothing of it stays.
    let _ = child.kill();
    let _ = child.wait();
    let reason = line
        .strip_prefix("error ")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("no answer within {} s", READY_TIMEOUT.as_secs()));
    Err(RehearseError::World(genesis_rehearse::Error::Control(
        format!(
            "did not start: {reason} (its log: {})",
            layout.world_log().display()
        ),
    )))
}

/// The world's [`WorldInfo`], read back by a later command (`--resume`).
pub fn info(layout: &Layout) -> Result<WorldInfo, RehearseError> {
    let text = std::fs::read_to_string(layout.world_info()).map_err(RehearseError::io(format!(
        "read {}",
        layout.world_info().display()
    )))?;
    serde_json::from_str(&text).map_err(|error| {
        RehearseError::World(genesis_rehearse::Error::Control(format!(
            "{}: {error}",
            layout.world_info().display()
        )))
    })
}

/// Whether a world answers in `layout`.
pub fn is_up(layout: &Layout) -> bool {
    control::is_up(&layout.socket())
}

/// Sends `request` to the world.
pub fn request(layout: &Layout, request: control::Request) -> Result<String, RehearseError> {
    // `down` waits for every process to stop.
    let timeout = match request {
        control::Request::Down | control::Request::Restart(_) => Duration::from_secs(120),
        _ => Duration::from_secs(10),
    };
    control::request(&layout.socket(), request, timeout).map_err(RehearseError::World)
}

/// Stops the world (when one answers) and removes the rehearsal directory.
pub fn down(layout: &Layout) -> Result<(), RehearseError> {
    if is_up(layout) {
        request(layout, control::Request::Down)?;
    }
    remove(layout.path())
}

/// Removes the rehearsal directory (everything a rehearsal wrote is below it).
pub fn remove(dir: &Path) -> Result<(), RehearseError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(RehearseError::Io {
            what: format!("remove {}", dir.display()),
            source: error,
        }),
    }
}

/// The rehearsal directory: `--dir`, else `$TMPDIR/genesis-rehearsal-<uid>` (one kept world
/// per user).
pub fn default_dir() -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::env::temp_dir().join(format!("genesis-rehearsal-{uid}"))
}
