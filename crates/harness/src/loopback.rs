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

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use genesis_engine::journal::RecordKind;
use genesis_engine::{Journal, Scrubber};
use genesis_testworld::World;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::task::JoinHandle;

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
        let client = &world.platform.client;
        ensure_namespace(client, "tink-system").await;
        available_deployment(client, "tink-system", "tinkerbell").await;
        ensure_namespace(client, "argocd").await;
        available_deployment(client, "argocd", "argocd-server").await;
        ready_statefulset(client, "argocd", "argocd-application-controller").await;
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
}

/// Records steps of `paths`' graph as done, with these outputs, in the journal of `state`, as
/// their own run would have.
pub fn record_done_in(
    paths: &genesis::inputs::InputPaths,
    state: &Path,
    steps: &[(&str, serde_json::Map<String, Value>)],
) {
    let inputs = genesis::inputs::load(paths)
        .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
    let (mut journal, _) = Journal::open(state, Arc::new(Scrubber::empty())).expect("journal");
    for (id, outputs) in steps {
        let step = inputs
            .graph
            .steps()
            .iter()
            .find(|step| step.id.as_str() == *id)
            .unwrap_or_else(|| panic!("no step {id}"));
        journal
            .append(RecordKind::StepSucceeded {
                step: step.id.clone(),
                attempts: 1,
                fingerprint: genesis_engine::fingerprint::of(step),
                duration_ms: 0,
                outputs: outputs.clone(),
            })
            .expect("journal record");
    }
}

/// Panics naming the place when any of `leaks` occurs in any place's text (`places`: where the
/// text came from, and the text).
pub fn assert_no_leaks(places: &[(String, String)], leaks: &[String]) {
    for (place, text) in places {
        for leak in leaks {
            assert!(
                !text.contains(leak.as_str()),
                "a secret value reached {place}"
            );
        }
    }
}

/// stdout and stderr as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The value of `key` in the first user or cluster of a kubeconfig (`list`: `users` or
/// `clusters`, `entry`: `user` or `cluster`).
pub fn kubeconfig_field(kubeconfig: &Value, list: &str, entry: &str, key: &str) -> String {
    kubeconfig[list][0][entry][key]
        .as_str()
        .unwrap_or_else(|| panic!("{list}[0].{entry}.{key}"))
        .to_owned()
}

/// A Secret's `data.KEY` as text.
pub fn secret_text(secret: &k8s_openapi::api::core::v1::Secret, key: &str) -> String {
    let data = secret.data.as_ref().expect("data");
    String::from_utf8(
        data.get(key)
            .unwrap_or_else(|| panic!("data.{key}"))
            .0
            .clone(),
    )
    .expect("utf-8")
}

/// Lines of a PEM or OpenSSH key body: each would give the key away.
pub fn key_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        .filter(|line| line.len() >= 20 && !line.starts_with("-----"))
        .map(str::to_owned)
        .collect()
}

fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Object(map) => map.values().for_each(|value| leaves(value, out)),
        Value::Array(items) => items.iter().for_each(|value| leaves(value, out)),
        _ => {}
    }
}

/// Writes `text` to a new file readable by its owner only.
pub fn write_private(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .expect("URL with a port")
}

/// The reference lab's BMCs moved onto loopback, with the credentials of `secrets.example`:
/// what `WorldOptions::with_real_tinkerbell` needs for the loopback lab.
pub fn reference_bmcs() -> Vec<genesis_testworld::BmcSpec> {
    let lab: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo().join("hardware/lab.yaml")).expect("lab"),
    )
    .expect("lab YAML");
    let secrets: Value = serde_saphyr::from_str(&example_secrets()).expect("secrets YAML");
    lab["machines"]
        .as_array()
        .expect("machines")
        .iter()
        .map(|machine| {
            let name = machine["hostname"].as_str().expect("hostname");
            let address = machine["bmc"]["address"].as_str().expect("bmc address");
            let host = address.replace("10.10.10.", "127.0.0.");
            genesis_testworld::BmcSpec {
                machine: name.to_owned(),
                host: host.parse().expect("loopback address"),
                username: secrets["bmc"][name]["username"]
                    .as_str()
                    .expect("username")
                    .to_owned(),
                password: secrets["bmc"][name]["password"]
                    .as_str()
                    .expect("password")
                    .to_owned(),
            }
        })
        .collect()
}

