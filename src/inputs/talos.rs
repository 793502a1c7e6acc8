//! Checks of the Platform control-plane VMs (phase 4) that need more than one field of the lab:
//! the Talos machine configuration each VM boots with (read from the secrets), the number of
//! Harvester machines the VMs' anti-affinity needs, and the image Harvester imports.
//!
//! What Talos does with a config is checked against Talos itself in the test world
//! (`tests/upstream/talos`, built against `github.com/siderolabs/talos/pkg/machinery`); here
//! genesis checks, offline, the facts it relies on (docs/inputs.md "Talos machine
//! configurations"):
//!
//! - the config is a `controlplane` machine (the VMs join the Platform cluster's control plane);
//! - it names the cluster endpoint (`cluster.controlPlane.endpoint`, an https URL);
//! - the node gets the VM's name. genesis hands every VM NoCloud network data, so Talos applies
//!   the meta-data `local-hostname` (the VM's name, written by KubeVirt) at its platform layer;
//!   a hostname the config sets itself (`machine.network.hostname`, or a Talos 1.12
//!   `HostnameConfig` document) wins over it and must therefore be the VM's name. Both at once
//!   is refused by Talos 1.12 (`static hostname is already set in v1alpha1 config`);
//! - a warning when the endpoint is one machine's own address rather than a shared VIP or name.

use std::path::Path;

use genesis_engine::StepSpec;
use serde_json::Value;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::lab::Lab;
use super::validate::at;
use crate::secrets::Secrets;

/// The step kind that hands a VM its machine configuration.
const USERDATA_KIND: &str = "kubevirt.userdata-secret";

/// Suffixes of compressed files: Harvester stores a downloaded image as it comes.
const COMPRESSED: [&str; 6] = [".xz", ".gz", ".zst", ".bz2", ".tgz", ".zip"];

/// What genesis reads from a Talos machine configuration (a YAML stream of documents).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    /// `machine.type` of the v1alpha1 document.
    pub machine_type: Option<String>,
    /// `cluster.controlPlane.endpoint`.
    pub endpoint: Option<String>,
    /// `machine.network.hostname`.
    pub v1alpha1_hostname: Option<String>,
    /// `machine.features.stableHostname: true`.
    pub stable_hostname_feature: bool,
    /// A `HostnameConfig` document (Talos 1.12 and later): its `hostname` and `auto`.
    pub hostname_config: Option<(Option<String>, Option<String>)>,
}

