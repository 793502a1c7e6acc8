//! Cluster test: phase 4 (steps 13–17) run by the real `genesis` binary on the test world with
//! the lab simulator: the VLAN network, the Talos image (imported by the simulated image
//! controller), the NoCloud user-data Secrets, the two control-plane VMs (started by the
//! simulated KubeVirt) and their join to the Platform cluster (simulated Talos).
//!
//! Phases 2 and 3 are recorded done in the journal, as their run would have left it, and the
//! Harvester kubeconfig is put where step 9 writes it (`<state>/harvester.kubeconfig`).
//! While step 14 waits for the import, the Harvester API server is killed and restarted: the
//! run must carry on by itself. Then every object is read back field by field from the API
//! servers, a second `genesis up` must be a no-op, a forced re-run must rewrite nothing, and
//! the Talos machine configurations must appear in no output and no state file.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use genesis_engine::journal::RecordKind;
use genesis_engine::{Journal, Scrubber};
use genesis_harness::loopback::{repo, text, write_private};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::{Value, json};

mod checks;

const LIMIT: Duration = Duration::from_secs(120);
const PHASE_4: [&str; 5] = [
    "vm-network",
    "vm-image",
    "vm-userdata",
    "vm",
    "platform-join",
];

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn nad() -> ApiResource {
    resource(
        "k8s.cni.cncf.io",
        "v1",
        "NetworkAttachmentDefinition",
        "network-attachment-definitions",
    )
}

fn image() -> ApiResource {
    resource(
        "harvesterhci.io",
        "v1beta1",
        "VirtualMachineImage",
        "virtualmachineimages",
    )
}

fn vm() -> ApiResource {
    resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines")
}

struct Setup {
    _dir: tempfile::TempDir,
    secrets: PathBuf,
    state: PathBuf,
    platform_kubeconfig: PathBuf,
    /// Per VM: the Talos machine configuration (secret) and a token unique to this test run.
    talos: Vec<(String, String, String)>,
}

impl Setup {
    fn new(world: &World) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let unique = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let (text, talos) = example_secrets_with_unique_talos_tokens(unique);
        let secrets = dir.path().join("secrets.yaml");
        write_private(&secrets, &text);
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state).expect("state dir");
        // Where step 9 writes the Harvester kubeconfig.
        write_private(
            &state.join("harvester.kubeconfig"),
            &std::fs::read_to_string(world.harvester.kubeconfig_path()).expect("kubeconfig"),
        );
        Self {
            _dir: dir,
            secrets,
            state,
            platform_kubeconfig: world.platform.kubeconfig_path().to_owned(),
            talos,
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_genesis"));
        command
            .arg("--secrets")
            .arg(&self.secrets)
            .arg("--state-dir")
            .arg(&self.state)
            .args(["--context", "default", "--kubeconfig"])
            .arg(&self.platform_kubeconfig)
            .args(args)
            .current_dir(repo())
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .kill_on_drop(true);
        command
    }

    async fn genesis(&self, args: &[&str]) -> Output {
        self.command(args).output().await.expect("run genesis")
    }

    /// Records every step of phases 2 and 3 done, as their run would have.
    fn record_earlier_phases_done(&self) {
        let inputs = genesis::inputs::load(&genesis::inputs::InputPaths {
            lab: repo().join("hardware/lab.yaml"),
            phases: repo().join("phases"),
            secrets: self.secrets.clone(),
        })
        .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
        let (mut journal, _) =
            Journal::open(&self.state, std::sync::Arc::new(Scrubber::empty())).expect("journal");
        let mut recorded = 0;
        for step in inputs.graph.steps().iter().filter(|step| step.phase < 4) {
            journal
                .append(RecordKind::StepSucceeded {
                    step: step.id.clone(),
                    attempts: 1,
                    fingerprint: genesis_engine::fingerprint::of(step),
                    duration_ms: 0,
                    outputs: Default::default(),
                })
                .expect("journal record");
            recorded += 1;
        }
        assert!(recorded >= 12, "phases 2 and 3 have their steps");
    }

    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.state.join("journal.ndjson"))
            .expect("journal")
            .lines()
            .map(|line| serde_json::from_str(line).expect("journal line"))
            .collect()
    }
}