fn example_secrets() -> String {
    std::fs::read_to_string(repo().join("secrets.example")).expect("secrets.example")
}

/// The reference lab on loopback.
fn loopback_lab(
    api_port: u16,
    ssh_port: u16,
    pxe_base_url: &str,
    artifacts: &[(&str, Vec<u8>)],
) -> String {
    let mut text = std::fs::read_to_string(repo().join("hardware/lab.yaml")).expect("lab");
    let shipped = "base_url: http://10.10.10.10:8080/harvester/v1.7.0";
    assert!(text.contains(shipped), "the shipped lab's PXE base_url");
    text = text.replace(shipped, &format!("base_url: {pxe_base_url}"));
    let root = pxe_base_url.trim_end_matches(ARTIFACT_PATH);
    text = text.replace(&format!("url: {SHIPPED_HOST}/"), &format!("url: {root}/"));
    for (file, content) in artifacts {
        let line = format!("        file: {file}\n");
        assert!(text.contains(&line), "{file} in the shipped lab");
        text = text.replace(
            &line,
            &format!(
                "{line}        size: {}\n        sha256: {}\n",
                content.len(),
                sha256(content)
            ),
        );
    }
    let replaced = text
        .replace("subnet: 10.10.10.0/24", "subnet: 127.0.0.0/8")
        // The VIP is 127.0.0.1 (the test Harvester API server's address), so the gateway moves
        // away from it: validate refuses a VIP that is the network's gateway.
        .replace("gateway: 10.10.10.1\n", "gateway: 127.0.0.254\n")
        .replace("vip: 10.10.10.20", "vip: 127.0.0.1")
        .replace("10.10.10.", "127.0.0.")
        .replace("hostname: harvester.lab.local", "hostname: localhost")
        .replace(
            "api_port: 6443",
            &format!("api_port: {api_port}\n    ssh_port: {ssh_port}"),
        );
    assert!(replaced.contains("vip: 127.0.0.1") && replaced.contains("ssh_port:"));
    assert!(replaced.contains(&format!("ip: {FIRST_NODE_IP} ")));
    replaced
}

/// secrets.example with `key` as `ssh.private_key`.
fn secrets_with_key(key: &str) -> String {
    let text = example_secrets();
    let begin = text
        .find("    -----BEGIN OPENSSH PRIVATE KEY-----")
        .expect("fake key in secrets.example");
    let end_marker = "-----END OPENSSH PRIVATE KEY-----\n";
    let end =
        text[begin..].find(end_marker).expect("end of the fake key") + begin + end_marker.len();
    let indented: String = key.lines().map(|line| format!("    {line}\n")).collect();
    format!("{}{indented}{}", &text[..begin], &text[end..])
}

fn copy_phases(to: &Path, numbers: &[u32]) {
    let from = repo().join("phases");
    std::fs::create_dir_all(to.join("templates")).expect("phases dir");
    for number in numbers {
        let name = format!("phase-{number}.yaml");
        std::fs::copy(from.join(&name), to.join(&name)).expect("copy phase file");
    }
    for entry in std::fs::read_dir(from.join("templates")).expect("templates") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            to.join("templates").join(path.file_name().expect("name")),
        )
        .expect("copy template");
    }
}

