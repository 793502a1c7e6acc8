//! Cluster test: `genesis health` and `genesis describe` on one test world after a full run of
//! phases 2–4 (the lab simulator playing the machines, Harvester, KubeVirt and the joins).
//!
//! - after the run, with the Platform's own node registered as in a real lab, `health` is
//!   green (exit 0), in text and in JSON (the documented shape);
//! - `describe` shows a machine's Hardware and install Workflow with their conditions;
//! - a Platform node that the simulator turns NotReady makes `health` red (exit 1), naming the
//!   node and its VM;
//! - with the Platform kubeconfig pointing at a server that never answers, `health` is red,
//!   names the server, the context and the kubeconfig, and returns within its timeout;
//! - no output holds a value of the secrets file, the Harvester kubeconfig's key or the Argo CD
//!   Secret's key.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::GENESIS;
use genesis_harness::loopback::{
    LoopbackLab, Options, assert_no_leaks, key_lines, kubeconfig_field, text,
};
use genesis_testworld::{World, WorldOptions};
use labsim::NodeCluster;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(300);

/// `genesis` with the lab's files and `kubeconfig` for the Platform.
async fn genesis_with(lab: &LoopbackLab, kubeconfig: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(&lab.bin)
        .arg("--lab")
        .arg(&lab.lab)
        .arg("--phases")
        .arg(&lab.phases)
        .arg("--secrets")
        .arg(&lab.secrets)
        .arg("--state-dir")
        .arg(&lab.state)
        .args(["--context", "default", "--kubeconfig"])
        .arg(kubeconfig)
        .args(args)
        .current_dir(genesis_harness::loopback::repo())
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run genesis")
}

/// The Platform's kubeconfig with the Harvester cluster added as context `harvester` (its
/// cluster and user renamed so that they do not collide with the Platform's).
fn merged_kubeconfig(world: &World) -> String {
    let read = |path: &Path| -> Value {
        serde_saphyr::from_str(&std::fs::read_to_string(path).expect("kubeconfig"))
            .expect("kubeconfig YAML")
    };
    let mut platform = read(world.platform.kubeconfig_path());
    let harvester = read(world.harvester.kubeconfig_path());
    let mut cluster = harvester["clusters"][0].clone();
    cluster["name"] = "harvester".into();
    let mut user = harvester["users"][0].clone();
    user["name"] = "harvester".into();
    let context = serde_json::json!({
        "name": "harvester",
        "context": {"cluster": "harvester", "user": "harvester"},
    });
    for (list, entry) in [
        ("clusters", cluster),
        ("users", user),
        ("contexts", context),
    ] {
        platform[list]
            .as_array_mut()
            .expect("a kubeconfig list")
            .push(entry);
    }
    serde_json::to_string(&platform).expect("JSON is YAML")
}

