//! Phase 4's objects read back from the API servers, field by field (moved from
//! phase4_vms.rs).

use genesis_testworld::World;
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};

use super::{Setup, get, image, managed_by_genesis, nad, resource, vm};

/// Steps 13 to 17: the network, the image, the user-data Secrets, the VMs and the joined nodes.
pub(super) async fn read_back(world: &World, setup: &Setup) {
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
}
