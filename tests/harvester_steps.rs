//! Cluster tests: steps 9 (`harvester.api`), 11 (`harvester.quorum`) and 12
//! (`argocd.cluster-secret`) run by the real `genesis` binary on the test world.
//!
//! The lab is the reference lab moved onto loopback: the Harvester VIP is 127.0.0.1 (the test
//! Harvester API server's certificate covers 127.0.0.1 and localhost), its hostname
//! `localhost`, and the first node 127.0.0.11, where a TCP relay forwards to the world's sshd
//! (which listens on 127.0.0.1 only). The installs (steps 8 and 10, other kinds) are played
//! by hand with the test world's helpers and recorded done in the journal, as a run of those
//! steps would have left it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine as _;
use genesis_engine::journal::RecordKind;
use genesis_engine::{Journal, Scrubber};
use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, PostParams};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(240);

struct Setup {
    _dir: tempfile::TempDir,
    lab: PathBuf,
    secrets: PathBuf,
    state: PathBuf,
    platform_kubeconfig: String,
    harvester_port: u16,
    ssh_port: u16,
    private_key: String,
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .expect("URL with a port")
}

/// The reference lab on loopback.
fn loopback_lab(api_port: u16, ssh_port: u16) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("hardware/lab.yaml"))
            .expect("reference lab");
    let replaced = text
        .replace("subnet: 10.10.10.0/24", "subnet: 127.0.0.0/8")
        .replace("vip: 10.10.10.20", "vip: 127.0.0.1")
        .replace("10.10.10.", "127.0.0.")
        .replace("hostname: harvester.lab.local", "hostname: localhost")
        .replace(
            "api_port: 6443",
            &format!("api_port: {api_port}\n    ssh_port: {ssh_port}"),
        );
    assert!(replaced.contains("vip: 127.0.0.1") && replaced.contains("ssh_port:"));
    replaced
}

/// secrets.example with the test node's client key as `ssh.private_key`.
fn secrets_with_key(private_key: &str) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets.example"))
            .expect("secrets.example");
    let begin = text
        .find("    -----BEGIN OPENSSH PRIVATE KEY-----")
        .expect("fake key in secrets.example");
    let end_marker = "-----END OPENSSH PRIVATE KEY-----\n";
    let end =
        text[begin..].find(end_marker).expect("end of the fake key") + begin + end_marker.len();
    let indented: String = private_key
        .lines()
        .map(|line| format!("    {line}\n"))
        .collect();
    format!("{}{indented}{}", &text[..begin], &text[end..])
}

/// Forwards 127.0.0.11:<free port> to the world's sshd.
async fn ssh_relay(target: u16) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.11:0")
        .await
        .expect("bind 127.0.0.11");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
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
    port
}

async fn setup(world: &World) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ssh_port, private_key) = match world.ssh.as_ref() {
        Some(node) => (
            ssh_relay(node.endpoint.port).await,
            std::fs::read_to_string(&node.endpoint.private_key_path).expect("client key"),
        ),
        // No SSH node: the example's fake key, never used.
        None => (22, String::new()),
    };
    let harvester_port = port_of(world.harvester.url());
    let lab_path = dir.path().join("lab.yaml");
    std::fs::write(&lab_path, loopback_lab(harvester_port, ssh_port)).expect("write lab");
    let secrets = dir.path().join("secrets.yaml");
    let secrets_text = if private_key.is_empty() {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets.example"))
            .expect("secrets.example")
    } else {
        secrets_with_key(&private_key)
    };
    std::fs::write(&secrets, secrets_text).expect("write secrets");
    let state = dir.path().join("state");
    Setup {
        platform_kubeconfig: world
            .platform
            .kubeconfig_path()
            .to_str()
            .expect("utf-8")
            .to_owned(),
        _dir: dir,
        lab: lab_path,
        secrets,
        state,
        harvester_port,
        ssh_port,
        private_key,
    }
}

impl Setup {
    async fn genesis(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_genesis"))
            .arg("--lab")
            .arg(&self.lab)
            .arg("--secrets")
            .arg(&self.secrets)
            .arg("--state-dir")
            .arg(&self.state)
            .args([
                "--context",
                "default",
                "--kubeconfig",
                &self.platform_kubeconfig,
            ])
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .await
            .expect("run genesis")
    }

    /// Records steps as done in the journal, as their own run would have.
    fn record_done(&self, ids: &[&str]) {
        let steps: Vec<(&str, serde_json::Map<String, Value>)> =
            ids.iter().map(|id| (*id, Default::default())).collect();
        self.record_done_with(&steps);
    }

