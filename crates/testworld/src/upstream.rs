//! The upstream checks (docs/testworld.md, "Upstream checks"): small Go programs under
//! `tests/upstream/` that run real upstream code against what genesis writes, built on demand
//! into the same cache as the apiserver, and typed wrappers to run them.
//!
//! - [`Check::ArgoCd`]: Argo CD v3.2.9's own reading of a declarative cluster Secret
//!   (`util/db.SecretToCluster`, `db.GetCluster` through `util/settings`' informer,
//!   `Cluster.RESTConfig`) and a request to the cluster with the REST config it builds.
//! - [`Check::KubeVirt`]: strict decoding into `kubevirt.io/api` v1.7.0's `VirtualMachine`,
//!   the network-attachment-definition-client's `NetworkAttachmentDefinition` and the CNI
//!   `NetConf` of its `spec.config`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::Error;
use crate::gobuild::{GoProgram, Sources};

/// One upstream check program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `tests/upstream/argocd`: Argo CD's cluster-Secret reader.
    ArgoCd,
    /// `tests/upstream/kubevirt`: strict decoding by the KubeVirt, NAD and CNI types.
    KubeVirt,
}

impl Check {
    /// The directory name under `tests/upstream/` and the build script's argument.
    pub fn name(self) -> &'static str {
        match self {
            Check::ArgoCd => "argocd",
            Check::KubeVirt => "kubevirt",
        }
    }

    /// The environment variable naming a prebuilt binary of this check.
    pub fn bin_env(self) -> &'static str {
        self.program().bin_env
    }

    /// The Go module's directory.
    pub fn source_dir(self) -> PathBuf {
        self.program().source_path()
    }

    /// The Go program `tests/upstream/<name>`, cached as
    /// `upstream-<name>-<key>/genesis-upstream-<name>`, built by `.ci/build-upstream-checks`.
    pub fn program(self) -> GoProgram {
        match self {
            Check::ArgoCd => GoProgram {
                cache_name: "upstream-argocd",
                source_dir: "tests/upstream/argocd",
                binary_name: "genesis-upstream-argocd",
                bin_env: "GENESIS_UPSTREAM_ARGOCD_BIN",
                script_args: &["argocd"],
                what: "the upstream check argocd (Argo CD's cluster-Secret reader)",
                ..UPSTREAM_CHECK
            },
            Check::KubeVirt => GoProgram {
                cache_name: "upstream-kubevirt",
                source_dir: "tests/upstream/kubevirt",
                binary_name: "genesis-upstream-kubevirt",
                bin_env: "GENESIS_UPSTREAM_KUBEVIRT_BIN",
                script_args: &["kubevirt"],
                what: "the upstream check kubevirt (KubeVirt, NAD and CNI types)",
                ..UPSTREAM_CHECK
            },
        }
    }
}

/// What the upstream checks share: no version in the key, `flat` sources, one build script.
const UPSTREAM_CHECK: GoProgram = GoProgram {
    cache_name: "",
    version: None,
    source_dir: "",
    sources: Sources::Flat,
    binary_name: "",
    bin_env: "",
    script: ".ci/build-upstream-checks",
    script_args: &[],
    what: "",
};

/// Where the cached binary of `check` for the current sources lives.
pub fn cached_binary_path(check: Check) -> Result<PathBuf, Error> {
    check.program().cached_binary_path()
}

/// Finds the binary of `check`: its environment variable, else the cache, else builds it with
/// `.ci/build-upstream-checks` (Argo CD takes minutes on 2 cores).
pub async fn binary(check: Check) -> Result<PathBuf, Error> {
    check.program().binary().await
}

/// What the Argo CD check prints: Argo CD's verdict on one cluster Secret.
#[derive(Debug, Clone, Deserialize)]
pub struct ArgoCdVerdict {
    /// Every stage passed.
    pub ok: bool,
    /// The stage that failed (`db.SecretToCluster`, `GetServerVersion`, …).
    #[serde(default)]
    pub stage: String,
    /// The upstream error of the failed stage.
    #[serde(default)]
    pub error: String,
    /// The upstream module the check is built from.
    pub argocd: String,
    /// `namespace/name` of the Secret.
    pub secret: String,
    /// The Cluster's server URL, as Argo CD parsed it.
    #[serde(default)]
    pub server: String,
    /// The Cluster's name, as Argo CD parsed it.
    #[serde(default)]
    pub name: String,
    /// The Secret's labels.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// `db.GetCluster(server)` found this Secret through Argo CD's informer index.
    pub found_by_server: bool,
    /// `major.minor` from `GetServerVersion` with Argo CD's REST config.
    #[serde(default)]
    pub server_version: String,
    /// ConfigMaps in `kube-system` listed with Argo CD's REST config.
    pub kube_system_configmaps: usize,
    /// Nodes listed with Argo CD's REST config.
    pub nodes: usize,
    /// `host:port -> address` when a `--resolve` entry was used.
    #[serde(default)]
    pub resolved: String,
    /// The stages that passed, in order.
    pub checks: Vec<String>,
}

