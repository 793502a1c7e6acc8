//! Cluster test: `genesis diagnose` on the test world after a partial run (steps 5–7 done, a
//! failed step 9). The bundle directory and its `.tar.gz` hold the journal, the run logs,
//! `genesis status`, the objects of both clusters, the first node's service logs over SSH (a
//! failing command recorded, not fatal), and no secret value anywhere. `genesis up` that fails
//! points at `genesis diagnose`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::GENESIS;
use genesis_harness::loopback::{LoopbackLab, Options, ensure_namespace, text};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::Value;

/// A value only the Argo CD cluster Secret holds: diagnose must not collect it.
const ARGOCD_CONFIG: &str = "argocd-cluster-bearer-token-7f3a9c";

fn bundle_files(dir: &Path) -> BTreeMap<String, String> {
    genesis_harness::files_below(dir)
        .into_iter()
        .map(|(path, text)| {
            (
                path.strip_prefix(dir)
                    .expect("below the bundle")
                    .display()
                    .to_string(),
                text,
            )
        })
        .collect()
}

fn archive_files(archive: &Path) -> BTreeMap<String, String> {
    let file = std::fs::File::open(archive).expect("open archive");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for entry in tar.entries().expect("tar entries") {
        let mut entry = entry.expect("entry");
        if entry.header().entry_type().is_file() {
            let path = entry.path().expect("path").display().to_string();
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("utf-8 entry");
            out.insert(path, text);
        }
    }
    out
}