impl MachineConfig {
    /// Reads the documents; an error says what is not YAML or where the v1alpha1 document is.
    pub fn parse(text: &str) -> Result<Self, String> {
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(text).map_err(|error| format!("is not YAML: {error}"))?;
        let mut config = Self::default();
        let mut v1alpha1 = false;
        for document in &documents {
            let string = |pointer: &str| {
                document
                    .pointer(pointer)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            match document.get("kind").and_then(Value::as_str) {
                Some("HostnameConfig") => {
                    config.hostname_config = Some((string("/hostname"), string("/auto")));
                }
                Some(_) => {}
                None if document.get("version").and_then(Value::as_str) == Some("v1alpha1") => {
                    v1alpha1 = true;
                    config.machine_type = string("/machine/type");
                    config.endpoint = string("/cluster/controlPlane/endpoint");
                    config.v1alpha1_hostname = string("/machine/network/hostname");
                    config.stable_hostname_feature = document
                        .pointer("/machine/features/stableHostname")
                        .and_then(Value::as_bool)
                        == Some(true);
                }
                None => {}
            }
        }
        if !v1alpha1 {
            return Err(
                "has no `version: v1alpha1` document (the machine and cluster sections)".to_owned(),
            );
        }
        Ok(config)
    }

    /// The hostname the config sets itself, and where.
    pub fn explicit_hostname(&self) -> Option<(&str, &'static str)> {
        if let Some((Some(hostname), _)) = &self.hostname_config {
            return Some((hostname, "the HostnameConfig document's `hostname`"));
        }
        self.v1alpha1_hostname
            .as_deref()
            .map(|hostname| (hostname, "machine.network.hostname"))
    }

    /// Problems that make Talos refuse the config or name the node other than `vm`, each with
    /// what to do. Empty when the node will be named `vm`.
    pub fn problems(&self, vm: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        match self.machine_type.as_deref() {
            Some("controlplane") => {}
            other => problems.push((
                format!(
                    "machine.type is {}: the VM joins the Platform cluster's control plane",
                    other.map_or("missing".to_owned(), |kind| format!("`{kind}`"))
                ),
                "use the controlplane.yaml that `talosctl gen config` wrote for the Platform cluster"
                    .to_owned(),
            )),
        }
        match self.endpoint.as_deref() {
            Some(endpoint) if endpoint.starts_with("https://") => {}
            Some(endpoint) => problems.push((
                format!("cluster.controlPlane.endpoint `{endpoint}` is not an https URL"),
                "write the Platform API endpoint, e.g. https://<shared VIP>:6443".to_owned(),
            )),
            None => problems.push((
                "cluster.controlPlane.endpoint is missing".to_owned(),
                "Talos needs the Platform API endpoint to join (https://<shared VIP>:6443)"
                    .to_owned(),
            )),
        }
        if let Some((hostname, auto)) = &self.hostname_config {
            if self.v1alpha1_hostname.is_some() {
                problems.push((
                    "sets both machine.network.hostname and a HostnameConfig document; Talos 1.12 refuses that (`static hostname is already set in v1alpha1 config`)".to_owned(),
                    format!("keep one: `hostname: {vm}` in the HostnameConfig document, without machine.network.hostname"),
                ));
            } else if self.stable_hostname_feature {
                problems.push((
                    "sets machine.features.stableHostname and a HostnameConfig document; Talos 1.12 refuses that (`stable hostname is already set in v1alpha1 config`)".to_owned(),
                    "remove machine.features.stableHostname".to_owned(),
                ));
            }
            match (hostname, auto) {
                (Some(_), Some(_)) => problems.push((
                    "the HostnameConfig document sets both `auto` and `hostname`; Talos refuses that".to_owned(),
                    format!("keep `hostname: {vm}` and remove `auto`"),
                )),
                (None, None) => problems.push((
                    "the HostnameConfig document sets neither `auto` nor `hostname`; Talos refuses that".to_owned(),
                    format!("write `hostname: {vm}`"),
                )),
                _ => {}
            }
        }
        if let Some((hostname, source)) = self.explicit_hostname() {
            // Talos names the Node after the short hostname (the part before the first dot).
            let short = hostname.split('.').next().unwrap_or(hostname);
            if short != vm {
                problems.push((
                    format!(
                        "{source} names the node `{hostname}`, but the `kube.node-joined` step waits for Node `{vm}`; a hostname in the machine config wins over the VM's NoCloud hostname"
                    ),
                    format!("set it to `{vm}`, or remove it so that Talos takes `{vm}` from the NoCloud meta-data genesis supplies"),
                ));
            }
        }
        problems
    }

    /// A warning when the endpoint names one machine of the lab rather than a shared address.
    pub fn endpoint_warning(&self, lab: &Lab) -> Option<String> {
        let endpoint = self.endpoint.as_deref()?;
        let host = endpoint
            .strip_prefix("https://")
            .unwrap_or(endpoint)
            .split(['/', ':'])
            .next()
            .unwrap_or_default();
        let node = &lab.platform_node;
        let named = if host == node.ip.value.to_string() || host == node.hostname.value {
            Some(format!("the Platform node {}", node.hostname.value))
        } else {
            lab.machines
                .iter()
                .find(|machine| {
                    host == machine.ip.value.to_string() || host == machine.hostname.value
                })
                .map(|machine| format!("the Harvester machine {}", machine.hostname.value))
                .or_else(|| {
                    lab.vms
                        .iter()
                        .find(|vm| vm.name.value == host)
                        .map(|vm| format!("the VM {}", vm.name.value))
                })
        }?;
        Some(format!(
            "the Platform cluster endpoint {endpoint} is the address of {named}: when it is down, the other control-plane nodes cannot be reached there and the \"HA\" cluster still hangs on it. Use a shared VIP (Talos `vip` on the control-plane nodes) or a name that resolves to every control-plane node"
        ))
    }
}

/// Whether a URL's file ends in a compression suffix.
pub fn compressed_suffix(url: &str) -> Option<&'static str> {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    COMPRESSED.into_iter().find(|suffix| path.ends_with(suffix))
}