    /// Records steps as done with these outputs.
    fn record_done_with(&self, steps: &[(&str, serde_json::Map<String, Value>)]) {
        let inputs = genesis::inputs::load(&genesis::inputs::InputPaths {
            lab: self.lab.clone(),
            phases: Path::new(env!("CARGO_MANIFEST_DIR")).join("phases"),
            secrets: self.secrets.clone(),
        })
        .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
        let (mut journal, _) =
            Journal::open(&self.state, std::sync::Arc::new(Scrubber::empty())).expect("journal");
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

    /// Every file of the state directory but the kubeconfig, as text.
    fn state_files(&self) -> Vec<(PathBuf, String)> {
        let mut files = Vec::new();
        let mut stack = vec![self.state.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("state dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name() != Some("harvester.kubeconfig".as_ref()) {
                    let bytes = std::fs::read(&path).expect("read");
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    files.push((path, text));
                }
            }
        }
        files
    }
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn ensure_namespace(client: &kube::Client, name: &str) {
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

/// The value of `key` in the first user or cluster of a kubeconfig.
fn kubeconfig_field(kubeconfig: &Value, list: &str, entry: &str, key: &str) -> String {
    kubeconfig[list][0][entry][key]
        .as_str()
        .unwrap_or_else(|| panic!("{list}[0].{entry}.{key}"))
        .to_owned()
}

fn secret_text(secret: &Secret, key: &str) -> String {
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
fn key_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        .filter(|line| line.len() >= 20 && !line.starts_with("-----"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_9_11_12_fetch_the_kubeconfig_wait_for_quorum_and_register_with_argocd() {
    tokio::time::timeout(LIMIT, end_to_end())
        .await
        .expect("the test finishes in time");
}

async fn end_to_end() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions::with_simulator().expect("reference scenario"))
        .await
        .expect("test world starts");
    let setup = setup(&world).await;
    let platform = world.platform.client.clone();
    ensure_namespace(&platform, "argocd").await;

    // Steps 8 and 10, played by hand: the first node creates the cluster, the others join.
    lab::ensure_namespace(&platform, TINK_NAMESPACE)
        .await
        .expect("tink-system");
    lab::apply_strict(
        &platform,
        &lab::template_resource(),
        &lab::template("harvester-install"),
    )
    .await
    .expect("template");
    lab::apply_machine(&platform, "ms-02-1", 1, "harvester-install")
        .await
        .expect("first machine");
    lab::wait_node_ready(&world.harvester.client, "ms-02-1", Duration::from_secs(60))
        .await
        .expect("first node Ready");
    let node = world.ssh.as_ref().expect("sshd node");
    let rke2 = node.host_path("/etc/rancher/rke2/rke2.yaml");
    for _ in 0..100 {
        if rke2.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rke2_text = std::fs::read_to_string(&rke2).expect("the simulator wrote rke2.yaml");
    for (name, index) in [("ms-02-2", 2), ("ms-02-3", 3)] {
        lab::apply_machine(&platform, name, index, "harvester-install")
            .await
            .expect("joining machine");
    }
    setup.record_done(&[
        "create-cluster/ms-02-1",
        "join-cluster/ms-02-2",
        "join-cluster/ms-02-3",
    ]);
    let world_up = started.elapsed();

    // Steps 9, 11 and 12, while the other two nodes are still installing and joining.
    let run_started = Instant::now();
    let output = setup
        .genesis(&[
            "up",
            "--only",
            "harvester-api",
            "--only",
            "quorum",
            "--only",
            "register-argocd",
        ])
        .await;
    let run_took = run_started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    // Step 9: the kubeconfig, private, pointing at the VIP.
    let path = setup.state.join("harvester.kubeconfig");
    let metadata = std::fs::metadata(&path).expect("kubeconfig written");
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    }
    let fetched: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("read kubeconfig"))
            .expect("YAML");
    let original: Value = serde_saphyr::from_str(&rke2_text).expect("rke2.yaml is YAML");
    assert_eq!(
        kubeconfig_field(&fetched, "clusters", "cluster", "server"),
        format!("https://127.0.0.1:{}", setup.harvester_port)
    );
    for (list, entry, key) in [
        ("clusters", "cluster", "certificate-authority-data"),
        ("users", "user", "client-certificate-data"),
        ("users", "user", "client-key-data"),
    ] {
        assert_eq!(
            kubeconfig_field(&fetched, list, entry, key),
            kubeconfig_field(&original, list, entry, key),
            "{key}"
        );
    }
    // First contact: the host key recorded, and announced with its fingerprint.
    let known_hosts =
        std::fs::read_to_string(setup.state.join("known_hosts")).expect("known_hosts");
    let host_key = node
        .endpoint
        .host_public_key
        .split_whitespace()
        .nth(1)
        .expect("host key");
    assert!(
        known_hosts.contains(&format!("[127.0.0.11]:{}", setup.ssh_port))
            && known_hosts.contains(host_key),
        "{known_hosts}"
    );
    let journal = std::fs::read_to_string(setup.state.join("journal.ndjson")).expect("journal");
    let records: Vec<Value> = journal
        .lines()
        .map(|line| serde_json::from_str(line).expect("journal line"))
        .collect();
    let outputs_of = |step: &str| -> Value {
        records
            .iter()
            .rev()
            .find(|record| record["record"] == "step_succeeded" && record["step"] == step)
            .map(|record| record["outputs"].clone())
            .unwrap_or_else(|| panic!("{step} succeeded in the journal:\n{journal}"))
    };
    let api = outputs_of("harvester-api");
    let fingerprint = api["host_key_fingerprint"].as_str().expect("fingerprint");
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    assert!(
        setup
            .state_files()
            .iter()
            .any(|(_, text)| text.contains("first SSH contact") && text.contains(fingerprint)),
        "the first contact is announced in the run log"
    );

    // Step 11: three Ready control-plane nodes, the two joined ones promoted.
    let quorum = outputs_of("quorum");
    assert_eq!(
        quorum["nodes"],
        serde_json::json!(["ms-02-1", "ms-02-2", "ms-02-3"])
    );
    let promoted = world
        .simulator
        .as_ref()
        .expect("simulator")
        .events()
        .iter()
        .filter(|event| event.kind == "node.promote" && event.detail == "complete")
        .count();
    assert_eq!(promoted, 2, "quorum waited for both promotions");

    // Step 12: the Secret, field by field.
    let secrets: Api<Secret> = Api::namespaced(platform.clone(), "argocd");
    let secret = secrets
        .get("cluster-harvester")
        .await
        .expect("Secret exists");
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("argocd.argoproj.io/secret-type")
            .map(String::as_str),
        Some("cluster")
    );
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(secret_text(&secret, "name"), "harvester");
    assert_eq!(
        secret_text(&secret, "server"),
        format!("https://localhost:{}", setup.harvester_port)
    );
    let config: Value = serde_json::from_str(&secret_text(&secret, "config")).expect("JSON");
    let tls = &config["tlsClientConfig"];
    assert_eq!(tls["insecure"], false);
    assert_eq!(
        config.as_object().map(|object| object.len()),
        Some(1),
        "{config}"
    );
    let decode = |value: &Value| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(value.as_str().expect("base64 text"))
                .expect("base64"),
        )
        .expect("PEM text")
    };
    let original_pem = |list: &str, entry: &str, key: &str| {
        decode(&Value::String(kubeconfig_field(
            &original, list, entry, key,
        )))
    };
    assert_eq!(
        decode(&tls["caData"]),
        original_pem("clusters", "cluster", "certificate-authority-data")
    );
    assert!(decode(&tls["caData"]).starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        decode(&tls["certData"]),
        original_pem("users", "user", "client-certificate-data")
    );
    let client_key = original_pem("users", "user", "client-key-data");
    assert!(client_key.contains("PRIVATE KEY-----"));
    assert_eq!(decode(&tls["keyData"]), client_key);
    // The proof ran with exactly the Secret's config.
    let register = outputs_of("register-argocd");
    let proof = register["proof"].as_str().expect("proof");
    assert!(
        proof.contains(&format!(
            "GET https://localhost:{}/version",
            setup.harvester_port
        )) && proof.contains("Kubernetes v1.")
            && proof.contains("3 nodes"),
        "{proof}"
    );
    assert!(
        register["argocd"]
            .as_str()
            .is_some_and(|note| note.starts_with("skipped:")),
        "{register}"
    );
    let version = secret.metadata.resource_version.clone();

    // Idempotent: again, the same Secret, not rewritten.
    let again = setup.genesis(&["up", "--only", "register-argocd"]).await;
    let (stdout_again, stderr_again) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stderr_again}");
    let secret = secrets
        .get("cluster-harvester")
        .await
        .expect("Secret exists");
    assert_eq!(secret.metadata.resource_version, version, "rewritten");
    let journal = std::fs::read_to_string(setup.state.join("journal.ndjson")).expect("journal");
    assert!(journal.contains("\"change\":\"unchanged\""), "{journal}");

    // No secret value anywhere but the private kubeconfig.
    let mut leaks = key_lines(&setup.private_key);
    leaks.extend(key_lines(&client_key));
    leaks.push(kubeconfig_field(
        &original,
        "users",
        "user",
        "client-key-data",
    ));
    leaks.push(base64::engine::general_purpose::STANDARD.encode(secret_text(&secret, "config")));
    assert!(leaks.len() > 4, "the keys have bodies to look for");
    let mut places = vec![
        ("stdout".to_owned(), stdout),
        ("stderr".to_owned(), stderr),
        ("stdout (2nd run)".to_owned(), stdout_again),
        ("stderr (2nd run)".to_owned(), stderr_again),
    ];
    places.extend(
        setup
            .state_files()
            .into_iter()
            .map(|(path, text)| (path.display().to_string(), text)),
    );
    for (place, text) in &places {
        for leak in &leaks {
            assert!(
                !text.contains(leak.as_str()),
                "a secret value reached {place}"
            );
        }
    }
    eprintln!(
        "world and installs {world_up:?}, steps 9+11+12 {run_took:?}, total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_ssh_host_key_is_refused_naming_the_file() {
    tokio::time::timeout(LIMIT, changed_host_key())
        .await
        .expect("the test finishes in time");
}