/// secrets.example with each VM's machine token and cluster secret made unique to this run,
/// and per VM: (vm, machine config, token) and (vm, "", cluster secret).
fn example_secrets_with_unique_talos_tokens(
    unique: u128,
) -> (String, Vec<(String, String, String)>) {
    let text = std::fs::read_to_string(repo().join("secrets.example")).expect("secrets.example");
    let mut secrets: Value = serde_saphyr::from_str(&text).expect("secrets.example is YAML");
    let mut talos = Vec::new();
    for vm in ["cp-2", "cp-3"] {
        let token = format!("tok{unique:x}{vm}").replace('-', "");
        let secret = format!("sec{unique:x}{vm}").replace('-', "");
        let config = secrets["talos"][vm]["machine_config"]
            .as_str()
            .expect("secrets.example has the VM's config");
        assert!(
            config.contains("fake00.fakemachinetoken0") && config.contains("fake-cluster-secret")
        );
        let config = config
            .replace("fake00.fakemachinetoken0", &token)
            .replace("fake-cluster-secret", &secret);
        secrets["talos"][vm]["machine_config"] = Value::String(config.clone());
        talos.push((vm.to_owned(), config, token));
        talos.push((vm.to_owned(), String::new(), secret));
    }
    (serde_saphyr::to_string(&secrets).expect("YAML"), talos)
}

/// A copy of the shipped phases in `dir/phases`, phase 4 edited by `edit`.
fn phases_copy(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let phases = dir.join("phases");
    std::fs::create_dir_all(phases.join("templates")).expect("phases dir");
    for entry in std::fs::read_dir(repo().join("phases")).expect("phases") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, phases.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    for entry in std::fs::read_dir(repo().join("phases/templates")).expect("templates") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            phases
                .join("templates")
                .join(path.file_name().expect("name")),
        )
        .expect("copy");
    }
    let phase_4 = std::fs::read_to_string(phases.join("phase-4.yaml")).expect("phase 4");
    let edited = edit(phase_4.clone());
    assert_ne!(edited, phase_4, "the edit applies");
    std::fs::write(phases.join("phase-4.yaml"), edited).expect("write phase 4");
    phases
}

/// A copy of the shipped phases whose step 16 takes the VMs from an operator's manifest.
fn gitops_phases(_setup: &Setup) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    // The manifest lives below the phases directory: `{file: …}` never leaves it.
    std::fs::create_dir_all(dir.path().join("phases/gitops")).expect("gitops dir");
    let marker = "      image: ${vm.image}\n";
    phases_copy(dir.path(), |text| {
        text.replace(
            marker,
            &format!("{marker}      manifest: {{file: gitops/vms.yaml}}\n"),
        )
    });
    let vm = |name: &str| {
        format!(
            "apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: {name}
  labels:
    example.org/source: gitops
spec:
  runStrategy: Always
  template:
    metadata:
      labels:
        harvesterhci.io/vmName: {name}
    spec:
      hostname: {name}
      domain:
        cpu:
          cores: 2
        memory:
          guest: 8Gi
        devices:
          disks:
            - name: rootdisk
              bootOrder: 1
              disk:
                bus: virtio
            - name: cloudinitdisk
              disk:
                bus: virtio
          interfaces:
            - name: platform
              bridge: {{}}
      networks:
        - name: platform
          multus:
            networkName: default/platform
      volumes:
        - name: rootdisk
          persistentVolumeClaim:
            claimName: {name}-rootdisk
        - name: cloudinitdisk
          cloudInitNoCloud:
            secretRef:
              name: {name}-userdata
"
        )
    };
    std::fs::write(
        dir.path().join("phases/gitops/vms.yaml"),
        format!("{}---\n{}", vm("cp-2"), vm("cp-3")),
    )
    .expect("write manifest");
    dir
}

