//! `genesis-talos-check`, built out of `tests/upstream/talos/` against Talos's own
//! `github.com/siderolabs/talos/pkg/machinery`: loads a machine configuration with Talos's
//! configloader, validates it in the runtime mode of the nocloud platform (cloud), requires a
//! control-plane machine and reports the hostname the config sets itself. Tests run it on
//! every Talos config genesis hands to a VM (docs/testworld.md).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::Deserialize;
use tokio::process::Command;

use crate::Error;
use crate::gobuild::{GoProgram, Sources};

/// The machinery release the check is built from; part of the cache key.
pub const TALOS_VERSION: &str = "v1.12.0";

/// Environment variable naming a prebuilt `genesis-talos-check` binary.
pub const TALOS_CHECK_BIN_ENV: &str = "GENESIS_TALOS_CHECK_BIN";

/// The Go program `tests/upstream/talos`, cached as
/// `talos-check-<version>-<key>/genesis-talos-check`, built by `.ci/build-talos-check`.
pub const PROGRAM: GoProgram = GoProgram {
    cache_name: "talos-check",
    version: Some(TALOS_VERSION),
    source_dir: "tests/upstream/talos",
    sources: Sources::Flat,
    binary_name: "genesis-talos-check",
    bin_env: TALOS_CHECK_BIN_ENV,
    script: ".ci/build-talos-check",
    script_args: &[],
    what: "genesis-talos-check (Talos machinery)",
};

/// Where the cached binary for the current sources lives.
pub fn cached_binary_path() -> Result<PathBuf, Error> {
    PROGRAM.cached_binary_path()
}

/// Finds `genesis-talos-check`: `$GENESIS_TALOS_CHECK_BIN`, else the cache, else builds it
/// into the cache with `.ci/build-talos-check`.
pub async fn binary() -> Result<PathBuf, Error> {
    PROGRAM.binary().await
}

/// What Talos's machinery says about one machine configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct TalosReport {
    pub file: PathBuf,
    pub ok: bool,
    #[serde(default)]
    pub errors: Vec<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub machine_type: String,
    #[serde(default)]
    pub endpoint: String,
    /// The hostname the config sets itself (empty when none).
    pub hostname: String,
    /// `machine.network.hostname`, `HostnameConfig` or empty.
    pub hostname_source: String,
    /// `stable`, `off` or `addr`.
    pub auto_hostname: String,
    pub hostname_config_document: bool,
}

/// Runs the check on a machine configuration; `node`, when given, is the name the config
/// must give the node if it names it.
pub async fn check(config: &str, node: Option<&str>) -> Result<TalosReport, Error> {
    let bin = binary().await?;
    let dir = tempfile::tempdir().map_err(|source| Error::Io {
        what: "create a temporary directory".into(),
        source,
    })?;
    let file = dir.path().join("machine-config.yaml");
    std::fs::write(&file, config).map_err(|source| Error::Io {
        what: format!("write {}", file.display()),
        source,
    })?;
    check_files(&bin, &[file.as_path()], node)
        .await?
        .pop()
        .ok_or_else(|| Error::Setup("genesis-talos-check printed no report".into()))
}

async fn check_files(
    bin: &Path,
    files: &[&Path],
    node: Option<&str>,
) -> Result<Vec<TalosReport>, Error> {
    let mut command = Command::new(bin);
    if let Some(node) = node {
        command.arg("-node").arg(node);
    }
    let output = command
        .args(files)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| Error::Io {
            what: format!("run {}", bin.display()),
            source,
        })?;
    // Exit 1: a config failed, and its report says why; anything else is the check broken.
    if !matches!(output.status.code(), Some(0 | 1)) {
        return Err(Error::Setup(format!(
            "{} ended with {}: {}",
            bin.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|error| {
                Error::Setup(format!("genesis-talos-check printed {line:?}: {error}"))
            })
        })
        .collect()
}
