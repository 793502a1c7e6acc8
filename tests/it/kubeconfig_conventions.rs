//! Cluster test: genesis finds its clusters the way kubectl does, on the test world.
//!
//! `KUBECONFIG` lists three files: one that does not exist (skipped), a first file and a second
//! file. The Platform context comes from the second file, but its user is defined in both and
//! the first file's wins (its client certificate is a relative path, resolved against the
//! first file's directory, not genesis's working directory); a context defined in both is the
//! first file's. Step 1 (`kube.reachable`) reaches the Platform API server only if all of that
//! holds (the second file's user of the same name carries a token the server refuses). Then
//! `--harvester-context` names the Harvester context of the same merged kubeconfig
//! and step 11 (`harvester.quorum`) watches the world's Harvester API server through it, while
//! the kubeconfig step 9 recorded does not exist: without the flag the same step fails.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine as _;
use genesis_harness::loopback::{record_done_in, repo, text, write_private};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(120);

fn read_yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).expect("read kubeconfig"))
        .expect("kubeconfig YAML")
}

/// The first cluster's and first user's entries of a world kubeconfig.
fn parts(kubeconfig: &Value) -> (Value, Value) {
    (
        kubeconfig["clusters"][0]["cluster"].clone(),
        kubeconfig["users"][0]["user"].clone(),
    )
}

fn decode(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().expect("base64 text"))
        .expect("base64")
}

struct Setup {
    dir: tempfile::TempDir,
    kubeconfig_list: String,
    secrets: PathBuf,
    state: PathBuf,
}

impl Setup {
    async fn genesis(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_genesis"))
            .arg("--secrets")
            .arg(&self.secrets)
            .arg("--state-dir")
            .arg(&self.state)
            .args(args)
            // The lab and phases are the repository's; relative paths in the kubeconfigs must
            // not be resolved against this directory.
            .current_dir(repo())
            .env("KUBECONFIG", &self.kubeconfig_list)
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("GENESIS_HARVESTER_CONTEXT")
            .output()
            .await
            .expect("run genesis")
    }

    fn record_done(&self, steps: &[(&str, serde_json::Map<String, Value>)]) {
        let paths = genesis::inputs::InputPaths {
            lab: repo().join("hardware/lab.yaml"),
            phases: repo().join("phases"),
            secrets: self.secrets.clone(),
        };
        record_done_in(&paths, &self.state, steps);
    }

    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.state.join("journal.ndjson"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("journal line"))
            .collect()
    }

    fn last(&self, record: &str, step: &str) -> Option<Value> {
        self.journal()
            .into_iter()
            .rev()
            .find(|entry| entry["record"] == record && entry["step"] == step)
    }
}

/// The two kubeconfig files, from the world's admin kubeconfigs.
fn setup(world: &World) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let (platform_cluster, platform_user) = parts(&read_yaml(world.platform.kubeconfig_path()));
    let (harvester_cluster, harvester_user) = parts(&read_yaml(world.harvester.kubeconfig_path()));

    // First file: the Platform user, its certificate and key as files next to it (relative
    // paths), and a decoy context pointing at a port nothing listens on.
    let first_dir = dir.path().join("first");
    std::fs::create_dir_all(first_dir.join("certs")).expect("certs dir");
    std::fs::write(
        first_dir.join("certs/platform.crt"),
        decode(&platform_user["client-certificate-data"]),
    )
    .expect("write certificate");
    write_private(
        &first_dir.join("certs/platform.key"),
        &String::from_utf8(decode(&platform_user["client-key-data"])).expect("PEM"),
    );
    let first = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "decoy",
        "clusters": [{"name": "decoy", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "platform-ops", "user": {
            "client-certificate": "certs/platform.crt",
            "client-key": "certs/platform.key",
        }}],
        "contexts": [{"name": "decoy", "context": {"cluster": "decoy", "user": "platform-ops"}}],
    });
    let first_path = first_dir.join("config.yaml");
    write_private(
        &first_path,
        &serde_json::to_string_pretty(&first).expect("JSON"),
    );

    // Second file: the Platform cluster and context, a user of the same name whose (broken)
    // credentials must lose to the first file's, a `decoy` context that must lose too, and
    // the Harvester cluster as a context of its own.
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&second_dir).expect("second dir");
    let second = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "harvester-ops",
        "clusters": [
            {"name": "platform", "cluster": platform_cluster},
            {"name": "harvester", "cluster": harvester_cluster},
        ],
        "users": [
            {"name": "platform-ops", "user": {"token": "loses-to-the-first-file"}},
            {"name": "harvester-ops", "user": harvester_user},
        ],
        "contexts": [
            {"name": "platform", "context": {"cluster": "platform", "user": "platform-ops"}},
            {"name": "decoy", "context": {"cluster": "platform", "user": "platform-ops"}},
            {"name": "harvester-ops", "context": {"cluster": "harvester", "user": "harvester-ops"}},
        ],
    });
    let second_path = second_dir.join("config.yaml");
    write_private(
        &second_path,
        &serde_json::to_string_pretty(&second).expect("JSON"),
    );

    let kubeconfig_list = std::env::join_paths([
        dir.path().join("missing/config.yaml"),
        first_path,
        second_path,
    ])
    .expect("join")
    .into_string()
    .expect("utf-8");
    let secrets = dir.path().join("secrets.yaml");
    write_private(
        &secrets,
        &std::fs::read_to_string(repo().join("secrets.example")).expect("secrets.example"),
    );
    let state = dir.path().join("state");
    Setup {
        dir,
        kubeconfig_list,
        secrets,
        state,
    }
}