fn is_phase_4(step: &str) -> bool {
    PHASE_4
        .iter()
        .any(|id| step == *id || step.starts_with(&format!("{id}/")))
}

async fn get(client: &kube::Client, resource: &ApiResource, name: &str) -> DynamicObject {
    Api::<DynamicObject>::namespaced_with(client.clone(), "default", resource)
        .get(name)
        .await
        .unwrap_or_else(|error| panic!("{} {name}: {error}", resource.kind))
}

fn managed_by_genesis(object: &DynamicObject) -> bool {
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|entry| {
            entry.manager.as_deref() == Some("genesis")
                && entry.operation.as_deref() == Some("Apply")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phase_4_builds_the_vms_and_they_join_even_across_an_api_server_restart() {
    tokio::time::timeout(LIMIT, phase_4())
        .await
        .expect("the test finishes in time");
}

async fn phase_4() {
    let started = Instant::now();
    let mut scenario = labsim::Scenario::reference().expect("reference scenario");
    // The import takes long enough (25 min of lab time, 3 s here) to restart the API server
    // while step 14 waits for it.
    scenario.harvester.image_import = labsim::SimDuration(Duration::from_secs(25 * 60));
    let scenario = scenario.with_fault(labsim::Fault::ImageImportFails {
        image: "broken-image".to_owned(),
    });
    let mut world = World::start_with(WorldOptions {
        ssh: false,
        scenario: Some(scenario),
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let world_up = started.elapsed();
    genesis_harness::loopback::ready_harvester_nodes(&world).await;
    let setup = Setup::new(&world);
    setup.record_earlier_phases_done();

    // The live plan before the run: the plan halves observe Harvester (server-side dry runs).
    let plan_before = setup.genesis(&["plan", "-o", "json"]).await;
    let (stdout_plan_before, stderr_plan_before) = text(&plan_before);
    assert_eq!(plan_before.status.code(), Some(0), "{stderr_plan_before}");
    let planned: Value = serde_json::from_str(&stdout_plan_before).expect("plan JSON");
    let observed = |id: &str| -> Value {
        planned["phases"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|phase| phase["steps"].as_array().into_iter().flatten())
            .find(|step| step["id"] == id)
            .unwrap_or_else(|| panic!("step {id} in the plan"))["observed"]
            .clone()
    };
    for (id, outcome, says) in [
        (
            "vm-network",
            "will-change",
            "NetworkAttachmentDefinition default/platform: create",
        ),
        (
            "vm-image",
            "will-change",
            "VirtualMachineImage default/talos-nocloud: create",
        ),
        (
            "vm-userdata/cp-2",
            "will-change",
            "Secret default/cp-2-userdata: create",
        ),
        (
            "vm/cp-3",
            "depends-on-earlier",
            "StorageClass of image talos-nocloud",
        ),
    ] {
        let found = observed(id);
        assert_eq!(found["outcome"], outcome, "{id}: {found}");
        let summary = found["summary"].as_str().unwrap_or_default();
        assert!(summary.contains(says), "{id}: {summary}");
    }
    assert!(
        observed("vm-userdata/cp-3")["summary"]
            .as_str()
            .is_some_and(|summary| summary.contains("value not shown")),
        "the plan names the secret, not its value"
    );

    // The run, and the Harvester API server killed and restarted while step 14 waits.
    let run_started = Instant::now();
    let child = setup
        .command(&["up"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start genesis");
    let events = world
        .simulator
        .as_ref()
        .expect("simulator")
        .event_log()
        .clone();
    events
        .wait_for(
            "the image import to start",
            Duration::from_secs(30),
            |event| event.kind == "image.initialized",
        )
        .await
        .expect("genesis applied the image and the import started");
    let restart_at = SystemTime::now();
    let restart_began = Instant::now();
    world
        .harvester
        .server
        .restart()
        .await
        .expect("the Harvester API server restarts");
    let restart_took = restart_began.elapsed();
    let output = child.wait_with_output().await.expect("genesis ends");
    let run_took = run_started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");

    // The wait spanned the restart: the import ended, and step 14 finished, after it.
    let imported = events
        .snapshot()
        .into_iter()
        .find(|event| event.kind == "image.imported")
        .expect("the image was imported");
    assert!(
        imported.system_time > restart_at,
        "the import ended after the restart began"
    );
    let journal = setup.journal();
    let at_ms =
        |time: SystemTime| time.duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64;
    let succeeded = |step: &str| -> Value {
        journal
            .iter()
            .find(|record| record["record"] == "step_succeeded" && record["step"] == step)
            .unwrap_or_else(|| panic!("{step} succeeded in the journal"))
            .clone()
    };
    assert!(
        succeeded("vm-image")["at"].as_u64().expect("at") > at_ms(restart_at),
        "step 14 was waiting when the server went down"
    );
    for step in [
        "vm-network",
        "vm-userdata/cp-2",
        "vm-userdata/cp-3",
        "vm/cp-2",
        "vm/cp-3",
        "platform-join/cp-2",
        "platform-join/cp-3",
    ] {
        succeeded(step);
    }
    assert!(
        !journal
            .iter()
            .any(|record| record["record"] == "step_failed"),
        "no attempt failed, the restart included"
    );
    assert_eq!(
        succeeded("vm-image")["outputs"]["storage_class"],
        "longhorn-talos-nocloud"
    );
    assert_eq!(
        succeeded("vm/cp-2")["outputs"]["printable_status"],
        "Running"
    );

    // Step 13: the network as Harvester writes a VLAN network.
    let harvester = world.harvester.client.clone();
    let network = get(&harvester, &nad(), "platform").await;
    let labels = network.metadata.labels.clone().unwrap_or_default();
    for (key, value) in [
        ("network.harvesterhci.io/clusternetwork", "mgmt"),
        ("network.harvesterhci.io/type", "L2VlanNetwork"),
        ("network.harvesterhci.io/vlan-id", "30"),
        ("app.kubernetes.io/managed-by", "genesis"),
    ] {
        assert_eq!(labels.get(key).map(String::as_str), Some(value), "{key}");
    }
    let config: Value =
        serde_json::from_str(network.data["spec"]["config"].as_str().expect("config"))
            .expect("JSON");
    assert_eq!(
        config,
        json!({"cniVersion": "0.3.1", "name": "platform", "type": "bridge", "bridge": "mgmt-br",
               "promiscMode": true, "vlan": 30, "ipam": {}})
    );
    assert!(managed_by_genesis(&network));

    // Step 14: the image, downloaded from the lab's URL, imported.
    let talos_image = get(&harvester, &image(), "talos-nocloud").await;
    let spec = &talos_image.data["spec"];
    assert_eq!(spec["sourceType"], "download");
    assert_eq!(
        spec["url"],
        "http://10.10.10.10:8080/talos/nocloud-amd64.qcow2"
    );
    assert_eq!(
        spec["displayName"],
        "Talos (nocloud) for Platform control-plane VMs"
    );
    assert_eq!(talos_image.data["status"]["progress"], 100);
    assert!(managed_by_genesis(&talos_image));

    // Step 15: one Secret per VM, key `userdata` the Talos machine configuration, key
    // `networkdata` DHCP on the VM's MAC (so that Talos takes the VM's name as its hostname).
    let secrets: Api<Secret> = Api::namespaced(harvester.clone(), "default");
    for (vm_name, config, _) in setup
        .talos
        .iter()
        .filter(|(_, config, _)| !config.is_empty())
    {
        let secret = secrets
            .get(&format!("{vm_name}-userdata"))
            .await
            .expect("user-data Secret");
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
        let data = secret.data.clone().unwrap_or_default();
        assert_eq!(
            data.keys().collect::<Vec<_>>(),
            vec!["networkdata", "userdata"]
        );
        assert_eq!(
            String::from_utf8_lossy(&data["userdata"].0),
            config.as_str()
        );
        let mac = if vm_name == "cp-2" { "02" } else { "03" };
        assert_eq!(
            String::from_utf8_lossy(&data["networkdata"].0),
            format!(
                "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: \"52:54:00:0a:1e:{mac}\"\n    dhcp4: true\n"
            )
        );
    }

    // Step 16: the VMs, field by field.
    for (index, vm_name) in ["cp-2", "cp-3"].into_iter().enumerate() {
        let machine = get(&harvester, &vm(), vm_name).await;
        assert!(managed_by_genesis(&machine));
        let spec = &machine.data["spec"];
        assert_eq!(spec["runStrategy"], "Always");
        assert!(
            spec.get("running").is_none(),
            "the deprecated field is not set"
        );
        let template = &spec["template"]["spec"];
        assert_eq!(template["hostname"], vm_name);
        assert_eq!(template["domain"]["cpu"]["cores"], 4);
        assert_eq!(
            template["domain"]["resources"]["limits"],
            json!({"cpu": "4", "memory": "16Gi"})
        );
        assert_eq!(template["evictionStrategy"], "LiveMigrateIfPossible");
        assert_eq!(
            template["affinity"],
            json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": {"genesis.dev/role": "platform-control-plane"}},
                "topologyKey": "kubernetes.io/hostname"}]}})
        );
        assert_eq!(
            machine.metadata.labels.clone().unwrap_or_default()["harvesterhci.io/creator"],
            "genesis"
        );
        let mac = format!("52:54:00:0a:1e:0{}", index + 2);
        assert_eq!(
            template["domain"]["devices"]["interfaces"],
            json!([{"name": "platform", "bridge": {}, "model": "virtio", "macAddress": mac}])
        );
        assert_eq!(
            template["networks"],
            json!([{"name": "platform", "multus": {"networkName": "default/platform"}}])
        );
        assert_eq!(
            template["volumes"],
            json!([
                {"name": "rootdisk", "persistentVolumeClaim": {"claimName": format!("{vm_name}-rootdisk")}},
                {"name": "cloudinitdisk", "cloudInitNoCloud": {
                    "secretRef": {"name": format!("{vm_name}-userdata")},
                    "networkDataSecretRef": {"name": format!("{vm_name}-userdata")}}},
            ])
        );
        let disks = &template["domain"]["devices"]["disks"];
        assert_eq!(disks[0]["name"], "rootdisk");
        assert_eq!(disks[0]["bootOrder"], 1);
        assert_eq!(disks[1]["name"], "cloudinitdisk");
        assert_eq!(
            spec["template"]["metadata"]["labels"]["harvesterhci.io/vmName"],
            vm_name
        );
        let annotations = machine.metadata.annotations.clone().unwrap_or_default();
        let claims: Value = serde_json::from_str(
            annotations
                .get("harvesterhci.io/volumeClaimTemplates")
                .expect("volumeClaimTemplates"),
        )
        .expect("JSON");
        assert_eq!(
            claims,
            json!([{
                "metadata": {"name": format!("{vm_name}-rootdisk"),
                             "annotations": {"harvesterhci.io/imageId": "default/talos-nocloud"}},
                "spec": {"accessModes": ["ReadWriteMany"], "volumeMode": "Block",
                         "storageClassName": "longhorn-talos-nocloud",
                         "resources": {"requests": {"storage": "40Gi"}}},
            }])
        );
        assert_eq!(machine.data["status"]["printableStatus"], "Running");
    }

    // The simulated scheduler kept them apart: two VMIs on two hosts.
    let vmis: Api<DynamicObject> = Api::namespaced_with(
        harvester.clone(),
        "default",
        &resource(
            "kubevirt.io",
            "v1",
            "VirtualMachineInstance",
            "virtualmachineinstances",
        ),
    );
    let mut hosts = Vec::new();
    for vm_name in ["cp-2", "cp-3"] {
        let vmi = vmis.get(vm_name).await.expect("VMI");
        hosts.push(
            vmi.data["status"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(
        hosts.iter().all(|host| host.starts_with("ms-02-")) && hosts[0] != hosts[1],
        "distinct hosts: {hosts:?}"
    );

    // Step 17: cp-2 and cp-3 are Ready control-plane nodes of the Platform cluster.
    let nodes: Api<Node> = Api::all(world.platform.client.clone());
    for name in ["cp-2", "cp-3"] {
        let node = nodes.get(name).await.expect("joined node");
        assert!(
            node.metadata
                .labels
                .unwrap_or_default()
                .contains_key("node-role.kubernetes.io/control-plane")
        );
        let ready = node
            .status
            .and_then(|status| status.conditions)
            .unwrap_or_default()
            .into_iter()
            .any(|condition| condition.type_ == "Ready" && condition.status == "True");
        assert!(ready, "{name} Ready");
    }

    // Re-run: everything is done, nothing is started.
    let versions = |objects: Vec<DynamicObject>| -> Vec<(String, String)> {
        objects
            .into_iter()
            .map(|object| {
                (
                    object.metadata.name.unwrap_or_default(),
                    object.metadata.resource_version.unwrap_or_default(),
                )
            })
            .collect()
    };
    let snapshot = || async {
        let mut all = Vec::new();
        for resource in [nad(), image(), vm()] {
            let list = Api::<DynamicObject>::all_with(harvester.clone(), &resource)
                .list(&ListParams::default())
                .await
                .expect("list");
            all.push(versions(list.items));
        }
        let secrets = secrets
            .list(&ListParams::default().labels("app.kubernetes.io/managed-by=genesis"))
            .await
            .expect("list Secrets");
        all.push(
            secrets
                .items
                .into_iter()
                .map(|secret| {
                    (
                        secret.metadata.name.unwrap_or_default(),
                        secret.metadata.resource_version.unwrap_or_default(),
                    )
                })
                .collect(),
        );
        all
    };
    let before = snapshot().await;
    assert_eq!(
        before.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![1, 1, 2, 2],
        "one network, one image, two VMs, two Secrets: {before:?}"
    );
    let records_before = setup.journal().len();
    let again = setup.genesis(&["up"]).await;
    let (stdout_again, stderr_again) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stderr_again}");
    let started_again = setup.journal()[records_before..]
        .iter()
        .filter(|record| {
            record["record"] == "step_started" && record["step"].as_str().is_some_and(is_phase_4)
        })
        .count();
    assert_eq!(started_again, 0, "a second run starts no phase-4 step");
    assert_eq!(snapshot().await, before, "nothing rewritten");

    // Forced: every phase-4 step runs again; the applies change nothing.
    let mut only = Vec::new();
    for id in PHASE_4 {
        only.extend(["--only", id]);
    }
    let forced = setup.genesis(&[&["up"], only.as_slice()].concat()).await;
    let (stdout_forced, stderr_forced) = text(&forced);
    assert_eq!(forced.status.code(), Some(0), "{stderr_forced}");
    assert_eq!(snapshot().await, before, "a forced re-run rewrites nothing");

    // The operator's GitOps manifest (both VMs in one YAML stream) instead of the built VM:
    // applied unchanged, waited for the same way.
    let phases = gitops_phases(&setup);
    let phases_arg = phases.path().join("phases");
    let gitops = setup
        .genesis(&[
            "--phases",
            phases_arg.to_str().expect("utf-8"),
            "up",
            "--only",
            "vm",
        ])
        .await;
    let (stdout_gitops, stderr_gitops) = text(&gitops);
    assert_eq!(
        gitops.status.code(),
        Some(0),
        "{stdout_gitops}\n{stderr_gitops}"
    );
    for vm_name in ["cp-2", "cp-3"] {
        let machine = get(&harvester, &vm(), vm_name).await;
        let labels = machine.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get("example.org/source").map(String::as_str),
            Some("gitops")
        );
        let template = &machine.data["spec"]["template"]["spec"];
        assert_eq!(template["domain"]["memory"]["guest"], "8Gi");
        assert_eq!(template["domain"]["cpu"]["cores"], 2);
        assert_eq!(machine.data["spec"]["runStrategy"], "Always");
        assert_eq!(machine.data["status"]["printableStatus"], "Running");
        assert!(managed_by_genesis(&machine));
    }
    let journal = setup.journal();
    let last_vm = journal
        .iter()
        .rev()
        .find(|record| record["record"] == "step_succeeded" && record["step"] == "vm/cp-3")
        .expect("vm/cp-3 succeeded again");
    assert_eq!(last_vm["outputs"]["source"], "manifest");

    // An image Harvester cannot download (the simulator's `image_import_fails` fault): step 14
    // fails for good, saying what to do, and is not retried.
    let broken = tempfile::tempdir().expect("temp dir");
    let broken_phases = phases_copy(broken.path(), |text| {
        text.replace("name: ${lab.vm_images.0.name}", "name: broken-image")
    });
    let records_before = setup.journal().len();
    let failing = setup
        .genesis(&[
            "--phases",
            broken_phases.to_str().expect("utf-8"),
            "up",
            "--only",
            "vm-image",
        ])
        .await;
    let (stdout_failing, stderr_failing) = text(&failing);
    assert_eq!(
        failing.status.code(),
        Some(1),
        "{stdout_failing}\n{stderr_failing}"
    );
    let journal = setup.journal();
    let failure = journal[records_before..]
        .iter()
        .find(|record| record["record"] == "step_failed" && record["step"] == "vm-image")
        .unwrap_or_else(|| panic!("step 14 failed in the journal: {journal:?}"))
        .to_string();
    assert!(
        failure.contains("gave up importing")
            && failure.contains("delete virtualmachineimage broken-image"),
        "{failure}"
    );
    assert!(failure.contains("\"permanent\""), "{failure}");
    assert!(
        !journal[records_before..]
            .iter()
            .any(|record| record["record"] == "step_retrying"),
        "a permanent failure is not retried"
    );
    let failed_attempts = events
        .snapshot()
        .iter()
        .filter(|event| event.kind == "image.failed" && event.object == "default/broken-image")
        .count();
    assert_eq!(
        failed_attempts, 3,
        "Harvester's three attempts, then genesis stopped"
    );

    // The plan (whatever it can observe) shows no secret either.
    let plan = setup.genesis(&["plan"]).await;
    let (stdout_plan, stderr_plan) = text(&plan);

    // The Talos machine configurations reach no output and no state file.
    let mut places = vec![
        ("stdout".to_owned(), stdout),
        ("stderr".to_owned(), stderr),
        ("stdout (2nd run)".to_owned(), stdout_again),
        ("stderr (2nd run)".to_owned(), stderr_again),
        ("stdout (forced)".to_owned(), stdout_forced),
        ("stderr (forced)".to_owned(), stderr_forced),
        ("stdout (plan)".to_owned(), stdout_plan),
        ("stdout (plan before)".to_owned(), stdout_plan_before),
        ("stderr (plan before)".to_owned(), stderr_plan_before),
        ("stdout (gitops)".to_owned(), stdout_gitops),
        ("stdout (failing image)".to_owned(), stdout_failing),
        ("stderr (failing image)".to_owned(), stderr_failing),
        ("stderr (gitops)".to_owned(), stderr_gitops),
        ("stderr (plan)".to_owned(), stderr_plan),
    ];
    let mut stack = vec![setup.state.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("state dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                places.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    // The run log shows step 14's watch broken by the restart, and the step carrying on.
    assert!(
        places
            .iter()
            .any(|(_, text)| text.contains("[vm-image] watch interrupted")),
        "step 14's watch saw the restart"
    );
    let mut leaks: Vec<String> = setup
        .talos
        .iter()
        .map(|(_, _, token)| token.clone())
        .collect();
    for (_, config, _) in setup
        .talos
        .iter()
        .filter(|(_, config, _)| !config.is_empty())
    {
        leaks.push(base64::engine::general_purpose::STANDARD.encode(config));
    }
    for (place, text) in &places {
        for leak in &leaks {
            assert!(
                !text.contains(leak.as_str()),
                "a Talos secret reached {place}"
            );
        }
    }
    eprintln!(
        "world {world_up:?}, phase 4 {run_took:?} (API server restart {restart_took:?}), total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
}
