//! End-to-end: ONE `genesis up` runs phases 2 and 3 to the end on the loopback lab (three
//! machines; the test world's real API servers, sshd, the real upstream Tinkerbell workflow
//! controller and Rufio controllers, one real Redfish BMC emulator per machine, and the lab
//! simulator playing only the machines and the rest of the lab), then every object genesis
//! wrote is checked field by field on the real API servers, what the real controllers made of
//! it (the rendered Template, the netboot Jobs run against the emulated BMCs), the run's
//! reaction latency against the simulator's events, and a second `genesis up` is a no-op.
//! A last test breaks the install Template as issue 11 found it (a literal `{{…}}` in its
//! header comment): the real controller refuses to render it and genesis fails fast, naming
//! the machine and the controller's message.
//!
//! The lab is the reference lab moved onto loopback (`genesis_harness::loopback`), its
//! machines' BMCs speaking Redfish to the emulators.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::GENESIS;
use base64::Engine as _;
use genesis::actions::rufio::machine_resource;
use genesis::actions::tinkerbell::{hardware_resource, template_resource, workflow_resource};
use genesis_harness::latency;
use genesis_harness::loopback::{
    LoopbackLab, Options, assert_no_leaks, key_lines, kubeconfig_field, reference_bmcs,
    secret_text, text,
};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(300);
const MACHINES: [&str; 3] = ["ms-02-1", "ms-02-2", "ms-02-3"];
const VMS: [&str; 2] = ["cp-2", "cp-3"];
const NS: &str = "tink-system";

