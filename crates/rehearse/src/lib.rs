//! The world a rehearsal runs in (`genesis rehearse`, docs/rehearse.md): the test world of
//! `genesis-testworld` (two real kube-apiservers with the upstream CRDs, a real sshd playing
//! the first Harvester node, the lab simulator playing the hardware), run by a background
//! process so that it can outlive one command (`--keep`, `--resume`), with the operator's lab
//! moved onto loopback ([`labmap`]) and the files its URLs name served ([`serve`]).
//!
//! The pieces, all in one rehearsal directory ([`Layout`]):
//! - the foreground (`genesis rehearse`) writes the scenario and the lab as JSON, starts the
//!   world process ([`world::serve`], run by `genesis rehearse --serve-world DIR`), and reads one
//!   line from its stdout once it is ready;
//! - the world process writes the lab on loopback and [`WorldInfo`], then answers requests on a
//!   Unix socket ([`control`]): `ping`, `lift` (lift the faults), `restart platform|harvester`,
//!   `down` (stop everything; the answer comes once it has stopped).
//!
//! This crate knows the lab file's shape and the test world; it does not know the genesis
//! library (which depends on it).

pub mod control;
pub mod labmap;
pub mod platform;
pub mod serve;
pub mod world;

use std::path::{Path, PathBuf};

pub use genesis_testworld as testworld;
pub use labsim::{Fault, Scenario, SimDuration};

/// What went wrong with a rehearsal world.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the lab cannot be rehearsed: {0}")]
    Lab(String),
    #[error(transparent)]
    World(#[from] genesis_testworld::Error),
    #[error("the rehearsal world: {0}")]
    Control(String),
    #[error("kubernetes api: {context}")]
    Kube {
        context: String,
        #[source]
        source: kube::Error,
    },
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}

/// Where the world writes what the foreground reads, once it is ready.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WorldInfo {
    /// The world process.
    pub pid: u32,
    /// The Platform API server's admin kubeconfig (context `default`).
    pub platform_kubeconfig: PathBuf,
    /// The Harvester API server's admin kubeconfig (context `default`).
    pub harvester_kubeconfig: PathBuf,
    /// The private key the world's sshd accepts for the first node's user.
    pub ssh_private_key: PathBuf,
    /// Wall time from the world process's start to ready, in milliseconds.
    pub startup_ms: u64,
}

/// A machine's BMC as the rehearsal's Redfish emulator accepts it: stand-in credentials, never
/// the operator's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BmcCredentials {
    pub machine: String,
    pub username: String,
    pub password: String,
}

/// The files of one rehearsal directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
    /// The scenario, written by the foreground (JSON).
    pub fn scenario(&self) -> PathBuf {
        self.dir.join("scenario.json")
    }
    /// The operator's lab as JSON, written by the foreground.
    pub fn source_lab(&self) -> PathBuf {
        self.dir.join("lab.json")
    }
    /// [`WorldInfo`], written by the world once ready.
    pub fn world_info(&self) -> PathBuf {
        self.dir.join("world.json")
    }
    /// The world's control socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }
    /// The BMCs to emulate (JSON [`BmcCredentials`], stand-in credentials), written by the
    /// foreground when the rehearsal runs the real Tinkerbell and Rufio controllers.
    pub fn bmcs(&self) -> PathBuf {
        self.dir.join("bmcs.json")
    }
    /// The world process's log (its stderr).
    pub fn world_log(&self) -> PathBuf {
        self.dir.join("world.log")
    }
    /// The world process's own temporary files (its `TMPDIR`: the API servers' data, sshd).
    pub fn world_tmp(&self) -> PathBuf {
        self.dir.join("world")
    }
    /// The inputs `genesis up` runs with: the lab on loopback, stand-in secrets, phases.
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join("run")
    }
    /// The lab on loopback, written by the world.
    pub fn lab(&self) -> PathBuf {
        self.run_dir().join("lab.yaml")
    }
    pub fn secrets(&self) -> PathBuf {
        self.run_dir().join("secrets.yaml")
    }
    pub fn phases(&self) -> PathBuf {
        self.run_dir().join("phases")
    }
    pub fn state(&self) -> PathBuf {
        self.run_dir().join("state")
    }
    pub fn path(&self) -> &Path {
        &self.dir
    }
}