/// Each VM's machine-configuration secret, from the expanded steps that hand it over.
fn machine_config_secrets(steps: &[StepSpec]) -> Vec<(String, String)> {
    steps
        .iter()
        .filter(|step| step.kind == USERDATA_KIND)
        .filter_map(|step| {
            let vm = step.params.get("vm")?.as_str()?;
            let secret = step.params.pointer("/user_data/secret")?.as_str()?;
            Some((vm.to_owned(), secret.to_owned()))
        })
        .collect()
}

/// Every problem of the Platform VMs' inputs (`genesis validate` reports them with the rest).
pub fn check(
    lab_file: &Path,
    lab: Option<&Lab>,
    secrets: Option<&Secrets>,
    secrets_file: &Path,
    steps: &[StepSpec],
) -> Diagnostics {
    let mut out = Diagnostics::default();
    if let Some(lab) = lab {
        check_lab(lab_file, lab, &mut out);
    }
    let Some(secrets) = secrets else {
        return out;
    };
    for (vm, secret) in machine_config_secrets(steps) {
        // An absent secret is reported where the step's reference is resolved.
        let Some(value) = secrets.get(&secret) else {
            continue;
        };
        let position = secrets.position(&secret);
        let problem = |message: String, help: String| {
            Diagnostic::new(secrets_file, position, secret.clone(), message).help(help)
        };
        match MachineConfig::parse(value.expose()) {
            // A value that is no YAML mapping at all is reported by the format check
            // (`inputs::secret_values`), once.
            Err(_)
                if crate::secrets::SecretFormat::YamlMapping
                    .check(value)
                    .is_err() => {}
            Err(error) => out.push(problem(
                format!("the Talos machine configuration of VM {vm} {error}"),
                "put the controlplane.yaml of the Platform cluster here (`talosctl gen config`)"
                    .to_owned(),
            )),
            Ok(config) => {
                for (message, help) in config.problems(&vm) {
                    out.push(problem(
                        format!("the Talos machine configuration of VM {vm}: {message}"),
                        help,
                    ));
                }
            }
        }
    }
    out
}

fn check_lab(file: &Path, lab: &Lab, out: &mut Diagnostics) {
    let hosts = lab.machines.len();
    if lab.vms.len() > hosts {
        let first_extra = &lab.vms[hosts];
        out.push(
            Diagnostic::new(
                file,
                at(&first_extra.name),
                format!("vms[{hosts}].name"),
                format!(
                    "{} control-plane VMs but {hosts} Harvester machines: genesis keeps the VMs on distinct hosts (a required anti-affinity on kubernetes.io/hostname), so VM {} could never be scheduled",
                    lab.vms.len(),
                    first_extra.name.value
                ),
            )
            .help("add Harvester machines, or remove VMs"),
        );
    }
    for (index, image) in lab.vm_images.iter().enumerate() {
        if let Some(suffix) = compressed_suffix(&image.url.value) {
            out.push(
                Diagnostic::new(
                    file,
                    at(&image.url),
                    format!("vm_images[{index}].url"),
                    format!(
                        "`{}` is a compressed file ({suffix}): Harvester stores a downloaded image as it comes, without decompressing it, so the VM would get no bootable disk",
                        image.url.value
                    ),
                )
                .help("serve an image Harvester imports as is: Talos Image Factory's nocloud-amd64.qcow2, or the raw image decompressed (`xz -d` / `zstd -d`) to nocloud-amd64.raw"),
            );
        }
    }
}