fn rufio_job_resource() -> ApiResource {
    ApiResource {
        group: "bmc.tinkerbell.org".into(),
        version: "v1alpha1".into(),
        api_version: "bmc.tinkerbell.org/v1alpha1".into(),
        kind: "Job".into(),
        plural: "jobs".into(),
    }
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn nad_resource() -> ApiResource {
    resource(
        "k8s.cni.cncf.io",
        "v1",
        "NetworkAttachmentDefinition",
        "network-attachment-definitions",
    )
}

fn image_resource() -> ApiResource {
    resource(
        "harvesterhci.io",
        "v1beta1",
        "VirtualMachineImage",
        "virtualmachineimages",
    )
}

fn vm_resource() -> ApiResource {
    resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines")
}

fn dynamic(world: &World, resource: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(world.platform.client.clone(), NS, resource)
}

/// Every object genesis owns (or caused) on both clusters, by `cluster Kind name`, with its
/// resourceVersion: two equal snapshots mean nothing was written in between.
async fn objects(world: &World) -> BTreeMap<String, String> {
    let mut objects = BTreeMap::new();
    for resource in [
        machine_resource(),
        hardware_resource(),
        template_resource(),
        workflow_resource(),
        rufio_job_resource(),
    ] {
        for object in dynamic(world, &resource)
            .list(&ListParams::default())
            .await
            .expect("list")
        {
            objects.insert(
                format!(
                    "platform {} {}",
                    resource.kind,
                    object.metadata.name.unwrap_or_default()
                ),
                object.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    for namespace in [NS, "argocd"] {
        for secret in Api::<Secret>::namespaced(world.platform.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .expect("list Secrets")
        {
            objects.insert(
                format!(
                    "platform Secret {namespace}/{}",
                    secret.metadata.name.unwrap_or_default()
                ),
                secret.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    let harvester = world.harvester.client.clone();
    for resource in [
        nad_resource(),
        image_resource(),
        vm_resource(),
        ApiResource::erase::<Secret>(&()),
    ] {
        for object in Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &resource)
            .list(&ListParams::default())
            .await
            .expect("list")
        {
            objects.insert(
                format!(
                    "harvester {} {}",
                    resource.kind,
                    object.metadata.name.unwrap_or_default()
                ),
                object.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    objects
}

fn condition(object: &Value, kind: &str) -> Option<String> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|condition| condition["type"] == kind)
        .and_then(|condition| condition["status"].as_str())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_2_and_3_run_to_the_end_in_one_up() {
    tokio::time::timeout(LIMIT, end_to_end(false))
        .await
        .expect("the test finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_2_to_4_run_to_the_end_in_one_up() {
    tokio::time::timeout(LIMIT, end_to_end(true))
        .await
        .expect("the test finishes in time");
}

/// The steps of phases 2 and 3 (and 4) of the reference lab.
fn all_steps(phase_4: bool) -> Vec<String> {
    let mut steps: Vec<String> = [
        "platform-api",
        "tinkerbell-stack",
        "argocd",
        "pxe-artifacts",
        "install-template",
        "create-cluster/ms-02-1",
        "harvester-api",
        "join-cluster/ms-02-2",
        "join-cluster/ms-02-3",
        "quorum",
        "register-argocd",
    ]
    .iter()
    .map(|step| (*step).to_owned())
    .collect();
    for machine in MACHINES {
        steps.push(format!("bmc/{machine}"));
        steps.push(format!("hardware/{machine}"));
    }
    if phase_4 {
        steps.extend(["vm-network".to_owned(), "vm-image".to_owned()]);
        for vm in VMS {
            for step in ["vm-userdata", "vm", "platform-join"] {
                steps.push(format!("{step}/{vm}"));
            }
        }
    }
    steps.sort_unstable();
    steps
}

async fn end_to_end(phase_4: bool) {
    let started = Instant::now();
    let world = World::start_with(
        WorldOptions::with_real_tinkerbell(reference_bmcs()).expect("reference scenario"),
    )
    .await
    .expect("test world starts");
    let phases: &[u32] = if phase_4 { &[2, 3, 4] } else { &[2, 3] };
    let lab = LoopbackLab::build(
        GENESIS,
        &world,
        Options {
            phases: Some(phases),
        },
    )
    .await;
    lab.prepare_platform(&world).await;
    let world_up = started.elapsed();

    let run_started = Instant::now();
    let output = lab.genesis(&["up"]).await;
    let run_took = run_started.elapsed();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    // Every step succeeded, each once.
    let journal = lab.journal();
    let mut succeeded: Vec<&str> = journal
        .iter()
        .filter(|record| record["record"] == "step_succeeded")
        .filter_map(|record| record["step"].as_str())
        .collect();
    succeeded.sort_unstable();
    let expected_steps = all_steps(phase_4);
    assert_eq!(
        succeeded, expected_steps,
        "each step succeeded exactly once"
    );

    // The final report names the critical path, ending at the last step to finish.
    let report = format!("{stdout}{stderr}");
    let critical = report
        .lines()
        .find(|line| line.contains("critical path ("))
        .unwrap_or_else(|| panic!("a critical path in the report:\n{report}"));
    let last = if phase_4 {
        "platform-join/cp-"
    } else {
        "register-argocd"
    };
    assert!(critical.contains(last), "{critical}");
    eprintln!("{}", critical.trim());

    let mut leaks = check_phases_2_and_3(&world, &lab).await;
    if phase_4 {
        check_phase_4(&world).await;
    }

    // No secret value in the output or the state dir (the fetched kubeconfig aside, 0600).
    leaks.extend(lab.secret_values());
    assert!(leaks.len() > 12, "values to look for: {}", leaks.len());
    let mut places = vec![("stdout".to_owned(), stdout), ("stderr".to_owned(), stderr)];
    places.extend(
        lab.state_files()
            .into_iter()
            .map(|(path, text)| (path.display().to_string(), text)),
    );
    assert_no_leaks(&places, &leaks);

    // Reaction latency: each condition the simulator made true, to genesis' event for the step
    // that waited for it. The BMCs' contact and the installs' SUCCESS are the real
    // controllers' doing here, not the simulator's: those reactions are not paired.
    let expected: Vec<_> = latency::expectations(&lab.inputs().lab, phase_4)
        .into_iter()
        .filter(|expected| {
            !["bmc/", "create-cluster/", "join-cluster/"]
                .iter()
                .any(|prefix| expected.name.contains(prefix))
        })
        .collect();
    let simulator = world.simulator.as_ref().expect("simulator");
    let genesis_events = latency::run_log_events(&lab.state);
    let pairs = latency::pair(&simulator.events(), &genesis_events, &expected)
        .unwrap_or_else(|missing| panic!("unpaired reactions: {missing:#?}"));
    assert_eq!(pairs.len(), expected.len());
    let summary = latency::summary(&pairs);
    eprintln!("reaction latency: {summary}\n{}", latency::table(&pairs));

    // Again: every step already done, nothing written.
    let before = objects(&world).await;
    let started_before = genesis_events
        .iter()
        .filter(|event| event.event["event"] == "step_started")
        .count();
    let again = lab.genesis(&["up"]).await;
    let (stdout_again, stderr_again) = text(&again);
    assert_eq!(again.status.code(), Some(0), "{stderr_again}");
    let after = objects(&world).await;
    assert_eq!(before, after, "the second run wrote an object");
    let events_after = latency::run_log_events(&lab.state);
    let started_after = events_after
        .iter()
        .filter(|event| event.event["event"] == "step_started")
        .count();
    assert_eq!(started_before, started_after, "the second run ran a step");
    let skipped = events_after
        .iter()
        .filter(|event| {
            event.event["event"] == "step_skipped"
                && event.event["reason"]["reason"] == "done_earlier"
        })
        .count();
    assert_eq!(skipped, expected_steps.len(), "every step already done");
    assert_no_leaks(
        &[
            ("the second run's stdout".to_owned(), stdout_again),
            ("the second run's stderr".to_owned(), stderr_again),
        ],
        &leaks,
    );
    eprintln!(
        "world {world_up:?}, phases {phases:?} {run_took:?}, total {:?}",
        started.elapsed()
    );
    world.shutdown().await;
}

/// Phases 2 and 3's objects, field by field; returns the credentials of the Harvester
/// kubeconfig (key lines, the base64 key, the cluster Secret's config) for leak searches.
async fn check_phases_2_and_3(world: &World, lab: &LoopbackLab) -> Vec<String> {
    // Phase 2: what the preflight found.
    let found = lab.outputs_of("pxe-artifacts")["artifacts"].clone();
    let found = found.as_array().expect("artifacts");
    assert_eq!(found.len(), lab.artifacts.len(), "{found:?}");
    for (seen, (file, size, sha256)) in found.iter().zip(&lab.artifacts) {
        assert_eq!(seen["url"], format!("{}/{file}", lab.pxe_base_url));
        assert_eq!(seen["size"], *size);
        assert_eq!(seen["sha256"], sha256.as_str());
    }
    let stack = lab.outputs_of("tinkerbell-stack");
    assert_eq!(stack["controllers"], json!(["tinkerbell"]));
    assert_eq!(stack["crds"].as_array().map(Vec::len), Some(6));

    // Step 6: the BMC Secrets and Rufio Machines.
    let secrets_file: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&lab.secrets).expect("secrets file"))
            .expect("secrets YAML");
    let machines = dynamic(world, &machine_resource());
    let platform_secrets: Api<Secret> = Api::namespaced(world.platform.client.clone(), NS);
    for (index, machine) in MACHINES.iter().enumerate() {
        let object = machines.get(machine).await.expect("Machine");
        let value = serde_json::to_value(&object).expect("JSON");
        let connection = &value["spec"]["connection"];
        let bmc = &world.bmcs[*machine];
        assert_eq!(connection["host"], format!("127.0.0.11{}", index + 1));
        assert_eq!(connection["host"], bmc.host.to_string());
        assert_eq!(connection["port"], bmc.port);
        assert_eq!(connection["insecureTLS"], true);
        assert_eq!(
            connection["authSecretRef"],
            json!({"name": format!("bmc-{machine}"), "namespace": NS})
        );
        assert_eq!(
            connection["providerOptions"],
            json!({"preferredOrder": ["gofish"], "redfish": {"port": bmc.port, "useBasicAuth": true}})
        );
        // Rufio read the power state from the emulated BMC through Redfish: the install's
        // netboot Job left it on.
        assert_eq!(value["status"]["powerState"], "on", "{value}");
        assert_eq!(
            value["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "genesis"
        );
        assert_eq!(condition(&value, "Contactable").as_deref(), Some("True"));
        let managers: Vec<&str> = value["metadata"]["managedFields"]
            .as_array()
            .expect("managedFields")
            .iter()
            .filter(|entry| entry["operation"] == "Apply")
            .filter_map(|entry| entry["manager"].as_str())
            .collect();
        assert_eq!(managers, ["genesis"], "server-side apply by genesis");

        let secret = platform_secrets
            .get(&format!("bmc-{machine}"))
            .await
            .expect("BMC Secret");
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
        let data = secret.data.as_ref().expect("data");
        assert_eq!(data.len(), 2, "username and password only");
        assert_eq!(
            secret_text(&secret, "username"),
            secrets_file["bmc"][machine]["username"]
                .as_str()
                .expect("username")
        );
        assert_eq!(
            secret_text(&secret, "password"),
            secrets_file["bmc"][machine]["password"]
                .as_str()
                .expect("password")
        );
    }

    // Step 7: Hardware, create config for the first machine, join for the others.
    let hardware_api = dynamic(world, &hardware_resource());
    let macs = [
        "02:00:00:0a:0a:0b",
        "02:00:00:0a:0a:0c",
        "02:00:00:0a:0a:0d",
    ];
    for (index, machine) in MACHINES.iter().enumerate() {
        let hardware = hardware_api.get(machine).await.expect("Hardware");
        let spec = &hardware.data["spec"];
        let ip = format!("127.0.0.1{}", index + 1);
        assert_eq!(
            spec["bmcRef"],
            json!({"apiGroup": "bmc.tinkerbell.org", "kind": "Machine", "name": machine})
        );
        assert_eq!(spec["disks"], json!([{"device": "/dev/nvme0n1"}]));
        let interface = &spec["interfaces"][0];
        assert_eq!(interface["netboot"]["allowWorkflow"], true);
        let dhcp = &interface["dhcp"];
        assert_eq!(dhcp["mac"], macs[index]);
        assert_eq!(dhcp["hostname"], *machine);
        assert_eq!(dhcp["arch"], "x86_64");
        assert_eq!(
            dhcp["ip"],
            json!({"address": ip, "netmask": "255.0.0.0", "gateway": "127.0.0.254", "family": 4})
        );
        let config: Value =
            serde_saphyr::from_str(spec["userData"].as_str().expect("userData")).expect("YAML");
        let install = &config["install"];
        assert_eq!(config["scheme_version"], 1);
        assert_eq!(
            config["token"],
            secrets_file["harvester"]["token"].as_str().expect("token")
        );
        assert_eq!(config["os"]["hostname"], *machine);
        assert_eq!(
            config["os"]["password"],
            secrets_file["harvester"]["os_password"]
                .as_str()
                .expect("os password")
        );
        assert_eq!(install["automatic"], true);
        assert_eq!(install["device"], "/dev/nvme0n1");
        assert_eq!(install["data_disk"], "/dev/nvme1n1");
        assert_eq!(install["management_interface"]["method"], "static");
        assert_eq!(install["management_interface"]["ip"], ip);
        assert_eq!(
            install["management_interface"]["interfaces"],
            json!([{"hwAddr": macs[index]}])
        );
        if index == 0 {
            assert_eq!(install["mode"], "create");
            assert_eq!(install["vip"], "127.0.0.1");
            assert_eq!(install["vip_mode"], "static");
            assert!(config.get("server_url").is_none(), "{config}");
        } else {
            assert_eq!(install["mode"], "join");
            assert!(install.get("vip").is_none(), "{config}");
            assert_eq!(config["server_url"], "https://127.0.0.1:443");
        }
    }

    // Step 5: the Template, every genesis placeholder filled, Tinkerbell's own kept.
    let template = dynamic(world, &template_resource())
        .get("harvester-install-v1.7.0")
        .await
        .expect("Template");
    let data = template.data["spec"]["data"].as_str().expect("data");
    assert!(!data.contains("${"), "{data}");
    assert!(data.contains(&lab.pxe_base_url), "{data}");
    assert!(data.contains("{{ .device_1 }}"), "{data}");

    // Steps 8 and 10: one Workflow per machine, SUCCESS, netbooted through one Rufio Job each.
    let workflows = dynamic(world, &workflow_resource())
        .list(&ListParams::default())
        .await
        .expect("Workflows");
    assert_eq!(workflows.items.len(), 3, "one Workflow per machine");
    let jobs = dynamic(world, &rufio_job_resource())
        .list(&ListParams::default())
        .await
        .expect("Jobs");
    assert_eq!(jobs.items.len(), 3, "one netboot Job per machine");
    for (index, machine) in MACHINES.iter().enumerate() {
        let name = format!("harvester-install-{machine}-1");
        let workflow = workflows
            .items
            .iter()
            .find(|workflow| workflow.metadata.name.as_deref() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("Workflow {name}"));
        let spec = &workflow.data["spec"];
        assert_eq!(spec["templateRef"], "harvester-install-v1.7.0");
        assert_eq!(spec["hardwareRef"], *machine);
        assert_eq!(spec["hardwareMap"], json!({"device_1": macs[index]}));
        assert_eq!(
            spec["bootOptions"],
            json!({"toggleAllowNetboot": true, "bootMode": "netboot"})
        );
        assert_eq!(workflow.data["status"]["state"], "SUCCESS");
        check_rendered_by_the_controller(workflow, machine, macs[index], data);
        let labels = workflow.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get("genesis.dev/machine").map(String::as_str),
            Some(*machine)
        );
        let job_name = format!("netboot-{name}");
        let job = jobs
            .items
            .iter()
            .find(|job| job.metadata.name.as_deref() == Some(job_name.as_str()))
            .unwrap_or_else(|| panic!("Job {job_name}"));
        let job_value = serde_json::to_value(job).expect("JSON");
        assert_eq!(job_value["spec"]["machineRef"]["name"], *machine);
        assert_eq!(condition(&job_value, "Completed").as_deref(), Some("True"));
        // The controller's Job (tink/controller/internal/workflow/pre.go): power off, one-time
        // PXE (EFI when the Hardware's interface says UEFI; `efiBoot` is omitted when false),
        // power on.
        let hardware = hardware_api.get(machine).await.expect("Hardware");
        let mut boot = json!({"device": ["pxe"]});
        if hardware.data["spec"]["interfaces"][0]["dhcp"]["uefi"] == true {
            boot["efiBoot"] = json!(true);
        }
        assert_eq!(
            job_value["spec"]["tasks"],
            json!([
                {"powerAction": "off"},
                {"oneTimeBootDeviceAction": boot},
                {"powerAction": "on"},
            ]),
            "{job_value}"
        );
        assert_eq!(
            workflow.data["status"]["bootOptions"]["jobs"][&job_name]["complete"],
            true
        );
        // The controller's post step turned netboot off again.
        assert_eq!(
            hardware.data["spec"]["interfaces"][0]["netboot"]["allowPXE"], false,
            "{machine}: allowPXE toggled off after the install"
        );
        // The machine's agent took its actions from the real tink server, which stored the
        // agent's attributes on the Hardware (tink/server/internal/grpc/grpc.go,
        // resolveAndAnnotateHardware) and wrote the actions' reports.
        assert!(
            hardware
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("tinkerbell.org/agent-attributes"))
                .is_some_and(|a| a.contains(macs[index])),
            "{machine}: agent attributes from tink-server: {:?}",
            hardware.metadata.annotations
        );
    }

    // Step 11: three Ready control-plane Nodes on Harvester, the joined two promoted.
    let nodes = Api::<Node>::all(world.harvester.client.clone())
        .list(&ListParams::default())
        .await
        .expect("Nodes");
    let mut names: Vec<String> = nodes
        .items
        .iter()
        .filter_map(|node| node.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, MACHINES);
    for node in &nodes.items {
        let value = serde_json::to_value(node).expect("JSON");
        assert_eq!(condition(&value, "Ready").as_deref(), Some("True"));
        let labels = &value["metadata"]["labels"];
        assert_eq!(labels["node-role.kubernetes.io/control-plane"], "true");
        assert_eq!(labels["node-role.kubernetes.io/etcd"], "true");
    }
    assert_eq!(
        lab.outputs_of("quorum")["nodes"],
        json!(["ms-02-1", "ms-02-2", "ms-02-3"])
    );
    let simulator = world.simulator.as_ref().expect("simulator");
    let promoted = simulator
        .events()
        .iter()
        .filter(|event| event.kind == "node.promote" && event.detail == "complete")
        .count();
    assert_eq!(promoted, 2, "quorum waited for both promotions");

    // Step 9: the fetched kubeconfig, against what the node holds.
    let node = world.ssh.as_ref().expect("sshd node");
    let rke2: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(node.host_path("/etc/rancher/rke2/rke2.yaml")).expect("rke2"),
    )
    .expect("YAML");
    let fetched: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(lab.state.join("harvester.kubeconfig")).expect("kubeconfig"),
    )
    .expect("YAML");
    assert_eq!(
        kubeconfig_field(&fetched, "clusters", "cluster", "server"),
        format!("https://127.0.0.1:{}", lab.harvester_port)
    );

    // Step 12: the Argo CD cluster Secret, field by field.
    let secret = Api::<Secret>::namespaced(world.platform.client.clone(), "argocd")
        .get("harvester")
        .await
        .expect("cluster Secret");
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("argocd.argoproj.io/secret-type")
            .map(String::as_str),
        Some("cluster")
    );
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(
        secret
            .data
            .as_ref()
            .map(|data| data.keys().cloned().collect::<Vec<_>>()),
        Some(vec![
            "config".to_owned(),
            "name".to_owned(),
            "server".to_owned()
        ])
    );
    assert_eq!(secret_text(&secret, "name"), "harvester");
    assert_eq!(
        secret_text(&secret, "server"),
        format!("https://localhost:{}", lab.harvester_port)
    );
    let config: Value = serde_json::from_str(&secret_text(&secret, "config")).expect("JSON");
    let tls = &config["tlsClientConfig"];
    assert_eq!(
        config.as_object().map(|object| object.len()),
        Some(1),
        "{config}"
    );
    assert_eq!(tls["insecure"], false);
    for (field, list, entry, key) in [
        (
            "caData",
            "clusters",
            "cluster",
            "certificate-authority-data",
        ),
        ("certData", "users", "user", "client-certificate-data"),
        ("keyData", "users", "user", "client-key-data"),
    ] {
        assert_eq!(
            tls[field].as_str(),
            Some(kubeconfig_field(&rke2, list, entry, key).as_str()),
            "{field} is the Harvester kubeconfig's {key}"
        );
        assert_eq!(
            kubeconfig_field(&fetched, list, entry, key),
            kubeconfig_field(&rke2, list, entry, key)
        );
    }

    let client_key = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(kubeconfig_field(&rke2, "users", "user", "client-key-data"))
            .expect("base64"),
    )
    .expect("PEM");
    let mut leaks = key_lines(&client_key);
    leaks.push(kubeconfig_field(&rke2, "users", "user", "client-key-data"));
    leaks.push(base64::engine::general_purpose::STANDARD.encode(secret_text(&secret, "config")));
    leaks
}

/// Phase 4's end state: the VLAN network, the imported image, the user-data Secrets, both VMs
/// running on Harvester and their nodes Ready control-plane nodes of the Platform cluster.
/// (`tests/phase4_vms.rs` checks these objects field by field.)
async fn check_phase_4(world: &World) {
    let harvester = world.harvester.client.clone();
    let nad = Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &nad_resource())
        .get("platform")
        .await
        .expect("NetworkAttachmentDefinition");
    assert!(
        nad.data["spec"]["config"]
            .as_str()
            .is_some_and(|config| config.contains("\"vlan\":30")),
        "{:?}",
        nad.data
    );
    let image =
        Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &image_resource())
            .get("talos-nocloud")
            .await
            .expect("VirtualMachineImage");
    let image_value = serde_json::to_value(&image).expect("JSON");
    assert_eq!(condition(&image_value, "Imported").as_deref(), Some("True"));
    let vms = Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &vm_resource());
    let platform_nodes = Api::<Node>::all(world.platform.client.clone());
    for vm in VMS {
        let object = vms.get(vm).await.expect("VirtualMachine");
        assert_eq!(object.data["status"]["printableStatus"], "Running", "{vm}");
        assert_eq!(object.data["spec"]["runStrategy"], "Always", "{vm}");
        Api::<Secret>::namespaced(harvester.clone(), "default")
            .list(&ListParams::default())
            .await
            .expect("Secrets")
            .items
            .iter()
            .find(|secret| {
                secret
                    .metadata
                    .name
                    .as_deref()
                    .is_some_and(|name| name.contains(vm))
            })
            .unwrap_or_else(|| panic!("{vm}'s user-data Secret"));
        let node = platform_nodes.get(vm).await.expect("Platform Node");
        let value = serde_json::to_value(&node).expect("JSON");
        assert_eq!(condition(&value, "Ready").as_deref(), Some("True"), "{vm}");
        assert!(
            value["metadata"]["labels"]
                .get("node-role.kubernetes.io/control-plane")
                .is_some(),
            "{value}"
        );
    }
}

