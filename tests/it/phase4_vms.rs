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
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

mod checks;
mod objects;
mod reruns;
mod run;

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
        let mut inputs = genesis::inputs::load_with(
            &genesis::inputs::InputPaths {
                lab: repo().join("hardware/lab.yaml"),
                phases: repo().join("phases"),
                secrets: self.secrets.clone(),
            },
            &genesis::inputs::LoadOptions {
                state_dir: Some(self.state.clone()),
                ..Default::default()
            },
        )
        .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
        inputs
            .digest_secrets(&self.state)
            .expect("the state directory's key");
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
                    secrets: genesis_engine::fingerprint::secret_tags(step),
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
pub(crate) fn phases_copy(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
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
    let mut outputs = Outputs::default();
    run::plan_before_the_run(&setup, &mut outputs).await;
    let timing = run::run_across_a_restart(&mut world, &setup, &mut outputs).await;
    objects::read_back(&world, &setup).await;
    reruns::second_and_forced_runs(&world, &setup, &mut outputs).await;
    reruns::gitops_manifest(&world, &setup, &mut outputs).await;
    reruns::an_image_that_cannot_be_downloaded(&world, &setup, &mut outputs).await;

    // The plan (whatever it can observe) shows no secret either.
    let plan = setup.genesis(&["plan"]).await;
    outputs.add("plan", &plan);

    // The Talos machine configurations reach no output and no state file.
    let mut places = outputs.0;
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
        "world {world_up:?}, phase 4 {:?} (API server restart {:?}), total {:?}",
        timing.run,
        timing.restart,
        started.elapsed()
    );
    world.shutdown().await;
}

/// Every output of the test's `genesis` runs, by where it came from, for the leak check.
#[derive(Default)]
struct Outputs(Vec<(String, String)>);

impl Outputs {
    /// Keeps `output`'s stdout and stderr as `stdout (label)`/`stderr (label)` and returns them.
    fn add(&mut self, label: &str, output: &Output) -> (String, String) {
        let (stdout, stderr) = text(output);
        let suffix = if label.is_empty() {
            String::new()
        } else {
            format!(" ({label})")
        };
        self.0.push((format!("stdout{suffix}"), stdout.clone()));
        self.0.push((format!("stderr{suffix}"), stderr.clone()));
        (stdout, stderr)
    }
}