/// The checks of a JSON report, by id: (status, summary).
fn checks(report: &Value) -> std::collections::BTreeMap<String, (String, String)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|check| {
            (
                check["id"].as_str().expect("id").to_owned(),
                (
                    check["status"].as_str().expect("status").to_owned(),
                    check["summary"].as_str().expect("summary").to_owned(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_describe_on_a_bootstrapped_lab() {
    tokio::time::timeout(LIMIT, health_and_describe())
        .await
        .expect("the test finishes in time");
}

async fn health_and_describe() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions::with_simulator().expect("reference scenario"))
        .await
        .expect("test world starts");
    let lab = LoopbackLab::build(GENESIS, &world, Options::default()).await;
    lab.prepare_platform(&world).await;
    let simulator = world.simulator.as_ref().expect("simulator");
    // The Platform's own node, as a real lab has it before phase 4.
    simulator
        .add_platform_node(&lab.inputs().lab.platform_node.hostname.value)
        .await
        .expect("platform node");

    let output = lab.genesis(&["up"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let run_took = started.elapsed();
    let mut outputs: Vec<(String, String)> = Vec::new();

    // Green, in text and JSON.
    let health_started = Instant::now();
    let output = lab.genesis(&["health"]).await;
    let health_took = health_started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    eprintln!("{stdout}");
    for expected in [
        "Platform cluster",
        "node um760: control-plane, Ready",
        "3/3 control-plane nodes Ready",
        "quorum: 3/3 control-plane members",
        "Secret argocd/harvester registers",
        "its credentials work",
        "VM cp-2: Running, ready; joined the Platform as node cp-2, Ready",
        ": healthy (",
    ] {
        assert!(stdout.contains(expected), "`{expected}` in:\n{stdout}");
    }
    outputs.push(("health stdout".into(), stdout));
    outputs.push(("health stderr".into(), stderr));
    let output = lab.genesis(&["health", "-o", "json"]).await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("health JSON");
    assert_eq!(report["schema"], "genesis.health/v1");
    assert_eq!(report["status"], "green", "{stdout}");
    assert_eq!(report["counts"]["red"], 0);
    let found = checks(&report);
    for id in [
        "platform.reachable",
        "platform.node.um760",
        "platform.node.cp-2",
        "platform.node.cp-3",
        "platform.control-plane",
        "harvester.reachable",
        "harvester.node.ms-02-1",
        "harvester.node.ms-02-2",
        "harvester.node.ms-02-3",
        "harvester.quorum",
        "argocd.secret",
        "argocd.credentials",
        "argocd.certificate",
        "vm.cp-2",
        "vm.cp-3",
    ] {
        assert_eq!(
            found.get(id).map(|(status, _)| status.as_str()),
            Some("green"),
            "{id} in {stdout}"
        );
    }
    assert!(
        found["argocd.certificate"].1.contains("expires in"),
        "{:?}",
        found["argocd.certificate"]
    );
    outputs.push(("health -o json stdout".into(), stdout));
    outputs.push(("health -o json stderr".into(), stderr));

    // describe: a machine's branch as a tree, its objects with their conditions.
    let output = lab.genesis(&["describe", "ms-02-2"]).await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    eprintln!("{stdout}");
    for expected in [
        "machine ms-02-2\n",
        "├─ step 6/ms-02-2 bmc/ms-02-2 (rufio.machine)",
        "Secret tink-system/bmc-ms-02-2 on platform: present; data keys: ",
        "Machine tink-system/ms-02-2 on platform: present; power ",
        "Contactable=True",
        "step 7/ms-02-2 hardware/ms-02-2 (tinkerbell.hardware)",
        "Hardware tink-system/ms-02-2 on platform: present",
        "Workflow tink-system/harvester-install-ms-02-2-1 on platform: state SUCCESS; actions: ",
        "BootJobComplete=True (Complete: job completed)",
        "Node ms-02-2 on harvester: present",
        "Ready=True (KubeletReady: kubelet is posting ready status)",
    ] {
        assert!(stdout.contains(expected), "`{expected}` in:\n{stdout}");
    }
    outputs.push(("describe stdout".into(), stdout));
    outputs.push(("describe stderr".into(), stderr));
    let output = lab
        .genesis(&["describe", "register-argocd", "-o", "json"])
        .await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let described: Value = serde_json::from_str(&stdout).expect("describe JSON");
    assert_eq!(described["schema"], "genesis.describe/v1");
    assert_eq!(described["target_kind"], "step");
    let secret = &described["steps"][0]["objects"][0];
    assert_eq!(
        (&secret["kind"], &secret["name"], &secret["state"]),
        (&"Secret".into(), &"harvester".into(), &"present".into())
    );
    assert!(
        secret["summary"]
            .as_str()
            .expect("summary")
            .contains("config"),
        "{secret}"
    );
    outputs.push(("describe -o json stdout".into(), stdout));
    outputs.push(("describe -o json stderr".into(), stderr));
    let output = lab.genesis(&["health", "--timeout", "0s"]).await;
    assert_eq!(output.status.code(), Some(2), "--timeout 0 is bad input");
    let output = lab.genesis(&["describe", "vm/cp-*", "-o", "json"]).await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let described: Value = serde_json::from_str(&stdout).expect("describe JSON");
    let vms: Vec<(&str, &str)> = described["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|step| step["objects"].as_array().expect("objects"))
        .map(|object| {
            (
                object["name"].as_str().expect("name"),
                object["summary"].as_str().expect("summary"),
            )
        })
        .collect();
    assert_eq!(
        vms,
        [("cp-2", "Running, ready"), ("cp-3", "Running, ready")]
    );
    outputs.push(("describe vms stdout".into(), stdout));
    let output = lab.genesis(&["describe", "ms-02-9"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`ms-02-9` names no step or machine")
            && stderr.contains("did you mean `ms-02-1`"),
        "{stderr}"
    );

    // A Platform node goes NotReady: red, naming the node and the VM it is.
    simulator
        .set_node_ready(NodeCluster::Platform, "cp-2", false)
        .await
        .expect("cp-2 NotReady");
    let output = lab.genesis(&["health", "-o", "json"]).await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("health JSON");
    assert_eq!(report["status"], "red");
    let found = checks(&report);
    let (status, summary) = &found["platform.node.cp-2"];
    assert_eq!(status, "red");
    assert!(
        summary.contains("NotReady (Ready=False, KubeletNotReady"),
        "{summary}"
    );
    assert_eq!(found["vm.cp-2"].0, "red", "{:?}", found["vm.cp-2"]);
    assert_eq!(found["platform.node.cp-3"].0, "green");
    assert_eq!(found["platform.control-plane"].0, "yellow");
    let output = lab.genesis(&["health"]).await;
    let (text_out, text_err) = text(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(text_out.contains("FAIL  node cp-2"), "{text_out}");
    assert!(text_out.contains("fix: look at the node"), "{text_out}");
    outputs.extend([
        ("red health stdout".into(), stdout),
        ("red health stderr".into(), stderr),
        ("red health text".into(), text_out),
        ("red health text stderr".into(), text_err),
    ]);
    simulator
        .set_node_ready(NodeCluster::Platform, "cp-2", true)
        .await
        .expect("cp-2 Ready again");

    // The step-12 Secret deleted by hand after step 12 finished: red, not "not run yet", and
    // the fix it names makes it again.
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(world.platform.client.clone(), "argocd");
    secrets
        .delete("harvester", &kube::api::DeleteParams::default())
        .await
        .expect("delete the step-12 Secret");
    let output = lab.genesis(&["health", "-o", "json"]).await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("health JSON");
    let (status, summary) = &checks(&report)["argocd.secret"];
    assert_eq!(status, "red", "{summary}");
    assert!(
        summary.contains("though step `register-argocd` finished: it was removed since"),
        "{summary}"
    );
    outputs.push(("gone health stdout".into(), stdout));
    for args in [&["reset", "register-argocd"][..], &["up"][..]] {
        let output = lab.genesis(args).await;
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stdout}{stderr}");
    }
    let output = lab.genesis(&["health", "-o", "json"]).await;
    let (stdout, stderr) = text(&output);
    let report: Value = serde_json::from_str(&stdout).expect("health JSON");
    assert_eq!(
        checks(&report)["argocd.secret"].0,
        "green",
        "{stdout}{stderr}"
    );

    // A Platform API server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!(
        "https://127.0.0.1:{}",
        silent.local_addr().expect("addr").port()
    );
    let kubeconfig = lab.dir().join("silent.kubeconfig");
    let platform = std::fs::read_to_string(world.platform.kubeconfig_path()).expect("kubeconfig");
    assert!(platform.contains(world.platform.url()));
    std::fs::write(
        &kubeconfig,
        platform.replace(world.platform.url(), &silent_url),
    )
    .expect("write kubeconfig");
    let unreachable_started = Instant::now();
    let output = genesis_with(&lab, &kubeconfig, &["health", "--timeout", "2s"]).await;
    let took = unreachable_started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(took < Duration::from_secs(5), "health took {took:?}");
    let line = stdout
        .lines()
        .find(|line| line.contains("the Platform cluster is not reachable"))
        .unwrap_or_else(|| panic!("an unreachable line in:\n{stdout}"));
    for expected in [
        silent_url.as_str(),
        "context `default`",
        &kubeconfig.display().to_string(),
        "no answer within 2s",
    ] {
        assert!(line.contains(expected), "`{expected}` in {line}");
    }
    assert!(!stdout.contains("panicked") && !stderr.contains("panicked"));
    // Harvester is still read: its nodes are there.
    assert!(stdout.contains("quorum: 3/3"), "{stdout}");
    outputs.extend([
        ("unreachable stdout".into(), stdout),
        ("unreachable stderr".into(), stderr),
    ]);
    // describe says, per object, that the Platform did not answer; Harvester's are read.
    let output = genesis_with(
        &lab,
        &kubeconfig,
        &["describe", "join-cluster/ms-02-2", "--timeout", "2s"],
    )
    .await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains(
            "Workflow tink-system/(genesis.dev/machine=ms-02-2) on platform: not read: the Platform cluster is not reachable"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Node ms-02-2 on harvester: present"),
        "{stdout}"
    );
    outputs.extend([
        ("unreachable describe stdout".into(), stdout),
        ("unreachable describe stderr".into(), stderr),
    ]);
    drop(silent);

    // --harvester-context: Harvester read through the operator's own kubeconfig (the
    // Platform's, with a second context), not the one step 9 fetched.
    let merged = lab.dir().join("merged.kubeconfig");
    std::fs::write(&merged, merged_kubeconfig(&world)).expect("write merged kubeconfig");
    let output = genesis_with(
        &lab,
        &merged,
        &["--harvester-context", "harvester", "health", "-o", "json"],
    )
    .await;
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("health JSON");
    let (status, summary) = &checks(&report)["harvester.reachable"];
    assert_eq!(status, "green");
    assert!(
        summary.contains("context `harvester` of ") && summary.contains("merged.kubeconfig"),
        "{summary}"
    );
    assert_eq!(report["status"], "green", "{stdout}");
    outputs.extend([
        ("--harvester-context stdout".into(), stdout),
        ("--harvester-context stderr".into(), stderr),
    ]);

    // No secret value anywhere: the secrets file, the Harvester client key, the Argo CD
    // Secret's key.
    let mut leaks = lab.secret_values();
    let harvester: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(lab.state.join("harvester.kubeconfig")).expect("kubeconfig"),
    )
    .expect("YAML");
    let key = kubeconfig_field(&harvester, "users", "user", "client-key-data");
    leaks.push(key.clone());
    use base64::Engine as _;
    let pem = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64 key");
    leaks.extend(key_lines(&String::from_utf8_lossy(&pem)));
    assert!(leaks.len() > 12, "values to look for: {}", leaks.len());
    assert_no_leaks(&outputs, &leaks);
    eprintln!(
        "run {run_took:?}, health {health_took:?}, unreachable {took:?}, total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
}
