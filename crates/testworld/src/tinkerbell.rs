//! The real upstream Tinkerbell workflow controller, tink server (gRPC) and Rufio
//! controllers (github.com/tinkerbell/tinkerbell), one process of the
//! `genesis-tinkerbell` program built out of `tests/tinkerbell/`, watching the Platform
//! API server. The same program's `agent` subcommand is the simulated machines' agent.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::process::{Child, ChildStdin, Command};

use crate::Error;
use crate::gobuild::{GoProgram, Sources};
use crate::process::{Started, start_until_ready};

/// The upstream release the Go program requires; part of the cache key.
pub const TINKERBELL_VERSION: &str = "v0.25.0";
/// Environment variable naming a prebuilt `genesis-tinkerbell` binary.
pub const TINKERBELL_BIN_ENV: &str = "GENESIS_TINKERBELL_BIN";

/// How long the program may take from spawn to its "ready" line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The Go program `tests/tinkerbell`, keyed by every file below it (`tree`), cached as
/// `tinkerbell-<version>-<key>/genesis-tinkerbell`, built by `.ci/build-tinkerbell`.
pub const PROGRAM: GoProgram = GoProgram {
    cache_name: "tinkerbell",
    version: Some(TINKERBELL_VERSION),
    source_dir: "tests/tinkerbell",
    sources: Sources::Tree,
    binary_name: "genesis-tinkerbell",
    bin_env: TINKERBELL_BIN_ENV,
    script: ".ci/build-tinkerbell",
    script_args: &["--tinkerbell-only"],
    what: "the real Tinkerbell and Rufio controllers",
};

/// Where the cached binary for the current sources lives.
pub fn cached_binary_path() -> Result<PathBuf, Error> {
    PROGRAM.cached_binary_path()
}

/// Finds the `genesis-tinkerbell` binary: `$GENESIS_TINKERBELL_BIN`, else the cache, else
/// builds it into the cache (minutes on 2 cores).
pub async fn binary() -> Result<PathBuf, Error> {
    PROGRAM.binary().await
}

/// The line `genesis-tinkerbell` prints once its controllers are started and its tink
/// server accepts connections.
#[derive(Debug, Clone, Deserialize)]
pub struct ControllersReady {
    pub tinkerbell_version: String,
    pub controllers: Vec<String>,
    /// The tink server's plaintext gRPC address, `127.0.0.1:PORT`.
    pub tink_server: String,
    pub startup_ms: u64,
}

/// The running upstream controllers. Killed on drop.
#[derive(Debug)]
pub struct TinkerbellControllers {
    pub ready: ControllersReady,
    /// The `genesis-tinkerbell` binary (its `agent` subcommand plays a machine's agent).
    pub program: PathBuf,
    /// The controllers' log (JSON lines, upstream's own messages).
    pub log_path: PathBuf,
    pub startup: Duration,
    child: Child,
    // Held open: the program exits when its stdin closes.
    _stdin: ChildStdin,
}

impl TinkerbellControllers {
    /// Starts the tink workflow controller and Rufio's Machine, Job and Task controllers
    /// against the cluster of `kubeconfig`; logs go to `dir/tinkerbell.log`.
    pub async fn start(bin: &Path, kubeconfig: &Path, dir: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            what: format!("create {}", dir.display()),
            source,
        })?;
        let log_path = dir.join("tinkerbell.log");
        let started = Instant::now();
        let mut command = Command::new(bin);
        command
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            // A BMC that does not answer fails a connection in 5 s (upstream default: 60 s).
            .arg("--bmc-connect-timeout=5s")
            // Rufio re-reads a Machine's BMC at this interval, also after a failed contact
            // (rufio/internal/controller/machine.go requeues with it, not with an error);
            // cmd/tinkerbell uses 30 min. 2 s lets a test's BMC outage end within seconds.
            .arg("--power-check-interval=2s")
            .arg("--exit-on-stdin-eof");
        let Started {
            child,
            stdin,
            ready,
        } = start_until_ready::<ControllersReady>(
            command,
            bin,
            &log_path,
            "tinkerbell controllers",
            READY_TIMEOUT,
        )
        .await?;
        Ok(Self {
            ready,
            program: bin.to_path_buf(),
            log_path,
            startup: started.elapsed(),
            child,
            _stdin: stdin,
        })
    }

    /// The controllers' log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stops the process.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}
