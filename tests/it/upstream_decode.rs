//! Cluster test: the VirtualMachines and the NetworkAttachmentDefinition genesis writes for the
//! reference lab decode strictly with the upstream Go types.
//!
//! The real `genesis` binary runs phase 4 (steps 13–17) against the test world with the lab
//! simulator, phases 2 and 3 recorded done (as `tests/phase4_vms.rs` does). Then the upstream
//! check `tests/upstream/kubevirt` reads every VirtualMachine and NetworkAttachmentDefinition
//! genesis applied from the Harvester API server, as the bytes the server serves, and decodes
//! them with Kubernetes' strict JSON decoder into `kubevirt.io/api` v1.7.0's `VirtualMachine`,
//! the network-attachment-definition-client's `NetworkAttachmentDefinition` and, for the NAD's
//! `spec.config`, libcni and the CNI `NetConf` with the bridge fields Harvester's network
//! controller declares. A misspelt field (and a field name in the wrong case) is the negative
//! control: the same objects with one key changed must be rejected.

use std::time::{Duration, Instant};

use genesis_harness::loopback::{ready_harvester_nodes, record_done_in, repo, text, write_private};
use genesis_testworld::upstream::{self, Check, DecodeVerdict};
use genesis_testworld::{World, WorldOptions};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(150);

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

