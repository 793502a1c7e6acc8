//! The reference lab moved onto loopback, for full runs of the real `genesis` binary against a
//! test [`World`].
//!
//! [`LoopbackLab::build`] writes, in a temp dir of its own:
//! - `lab.yaml`: `hardware/lab.yaml` with every `10.10.10.x` address moved to `127.0.0.x`, the
//!   Harvester VIP `127.0.0.1` (the test Harvester API server's certificate covers 127.0.0.1
//!   and localhost) with the world's Harvester port as `api_port`, the hostname `localhost`,
//!   the first node's SSH port a relay on 127.0.0.11 (the first node's address) to the world's
//!   sshd (which listens on 127.0.0.1 only), and the PXE base URL an in-process HTTP server
//!   that serves the disk image (and the VM images) with the `size` and `sha256` the lab file states;
//!   In a world with real BMCs (`WorldOptions::with_real_tinkerbell(reference_bmcs())`) each
//!   machine's `bmc` is `protocol: redfish` at its emulator's address and port;
//! - `secrets.yaml` (mode 0600): `secrets.example` with the world's SSH client key;
//! - `phases/` when [`Options::phases`] picks some phases (else the repository's `phases/`);
//! - the state directory `state/` (created by genesis).
//!
//! [`LoopbackLab::prepare_platform`] makes the Platform cluster look like an installed one for
//! the phase-2 preflight: the Tinkerbell namespace with an available controller Deployment,
//! the Argo CD namespace with `argocd-server` available and `argocd-application-controller`
//! ready. The world runs no controller-manager, so the status subresources are written here,
//! as those controllers would.
//!
//! Typical use (a full run of phases 2 and 3):
//!
//! ```ignore
//! const GENESIS: &str = env!("CARGO_BIN_EXE_genesis"); // the binary under test
//! let world = World::start_with(WorldOptions::with_simulator()?).await?;
//! let lab = LoopbackLab::build(GENESIS, &world, Options { phases: Some(&[2, 3]) }).await;
//! lab.prepare_platform(&world).await;
//! let output = lab.genesis(&["up"]).await;
//! ```
//!
//! [`LoopbackLab::command`] gives the command without running it (to spawn and kill it).

use std::path::{Path, PathBuf};
use std::process::Output;

use genesis_testworld::World;
use serde_json::Value;
use tokio::task::JoinHandle;

mod build;
mod checks;
mod platform;

use build::{
    artifacts, copy_phases, example_secrets, loopback_lab, secrets_with_key, serve_artifacts,
    sha256, ssh_relay,
};
use checks::{leaves, port_of};

pub use build::reference_bmcs;
pub use checks::{
    assert_no_leaks, key_lines, kubeconfig_field, record_done_in, secret_text, text, write_private,
};
pub use platform::{
    available_deployment, ensure_namespace, ready_harvester_nodes, ready_statefulset,
};

/// The repository root (the genesis package's directory, two levels above this crate's).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/harness lies two levels below the repository root")
}

/// The address of the first node (`ms-02-1`) in the loopback lab, where the SSH relay listens.
pub const FIRST_NODE_IP: &str = "127.0.0.11";

/// Names of the PXE artifacts in the reference lab: the disk image the install streams.
pub const ARTIFACTS: [&str; 1] = ["harvester-v1.7.0-amd64.raw.zst"];

/// The reference lab's artifact server; its VM images are served there too.
const SHIPPED_HOST: &str = "http://10.10.10.10:8080";

/// Paths (below the server's root) of the reference lab's VM images, served with made-up
/// contents so that step 4 finds them.
fn vm_image_paths() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("hardware/lab.yaml")).expect("lab");
    let lab: Value = serde_saphyr::from_str(&text).expect("lab YAML");
    lab["vm_images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|image| {
            image["url"]
                .as_str()?
                .strip_prefix(SHIPPED_HOST)
                .map(str::to_owned)
        })
        .collect()
}

/// Where the artifacts are served below the server's root.
const ARTIFACT_PATH: &str = "/harvester/v1.7.0";

/// What to build.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Only these phases (their files and `templates/` copied into a phases dir of its own);
    /// `None`: the repository's `phases/`.
    pub phases: Option<&'a [u32]>,
}