/// What `genesis validate` says besides the problems: one line per warning.
pub fn warnings(lab: &Lab, secrets: &Secrets, steps: &[StepSpec]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    machine_config_secrets(steps)
        .into_iter()
        .filter_map(|(vm, secret)| {
            let config = MachineConfig::parse(secrets.get(&secret)?.expose()).ok()?;
            let warning = config.endpoint_warning(lab)?;
            Some(format!("secret `{secret}` (VM {vm}): {warning}"))
        })
        .filter(|warning| seen.insert(warning.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CP: &str = "version: v1alpha1\nmachine:\n  type: controlplane\n  network:\n    hostname: cp-2\ncluster:\n  controlPlane:\n    endpoint: https://10.10.10.15:6443\n";

    #[test]
    fn a_control_plane_config_naming_the_vm_passes() {
        let config = MachineConfig::parse(CP).expect("parses");
        assert_eq!(config.problems("cp-2"), Vec::new());
        let without = CP.replace("  network:\n    hostname: cp-2\n", "");
        assert_eq!(
            MachineConfig::parse(&without)
                .expect("parses")
                .problems("cp-3"),
            Vec::new(),
            "without a hostname of its own the node takes the NoCloud one"
        );
        let fqdn = CP.replace("hostname: cp-2", "hostname: cp-2.lab.local");
        assert!(
            MachineConfig::parse(&fqdn)
                .expect("parses")
                .problems("cp-2")
                .is_empty()
        );
    }

    #[test]
    fn a_hostname_other_than_the_vms_is_caught() {
        let problems = MachineConfig::parse(CP).expect("parses").problems("cp-3");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .0
                .contains("the `kube.node-joined` step waits for Node `cp-3`")
        );
        let hostname_config = format!(
            "{}---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: talos-abc-def\n",
            CP.replace("  network:\n    hostname: cp-2\n", "")
        );
        let problems = MachineConfig::parse(&hostname_config)
            .expect("parses")
            .problems("cp-2");
        assert!(problems[0].0.contains("HostnameConfig"), "{problems:?}");
    }

    #[test]
    fn talos_1_12_conflicts_are_caught() {
        let both = format!("{CP}---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n");
        let problems = MachineConfig::parse(&both)
            .expect("parses")
            .problems("cp-2");
        assert!(
            problems
                .iter()
                .any(|(message, _)| message.contains("static hostname is already set")),
            "{problems:?}"
        );
        let auto_only = both.replace("  network:\n    hostname: cp-2\n", "");
        assert!(
            MachineConfig::parse(&auto_only)
                .expect("parses")
                .problems("cp-2")
                .is_empty(),
            "auto: stable is Talos's lowest layer: the NoCloud hostname wins"
        );
    }

    #[test]
    fn worker_configs_and_missing_endpoints_are_refused() {
        let worker = CP.replace("type: controlplane", "type: worker");
        let problems = MachineConfig::parse(&worker)
            .expect("parses")
            .problems("cp-2");
        assert!(problems[0].0.contains("`worker`"), "{problems:?}");
        let no_endpoint = CP.replace(
            "  controlPlane:\n    endpoint: https://10.10.10.15:6443\n",
            "  id: x\n",
        );
        let problems = MachineConfig::parse(&no_endpoint)
            .expect("parses")
            .problems("cp-2");
        assert!(
            problems[0].0.contains("endpoint is missing"),
            "{problems:?}"
        );
        assert!(MachineConfig::parse("machine: {}\n").is_err());
        assert!(MachineConfig::parse(": : :").is_err());
    }

    #[test]
    fn compressed_image_urls_are_recognised() {
        for url in [
            "http://x/nocloud-amd64.raw.xz",
            "http://x/a.raw.zst?download=1",
            "http://x/a.img.gz",
            "http://x/a.qcow2.bz2",
        ] {
            assert!(compressed_suffix(url).is_some(), "{url}");
        }
        for url in ["http://x/nocloud-amd64.qcow2", "http://x/nocloud-amd64.raw"] {
            assert_eq!(compressed_suffix(url), None, "{url}");
        }
    }
}
