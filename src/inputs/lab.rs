//! The lab inventory (`hardware/lab.yaml`): networks, endpoints, the Platform node, the
//! machines to provision and the VMs to create.
//!
//! Fields that later checks must point at are `Spanned`, so a diagnostic can name their line.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// The whole inventory.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    /// Version of this file's format; only `1` exists.
    pub schema: Spanned<u32>,
    /// A short name for the lab, shown in plans and reports.
    pub name: String,
    pub networks: Vec<Network>,
    pub endpoints: Endpoints,
    pub platform_node: PlatformNode,
    pub machines: Vec<Machine>,
    #[serde(default)]
    pub vm_images: Vec<VmImage>,
    #[serde(default)]
    pub vms: Vec<Vm>,
    /// Where the journal and lock live (`local` or `kubernetes`); `--state` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<crate::state::StateKind>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub name: Spanned<String>,
    pub vlan: Spanned<u16>,
    pub subnet: Spanned<Ipv4Net>,
    /// The router of the subnet; absent on a network that is not routed.
    #[serde(default)]
    pub gateway: Option<Spanned<Ipv4Addr>>,
    /// What the network is for, in a few words.
    pub purpose: String,
    /// Whether traffic leaves the VLAN; a storage-only VLAN is not routed.
    #[serde(default = "yes")]
    pub routed: bool,
    /// Whether VMs may attach to this network.
    #[serde(default = "yes")]
    pub vm_attachable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub platform: PlatformEndpoint,
    pub tinkerbell: TinkerbellEndpoint,
    pub harvester: HarvesterEndpoint,
    pub argocd: ArgocdEndpoint,
    pub pxe: PxeEndpoint,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformEndpoint {
    /// The kubeconfig context that reaches the single-node Platform cluster.
    pub context: String,
    /// A kubeconfig file; absent means `KUBECONFIG` or `~/.kube/config`.
    #[serde(default)]
    pub kubeconfig: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TinkerbellEndpoint {
    /// Namespace of Tinkerbell's and Rufio's objects.
    pub namespace: String,
    /// The address and port the Tinkerbell metadata service answers on, as seen from the
    /// machines (the Harvester installer fetches its configuration there).
    pub metadata_url: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HarvesterEndpoint {
    pub hostname: String,
    /// The cluster's virtual IP on the management network.
    pub vip: Spanned<Ipv4Addr>,
    pub network: Spanned<String>,
    pub api_port: u16,
    /// The nodes' SSH port (genesis reads the kubeconfig of the first node over SSH).
    #[serde(default = "default_ssh_port")]
    pub ssh_port: u16,
    /// Harvester release to install.
    pub version: String,
    /// Public keys allowed to log in as `rancher` on the nodes (the private half is a secret).
    #[serde(default)]
    pub ssh_authorized_keys: Vec<String>,
    pub dns_servers: Vec<Spanned<Ipv4Addr>>,
    #[serde(default)]
    pub ntp_servers: Vec<String>,
}

fn default_ssh_port() -> u16 {
    22
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArgocdEndpoint {
    pub namespace: String,
    /// The name Argo CD shows for the Harvester cluster.
    pub cluster_name: String,
    /// Argo CD's API, to read its own view of the cluster when a token is configured.
    #[serde(default)]
    pub api_url: Option<Spanned<String>>,
    /// Name of the cluster Secret (step 12) in `namespace`; absent: `cluster_name`, as the
    /// lab's design names it (`argocd/harvester`).
    #[serde(default)]
    pub secret_name: Option<Spanned<String>>,
    /// Labels on the cluster Secret besides `argocd.argoproj.io/secret-type: cluster` (which
    /// genesis always sets); ApplicationSets select clusters by them. Absent: the design's
    /// `lab.gilman.io/cluster-name: harvester`.
    #[serde(default = "design_cluster_labels")]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The extra cluster-Secret labels of the lab's design: its `cluster-apps` ApplicationSet
/// selects Harvester by this one.
pub fn design_cluster_labels() -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([(
        "lab.gilman.io/cluster-name".to_owned(),
        "harvester".to_owned(),
    )])
}

/// Whether `name` is a DNS subdomain as Kubernetes names need it (RFC 1123, lower case).
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            let bytes = part.as_bytes();
            !part.is_empty()
                && bytes
                    .iter()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        })
}

