//! Drives the real `genesis` binary against the test world (crates/testworld). Used by
//! genesis' integration tests (`tests/it`) and the bootstrap bench (`benches/bootstrap.rs`);
//! docs/testworld.md describes the layout.
//!
//! Full runs on a lab moved onto loopback: [`loopback`]; worlds of `exec` phase files for the
//! engine's end-to-end tests: [`exec`]; reaction latency from the simulator's and genesis'
//! events: [`latency`]; request counts from an API server's own metrics: [`apimetrics`];
//! random kill moments: [`kill_moments`]; recorded API answers for the fast tier: [`recorded`]. Runs against a test world's Platform cluster with
//! the shipped lab: [`genesis`].
//!
//! The binary under test: Cargo names it only to genesis' own integration tests and benches
//! (`env!("CARGO_BIN_EXE_genesis")`), so they hand its path to whatever here runs it.

pub mod apimetrics;
pub mod exec;
pub mod kill_moments;
pub mod latency;
pub mod loopback;
pub mod recorded;

use std::path::Path;
use std::process::{Command, Output};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ObjectMeta, PostParams};

/// Runs the `genesis` binary `bin` with the shipped lab and fake secrets (`secrets.example`,
/// copied to a 0600 file as genesis wants a private secrets file), against `kubeconfig`'s
/// `default` context, with state in `state`, and `GENESIS_YES=1` (the confirmation before
/// erasing disks answered, as a script would).
pub fn genesis(bin: impl AsRef<Path>, state: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    genesis_with(bin, state, kubeconfig, None, args)
}

/// Like [`genesis`], with another phases directory.
pub fn genesis_with(
    bin: impl AsRef<Path>,
    state: &Path,
    kubeconfig: &Path,
    phases: Option<&Path>,
    args: &[&str],
) -> Output {
    let secrets_dir = tempfile::tempdir().expect("temp dir");
    let secrets = secrets_dir.path().join("secrets.yaml");
    loopback::write_private(
        &secrets,
        &std::fs::read_to_string(loopback::repo().join("secrets.example"))
            .expect("secrets.example"),
    );
    let mut command = Command::new(bin.as_ref());
    command
        .arg("--secrets")
        .arg(&secrets)
        .args(["--context", "default", "--kubeconfig"])
        .arg(kubeconfig)
        .arg("--state-dir")
        .arg(state);
    if let Some(phases) = phases {
        command.arg("--phases").arg(phases);
    }
    command
        .args(args)
        .current_dir(loopback::repo())
        .env("NO_COLOR", "1")
        .env("GENESIS_YES", "1")
        .env_remove("KUBECONFIG")
        .output()
        .expect("run genesis")
}

/// Creates a namespace (Tinkerbell's, in a real lab, comes with its install).
pub async fn create_namespace(client: &kube::Client, name: &str) {
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create namespace");
}

/// Every file below `dir` (links followed), as text, for secret searches; sockets and FIFOs
/// hold no data of their own and are passed over.
pub fn files_below(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
                out.push((path, text));
            }
        }
    }
    out
}