fn sha256(content: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, content)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The artifacts: different, deterministic contents of a few hundred KiB.
fn artifacts() -> Vec<(&'static str, Vec<u8>)> {
    ARTIFACTS
        .iter()
        .zip(0u32..)
        .map(|(file, index)| {
            let content = (0..(100_000 + index * 1_000))
                .map(|i| u8::try_from((i * 7 + index) % 251).expect("byte"))
                .collect();
            (*file, content)
        })
        .collect()
}

/// A minimal HTTP/1.1 server on 127.0.0.1 for the artifacts: `GET` and `HEAD` with
/// `Content-Length`, 404 for anything else, one request per connection.
async fn serve_artifacts(artifacts: &[(&str, Vec<u8>)]) -> (String, JoinHandle<()>) {
    let files: Arc<HashMap<String, Vec<u8>>> = Arc::new(
        artifacts
            .iter()
            .map(|(file, content)| (format!("{ARTIFACT_PATH}/{file}"), content.clone()))
            .chain(
                vm_image_paths()
                    .into_iter()
                    .map(|path| (path, b"a VM image\n".to_vec())),
            )
            .collect(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the artifact server");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                    if head.len() > 16 * 1024 {
                        return;
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let mut words = head.split_whitespace();
                let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                let (status, body) = match (method, files.get(path)) {
                    ("GET" | "HEAD", Some(body)) => ("200 OK", body.as_slice()),
                    _ => ("404 Not Found", b"not found\n".as_slice()),
                };
                let header = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(header.as_bytes()).await;
                if method != "HEAD" {
                    let _ = stream.write_all(body).await;
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://127.0.0.1:{port}{ARTIFACT_PATH}"), task)
}

/// Forwards [`FIRST_NODE_IP`]:<free port> to the world's sshd.
async fn ssh_relay(target: u16) -> (u16, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind((FIRST_NODE_IP, 0))
        .await
        .expect("bind the first node's address");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) =
                    tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, task)
}

/// Creates a namespace unless it exists.
pub async fn ensure_namespace(client: &kube::Client, name: &str) {
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("namespace {name}: {error}"),
    }
}

fn workload_spec(name: &str) -> Value {
    json!({
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": name, "image": "example.invalid/controller:1"}]}
        }
    })
}

/// A one-replica Deployment (it never runs: no kubelet) with the status the controller-manager
/// would write once its pod is ready. Idempotent.
pub async fn available_deployment(client: &kube::Client, namespace: &str, name: &str) {
    let api = Api::<Deployment>::namespaced(client.clone(), namespace);
    let deployment: Deployment =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": workload_spec(name)}))
            .expect("deployment");
    match api.create(&PostParams::default(), &deployment).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("Deployment {namespace}/{name}: {error}"),
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1}
        })),
    )
    .await
    .expect("patch deployment status");
}

/// A one-replica StatefulSet with a ready replica, as its controller would report. Idempotent.
pub async fn ready_statefulset(client: &kube::Client, namespace: &str, name: &str) {
    let api = Api::<StatefulSet>::namespaced(client.clone(), namespace);
    let mut spec = workload_spec(name);
    spec["serviceName"] = json!(name);
    let statefulset: StatefulSet =
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))
            .expect("statefulset");
    match api.create(&PostParams::default(), &statefulset).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => panic!("StatefulSet {namespace}/{name}: {error}"),
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        })),
    )
    .await
    .expect("patch statefulset status");
}

/// The Harvester cluster phase 4 runs on: three Ready nodes named after the reference lab's
/// machines (what step 11 waited for). The simulator places the anti-affine control-plane VMs
/// on them, as the scheduler would.
pub async fn ready_harvester_nodes(world: &World) {
    let nodes: Api<Node> = Api::all(world.harvester.client.clone());
    for name in ["ms-02-1", "ms-02-2", "ms-02-3"] {
        let node: Node = serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": name}}}))
        .expect("Node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("create Node");
        let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True",
            "reason": "KubeletReady", "message": "kubelet is posting ready status"}]}});
        nodes
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("Node Ready");
    }
}