fn managed_by_genesis(object: &DynamicObject) -> bool {
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|entry| entry.manager.as_deref() == Some("genesis"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vms_and_network_genesis_writes_decode_strictly_with_the_upstream_types() {
    let built = Instant::now();
    upstream::binary(Check::KubeVirt)
        .await
        .expect("the decode check builds");
    eprintln!("decode check ready in {:?}", built.elapsed());
    tokio::time::timeout(LIMIT, run())
        .await
        .expect("the test finishes in time");
}

async fn run() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::with_simulator().expect("reference scenario")
    })
    .await
    .expect("test world starts");
    // Phase 4 runs on a Harvester cluster with its nodes: the VMs' required anti-affinity
    // needs Ready nodes to be placed on.
    ready_harvester_nodes(&world).await;

    // The shipped lab and phases, the example secrets, step 9's kubeconfig in the state dir and
    // phases 2 and 3 recorded done.
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets.yaml");
    write_private(
        &secrets,
        &std::fs::read_to_string(repo().join("secrets.example")).expect("secrets.example"),
    );
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    write_private(
        &state.join("harvester.kubeconfig"),
        &std::fs::read_to_string(world.harvester.kubeconfig_path()).expect("kubeconfig"),
    );
    let paths = genesis::inputs::InputPaths {
        lab: repo().join("hardware/lab.yaml"),
        phases: repo().join("phases"),
        secrets: secrets.clone(),
    };
    let inputs = genesis::inputs::load(&paths)
        .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
    let earlier: Vec<(&str, serde_json::Map<String, Value>)> = inputs
        .graph
        .steps()
        .iter()
        .filter(|step| step.phase < 4)
        .map(|step| (step.id.as_str(), Default::default()))
        .collect();
    assert!(earlier.len() >= 12, "phases 2 and 3 have their steps");
    record_done_in(&paths, &state, &earlier);

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(&secrets)
        .arg("--state-dir")
        .arg(&state)
        .args(["--context", "default", "--kubeconfig"])
        .arg(world.platform.kubeconfig_path())
        .arg("up")
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .kill_on_drop(true)
        .output()
        .await
        .expect("run genesis");
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let phase_4 = started.elapsed();

    // Everything genesis applied to Harvester of these kinds, read back as served.
    let harvester = world.harvester.client.clone();
    let vm = resource("kubevirt.io", "VirtualMachine", "virtualmachines");
    let nad = resource(
        "k8s.cni.cncf.io",
        "NetworkAttachmentDefinition",
        "network-attachment-definitions",
    );
    let mut objects: Vec<(String, DynamicObject)> = Vec::new();
    for (plural, resource) in [
        ("virtualmachines", &vm),
        ("network-attachment-definitions", &nad),
    ] {
        let list = Api::<DynamicObject>::all_with(harvester.clone(), resource)
            .list(&ListParams::default())
            .await
            .expect("list");
        objects.extend(
            list.items
                .into_iter()
                .filter(managed_by_genesis)
                .map(|object| (plural.to_owned(), object)),
        );
    }
    let count = |plural: &str| objects.iter().filter(|(p, _)| p == plural).count();
    // The reference lab: two control-plane VMs on one VLAN network.
    assert_eq!(count("virtualmachines"), 2, "genesis' VMs");
    assert_eq!(count("network-attachment-definitions"), 1, "genesis' NAD");

    let decode_started = Instant::now();
    let mut namespaces: Vec<String> = objects
        .iter()
        .map(|(_, object)| object.metadata.namespace.clone().expect("namespaced"))
        .collect();
    namespaces.sort();
    namespaces.dedup();
    for namespace in &namespaces {
        let gets: Vec<String> = objects
            .iter()
            .filter(|(_, object)| object.metadata.namespace.as_deref() == Some(namespace))
            .map(|(plural, object)| {
                format!("{plural}/{}", object.metadata.name.clone().expect("name"))
            })
            .collect();
        let verdict =
            upstream::decode_from_cluster(world.harvester.kubeconfig_path(), namespace, &gets)
                .await
                .expect("the decode check runs");
        assert!(
            verdict.ok,
            "upstream types reject what genesis wrote: {verdict:#?}"
        );
        assert_eq!(verdict.objects.len(), gets.len());
        for object in &verdict.objects {
            let expected = if object.kind == "VirtualMachine" {
                1
            } else {
                3
            };
            assert_eq!(object.checks.len(), expected, "{object:#?}");
        }
    }
    let from_cluster = decode_started.elapsed();

    // The negative control: the same objects (as JSON on stdin) pass unchanged, and each with
    // one key changed is rejected, naming the key.
    let as_json = |object: &DynamicObject| serde_json::to_value(object).expect("JSON");
    let vm_json = objects
        .iter()
        .find(|(plural, _)| plural == "virtualmachines")
        .map(|(_, object)| as_json(object))
        .expect("a VM");
    let nad_json = objects
        .iter()
        .find(|(plural, _)| plural == "network-attachment-definitions")
        .map(|(_, object)| as_json(object))
        .expect("a NAD");
    let unchanged = upstream::decode(&[vm_json.clone(), nad_json.clone()])
        .await
        .expect("the decode check runs");
    assert!(unchanged.ok, "{unchanged:#?}");

    let mut misspelt_vm = vm_json.clone();
    // Not inside spec.template.spec: the upstream decode does not reach unknown keys there
    // (found here, not yet explained; see the report).
    misspelt_vm["spec"]["runStrategyy"] = "Always".into();
    let mut wrong_case_vm = vm_json.clone();
    wrong_case_vm["spec"]["runstrategy"] = "Always".into();
    let mut misspelt_nad = nad_json.clone();
    let config = misspelt_nad["spec"]["config"]
        .as_str()
        .expect("spec.config")
        .to_owned();
    let mut config: Value = serde_json::from_str(&config).expect("config JSON");
    config["promiscMod"] = true.into();
    misspelt_nad["spec"]["config"] = config.to_string().into();
    let mut misspelt_nad_object = nad_json.clone();
    misspelt_nad_object["spec"]["configg"] = "{}".into();
    for (object, key) in [
        (misspelt_vm, "runStrategyy"),
        (wrong_case_vm, "runstrategy"),
        (misspelt_nad, "promiscMod"),
        (misspelt_nad_object, "configg"),
    ] {
        let verdict: DecodeVerdict = upstream::decode(&[object])
            .await
            .expect("the decode check runs");
        assert!(!verdict.ok, "{key} accepted: {verdict:#?}");
        let error = &verdict.objects[0].error;
        assert!(
            error.contains("unknown field") && error.contains(key),
            "{key}: {error}"
        );
    }

    eprintln!(
        "phase 4 {phase_4:?}, upstream decode from the API server {from_cluster:?}, total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
    drop(dir);
}