/// Why `key: value` is not a valid Kubernetes label, if it is not (apimachinery
/// `validation.IsQualifiedName` for the key, `IsValidLabelValue` for the value).
pub fn label_problem(key: &str, value: &str) -> Option<String> {
    fn name_ok(name: &str) -> bool {
        let bytes = name.as_bytes();
        !name.is_empty()
            && name.len() <= 63
            && bytes
                .iter()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(byte))
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
    }
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && !is_dns_subdomain(prefix)
    {
        return Some(format!(
            "label key `{key}`: the prefix before `/` must be a DNS subdomain (lower-case letters, digits, `-` and `.`, at most 253 characters)"
        ));
    }
    if !name_ok(name) {
        return Some(format!(
            "label key `{key}`: the name must be 1-63 characters of letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit"
        ));
    }
    if !value.is_empty() && !name_ok(value) {
        return Some(format!(
            "label value `{value}` of `{key}`: at most 63 characters of letters, digits, `-`, `_` and `.`, beginning and ending with a letter or digit (or empty)"
        ));
    }
    None
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PxeEndpoint {
    /// Where the Harvester install artifacts are served over HTTP(S).
    pub base_url: Spanned<String>,
    pub artifacts: Vec<Artifact>,
    /// A PEM file of CA certificates trusted for an HTTPS `base_url`, in addition to the
    /// system's (for a server whose certificate comes from a private CA). A relative path is
    /// relative to the lab file's directory; loading makes it so (see `resolve_paths`).
    #[serde(default)]
    pub ca_file: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// What the artifact is; only `disk-image` (the Harvester raw disk image the install
    /// Template streams) is used.
    pub role: Spanned<String>,
    /// File name below `base_url`.
    pub file: String,
    /// Expected size in bytes, checked by preflight when given.
    #[serde(default)]
    pub size: Option<u64>,
    /// Expected SHA-256, checked by preflight when given.
    #[serde(default)]
    pub sha256: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformNode {
    pub hostname: Spanned<String>,
    pub network: Spanned<String>,
    pub ip: Spanned<Ipv4Addr>,
}

/// How a machine enters the Harvester cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The first node: installs in create mode and makes the cluster.
    Create,
    /// Every other node: installs in join mode through the VIP.
    Join,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub hostname: Spanned<String>,
    pub role: Spanned<Role>,
    pub network: Spanned<String>,
    pub ip: Spanned<Ipv4Addr>,
    /// MAC of the NIC that PXE-boots; Tinkerbell recognises the machine by it.
    pub pxe_mac: Spanned<String>,
    /// Interface name for the management network (`hwAddr` is used when absent).
    #[serde(default)]
    pub interface: Option<String>,
    pub bmc: Bmc,
    pub install_disk: Spanned<String>,
    #[serde(default)]
    pub data_disk: Option<Spanned<String>>,
    /// Whether the firmware boots UEFI (sets the DHCP `uefi` flag and EFI one-time boot).
    #[serde(default = "yes")]
    pub uefi: bool,
}

/// BMC protocols that Rufio speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BmcProtocol {
    Redfish,
    Ipmi,
    IntelAmt,
}

impl BmcProtocol {
    pub fn default_port(self) -> u16 {
        match self {
            Self::Redfish => 443,
            Self::Ipmi => 623,
            Self::IntelAmt => 16992,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bmc {
    pub address: Spanned<Ipv4Addr>,
    pub protocol: BmcProtocol,
    #[serde(default)]
    pub port: Option<u16>,
    /// Skip TLS verification towards this BMC only (self-signed BMC certificates).
    #[serde(default)]
    pub insecure_tls: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Vm {
    pub name: Spanned<String>,
    pub namespace: String,
    pub network: Spanned<String>,
    pub mac: Spanned<String>,
    pub cpu_cores: u32,
    /// Guest memory, in Kubernetes quantity form (`16Gi`).
    pub memory: Spanned<String>,
    /// Root disk size, in Kubernetes quantity form (`40Gi`).
    pub disk: Spanned<String>,
    /// Name of the `VirtualMachineImage` the root disk is cloned from.
    pub image: Spanned<String>,
}

/// A VM boot image that Harvester downloads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VmImage {
    pub name: Spanned<String>,
    pub namespace: String,
    pub display_name: String,
    pub url: Spanned<String>,
}

impl Lab {
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks
            .iter()
            .find(|network| network.name.value == name)
    }

    pub fn machines_with_role(&self, role: Role) -> impl Iterator<Item = &Machine> {
        self.machines
            .iter()
            .filter(move |machine| machine.role.value == role)
    }
}
