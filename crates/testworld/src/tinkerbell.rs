//! The real upstream Tinkerbell workflow controller, tink server (gRPC) and Rufio
//! controllers (github.com/tinkerbell/tinkerbell), one process of the
//! `genesis-tinkerbell` program built out of `tests/tinkerbell/`, watching the Platform
//! API server. The same program's `agent` subcommand is the simulated machines' agent.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::Error;
use crate::apiserver::{cache_root, repo_root, tail};

/// The upstream release the Go program requires; part of the cache key.
pub const TINKERBELL_VERSION: &str = "v0.25.0";
/// Environment variable naming a prebuilt `genesis-tinkerbell` binary.
pub const TINKERBELL_BIN_ENV: &str = "GENESIS_TINKERBELL_BIN";

/// How long the program may take from spawn to its "ready" line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

fn go_source_dir() -> PathBuf {
    repo_root().join("tests/tinkerbell")
}

fn files_below(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        what: format!("read {}", dir.display()),
        source,
    })?;
    for entry in entries.filter_map(Result::ok) {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let path = entry.path();
        if path.is_dir() {
            files_below(&path, &format!("{name}/"), out)?;
        } else {
            out.push((name, path));
        }
    }
    Ok(())
}

/// Cache key of the Go program: the Tinkerbell version and a hash of every file below
/// `tests/tinkerbell`. `.ci/build-tinkerbell` computes the same key: the SHA-256 of the
/// `sha256sum` listing of those files (relative paths, sorted), first 16 hex digits.
pub fn source_key(dir: &Path) -> Result<String, Error> {
    let mut files = Vec::new();
    files_below(dir, "", &mut files)?;
    files.sort();
    let mut listing = String::new();
    for (name, path) in &files {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            what: format!("read {}", path.display()),
            source,
        })?;
        listing.push_str(&format!("{}  {name}\n", hex(&Sha256::digest(&bytes))));
    }
    let digest = hex(&Sha256::digest(listing.as_bytes()));
    Ok(format!("{TINKERBELL_VERSION}-{}", &digest[..16]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the cached binary for the current sources lives.
pub fn cached_binary_path() -> Result<PathBuf, Error> {
    let key = source_key(&go_source_dir())?;
    Ok(cache_root()
        .join(format!("tinkerbell-{key}"))
        .join("genesis-tinkerbell"))
}

/// Runs `.ci/build-tinkerbell <flag>` and checks it printed `expected`.
pub(crate) async fn run_setup_script(flag: &str, expected: &Path) -> Result<(), Error> {
    let script = repo_root().join(".ci/build-tinkerbell");
    let output = Command::new("bash")
        .arg(&script)
        .arg(flag)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| Error::Io {
            what: format!("run {}", script.display()),
            source,
        })?;
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || printed.trim() != expected.to_string_lossy() {
        return Err(Error::Setup(format!(
            "{} {flag} failed to provide {} (printed {:?}): {}",
            script.display(),
            expected.display(),
            printed.trim(),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

/// Finds the `genesis-tinkerbell` binary: `$GENESIS_TINKERBELL_BIN`, else the cache, else
/// builds it into the cache (minutes on 2 cores).
pub async fn binary() -> Result<PathBuf, Error> {
    if let Some(bin) = std::env::var_os(TINKERBELL_BIN_ENV) {
        let bin = PathBuf::from(bin);
        if bin.is_file() {
            return Ok(bin);
        }
        return Err(Error::Setup(format!(
            "{TINKERBELL_BIN_ENV}={} is not a file",
            bin.display()
        )));
    }
    let path = cached_binary_path()?;
    if path.is_file() {
        return Ok(path);
    }
    eprintln!(
        "genesis-testworld: building the real Tinkerbell and Rufio controllers ({TINKERBELL_VERSION}) into {}; \
         this takes minutes on 2 cores (run .ci/testworld-setup once to do it ahead of the tests)",
        path.display()
    );
    run_setup_script("--tinkerbell-only", &path).await?;
    Ok(path)
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
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| Error::Io {
                what: format!("create {}", log_path.display()),
                source,
            })?;
        let started = Instant::now();
        let mut child = Command::new(bin)
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            // A BMC that does not answer fails a connection in 5 s (upstream default: 60 s).
            .arg("--bmc-connect-timeout=5s")
            // Rufio re-reads a Machine's BMC at this interval, also after a failed contact
            // (rufio/internal/controller/machine.go requeues with it, not with an error);
            // cmd/tinkerbell uses 30 min. 2 s lets a test's BMC outage end within seconds.
            .arg("--power-check-interval=2s")
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::Io {
                what: format!("spawn {}", bin.display()),
                source,
            })?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| Error::Setup("no stdin pipe".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::Setup("no stdout pipe".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Ok(ready) = serde_json::from_str::<ControllersReady>(&line) {
                    return Ok(Some(ready));
                }
            }
            Ok::<_, std::io::Error>(None)
        })
        .await;
        let ready = match ready {
            Ok(Ok(Some(ready))) => ready,
            Ok(Ok(None)) | Ok(Err(_)) => {
                let _ = child.wait().await;
                return Err(Error::ServerFailed {
                    name: "tinkerbell controllers".into(),
                    log: tail(&log_path, 40),
                });
            }
            Err(_) => {
                return Err(Error::ServerFailed {
                    name: "tinkerbell controllers".into(),
                    log: format!(
                        "not ready within {READY_TIMEOUT:?}\n{}",
                        tail(&log_path, 40)
                    ),
                });
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness and `.ci/build-tinkerbell` must agree on the cache key.
    #[test]
    fn source_key_matches_the_build_script() {
        let dir = go_source_dir();
        let script = "cd \"$1\" && files=$(find . -type f | sed 's|^\\./||' | LC_ALL=C sort) && sha256sum $files | sha256sum | cut -c1-16";
        let output = std::process::Command::new("bash")
            .args(["-c", script, "-"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(output.status.success());
        let expected = format!(
            "{TINKERBELL_VERSION}-{}",
            String::from_utf8(output.stdout).unwrap().trim()
        );
        assert_eq!(source_key(&dir).unwrap(), expected);
    }
}