/// A loopback lab: files, relays and servers. Dropping it stops the relay and the artifact
/// server and removes the files (the state dir included).
pub struct LoopbackLab {
    dir: tempfile::TempDir,
    /// The `genesis` binary it runs.
    pub bin: PathBuf,
    pub lab: PathBuf,
    pub secrets: PathBuf,
    pub phases: PathBuf,
    pub state: PathBuf,
    pub platform_kubeconfig: PathBuf,
    /// The Harvester API server's port (the VIP's `api_port`).
    pub harvester_port: u16,
    /// The SSH relay's port on [`FIRST_NODE_IP`] (22 without an sshd in the world: unused).
    pub ssh_port: u16,
    /// The world's SSH client key, as written into the secrets file (empty without sshd).
    pub private_key: String,
    /// The artifact server's base URL (the lab's `endpoints.pxe.base_url`).
    pub pxe_base_url: String,
    /// Each served artifact: file name, size and SHA-256 (hex), as the lab file states them.
    pub artifacts: Vec<(String, u64, String)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for LoopbackLab {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl LoopbackLab {
    /// Writes the lab, secrets and phases for `world` and starts the relay and the artifact
    /// server (on the current tokio runtime); [`LoopbackLab::command`] runs `bin`.
    pub async fn build(bin: impl AsRef<Path>, world: &World, options: Options<'_>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("genesis-loopback-")
            .tempdir()
            .expect("temp dir");
        let mut tasks = Vec::new();
        let (ssh_port, private_key) = match world.ssh.as_ref() {
            Some(node) => {
                let (port, task) = ssh_relay(node.endpoint.port).await;
                tasks.push(task);
                (
                    port,
                    std::fs::read_to_string(&node.endpoint.private_key_path).expect("client key"),
                )
            }
            // No SSH node: the example's fake key, never used.
            None => (22, String::new()),
        };
        let artifacts = artifacts();
        let (pxe_base_url, task) = serve_artifacts(&artifacts).await;
        tasks.push(task);
        let harvester_port = port_of(world.harvester.url());

        let lab = dir.path().join("lab.yaml");
        let mut lab_text = loopback_lab(harvester_port, ssh_port, &pxe_base_url, &artifacts);
        // A world with real BMCs: each machine speaks Redfish to its emulator.
        for bmc in world.bmcs.values() {
            let amt = format!("bmc: {{address: {}, protocol: intel-amt}}", bmc.host);
            assert!(lab_text.contains(&amt), "{amt} in the loopback lab");
            lab_text = lab_text.replace(
                &amt,
                &format!(
                    "bmc: {{address: {}, protocol: redfish, port: {}, insecure_tls: true}}",
                    bmc.host, bmc.port
                ),
            );
        }
        std::fs::write(&lab, lab_text).expect("write lab");
        let secrets = dir.path().join("secrets.yaml");
        let secrets_text = if private_key.is_empty() {
            example_secrets()
        } else {
            secrets_with_key(&private_key)
        };
        write_private(&secrets, &secrets_text);
        let phases = match options.phases {
            None => repo().join("phases"),
            Some(numbers) => {
                let phases = dir.path().join("phases");
                copy_phases(&phases, numbers);
                phases
            }
        };
        let state = dir.path().join("state");
        Self {
            bin: bin.as_ref().to_owned(),
            platform_kubeconfig: world.platform.kubeconfig_path().to_owned(),
            lab,
            secrets,
            phases,
            state,
            harvester_port,
            ssh_port,
            private_key,
            pxe_base_url,
            artifacts: artifacts
                .iter()
                .map(|(file, content)| ((*file).to_owned(), content.len() as u64, sha256(content)))
                .collect(),
            tasks,
            dir,
        }
    }

    /// Rewrites phase file `number` of this lab's own phases dir (built with
    /// [`Options::phases`]), e.g. to shorten a timeout or a retry backoff.
    pub fn edit_phase(&self, number: u32, edit: impl FnOnce(&str) -> String) {
        assert!(
            self.phases.starts_with(self.dir.path()),
            "edit_phase needs Options::phases (the repository's phases are not edited)"
        );
        let path = self.phases.join(format!("phase-{number}.yaml"));
        let text = std::fs::read_to_string(&path).expect("phase file");
        let edited = edit(&text);
        assert_ne!(edited, text, "the edit changed nothing in phase {number}");
        std::fs::write(&path, edited).expect("write phase file");
    }

    /// The lab's own temp dir (lab, secrets, phases, state).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Makes the Platform cluster look installed for the phase-2 preflight: the Tinkerbell
    /// namespace with an available controller, Argo CD's namespace, server and application
    /// controller. Idempotent.
    pub async fn prepare_platform(&self, world: &World) {
        genesis_rehearse::platform::prepare_platform(
            &world.platform.client,
            "tink-system",
            "argocd",
        )
        .await
        .expect("make the Platform look installed");
    }

    /// `genesis` with this lab's flags (`--lab`, `--phases`, `--secrets`, `--state-dir`,
    /// `--context default`, `--kubeconfig`), run from the repository root, without colour and
    /// without `KUBECONFIG`; add the subcommand and its arguments. `GENESIS_YES=1` answers
    /// `genesis up`'s question before it erases (simulated) disks, as a script would; a test
    /// of the question itself removes it.
    pub fn command(&self) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.bin);
        command
            .arg("--lab")
            .arg(&self.lab)
            .arg("--phases")
            .arg(&self.phases)
            .arg("--secrets")
            .arg(&self.secrets)
            .arg("--state-dir")
            .arg(&self.state)
            .args(["--context", "default", "--kubeconfig"])
            .arg(&self.platform_kubeconfig)
            .current_dir(repo())
            .env("NO_COLOR", "1")
            .env("GENESIS_YES", "1")
            .env_remove("KUBECONFIG")
            .kill_on_drop(true);
        command
    }

