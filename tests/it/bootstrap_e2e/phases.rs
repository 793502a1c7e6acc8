//! Bootstrap end-to-end tests, continued: what phases 2 and 3 leave behind.

use super::*;

/// Phases 2 and 3's objects, field by field; returns the credentials of the Harvester
/// kubeconfig (key lines, the base64 key, the cluster Secret's config) for leak searches.
pub(super) async fn check_phases_2_and_3(world: &World, lab: &LoopbackLab) -> Vec<String> {
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
    // An install attempt that fails is deleted and the next one is a new Workflow (`-2`), whose
    // netboot Job comes next to the first one's (a retry on a loaded machine, say). The one
    // Workflow left per machine carries its attempt number, and attempts 1..N each had a Job.
    let attempts = |machine: &str| -> usize {
        workflows
            .items
            .iter()
            .find(|workflow| {
                workflow
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|labels| labels.get("genesis.dev/machine"))
                    .is_some_and(|label| label == machine)
            })
            .and_then(|workflow| {
                workflow
                    .metadata
                    .labels
                    .as_ref()?
                    .get("genesis.dev/attempt")?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{machine}'s Workflow with its attempt label"))
    };
    let expected_jobs: usize = MACHINES.iter().map(|machine| attempts(machine)).sum();
    assert_eq!(
        jobs.items.len(),
        expected_jobs,
        "one netboot Job per install attempt"
    );
    for (index, machine) in MACHINES.iter().enumerate() {
        let name = format!("harvester-install-{machine}-{}", attempts(machine));
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
