//! Cluster test: step 12 (`argocd.cluster-secret`) writes the cluster Secret the lab's design
//! names (`argocd/harvester`, with the `lab.gilman.io/cluster-name` label its `cluster-apps`
//! ApplicationSet selects by), and an earlier genesis's registration under the former name
//! `cluster-harvester` does not stay as a second registration (issue 11, defect 6).
//!
//! The lab is the reference lab on loopback (`genesis_harness::loopback`); steps 9–11 are
//! recorded done in the journal with the Harvester admin kubeconfig as their output, as a run
//! of them would have left it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::GENESIS;
use genesis_harness::loopback::{LoopbackLab, Options, ensure_namespace, secret_text, text};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(180);

fn former_secret(server: &str, labels: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some("cluster-harvester".to_owned()),
            labels: Some(
                labels
                    .iter()
                    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([
            ("name".to_owned(), ByteString(b"harvester".to_vec())),
            ("server".to_owned(), ByteString(server.as_bytes().to_vec())),
            ("config".to_owned(), ByteString(b"{}".to_vec())),
        ])),
        ..Secret::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_has_the_designs_name_and_labels_and_replaces_the_former_one() {
    tokio::time::timeout(LIMIT, run())
        .await
        .expect("the test finishes in time");
}

async fn run() {
    let options = WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    };
    let world = World::start_with(options).await.expect("test world starts");
    let setup = LoopbackLab::build(GENESIS, &world, Options::default()).await;
    let platform = world.platform.client.clone();
    ensure_namespace(&platform, "argocd").await;
    let server = format!("https://localhost:{}", setup.harvester_port);
    let kubeconfig = world.harvester.kubeconfig_path().display().to_string();
    let mut outputs = serde_json::Map::new();
    outputs.insert("kubeconfig".to_owned(), Value::String(kubeconfig));
    setup.record_done_with(&[("quorum", outputs)]);

    // What an earlier genesis left: the same cluster registered as `cluster-harvester`.
    let secrets: Api<Secret> = Api::namespaced(platform.clone(), "argocd");
    secrets
        .create(
            &PostParams::default(),
            &former_secret(
                &server,
                &[
                    ("argocd.argoproj.io/secret-type", "cluster"),
                    ("app.kubernetes.io/managed-by", "genesis"),
                ],
            ),
        )
        .await
        .expect("former Secret");

    // The plan says what happens to both (the other steps' lines do not matter here).
    let plan = setup.genesis(&["plan"]).await;
    let (stdout, stderr) = text(&plan);
    assert!(
        stdout.contains("Secret argocd/harvester: create"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Secret argocd/cluster-harvester: delete"),
        "{stdout}\n{stderr}"
    );

    let output = setup.genesis(&["up", "--only", "register-argocd"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let secret = secrets
        .get("harvester")
        .await
        .expect("Secret argocd/harvester");
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("argocd.argoproj.io/secret-type")
            .map(String::as_str),
        Some("cluster")
    );
    assert_eq!(
        labels.get("lab.gilman.io/cluster-name").map(String::as_str),
        Some("harvester"),
        "the label the cluster-apps ApplicationSet selects by: {labels:?}"
    );
    assert_eq!(secret_text(&secret, "name"), "harvester");
    assert_eq!(secret_text(&secret, "server"), server);
    assert!(
        secrets
            .get_opt("cluster-harvester")
            .await
            .expect("read")
            .is_none(),
        "the former registration is gone"
    );
    let former = setup.outputs_of("register-argocd")["former"].clone();
    assert!(
        former
            .as_str()
            .is_some_and(|note| note.contains("deleted Secret argocd/cluster-harvester")),
        "{former}"
    );

    // A `cluster-harvester` genesis did not make is left alone, and the run says so.
    secrets
        .create(
            &PostParams::default(),
            &former_secret(&server, &[("argocd.argoproj.io/secret-type", "cluster")]),
        )
        .await
        .expect("someone else's Secret");
    let output = setup.genesis(&["up", "--only", "register-argocd"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        secrets
            .get_opt("cluster-harvester")
            .await
            .expect("read")
            .is_some(),
        "not genesis's: kept"
    );
    let former = setup.outputs_of("register-argocd")["former"].clone();
    assert!(
        former
            .as_str()
            .is_some_and(|note| note.starts_with("warning:")
                && note.contains("kubectl -n argocd delete secret cluster-harvester")),
        "{former}"
    );
    world.shutdown().await;
}
