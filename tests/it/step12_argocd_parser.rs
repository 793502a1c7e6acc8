//! Cluster test: Argo CD's own code reads the cluster Secret step 12 (`argocd.cluster-secret`)
//! writes, and the REST config Argo CD builds from it reaches the Harvester API.
//!
//! The real `genesis` binary runs step 12 against the test world (the reference lab moved onto
//! loopback, `genesis_harness::loopback`; step 11 recorded done with the Harvester kubeconfig,
//! as its run leaves it). Then the upstream check `tests/upstream/argocd` (Argo CD v3.2.9's
//! `util/db`, `util/settings` and `Cluster.RESTConfig`, built from the Go module proxy) reads
//! that Secret from the Platform API server and talks to the Harvester API server with it.
//! Negative cases: the same credentials under a server name the Harvester certificate does not
//! carry, a `config` Argo CD cannot parse, and a Secret without Argo CD's cluster label.

use std::time::{Duration, Instant};

use crate::GENESIS;
use genesis_harness::loopback::{LoopbackLab, Options, ensure_namespace, text};
use genesis_testworld::upstream::{self, ArgoCdRequest, ArgoCdVerdict, Check};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};

/// Argo CD's label on cluster Secrets (argo-cd v3.2.9 `common/common.go`).
const SECRET_TYPE: &str = "argocd.argoproj.io/secret-type";
const LIMIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn argo_cds_own_parser_accepts_the_step_12_secret_and_reaches_harvester() {
    // The Go build (minutes on a cold cache) is not part of the test's time.
    let built = Instant::now();
    upstream::binary(Check::ArgoCd)
        .await
        .expect("the Argo CD check builds");
    eprintln!("Argo CD check ready in {:?}", built.elapsed());
    tokio::time::timeout(LIMIT, run())
        .await
        .expect("the test finishes in time");
}

fn secret_with(template: &Secret, name: &str, edit: impl FnOnce(&mut Secret)) -> Secret {
    let mut secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: template.metadata.namespace.clone(),
            labels: template.metadata.labels.clone(),
            ..Default::default()
        },
        type_: template.type_.clone(),
        data: template.data.clone(),
        ..Default::default()
    };
    edit(&mut secret);
    secret
}

fn set(secret: &mut Secret, key: &str, value: &str) {
    secret
        .data
        .get_or_insert_with(Default::default)
        .insert(key.to_owned(), ByteString(value.as_bytes().to_vec()));
}

