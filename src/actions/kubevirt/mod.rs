//! KubeVirt on Harvester: a VM's cloud-init NoCloud user data as a Secret
//! (`kubevirt.userdata-secret`, step 15) and the `VirtualMachine` itself (`kubevirt.vm`,
//! step 16), waited for until it runs. What both need to agree on lives here.

pub mod userdata_secret;
pub mod vm;

use kube::api::{ApiResource, GroupVersionKind};

/// The annotation Harvester creates a VM's PVCs from.
pub const VOLUME_CLAIM_TEMPLATES: &str = "harvesterhci.io/volumeClaimTemplates";
/// The annotation on a PVC naming the image (`namespace/name`) it is made from.
pub const IMAGE_ID: &str = "harvesterhci.io/imageId";
/// The label Harvester puts on a VM's pods.
pub const VM_NAME_LABEL: &str = "harvesterhci.io/vmName";
/// The key of a NoCloud user-data Secret that KubeVirt reads.
pub const USERDATA_KEY: &str = "userdata";
/// The key of the NoCloud network data in the same Secret (kubevirt `pkg/cloud-init/cloud-init.go`
/// reads `networkdata` or `networkData`).
pub const NETWORKDATA_KEY: &str = "networkdata";
/// The label Harvester's VM builder puts on a VM and its template.
pub const CREATOR_LABEL: &str = "harvesterhci.io/creator";
/// The label by which the Platform control-plane VMs keep apart from each other.
pub const ROLE_LABEL: (&str, &str) = ("genesis.dev/role", "platform-control-plane");

/// NoCloud network data (version 2) that brings the NIC with `mac` up with DHCP: with it Talos
/// applies the meta-data hostname (siderolabs/talos `platform/nocloud/metadata.go`,
/// `applyNetworkConfigV2` matches `macaddress` against the links).
pub fn network_data(mac: &str) -> String {
    format!(
        "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: \"{}\"\n    dhcp4: true\n",
        mac.to_ascii_lowercase()
    )
}

pub fn vm_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kubevirt.io", "v1", "VirtualMachine"),
        "virtualmachines",
    )
}

/// The Secret holding a VM's user data.
pub fn userdata_secret_name(vm: &str) -> String {
    format!("{vm}-userdata")
}

/// The PVC of a VM's root disk.
pub fn root_claim_name(vm: &str) -> String {
    format!("{vm}-rootdisk")
}
