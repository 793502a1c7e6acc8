//! Cluster test (issue 14, "Done when"): a rotated Harvester certificate makes `genesis up`
//! update the Argo CD Secret.
//!
//! Steps 9, 11 and 12 run for real on the test world (as in `harvester_steps`), every other
//! step is recorded done. Then the simulator plays RKE2 rotating the admin client certificate
//! in the first node's `rke2.yaml` (a new one issued by the Harvester API server's CA). A plain
//! `genesis up` notices it (step 9 reads the node's file again over SSH), fetches the new
//! kubeconfig and mints the Secret again: its `certData` is the new certificate, read back from
//! the Platform API server, and Argo CD's own cluster-Secret parser (`tests/upstream/argocd`)
//! accepts it and reaches Harvester with it. A second `up` changes nothing. No key material
//! reaches any output or state file.

use std::time::{Duration, Instant};

use crate::GENESIS;
use base64::Engine as _;
use genesis_harness::loopback::{
    LoopbackLab, Options, assert_no_leaks, ensure_namespace, key_lines, kubeconfig_field,
    secret_text, text,
};
use genesis_testworld::upstream::{self, ArgoCdRequest, Check};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(300);
/// Steps 9, 11 and 12, which run for real.
const RUN: [&str; 3] = ["harvester-api", "quorum", "register-argocd"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_harvester_certificate_makes_up_update_the_argocd_secret() {
    // The Go build (minutes on a cold cache) is not part of the test's time.
    upstream::binary(Check::ArgoCd)
        .await
        .expect("the Argo CD check builds");
    tokio::time::timeout(LIMIT, rotation())
        .await
        .expect("the test finishes in time");
}

fn decode(value: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(value)
            .expect("base64"),
    )
    .expect("PEM text")
}

fn cert_data(secret: &Secret) -> String {
    let config: Value = serde_json::from_str(&secret_text(secret, "config")).expect("JSON");
    decode(
        config["tlsClientConfig"]["certData"]
            .as_str()
            .expect("certData"),
    )
}

/// The records of the journal's last run.
fn last_run(setup: &LoopbackLab) -> Vec<Value> {
    let journal = setup.journal();
    let start = journal
        .iter()
        .rposition(|record| record["record"] == "run_started")
        .expect("a run");
    journal[start..].to_vec()
}