/// What the real Tinkerbell controller made of our Template for one machine's Workflow
/// (tink/controller/internal/workflow/reconciler.go `processWorkflow` and convert.go
/// `YAMLToStatus`, v0.25.0): rendered successfully, one task per template task with our
/// actions in order, every `{{…}}` filled from the Workflow's hardwareMap and the Hardware.
fn check_rendered_by_the_controller(
    workflow: &DynamicObject,
    machine: &str,
    mac: &str,
    template_data: &str,
) {
    let status = &workflow.data["status"];
    assert_eq!(
        status["templateRendering"], "successful",
        "{machine}: {status}"
    );
    let rendered = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|condition| condition["type"] == "TemplateRenderedSuccess")
        .unwrap_or_else(|| panic!("{machine}: TemplateRenderedSuccess in {status}"));
    assert_eq!(rendered["status"], "True");
    assert_eq!(rendered["message"], "template rendered successfully");
    let template: Value = serde_saphyr::from_str(template_data).expect("template YAML");
    assert_eq!(status["globalTimeout"], template["global_timeout"]);
    let tasks = status["tasks"].as_array().expect("tasks");
    let template_tasks = template["tasks"].as_array().expect("template tasks");
    assert_eq!(tasks.len(), template_tasks.len());
    for (task, template_task) in tasks.iter().zip(template_tasks) {
        assert_eq!(task["name"], template_task["name"]);
        assert_eq!(task["agentID"], mac, "the worker rendered from hardwareMap");
        let names: Vec<&Value> = task["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|action| &action["name"])
            .collect();
        let expected: Vec<&Value> = template_task["actions"]
            .as_array()
            .expect("template actions")
            .iter()
            .map(|action| &action["name"])
            .collect();
        assert_eq!(names, expected, "{machine}: our actions, in order");
        for action in task["actions"].as_array().expect("actions") {
            assert_eq!(action["state"], "SUCCESS", "{machine}: {action}");
        }
    }
    let stream = &tasks[0]["actions"][0];
    assert_eq!(stream["name"], "stream-harvester");
    assert_eq!(
        stream["environment"]["DEST_DISK"], "/dev/nvme0n1",
        "rendered from the Hardware's first disk"
    );
    let text = tasks.iter().map(Value::to_string).collect::<String>();
    assert!(
        !text.contains("{{"),
        "{machine}: unrendered template text in {text}"
    );
}