async fn run() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let lab = LoopbackLab::build(GENESIS, &world, Options::default()).await;
    let platform = world.platform.client.clone();
    ensure_namespace(&platform, "argocd").await;
    // Step 11 as its run leaves it: its outputs name the Harvester kubeconfig step 9 fetched.
    let mut quorum = serde_json::Map::new();
    quorum.insert(
        "kubeconfig".to_owned(),
        world
            .harvester
            .kubeconfig_path()
            .display()
            .to_string()
            .into(),
    );
    lab.record_done_with(&[("quorum", quorum)]);

    let output = lab.genesis(&["up", "--only", "register-argocd"]).await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");

    // Whatever Secret step 12 wrote: the one cluster Secret in Argo CD's namespace.
    let secrets: Api<Secret> = Api::namespaced(platform.clone(), "argocd");
    let written = secrets
        .list(&ListParams::default().labels(&format!("{SECRET_TYPE}=cluster")))
        .await
        .expect("list cluster Secrets");
    assert_eq!(written.items.len(), 1, "step 12 wrote one cluster Secret");
    let secret = written.items[0].clone();
    let name = secret.metadata.name.clone().expect("name");
    // Every label genesis puts on the Secret (an ApplicationSet selects clusters by them) must
    // be on the Cluster Argo CD makes of it.
    let labels: Vec<(String, String)> = secret
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(key, _)| key != SECRET_TYPE)
        .collect();
    let request = |name: &str| ArgoCdRequest {
        kubeconfig: world.platform.kubeconfig_path().to_owned(),
        namespace: "argocd".to_owned(),
        name: name.to_owned(),
        ..Default::default()
    };
    let checked = Instant::now();
    let verdict = upstream::argocd_read_cluster_secret(&ArgoCdRequest {
        require_labels: labels.clone(),
        ..request(&name)
    })
    .await
    .expect("the Argo CD check runs");
    let took = checked.elapsed();
    assert!(
        verdict.ok,
        "Argo CD rejected step 12's Secret: {verdict:#?}"
    );
    let server = format!("https://localhost:{}", lab.harvester_port);
    assert_eq!(verdict.server, server);
    assert!(verdict.found_by_server, "{verdict:#?}");
    assert!(verdict.server_version.starts_with("1."), "{verdict:#?}");
    assert_eq!(verdict.checks.len(), 6 + labels.len(), "{verdict:#?}");

    // The same credentials under a name the Harvester certificate does not carry: connections
    // still go to the Harvester API server, and TLS verification fails as it would on hardware.
    let port = lab.harvester_port;
    let wrong_host = format!("wrong-name.invalid:{port}");
    let wrong = secret_with(&secret, "genesis-test-wrong-name", |secret| {
        set(secret, "server", &format!("https://{wrong_host}"))
    });
    secrets
        .create(&PostParams::default(), &wrong)
        .await
        .expect("create");
    let resolve = vec![(wrong_host.clone(), format!("127.0.0.1:{port}"))];
    let rejected = upstream::argocd_read_cluster_secret(&ArgoCdRequest {
        resolve: resolve.clone(),
        ..request("genesis-test-wrong-name")
    })
    .await
    .expect("the Argo CD check runs");
    assert_rejected(&rejected, "GetServerVersion", "x509");
    assert!(
        rejected.error.contains("wrong-name.invalid"),
        "{rejected:#?}"
    );
    assert_eq!(
        rejected.resolved,
        format!("{wrong_host} -> 127.0.0.1:{port}")
    );
    // The override itself does not break a name the certificate carries.
    let resolved_host = format!("localhost:{port}");
    let through = upstream::argocd_read_cluster_secret(&ArgoCdRequest {
        resolve: vec![(resolved_host.clone(), format!("127.0.0.1:{port}"))],
        ..request(&name)
    })
    .await
    .expect("the Argo CD check runs");
    assert!(through.ok, "{through:#?}");
    assert_eq!(
        through.resolved,
        format!("{resolved_host} -> 127.0.0.1:{port}")
    );

    // A config Argo CD cannot parse: caData must be base64 ([]byte in ClusterConfig).
    let broken = secret_with(&secret, "genesis-test-broken-config", |secret| {
        set(secret, "server", "https://broken-config.invalid:6443");
        set(
            secret,
            "config",
            r#"{"tlsClientConfig":{"insecure":false,"caData":"not base64!"}}"#,
        );
    });
    secrets
        .create(&PostParams::default(), &broken)
        .await
        .expect("create");
    let rejected = upstream::argocd_read_cluster_secret(&request("genesis-test-broken-config"))
        .await
        .expect("the Argo CD check runs");
    assert_rejected(
        &rejected,
        "db.SecretToCluster",
        "failed to unmarshal cluster config",
    );

    // Without Argo CD's label its informer never indexes the Secret.
    let unlabelled = secret_with(&secret, "genesis-test-unlabelled", |secret| {
        set(secret, "server", "https://unlabelled.invalid:6443");
        secret.metadata.labels = None;
    });
    secrets
        .create(&PostParams::default(), &unlabelled)
        .await
        .expect("create");
    let rejected = upstream::argocd_read_cluster_secret(&request("genesis-test-unlabelled"))
        .await
        .expect("the Argo CD check runs");
    assert_rejected(&rejected, "labels", SECRET_TYPE);

    eprintln!(
        "step 12 + Argo CD's check: total {:?}, Argo CD's check {took:?}",
        started.elapsed()
    );
    world.shutdown().await;
}

fn assert_rejected(verdict: &ArgoCdVerdict, stage: &str, says: &str) {
    assert!(!verdict.ok, "Argo CD accepted it: {verdict:#?}");
    assert_eq!(verdict.stage, stage, "{verdict:#?}");
    assert!(verdict.error.contains(says), "{verdict:#?}");
}
