//! One real kube-apiserver (with its embedded etcd) per cluster, run from the
//! `genesis-apiserver` binary built out of `tests/apiserver/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::process::{Child, ChildStdin, Command};

use crate::Error;
use crate::gobuild::{GoProgram, Sources};
use crate::process::{Started, start_until_ready};

/// Kubernetes release the Go program is built from; part of the cache key.
pub const KUBERNETES_VERSION: &str = "v1.37.2";

/// Environment variable naming a prebuilt `genesis-apiserver` binary.
pub const APISERVER_BIN_ENV: &str = "GENESIS_APISERVER_BIN";
/// Environment variable naming the CRD directory (default: `<repo>/../shared/crds`).
pub const CRDS_DIR_ENV: &str = "GENESIS_CRDS_DIR";
pub use crate::gobuild::CACHE_DIR_ENV;

/// How long a server may take from spawn to its "ready" line (CRDs included).
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// The root of the genesis repository (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The CRD directory: `$GENESIS_CRDS_DIR`, else `shared/crds` beside the repo.
pub fn crds_dir() -> PathBuf {
    match std::env::var_os(CRDS_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("../shared/crds"),
    }
}

/// The Go program `tests/apiserver`, cached as `apiserver-<version>-<key>/genesis-apiserver`
/// and built by `.ci/testworld-setup --apiserver-only` with the version stamped in.
pub const PROGRAM: GoProgram = GoProgram {
    cache_name: "apiserver",
    version: Some(KUBERNETES_VERSION),
    source_dir: "tests/apiserver",
    sources: Sources::Flat,
    binary_name: "genesis-apiserver",
    bin_env: APISERVER_BIN_ENV,
    script: ".ci/testworld-setup",
    script_args: &["--apiserver-only"],
    what: "the real kube-apiserver",
};

/// Where the cached binary for the current sources lives.
pub fn cached_binary_path() -> Result<PathBuf, Error> {
    PROGRAM.cached_binary_path()
}

/// Finds the `genesis-apiserver` binary: `$GENESIS_APISERVER_BIN`, else the
/// cache, else builds it into the cache (slow: minutes on 2 cores).
pub async fn binary() -> Result<PathBuf, Error> {
    PROGRAM.binary().await
}

/// The line `genesis-apiserver` prints on stdout once it serves.
#[derive(Debug, Clone, Deserialize)]
pub struct ReadyLine {
    pub url: String,
    pub kubeconfig: PathBuf,
    pub port: u16,
    pub crds: usize,
    pub startup_ms: u64,
    pub pid: u32,
    pub kubernetes_version: String,
}

/// The file (in the data dir) of extra names for the server's serving certificate: the server
/// issues its certificate for RKE2's default names plus the file's lines whenever the file
/// changes, and writes `<file>.served` once it presents the new certificate
/// (tests/apiserver/main.go `watchServingSANs`; docs/testworld.md).
pub const SERVING_SANS_FILE: &str = "serving-sans";

/// A running API server. Killed on drop.
#[derive(Debug)]
pub struct ApiServer {
    pub name: String,
    pub ready: ReadyLine,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    /// Wall time from spawn to the ready line, as seen by the harness.
    pub startup: Duration,
    bin: PathBuf,
    crds: Option<PathBuf>,
    child: Child,
    // Held open: the server exits when it sees EOF, so it dies with the test process.
    _stdin: ChildStdin,
}

impl ApiServer {
    /// Starts a server with its data under `data_dir` and CRDs from `crds`.
    pub async fn start(
        name: &str,
        bin: &Path,
        data_dir: &Path,
        crds: Option<&Path>,
    ) -> Result<Self, Error> {
        // The server picks free loopback ports for itself and its etcd by binding port 0 and
        // letting go; another test process can take such a port in between. Then the start
        // fails with "address already in use", and a start from an empty data dir (new
        // ports) is the fix, tried up to three times.
        let mut attempt = 1;
        loop {
            match Self::spawn(name, bin, data_dir, crds, None).await {
                Err(Error::ServerFailed { log, .. })
                    if attempt < 3 && log.contains("address already in use") =>
                {
                    tracing::warn!(
                        name,
                        attempt,
                        "port taken by another process; starting again"
                    );
                    std::fs::remove_dir_all(data_dir).map_err(|source| Error::Io {
                        what: format!("clear {}", data_dir.display()),
                        source,
                    })?;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Kills the server (SIGKILL, like a crash) and starts it again on the same
    /// data dir and port: etcd keeps its data, the PKI and kubeconfig stay
    /// valid, so existing clients reconnect.
    pub async fn restart(&mut self) -> Result<(), Error> {
        let _ = self.child.kill().await;
        let port = Some(self.ready.port);
        let crds = self.crds.clone();
        *self = Self::spawn(&self.name, &self.bin, &self.data_dir, crds.as_deref(), port).await?;
        Ok(())
    }

    async fn spawn(
        name: &str,
        bin: &Path,
        data_dir: &Path,
        crds: Option<&Path>,
        port: Option<u16>,
    ) -> Result<Self, Error> {
        std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
            what: format!("create {}", data_dir.display()),
            source,
        })?;
        // Appended to: a restarted server keeps the earlier log.
        let log_path = data_dir.join("apiserver.log");
        let mut command = Command::new(bin);
        command
            .arg(format!("--data-dir={}", data_dir.display()))
            .arg(format!(
                "--kubeconfig-out={}",
                data_dir.join("admin.kubeconfig").display()
            ))
            .arg("--exit-on-stdin-eof")
            .arg(format!(
                "--serving-sans-file={}",
                data_dir.join(SERVING_SANS_FILE).display()
            ));
        if let Some(port) = port {
            command.arg(format!("--port={port}"));
        }
        if let Some(crds) = crds {
            command.arg(format!("--crds={}", crds.display()));
        }
        let started = Instant::now();
        let Started {
            child,
            stdin,
            ready,
        } = start_until_ready::<ReadyLine>(command, bin, &log_path, name, READY_TIMEOUT).await?;
        Ok(Self {
            name: name.into(),
            ready,
            data_dir: data_dir.into(),
            log_path,
            startup: started.elapsed(),
            bin: bin.into(),
            crds: crds.map(Path::to_path_buf),
            child,
            _stdin: stdin,
        })
    }

    /// Where to write extra serving-certificate names ([`SERVING_SANS_FILE`]).
    pub fn serving_sans_file(&self) -> PathBuf {
        self.data_dir.join(SERVING_SANS_FILE)
    }

    /// The admin kubeconfig (embedded CA, client certificate and key).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.ready.kubeconfig
    }

    /// A kube client with the admin credentials.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        client_from_kubeconfig(&self.ready.kubeconfig).await
    }

    /// Stops the server (SIGKILL; its data is thrown away with the world).
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// Builds a kube client from a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> Result<kube::Client, Error> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(Error::Kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(Error::Kubeconfig)?;
    kube::Client::try_from(config).map_err(Error::Client)
}

pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_dir_honours_the_environment_default() {
        if std::env::var_os(CRDS_DIR_ENV).is_none() {
            assert!(crds_dir().ends_with("shared/crds"));
        }
    }
}