fn line_after<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnose_bundles_journal_logs_objects_and_node_logs_without_secrets() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions::with_simulator().expect("reference scenario"))
        .await
        .expect("test world starts");
    let lab = LoopbackLab::build(
        GENESIS,
        &world,
        Options {
            phases: Some(&[2, 3]),
        },
    )
    .await;
    lab.prepare_platform(&world).await;
    let platform = world.platform.client.clone();

    // A partial run: the template, the BMCs and the Hardware.
    let output = lab
        .genesis(&[
            "up",
            "--only",
            "install-template",
            "--only",
            "bmc",
            "--only",
            "hardware",
        ])
        .await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("genesis diagnose"), "no hint on success");

    // Step 9 cannot finish (no machine was installed): the run fails and points at diagnose.
    let output = lab
        .genesis(&["up", "--only", "harvester-api", "--timeout", "3s"])
        .await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("`genesis diagnose`").count(),
        1,
        "one hint line: {stderr}"
    );

    // An Argo CD cluster Secret as step 12 would leave it, and the Harvester kubeconfig as
    // step 9 would have written it, so that both clusters have something to collect.
    ensure_namespace(&platform, "argocd").await;
    let mut data = BTreeMap::new();
    for (key, value) in [
        ("name", "harvester"),
        ("server", "https://127.0.0.1:6443"),
        (
            "config",
            &*format!("{{\"bearerToken\":\"{ARGOCD_CONFIG}\"}}"),
        ),
    ] {
        data.insert(key.to_owned(), value.to_owned());
    }
    Api::<Secret>::namespaced(platform.clone(), "argocd")
        .create(
            &PostParams::default(),
            &Secret {
                metadata: ObjectMeta {
                    name: Some("cluster-harvester".to_owned()),
                    labels: Some(
                        [(
                            "argocd.argoproj.io/secret-type".to_owned(),
                            "cluster".to_owned(),
                        )]
                        .into(),
                    ),
                    ..ObjectMeta::default()
                },
                string_data: Some(data),
                ..Secret::default()
            },
        )
        .await
        .expect("Argo CD cluster Secret");
    std::fs::copy(
        world.harvester.kubeconfig_path(),
        lab.state.join("harvester.kubeconfig"),
    )
    .expect("Harvester kubeconfig");

    let out = tempfile::tempdir().expect("out dir");
    let diagnose_started = Instant::now();
    let output = lab
        .genesis(&[
            "diagnose",
            "--out",
            out.path().to_str().expect("utf-8 path"),
            "--timeout",
            "10s",
        ])
        .await;
    let took = diagnose_started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let dir = PathBuf::from(line_after(&stdout, "diagnose bundle: "));
    let archive = PathBuf::from(line_after(&stdout, "archive: "));
    assert!(dir.starts_with(out.path()) && dir.is_dir(), "{stdout}");
    assert!(
        archive.extension() == Some("gz".as_ref()) && archive.is_file(),
        "{stdout}"
    );
    let files = bundle_files(&dir);
    let names: Vec<&String> = files.keys().collect();

    // The local part.
    assert!(files["journal.ndjson"].contains("\"step_succeeded\""));
    assert!(files["journal.ndjson"].contains("hardware/ms-02-1"));
    let logs = names
        .iter()
        .filter(|name| name.starts_with("logs/"))
        .count();
    assert_eq!(logs, 2, "one log per run: {names:?}");
    let status = &files["status.txt"];
    assert!(
        status.contains("install-template") && status.contains("done"),
        "{status}"
    );
    assert!(status.contains("harvester-api"), "{status}");

    // The Platform cluster.
    let summary: Value = serde_json::from_str(&files["summary.json"]).expect("summary JSON");
    let parts = &summary["parts"];
    for part in [
        "platform/hardware",
        "platform/templates",
        "platform/workflows",
        "platform/rufio-machines",
        "platform/rufio-jobs",
        "platform/argocd-cluster-secrets",
        "platform/nodes",
        "harvester/nodes",
        "journal",
        "logs",
        "status",
    ] {
        assert_eq!(parts[part], "ok", "{part}: {}", parts[part]);
    }
    let hardware: Value =
        serde_json::from_str(&files["platform/hardware.json"]).expect("hardware JSON");
    let hardware_names: Vec<&str> = hardware["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["metadata"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(hardware_names, ["ms-02-1", "ms-02-2", "ms-02-3"]);
    assert!(
        !files["platform/hardware.json"].contains("managedFields"),
        "bookkeeping left out"
    );
    assert!(files["platform/rufio-machines.json"].contains("Contactable"));
    assert!(files["platform/templates.json"].contains("harvester-install-v1.7.0"));
    let secrets: Value =
        serde_json::from_str(&files["platform/argocd-cluster-secrets.json"]).expect("secrets JSON");
    let secret = &secrets["items"][0];
    assert_eq!(secret["metadata"]["name"], "cluster-harvester");
    assert_eq!(
        secret["dataKeys"],
        serde_json::json!(["config", "name", "server"])
    );
    assert!(secret.get("data").is_none());

    // The Harvester cluster: its nodes (the simulator's), and a record for each other kind.
    assert!(files["harvester/nodes.json"].contains("\"kind\": \"Node\""));
    for part in [
        "harvester/virtualmachineimages",
        "harvester/network-attachment-definitions",
        "harvester/virtualmachines",
        "harvester/virtualmachineinstances",
    ] {
        let outcome = parts[part].as_str().expect("recorded");
        assert!(
            outcome == "ok" && files.contains_key(&format!("{part}.json"))
                || outcome != "ok" && files.contains_key(&format!("{part}.error.txt")),
            "{part}: {outcome}"
        );
    }

    // The first node over SSH: every command recorded; a failing one does not stop the rest.
    assert_eq!(parts["node"], "ok", "{}", parts["node"]);
    let journal = &files["node/journal-rke2-server.txt"];
    assert!(
        journal.starts_with("$ journalctl -u rke2-server --no-pager -n 500\nexit status: "),
        "{journal}"
    );
    let kubelet = &files["node/kubelet-log.txt"];
    assert!(kubelet.contains("exit status: 1"), "{kubelet}");
    assert!(
        parts["node/kubelet-log"]
            .as_str()
            .expect("recorded")
            .contains("exit status 1"),
        "{}",
        parts["node/kubelet-log"]
    );
    assert!(files["node/uptime.txt"].contains("exit status: 0"));
    assert!(files["node/index.txt"].contains("uptime: exit 0"));

    // The archive holds the same files below the bundle's name.
    let name = dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let archived = archive_files(&archive);
    assert_eq!(
        archived.keys().cloned().collect::<Vec<_>>(),
        files
            .keys()
            .map(|file| format!("{name}/{file}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(archived[&format!("{name}/status.txt")], files["status.txt"]);

    // No secret value in any file (the secrets file's, the Argo CD Secret's, the Harvester
    // kubeconfig's credentials), nor on the terminal.
    let mut values = lab.secret_values();
    values.push(ARGOCD_CONFIG.to_owned());
    let kubeconfig: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(world.harvester.kubeconfig_path()).expect("kubeconfig"),
    )
    .expect("kubeconfig YAML");
    let key = kubeconfig["users"][0]["user"]["client-key-data"]
        .as_str()
        .expect("client key")
        .to_owned();
    values.push(key);
    assert!(values.len() >= 6, "{} values", values.len());
    for (file, text) in files.iter().chain(archived.iter()) {
        for value in &values {
            assert!(
                !text.contains(value.as_str()),
                "a secret value ({} chars) reached {file}",
                value.len()
            );
        }
    }
    for value in &values {
        assert!(!stdout.contains(value.as_str()) && !stderr.contains(value.as_str()));
    }
    // The Hardware's user data was collected, with its secrets scrubbed.
    assert!(files["platform/hardware.json"].contains("userData"));
    eprintln!(
        "diagnose: {took:?} for the bundle, {:?} in all",
        started.elapsed()
    );
    drop(lab);
    world.shutdown().await;
}