/// Which cluster Secret to read, and how.
#[derive(Debug, Clone, Default)]
pub struct ArgoCdRequest {
    /// Kubeconfig of the cluster holding the Secret (the Platform cluster).
    pub kubeconfig: PathBuf,
    /// Argo CD's namespace.
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
    /// `(HOST:PORT, ADDRESS:PORT)`: connect to ADDRESS for HOST, TLS still verifying HOST.
    pub resolve: Vec<(String, String)>,
    /// Labels the Cluster must carry.
    pub require_labels: Vec<(String, String)>,
}

/// Runs the Argo CD check. `Ok` with `ok: false` when Argo CD's code rejected the Secret or
/// could not reach the cluster with it; `Err` when the check itself could not run.
pub async fn argocd_read_cluster_secret(request: &ArgoCdRequest) -> Result<ArgoCdVerdict, Error> {
    let bin = binary(Check::ArgoCd).await?;
    let mut command = Command::new(&bin);
    command.arg("--kubeconfig").arg(&request.kubeconfig).args([
        "--namespace",
        &request.namespace,
        "--name",
        &request.name,
    ]);
    for (host, address) in &request.resolve {
        command.arg("--resolve").arg(format!("{host}={address}"));
    }
    for (key, value) in &request.require_labels {
        command.arg("--require-label").arg(format!("{key}={value}"));
    }
    let output = run(command, &bin, None).await?;
    parse(&bin, &output)
}

/// One object's verdict from the decode check.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectVerdict {
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    pub ok: bool,
    /// The decodes that passed, in order.
    pub checks: Vec<String>,
    /// The upstream decoder's error.
    #[serde(default)]
    pub error: String,
}

/// What the decode check prints.
#[derive(Debug, Clone, Deserialize)]
pub struct DecodeVerdict {
    /// Every object decoded.
    pub ok: bool,
    pub objects: Vec<ObjectVerdict>,
}

/// Decodes `objects` (JSON, as written to the API) strictly with the upstream types.
pub async fn decode(objects: &[serde_json::Value]) -> Result<DecodeVerdict, Error> {
    let bin = binary(Check::KubeVirt).await?;
    let input = serde_json::to_vec(objects).map_err(|error| Error::Setup(error.to_string()))?;
    let output = run(Command::new(&bin), &bin, Some(input)).await?;
    parse(&bin, &output)
}

/// Reads `gets` (`virtualmachines/NAME`, `network-attachment-definitions/NAME`) in
/// `namespace` from the cluster of `kubeconfig`, as the bytes the server serves, and decodes
/// them strictly with the upstream types.
pub async fn decode_from_cluster(
    kubeconfig: &Path,
    namespace: &str,
    gets: &[String],
) -> Result<DecodeVerdict, Error> {
    let bin = binary(Check::KubeVirt).await?;
    let mut command = Command::new(&bin);
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--namespace", namespace]);
    for get in gets {
        command.args(["--get", get]);
    }
    let output = run(command, &bin, None).await?;
    parse(&bin, &output)
}

async fn run(
    mut command: Command,
    bin: &Path,
    stdin: Option<Vec<u8>>,
) -> Result<std::process::Output, Error> {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let io = |source| Error::Io {
        what: format!("run {}", bin.display()),
        source,
    };
    let mut child = command.spawn().map_err(io)?;
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(&bytes).await.map_err(io)?;
        drop(pipe);
    }
    child.wait_with_output().await.map_err(io)
}

/// Exit 0 or 1 with a verdict on stdout is a verdict; anything else is a failure to check.
fn parse<T: for<'de> Deserialize<'de>>(
    bin: &Path,
    output: &std::process::Output,
) -> Result<T, Error> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0 | 1) => serde_json::from_str(stdout.trim()).map_err(|error| {
            Error::Setup(format!(
                "{} printed no verdict ({error}): {stdout}\n{stderr}",
                bin.display()
            ))
        }),
        _ => Err(Error::Setup(format!(
            "{} could not check ({}): {stderr}",
            bin.display(),
            output.status
        ))),
    }
}