/// The install Template as issue 11 found it on main: a literal `{{…}}` in the header comment.
/// The real controller parses the whole `data` as a Go template, so it cannot render it for any
/// machine; genesis must stop the install at once with the controller's message, not wait out
/// the step's timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_the_real_controller_cannot_render_fails_the_install_fast() {
    tokio::time::timeout(LIMIT, async {
        let world = World::start_with(
            WorldOptions::with_real_tinkerbell(reference_bmcs()).expect("reference scenario"),
        )
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
        let template = lab.phases.join("templates/harvester-install.yaml");
        let shipped = std::fs::read_to_string(&template).expect("template");
        std::fs::write(
            &template,
            format!("# Tinkerbell fills in `{{{{…}}}}` per machine.\n{shipped}"),
        )
        .expect("write the broken template");
        lab.prepare_platform(&world).await;

        let started = Instant::now();
        let output = lab.genesis(&["up"]).await;
        let took = started.elapsed();
        let (_, stderr) = text(&output);
        assert_ne!(output.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("the Tinkerbell controller cannot render Template")
                && stderr.contains("for ms-02-1"),
            "{stderr}"
        );
        // Go's text/template on the comment's `{{…}}`.
        assert!(
            stderr.contains("error rendering template")
                && stderr.contains("unrecognized character in action"),
            "the controller's own message: {stderr}"
        );
        assert!(
            took < Duration::from_secs(120),
            "failed fast, not at the step's timeout: {took:?}"
        );
        let workflow = dynamic(&world, &workflow_resource())
            .get("harvester-install-ms-02-1-1")
            .await
            .expect("Workflow");
        assert_eq!(workflow.data["status"]["templateRendering"], "failed");
        assert!(
            workflow.data["status"]["tasks"].is_null(),
            "nothing rendered: {}",
            workflow.data["status"]
        );
        let jobs = dynamic(&world, &rufio_job_resource())
            .list(&ListParams::default())
            .await
            .expect("Jobs");
        assert!(jobs.items.is_empty(), "no machine was power-cycled");
        world.shutdown().await;
    })
    .await
    .expect("the test finishes in time");
}