/// Three Ready control-plane nodes, the two joined ones promoted: a Harvester quorum.
async fn harvester_quorum(client: &kube::Client) {
    let nodes: Api<Node> = Api::all(client.clone());
    for (name, promoted) in [("ms-02-1", false), ("ms-02-2", true), ("ms-02-3", true)] {
        let annotations = if promoted {
            json!({"harvesterhci.io/promote-status": "complete"})
        } else {
            json!({})
        };
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations,
                         "labels": {"node-role.kubernetes.io/control-plane": "true"}},
        }))
        .expect("Node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("create Node");
        let status = json!({"status": {"conditions": [{
            "type": "Ready", "status": "True", "reason": "KubeletReady",
            "lastHeartbeatTime": "2026-01-01T00:00:00Z",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }]}});
        nodes
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("Node Ready");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_list_context_and_harvester_context() {
    tokio::time::timeout(LIMIT, conventions())
        .await
        .expect("the test finishes in time");
}

async fn conventions() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let world_up = started.elapsed();
    let setup = setup(&world);

    // Step 1 through the merged KUBECONFIG, context `platform` from the second file.
    let step_1 = Instant::now();
    let output = setup
        .genesis(&["up", "--only", "platform-api", "--context", "platform"])
        .await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let reached = setup
        .last("step_succeeded", "platform-api")
        .expect("platform-api succeeded");
    assert!(
        reached["outputs"]["server_version"]
            .as_str()
            .is_some_and(|version| version.starts_with("v1.")),
        "{reached}"
    );
    let step_1 = step_1.elapsed();

    // Step 11 through --harvester-context; step 9's recorded kubeconfig does not exist.
    harvester_quorum(&world.harvester.client).await;
    let gone = setup.dir.path().join("gone/harvester.kubeconfig");
    let mut api_outputs = serde_json::Map::new();
    api_outputs.insert("kubeconfig".to_owned(), gone.display().to_string().into());
    api_outputs.insert("first_node".to_owned(), "ms-02-1".into());
    setup.record_done(&[
        ("harvester-api", api_outputs),
        ("join-cluster/ms-02-2", Default::default()),
        ("join-cluster/ms-02-3", Default::default()),
    ]);

    let output = setup.genesis(&["up", "--only", "quorum"]).await;
    let (_, stderr) = text(&output);
    assert_ne!(
        output.status.code(),
        Some(0),
        "without --harvester-context step 11 uses step 9's kubeconfig, which is gone: {stderr}"
    );
    let failure = setup
        .last("step_failed", "quorum")
        .expect("quorum failed in the journal");
    assert!(
        failure.to_string().contains("gone/harvester.kubeconfig"),
        "{failure}"
    );

    let plan = setup
        .genesis(&[
            "plan",
            "--context",
            "platform",
            "--observe-timeout",
            "5s",
            "--harvester-context",
            "harvester-ops",
        ])
        .await;
    let (plan_out, plan_err) = text(&plan);
    let harvester_fact = plan_out
        .lines()
        .find(|line| line.contains("- the Harvester cluster"))
        .unwrap_or_default();
    assert!(
        harvester_fact.contains("through context `harvester-ops` of KUBECONFIG=")
            && harvester_fact.contains(
                "(--harvester-context), not the kubeconfig step `harvester-api` (harvester.api) fetches",
            ),
        "the plan says which context step 11 uses:\n{plan_out}\n{plan_err}"
    );

    let step_11 = Instant::now();
    let output = setup
        .genesis(&[
            "up",
            "--only",
            "quorum",
            "--harvester-context",
            "harvester-ops",
        ])
        .await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let quorum = setup
        .last("step_succeeded", "quorum")
        .expect("quorum succeeded");
    assert_eq!(
        quorum["outputs"]["nodes"],
        json!(["ms-02-1", "ms-02-2", "ms-02-3"])
    );
    let access = quorum["outputs"]["harvester_access"]
        .as_str()
        .unwrap_or_default();
    assert!(
        access.contains("context `harvester-ops`") && access.contains("--harvester-context"),
        "{quorum}"
    );
    let step_11 = step_11.elapsed();
    eprintln!(
        "world {world_up:?}, step 1 {step_1:?}, step 11 {step_11:?}, total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
}
