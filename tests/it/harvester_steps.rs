//! Cluster tests: steps 9 (`harvester.api`), 11 (`harvester.quorum`) and 12
//! (`argocd.cluster-secret`) run by the real `genesis` binary on the test world.
//!
//! The lab is the reference lab moved onto loopback (`genesis_harness::loopback`): the Harvester
//! VIP is 127.0.0.1, its hostname `localhost`, and the first node 127.0.0.11, where a TCP relay
//! forwards to the world's sshd. The installs (steps 8 and 10, other kinds) are played
//! by hand with the test world's helpers and recorded done in the journal, as a run of those
//! steps would have left it.

use std::time::{Duration, Instant};

use crate::GENESIS;
use base64::Engine as _;
use genesis_harness::loopback::{
    LoopbackLab, Options, assert_no_leaks, ensure_namespace, key_lines, kubeconfig_field,
    secret_text, text,
};
use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(240);

async fn setup(world: &World) -> LoopbackLab {
    LoopbackLab::build(GENESIS, world, Options::default()).await
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

    let rke2 = install_by_hand(&world).await;
    let node = world.ssh.as_ref().expect("sshd node");
    let rke2_text = std::fs::read_to_string(&rke2).expect("the simulator wrote rke2.yaml");
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
    // Readiness was decided with the fetched kubeconfig; the anonymous probe claims no more
    // than TLS and HTTP.
    assert_eq!(api["api"], "ready (authenticated /readyz: ok)", "{api}");
    assert!(
        api["vip_probe"]
            .as_str()
            .is_some_and(|probe| probe.starts_with("answers TLS and HTTP")),
        "{api}"
    );
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
    let secret = secrets.get("harvester").await.expect("Secret exists");
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
    let secret = secrets.get("harvester").await.expect("Secret exists");
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
    places.extend(setup.state_places());
    assert_no_leaks(&places, &leaks);
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
    setup.record_nodes_joined(&world);

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

/// The test world with the simulator playing `fault` on ms-02-2's promotion, the three
/// machines installed (ms-02-2 Ready before ms-02-3, so it is promoted first), and the lab.
async fn promotion_world(fault: labsim::Fault, options: Options<'_>) -> (World, LoopbackLab) {
    let scenario = labsim::Scenario::reference()
        .expect("reference scenario")
        .with_fault(fault);
    let world = World::start_with(WorldOptions {
        ssh: false,
        scenario: Some(scenario),
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let setup = LoopbackLab::build(GENESIS, &world, options).await;
    let platform = world.platform.client.clone();
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
    for (name, index) in [("ms-02-1", 1), ("ms-02-2", 2), ("ms-02-3", 3)] {
        lab::apply_machine(&platform, name, index, "harvester-install")
            .await
            .expect("machine");
        lab::wait_node_ready(&world.harvester.client, name, Duration::from_secs(60))
            .await
            .expect("node Ready");
    }
    setup.record_nodes_joined(&world);
    (world, setup)
}

/// Step 11's failure record in the journal.
fn quorum_failure(setup: &LoopbackLab) -> String {
    let journal = std::fs::read_to_string(setup.state.join("journal.ndjson")).expect("journal");
    journal
        .lines()
        .find(|line| line.contains("\"record\":\"step_failed\"") && line.contains("quorum"))
        .unwrap_or_else(|| panic!("step 11 failed in the journal:\n{journal}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_promotion_fails_step_11_within_a_minute_naming_the_node() {
    tokio::time::timeout(LIMIT, unknown_promotion())
        .await
        .expect("the test finishes in time");
}

async fn unknown_promotion() {
    let (world, setup) = promotion_world(
        labsim::Fault::PromotionUnknown {
            node: "ms-02-2".to_owned(),
        },
        Options::default(),
    )
    .await;
    let started = Instant::now();
    let output = setup.genesis(&["up", "--only", "quorum"]).await;
    let took = started.elapsed();
    let (_, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(60), "failed after {took:?}");
    let failure = quorum_failure(&setup);
    for says in [
        "node ms-02-2",
        "ended `unknown`",
        "kubectl -n harvester-system get jobs",
    ] {
        assert!(failure.contains(says), "{says}: {failure}");
    }
    assert!(failure.contains("\"permanent\""), "not retried: {failure}");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_promotion_fails_step_11_after_the_set_time_naming_the_node() {
    tokio::time::timeout(LIMIT, hung_promotion())
        .await
        .expect("the test finishes in time");
}

async fn hung_promotion() {
    let (world, setup) = promotion_world(
        labsim::Fault::PromotionHangs {
            node: "ms-02-2".to_owned(),
        },
        Options {
            phases: Some(&[2, 3]),
        },
    )
    .await;
    setup.edit_phase(3, |text| {
        text.replace(
            "      nodes: ${inventory.control_plane_nodes}\n",
            "      nodes: ${inventory.control_plane_nodes}\n      promotion_stall: 3s\n",
        )
    });
    let started = Instant::now();
    let output = setup.genesis(&["up", "--only", "quorum"]).await;
    let took = started.elapsed();
    let (_, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(60), "failed after {took:?}");
    let failure = quorum_failure(&setup);
    for says in [
        "node ms-02-2",
        "no progress for 3s",
        "kubectl -n harvester-system get jobs",
    ] {
        assert!(failure.contains(says), "{says}: {failure}");
    }
    world.shutdown().await;
}

/// Steps 8 and 10, played by hand on the simulator world: the first node creates the cluster
/// (waited for until Ready and its `rke2.yaml` is written), the others join. Returns the path
/// of the first node's `rke2.yaml` on the sshd host.
pub(crate) async fn install_by_hand(world: &World) -> std::path::PathBuf {
    let platform = world.platform.client.clone();
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
    // The simulator writes rke2.yaml once the API server presents the re-issued, RKE2-shaped
    // certificate (docs/testworld.md), which can take a few seconds on a loaded machine. A
    // file on the sshd host has no watch; this test-side wait checks it every 50 ms.
    for _ in 0..1200 {
        if rke2.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rke2.exists(), "the simulator wrote rke2.yaml");
    for (name, index) in [("ms-02-2", 2), ("ms-02-3", 3)] {
        lab::apply_machine(&platform, name, index, "harvester-install")
            .await
            .expect("joining machine");
    }
    rke2
}