async fn changed_host_key() {
    let world = World::start_with(WorldOptions::default())
        .await
        .expect("test world starts");
    let setup = setup(&world).await;
    std::fs::create_dir_all(&setup.state).expect("state dir");
    // Another key recorded for the node: what a reinstalled node, or an impostor, looks like.
    let other = setup.state.join("other_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let other_public = std::fs::read_to_string(other.with_extension("pub")).expect("public key");
    std::fs::remove_file(&other).expect("remove the private half");
    std::fs::remove_file(other.with_extension("pub")).expect("remove the public half");
    let known_hosts = setup.state.join("known_hosts");
    let recorded = format!("[127.0.0.11]:{} {}", setup.ssh_port, other_public.trim());
    std::fs::write(&known_hosts, format!("{recorded}\n")).expect("known_hosts");
    setup.record_done(&["create-cluster/ms-02-1"]);

    let output = setup.genesis(&["up", "--only", "harvester-api"]).await;
    let (_, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(setup.state.join("journal.ndjson")).expect("journal");
    let failure = journal
        .lines()
        .find(|line| line.contains("\"record\":\"step_failed\"") && line.contains("harvester-api"))
        .unwrap_or_else(|| panic!("step 9 failed in the journal:\n{journal}"));
    assert!(failure.contains("CHANGED"), "{failure}");
    assert!(
        failure.contains(&known_hosts.display().to_string()),
        "the message names the file to edit: {failure}"
    );
    assert!(failure.contains("\"permanent\""), "not retried: {failure}");
    assert!(!journal.contains("step_retrying"), "{journal}");
    assert!(stderr.contains("CHANGED"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&known_hosts).expect("known_hosts"),
        format!("{recorded}\n"),
        "known_hosts left alone"
    );
    assert!(!setup.state.join("harvester.kubeconfig").exists());
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_promotion_stops_the_quorum_step_for_good() {
    tokio::time::timeout(LIMIT, failed_promotion())
        .await
        .expect("the test finishes in time");
}

async fn failed_promotion() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let setup = setup(&world).await;
    // What Harvester shows when the promote job of a joined node failed.
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(world.harvester.client.clone());
    for (name, annotations) in [
        ("ms-02-1", serde_json::json!({})),
        (
            "ms-02-2",
            serde_json::json!({"harvesterhci.io/promote-status": "failed"}),
        ),
    ] {
        let node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "annotations": annotations,
                         "labels": {"node-role.kubernetes.io/control-plane": "true"}},
        }))
        .expect("Node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("create Node");
    }
    let mut api_outputs = serde_json::Map::new();
    api_outputs.insert(
        "kubeconfig".to_owned(),
        world
            .harvester
            .kubeconfig_path()
            .display()
            .to_string()
            .into(),
    );
    api_outputs.insert("first_node".to_owned(), "ms-02-1".into());
    setup.record_done_with(&[
        ("harvester-api", api_outputs),
        ("join-cluster/ms-02-2", Default::default()),
        ("join-cluster/ms-02-3", Default::default()),
    ]);

    let output = setup.genesis(&["up", "--only", "quorum"]).await;
    let (_, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    let journal = std::fs::read_to_string(setup.state.join("journal.ndjson")).expect("journal");
    let failure = journal
        .lines()
        .find(|line| line.contains("\"record\":\"step_failed\"") && line.contains("quorum"))
        .unwrap_or_else(|| panic!("step 11 failed in the journal:\n{journal}"));
    assert!(
        failure.contains("ms-02-2") && failure.contains("never repairs etcd"),
        "{failure}"
    );
    assert!(failure.contains("\"permanent\""), "not retried: {failure}");
    world.shutdown().await;
}