    /// Runs `genesis ARGS` to the end.
    pub async fn genesis(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .await
            .expect("run genesis")
    }

    /// Every secret value of the secrets file (and key body lines of the SSH key), for leak
    /// searches.
    pub fn secret_values(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.secrets).expect("secrets file");
        let value: Value = serde_saphyr::from_str(&text).expect("secrets YAML");
        let mut out = Vec::new();
        leaves(&value, &mut out);
        let mut values: Vec<String> = out
            .into_iter()
            .flat_map(|leaf| {
                if leaf.contains('\n') {
                    let mut parts = key_lines(&leaf);
                    // Multi-line values that are no key (Talos configs): each long line.
                    if parts.is_empty() {
                        parts = leaf
                            .lines()
                            .map(str::trim)
                            .filter(|line| line.len() >= 12)
                            .map(str::to_owned)
                            .collect();
                    }
                    parts
                } else {
                    vec![leaf]
                }
            })
            // Short values ("admin") would match innocent text.
            .filter(|value| value.len() >= 8)
            .collect();
        values.sort();
        values.dedup();
        values
    }

    /// Records steps as done in the journal, as their own run would have.
    pub fn record_done(&self, ids: &[&str]) {
        let steps: Vec<(&str, serde_json::Map<String, Value>)> =
            ids.iter().map(|id| (*id, Default::default())).collect();
        self.record_done_with(&steps);
    }

    /// Records steps as done with these outputs.
    pub fn record_done_with(&self, steps: &[(&str, serde_json::Map<String, Value>)]) {
        record_done_in(&self.input_paths(), &self.state, steps);
    }

    /// Records what quorum (step 11) needs as done: `harvester-api` with the world's Harvester
    /// kubeconfig and `ms-02-1` as first node, and the other two nodes' joins.
    pub fn record_nodes_joined(&self, world: &World) {
        let mut api = serde_json::Map::new();
        api.insert(
            "kubeconfig".to_owned(),
            world
                .harvester
                .kubeconfig_path()
                .display()
                .to_string()
                .into(),
        );
        api.insert("first_node".to_owned(), "ms-02-1".into());
        self.record_done_with(&[
            ("harvester-api", api),
            ("join-cluster/ms-02-2", Default::default()),
            ("join-cluster/ms-02-3", Default::default()),
        ]);
    }

    /// This lab's lab, phases and secrets files.
    pub fn input_paths(&self) -> genesis::inputs::InputPaths {
        genesis::inputs::InputPaths {
            lab: self.lab.clone(),
            phases: self.phases.clone(),
            secrets: self.secrets.clone(),
        }
    }

    /// This lab's inputs, loaded as genesis loads them.
    pub fn inputs(&self) -> genesis::inputs::Inputs {
        genesis::inputs::load(&self.input_paths())
            .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)))
    }

    /// The journal's records.
    pub fn journal(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.state.join("journal.ndjson")).expect("journal");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("journal line"))
            .collect()
    }

    /// The outputs of the last `step_succeeded` record of `step`.
    pub fn outputs_of(&self, step: &str) -> Value {
        self.journal()
            .iter()
            .rev()
            .find(|record| record["record"] == "step_succeeded" && record["step"] == step)
            .map(|record| record["outputs"].clone())
            .unwrap_or_else(|| panic!("{step} succeeded in the journal"))
    }

    /// Every file of the state directory but the fetched Harvester kubeconfig (which holds
    /// credentials by design), as text.
    pub fn state_files(&self) -> Vec<(PathBuf, String)> {
        if !self.state.exists() {
            return Vec::new();
        }
        crate::files_below(&self.state)
            .into_iter()
            .filter(|(path, _)| path.file_name() != Some("harvester.kubeconfig".as_ref()))
            .collect()
    }

    /// [`Self::state_files`] named by their paths, as places for [`assert_no_leaks`].
    pub fn state_places(&self) -> Vec<(String, String)> {
        self.state_files()
            .into_iter()
            .map(|(path, text)| (path.display().to_string(), text))
            .collect()
    }
}