async fn rotation() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions::with_simulator().expect("reference scenario"))
        .await
        .expect("test world starts");
    let setup = LoopbackLab::build(GENESIS, &world, Options::default()).await;
    let platform = world.platform.client.clone();
    ensure_namespace(&platform, "argocd").await;

    let rke2 = crate::harvester_steps::install_by_hand(&world).await;
    setup.record_done(&[
        "create-cluster/ms-02-1",
        "join-cluster/ms-02-2",
        "join-cluster/ms-02-3",
    ]);
    let mut args = vec!["up"];
    for id in RUN {
        args.extend(["--only", id]);
    }
    let first = setup.genesis(&args).await;
    let (stdout_first, stderr_first) = text(&first);
    assert_eq!(first.status.code(), Some(0), "{stderr_first}");
    // Everything else as done, so that a plain `up` has nothing but the checks to do.
    let others: Vec<String> = setup
        .inputs()
        .graph
        .steps()
        .iter()
        .map(|step| step.id.to_string())
        .filter(|id| {
            !RUN.contains(&id.as_str())
                && ![
                    "create-cluster/ms-02-1",
                    "join-cluster/ms-02-2",
                    "join-cluster/ms-02-3",
                ]
                .contains(&id.as_str())
        })
        .collect();
    setup.record_done(&others.iter().map(String::as_str).collect::<Vec<_>>());

    let secrets: Api<Secret> = Api::namespaced(platform.clone(), "argocd");
    let before = secrets.get("harvester").await.expect("the Secret");
    let old_certificate = cert_data(&before);

    // Nothing rotated: a plain `up` checks steps 9 and 12 and runs nothing.
    let quiet = setup.genesis(&["up"]).await;
    let (stdout_quiet, stderr_quiet) = text(&quiet);
    assert_eq!(quiet.status.code(), Some(0), "{stderr_quiet}");
    assert!(
        !last_run(&setup)
            .iter()
            .any(|record| record["record"] == "step_attempt"),
        "{stderr_quiet}"
    );

    // RKE2 rotates the admin client certificate on the first node.
    let simulator = world.simulator.as_ref().expect("simulator");
    let new_certificate = simulator
        .rotate_rke2_client_certificate(
            &world.harvester.server.data_dir.join("pki"),
            Duration::from_secs(365 * 86_400),
        )
        .await
        .expect("rotate the client certificate");
    assert_ne!(new_certificate, old_certificate);
    let rotated: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&rke2).expect("rke2.yaml")).expect("YAML");
    let new_key = decode(&kubeconfig_field(
        &rotated,
        "users",
        "user",
        "client-key-data",
    ));

    let checked = Instant::now();
    let again = setup.genesis(&["up"]).await;
    let took = checked.elapsed();
    let (stdout_again, stderr_again) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stderr_again}");
    let said = format!("{stdout_again}\n{stderr_again}");
    assert!(
        said.contains(
            "the Harvester client certificate in /etc/rancher/rke2/rke2.yaml on ms-02-1 changed"
        ),
        "{said}"
    );
    assert!(
        said.contains(
            "re-minting Secret argocd/harvester: the Harvester client certificate changed"
        ),
        "{said}"
    );
    let reran: Vec<String> = last_run(&setup)
        .iter()
        .filter(|record| record["record"] == "step_succeeded")
        .map(|record| record["step"].as_str().expect("step").to_owned())
        .collect();
    assert_eq!(reran, RUN, "step 9 and what needs it, and nothing else");

    // The Secret now carries the new certificate, read back from the Platform API server.
    let after = secrets.get("harvester").await.expect("the Secret");
    assert!(
        cert_data(&after).starts_with(&new_certificate),
        "certData is the rotated certificate"
    );
    assert_ne!(
        after.metadata.resource_version,
        before.metadata.resource_version
    );
    // Argo CD's own parser accepts it and reaches Harvester with it.
    let verdict = upstream::argocd_read_cluster_secret(&ArgoCdRequest {
        kubeconfig: world.platform.server.kubeconfig_path().to_owned(),
        namespace: "argocd".to_owned(),
        name: "harvester".to_owned(),
        ..Default::default()
    })
    .await
    .expect("the Argo CD check runs");
    assert!(
        verdict.ok,
        "Argo CD rejected the re-minted Secret: {verdict:#?}"
    );
    assert!(verdict.server_version.starts_with("1."), "{verdict:#?}");

    // A second `up` changes nothing.
    let last = setup.genesis(&["up"]).await;
    let (stdout_last, stderr_last) = text(&last);
    assert_eq!(last.status.code(), Some(0), "{stderr_last}");
    assert!(
        !last_run(&setup)
            .iter()
            .any(|record| record["record"] == "step_attempt"),
        "{stderr_last}"
    );
    let unchanged = secrets.get("harvester").await.expect("the Secret");
    assert_eq!(
        unchanged.metadata.resource_version,
        after.metadata.resource_version
    );

    // No key material anywhere but the private kubeconfig.
    let mut leaks = key_lines(&new_key);
    leaks.extend(key_lines(&setup.private_key));
    leaks.push(base64::engine::general_purpose::STANDARD.encode(secret_text(&after, "config")));
    assert!(leaks.len() > 2, "the keys have bodies to look for");
    let mut places = vec![
        ("stdout".to_owned(), stdout_first),
        ("stderr".to_owned(), stderr_first),
        ("stdout (check)".to_owned(), stdout_quiet),
        ("stderr (check)".to_owned(), stderr_quiet),
        ("stdout (rotated)".to_owned(), stdout_again),
        ("stderr (rotated)".to_owned(), stderr_again),
        ("stdout (again)".to_owned(), stdout_last),
        ("stderr (again)".to_owned(), stderr_last),
    ];
    places.extend(setup.state_places());
    assert_no_leaks(&places, &leaks);
    eprintln!(
        "rotation: up after the rotation {took:?}, total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
}
