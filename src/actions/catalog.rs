//! The built-in step kinds: which parameters each takes and what it would do, said offline.
//!
//! This is what `genesis validate` checks phase files against and what the offline plan prints.
//! The runtime halves (observe, apply, wait) live next to this file, one module per system.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// What the plan can say about a step before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// Read-only checks: running it changes nothing.
    Check,
    /// Writes objects whose current state can be observed (offline: not observed).
    Apply,
    /// Writes objects built from what an earlier step discovers.
    DependsOnEarlier,
    /// Runs something genesis cannot look inside (a local command).
    CannotPreview,
}

/// Where a kind acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Local,
    Http,
    Platform,
    Harvester,
}

/// One built-in kind.
pub struct Kind {
    pub name: &'static str,
    pub summary: &'static str,
    pub target: Target,
    pub preview: Preview,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// Offline description of what the step would do, from its resolved parameters.
    pub describe: fn(&Params<'_>) -> Vec<String>,
}

/// Read access to resolved parameters, for descriptions. Secrets show by name only.
pub struct Params<'a>(pub &'a Value);

impl Params<'_> {
    /// A parameter as display text.
    pub fn text(&self, name: &str) -> String {
        self.0.get(name).map_or_else(|| "?".to_owned(), display)
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        Value::Object(map) if map.len() == 1 && map.contains_key("secret") => {
            format!(
                "<secret {}>",
                map.get("secret").map_or_else(String::new, display)
            )
        }
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|kind| kind.name)
}

/// A parameter whose value does not have the type its kind reads it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTypeError {
    /// Where below `params`, e.g. `namespace` or `artifacts[0].size`; empty for `params` itself.
    pub param: String,
    /// What serde found and expected, e.g. `invalid type: sequence, expected a string`.
    pub message: String,
}

/// Reads `params` into `T`, as the action will at run time.
fn typed<T: DeserializeOwned>(params: &Value) -> Result<(), ParamTypeError> {
    serde_path_to_error::deserialize::<_, T>(params)
        .map(drop)
        .map_err(|error| {
            let param = error.path().to_string();
            ParamTypeError {
                param: if param == "." { String::new() } else { param },
                message: error.into_inner().to_string(),
            }
        })
}

/// Checks a step's expanded parameters against the parameter type its kind's action reads
/// them into at run time; `None` for a kind without a typed check here (a kind added without
/// one fails the `every_kind_has_a_typed_check` test).
pub fn check_types(kind: &str, params: &Value) -> Option<Result<(), ParamTypeError>> {
    use crate::actions::{
        argocd, harvester, kubevirt, local, platform, preflight, rufio, tinkerbell,
    };
    Some(match kind {
        "exec" => typed::<local::exec::ExecParams>(params),
        "kube.reachable" => typed::<ReachableParams>(params),
        "tinkerbell.stack" => typed::<preflight::StackParams>(params),
        "argocd.present" => typed::<preflight::ArgocdParams>(params),
        "http.artifacts" => typed::<preflight::ArtifactsParams>(params),
        "tinkerbell.template" => typed::<tinkerbell::TemplateParams>(params),
        "rufio.machine" => typed::<rufio::MachineParams>(params),
        "tinkerbell.hardware" => typed::<tinkerbell::HardwareParams>(params),
        "tinkerbell.install" => typed::<tinkerbell::InstallParams>(params),
        "harvester.api" => typed::<harvester::api::ApiParams>(params),
        "harvester.quorum" => typed::<harvester::quorum::QuorumParams>(params),
        "argocd.cluster-secret" => typed::<argocd::ClusterSecretParams>(params),
        "harvester.vm-network" => typed::<harvester::network::NetworkParams>(params),
        "harvester.vm-image" => typed::<harvester::image::ImageParams>(params),
        "kubevirt.userdata-secret" => typed::<kubevirt::UserdataParams>(params),
        "kubevirt.vm" => typed::<kubevirt::VmParams>(params),
        "kube.node-joined" => typed::<platform::node_joined::JoinParams>(params),
        _ => return None,
    })
}

/// The parameters of `kube.reachable`. Its action reaches the cluster through the client it is
/// built with and reads no parameter; the step names the cluster and context for the operator.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ReachableParams {
    cluster: String,
    context: String,
}

/// What a parameter's value becomes in Kubernetes, for the name rules `genesis validate`
/// applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// A namespace: an RFC 1123 label.
    Namespace,
    /// An object's name: an RFC 1123 subdomain.
    Object,
    /// An object's name, or `namespace/name`.
    ObjectRef,
    /// Argo CD's cluster name: the Secret is named `cluster-<value>`.
    ArgocdCluster,
}

/// The parameters of `kind` that become namespaces or object names.
pub fn name_params(kind: &str) -> &'static [(&'static str, NameRule)] {
    use NameRule::{ArgocdCluster, Namespace, Object, ObjectRef};
    match kind {
        "tinkerbell.stack" | "argocd.present" => &[("namespace", Namespace)],
        "tinkerbell.template" => &[("namespace", Namespace), ("name", Object)],
        "rufio.machine" | "tinkerbell.hardware" => &[("namespace", Namespace), ("machine", Object)],
        "tinkerbell.install" => &[
            ("namespace", Namespace),
            ("machine", Object),
            ("template", Object),
        ],
        "harvester.api" => &[("first_node", Object)],
        "argocd.cluster-secret" => &[("namespace", Namespace), ("cluster_name", ArgocdCluster)],
        "harvester.vm-network" => &[
            ("namespace", Namespace),
            ("name", Object),
            ("cluster_network", Object),
        ],
        "harvester.vm-image" => &[("namespace", Namespace), ("name", Object)],
        "kubevirt.userdata-secret" => &[("namespace", Namespace), ("vm", Object)],
        "kubevirt.vm" => &[
            ("namespace", Namespace),
            ("name", Object),
            ("network", ObjectRef),
            ("image", ObjectRef),
        ],
        "kube.node-joined" => &[("node", Object)],
        _ => &[],
    }
}

pub static KINDS: &[Kind] = &[
    Kind {
        name: "exec",
        summary: "run a local command; success by exit code",
        target: Target::Local,
        preview: Preview::CannotPreview,
        required: &["command"],
        optional: &["args", "env", "cwd", "success_codes"],
        describe: |p| {
            let args =
                p.0.get("args")
                    .and_then(Value::as_array)
                    .map(|args| args.iter().map(display).collect::<Vec<_>>().join(" "));
            let command = match args.filter(|args| !args.is_empty()) {
                Some(args) => format!("{} {args}", p.text("command")),
                None => p.text("command"),
            };
            vec![format!("run `{command}` locally; success by exit code")]
        },
    },
    Kind {
        name: "kube.reachable",
        summary: "a cluster's API answers and is healthy",
        target: Target::Platform,
        preview: Preview::Check,
        required: &["cluster", "context"],
        optional: &[],
        describe: |p| {
            vec![
                format!(
                    "connect to the {} API with kubeconfig context `{}`",
                    p.text("cluster"),
                    p.text("context")
                ),
                "check /readyz and that the credentials may read namespaces".to_owned(),
            ]
        },
    },
    Kind {
        name: "tinkerbell.stack",
        summary: "Tinkerbell and Rufio CRDs established and controllers available",
        target: Target::Platform,
        preview: Preview::Check,
        required: &["namespace", "crds"],
        optional: &[],
        describe: |p| {
            vec![
                format!("check CRDs established: {}", p.text("crds")),
                format!(
                    "check the Tinkerbell and Rufio controllers are available in `{}`",
                    p.text("namespace")
                ),
            ]
        },
    },
    Kind {
        name: "argocd.present",
        summary: "Argo CD installed and running",
        target: Target::Platform,
        preview: Preview::Check,
        required: &["namespace"],
        optional: &[],
        describe: |p| {
            vec![format!(
                "check that Deployment argocd-server and StatefulSet argocd-application-controller are available in `{}`",
                p.text("namespace")
            )]
        },
    },
    Kind {
        name: "http.artifacts",
        summary: "the install's disk image and the VM images answer over HTTP(S) with the expected size and checksum",
        target: Target::Http,
        preview: Preview::Check,
        required: &["base_url", "artifacts"],
        optional: &["ca_file", "vm_images"],
        describe: |p| {
            let base = p.text("base_url");
            let artifacts = p.0.get("artifacts").and_then(Value::as_array);
            let vm_images = p.0.get("vm_images").and_then(Value::as_array);
            let images = vm_images.into_iter().flatten().map(|image| {
                format!(
                    "fetch {} (VM image {}): expect 200",
                    image.get("url").map(display).unwrap_or_default(),
                    image.get("name").map(display).unwrap_or_default()
                )
            });
            artifacts
                .into_iter()
                .flatten()
                .map(|artifact| {
                    let file = artifact.get("file").map(display).unwrap_or_default();
                    let mut line =
                        format!("fetch {}/{file}: expect 200", base.trim_end_matches('/'));
                    if let Some(size) = artifact.get("size").filter(|size| !size.is_null()) {
                        line.push_str(&format!(", {size} bytes"));
                    }
                    if artifact.get("sha256").is_some_and(|sum| !sum.is_null()) {
                        line.push_str(", matching SHA-256");
                    }
                    line
                })
                .chain(images)
                .collect()
        },
    },
    Kind {
        name: "tinkerbell.template",
        summary: "the Harvester install Template",
        target: Target::Platform,
        preview: Preview::Apply,
        required: &[
            "namespace",
            "name",
            "harvester_version",
            "pxe_base_url",
            "artifacts",
            "metadata_url",
            "template",
            "image2disk_image",
            "configure_image",
            "reboot_image",
        ],
        optional: &[],
        describe: |p| {
            let disk_image = p
                .0
                .get("artifacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|artifact| artifact.get("role").and_then(Value::as_str) == Some("disk-image"))
                .and_then(|artifact| artifact.get("file"))
                .map_or_else(|| "(no disk-image artifact)".to_owned(), display);
            vec![format!(
                "apply Template {}/{}: stream Harvester {} ({}/{disk_image}) to the install disk, configure it from {}, reboot",
                p.text("namespace"),
                p.text("name"),
                p.text("harvester_version"),
                p.text("pxe_base_url").trim_end_matches('/'),
                p.text("metadata_url")
            )]
        },
    },
    Kind {
        name: "rufio.machine",
        summary: "a BMC registered with Rufio and contactable",
        target: Target::Platform,
        preview: Preview::Apply,
        required: &[
            "namespace",
            "machine",
            "host",
            "port",
            "protocol",
            "username",
            "password",
        ],
        optional: &["insecure_tls"],
        describe: |p| {
            let namespace = p.text("namespace");
            let machine = p.text("machine");
            vec![
                format!(
                    "apply Secret {namespace}/bmc-{machine}: username {}, password {}",
                    p.text("username"),
                    p.text("password")
                ),
                format!(
                    "apply Machine {namespace}/{machine}: {} at {}:{}",
                    p.text("protocol"),
                    p.text("host"),
                    p.text("port")
                ),
                format!("wait until Machine {machine} is Contactable"),
            ]
        },
    },
    Kind {
        name: "tinkerbell.hardware",
        summary: "a Hardware with the machine's Harvester install configuration",
        target: Target::Platform,
        preview: Preview::Apply,
        required: &[
            "namespace",
            "machine",
            "role",
            "mac",
            "ip",
            "netmask",
            "gateway",
            "install_disk",
            "vip",
            "token",
            "os_password",
        ],
        optional: &[
            "uefi",
            "data_disk",
            "dns_servers",
            "ntp_servers",
            "ssh_authorized_keys",
            "tls_sans",
        ],
        describe: |p| {
            let mut lines = vec![
                format!(
                    "apply Hardware {}/{}: MAC {}, IP {}/{} via {}, netboot allowed, BMC {}",
                    p.text("namespace"),
                    p.text("machine"),
                    p.text("mac"),
                    p.text("ip"),
                    p.text("netmask"),
                    p.text("gateway"),
                    p.text("machine")
                ),
                format!(
                    "with user data: the Harvester install config, mode {}, disk {}, VIP {}, token {}, password {}",
                    p.text("role"),
                    p.text("install_disk"),
                    p.text("vip"),
                    p.text("token"),
                    p.text("os_password")
                ),
            ];
            let sans = p.text("tls_sans");
            if !sans.is_empty() && sans != "?" {
                lines.push(format!(
                    "and an RKE2 drop-in adding {sans} to the Harvester API certificate"
                ));
            }
            lines
        },
    },
    Kind {
        name: "tinkerbell.install",
        summary: "PXE-boot a machine into the Harvester installer and wait for the install",
        target: Target::Platform,
        preview: Preview::Apply,
        required: &["namespace", "machine", "template", "mac"],
        optional: &[],
        describe: |p| {
            let machine = p.text("machine");
            vec![
                format!(
                    "apply Workflow {}/harvester-install-{machine}-<attempt> from Template {} (netboot through the BMC, then netboot off)",
                    p.text("namespace"),
                    p.text("template")
                ),
                format!(
                    "power-cycle {machine} into PXE through its BMC (off, one-time network boot, on)"
                ),
                "wait until the workflow succeeds, action by action".to_owned(),
            ]
        },
    },
    Kind {
        name: "harvester.api",
        summary: "the Harvester API answers at the VIP; its kubeconfig fetched over SSH",
        target: Target::Harvester,
        preview: Preview::Check,
        required: &[
            "vip",
            "api_port",
            "first_node",
            "first_node_ip",
            "ssh_port",
            "ssh_user",
            "ssh_key",
        ],
        optional: &[],
        describe: |p| {
            vec![
                format!(
                    "wait until https://{}:{}/readyz answers TLS and HTTP (anonymously: RKE2 answers 401)",
                    p.text("vip"),
                    p.text("api_port")
                ),
                format!(
                    "read /etc/rancher/rke2/rke2.yaml as {}@{} ({}) over SSH with key {}; host key checked against the state dir",
                    p.text("ssh_user"),
                    p.text("first_node"),
                    p.text("first_node_ip"),
                    p.text("ssh_key")
                ),
                format!(
                    "point its server at https://{}:{} and keep it (0600) in the state dir",
                    p.text("vip"),
                    p.text("api_port")
                ),
                "wait until /readyz says ok with that kubeconfig's CA and credentials".to_owned(),
            ]
        },
    },
    Kind {
        name: "harvester.quorum",
        summary: "Harvester nodes Ready and promoted to a control-plane quorum",
        target: Target::Harvester,
        preview: Preview::Check,
        required: &["nodes"],
        optional: &["promotion_stall"],
        describe: |p| {
            vec![format!(
                "watch Harvester Nodes until {} are Ready with the control-plane and etcd roles and promotion complete",
                p.text("nodes")
            )]
        },
    },
    Kind {
        name: "argocd.cluster-secret",
        summary: "the Argo CD cluster Secret for Harvester, and proof that its credentials work",
        target: Target::Platform,
        preview: Preview::DependsOnEarlier,
        required: &["namespace", "cluster_name", "server"],
        optional: &["secret_name", "labels"],
        describe: |p| {
            let server = p.text("server");
            let name =
                p.0.get("secret_name")
                    .and_then(Value::as_str)
                    .map_or_else(|| p.text("cluster_name"), str::to_owned);
            let mut labels = vec!["argocd.argoproj.io/secret-type=cluster".to_owned()];
            if let Some(extra) = p.0.get("labels").and_then(Value::as_object) {
                labels.extend(
                    extra
                        .iter()
                        .map(|(key, value)| format!("{key}={}", display(value))),
                );
            }
            vec![
                format!(
                    "apply Secret {}/{name}: labels {}, server {server}, TLS client credentials from the Harvester kubeconfig (never shown)",
                    p.text("namespace"),
                    labels.join(", ")
                ),
                format!(
                    "prove the credentials: an authenticated request to {server} with exactly the Secret's config"
                ),
            ]
        },
    },
    Kind {
        name: "harvester.vm-network",
        summary: "a VLAN network for VMs on Harvester",
        target: Target::Harvester,
        preview: Preview::Apply,
        required: &["namespace", "name", "vlan"],
        optional: &["cluster_network"],
        describe: |p| {
            let cluster_network = match p.0.get("cluster_network") {
                Some(_) => p.text("cluster_network"),
                None => "mgmt".to_owned(),
            };
            vec![format!(
                "apply NetworkAttachmentDefinition {}/{}: bridge {cluster_network}-br, VLAN {}, labelled as a Harvester L2VlanNetwork",
                p.text("namespace"),
                p.text("name"),
                p.text("vlan")
            )]
        },
    },
    Kind {
        name: "harvester.vm-image",
        summary: "a VM boot image downloaded by Harvester",
        target: Target::Harvester,
        preview: Preview::Apply,
        required: &["namespace", "name", "display_name", "url"],
        optional: &["checksum"],
        describe: |p| {
            vec![
                format!(
                    "apply VirtualMachineImage {}/{}: download {}",
                    p.text("namespace"),
                    p.text("name"),
                    p.text("url")
                ),
                "wait until the image is imported".to_owned(),
            ]
        },
    },
    Kind {
        name: "kubevirt.userdata-secret",
        summary: "a VM's cloud-init NoCloud user data, as a Secret",
        target: Target::Harvester,
        preview: Preview::Apply,
        required: &["namespace", "vm", "mac", "user_data"],
        optional: &[],
        describe: |p| {
            vec![format!(
                "apply Secret {}/{}-userdata on Harvester: key userdata = {} (never shown), key networkdata = DHCP on {}",
                p.text("namespace"),
                p.text("vm"),
                p.text("user_data"),
                p.text("mac")
            )]
        },
    },
    Kind {
        name: "kubevirt.vm",
        summary: "a KubeVirt VirtualMachine, running",
        target: Target::Harvester,
        preview: Preview::Apply,
        required: &[
            "namespace",
            "name",
            "network",
            "mac",
            "cpu_cores",
            "memory",
            "disk",
            "image",
        ],
        optional: &["manifest"],
        describe: |p| {
            if p.0.get("manifest").is_some() {
                return vec![
                    format!(
                        "apply VirtualMachine {}/{} from the operator's manifest",
                        p.text("namespace"),
                        p.text("name")
                    ),
                    "wait until the VM runs and reports ready".to_owned(),
                ];
            }
            vec![
                format!(
                    "apply VirtualMachine {}/{}: {} cores, {} memory, {} root disk from image {}, NIC {} on network {}, runStrategy Always, never on a host with another control-plane VM, live-migrated on drain",
                    p.text("namespace"),
                    p.text("name"),
                    p.text("cpu_cores"),
                    p.text("memory"),
                    p.text("disk"),
                    p.text("image"),
                    p.text("mac"),
                    p.text("network")
                ),
                "wait until the VM runs and reports ready".to_owned(),
            ]
        },
    },
    Kind {
        name: "kube.node-joined",
        summary: "a node joined a cluster, Ready, with a role",
        target: Target::Platform,
        preview: Preview::Check,
        required: &["cluster", "node", "role"],
        optional: &[],
        describe: |p| {
            vec![format!(
                "watch {} Nodes until `{}` is Ready with the {} role",
                p.text("cluster"),
                p.text("node"),
                p.text("role")
            )]
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_unique_and_parameters_do_not_overlap() {
        let mut names: Vec<&str> = names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        for kind in KINDS {
            for required in kind.required {
                assert!(
                    !kind.optional.contains(required),
                    "{}: {required}",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn every_kind_has_a_typed_check() {
        for kind in KINDS {
            assert!(
                check_types(kind.name, &serde_json::json!({})).is_some(),
                "kind `{}` has no typed parameter check in check_types",
                kind.name
            );
        }
    }

    #[test]
    fn a_wrongly_typed_parameter_is_named_with_its_expected_type() {
        let error = check_types("argocd.present", &serde_json::json!({"namespace": [1, 2]}))
            .expect("known kind")
            .expect_err("a list is not a namespace");
        assert_eq!(error.param, "namespace");
        assert!(error.message.contains("expected a string"), "{error:?}");
        let error = check_types(
            "http.artifacts",
            &serde_json::json!({"base_url": "http://h", "artifacts": [{"role": "iso", "file": "f", "size": "big"}]}),
        )
        .expect("known kind")
        .expect_err("a size is a number");
        assert_eq!(error.param, "artifacts[0].size");
    }

    #[test]
    fn secrets_are_described_by_name() {
        let params = serde_json::json!({"namespace": "tink", "machine": "m1", "host": "h",
            "port": 1, "protocol": "ipmi", "username": {"secret": "bmc.m1.username"},
            "password": {"secret": "bmc.m1.password"}});
        let lines = (find("rufio.machine").expect("known kind").describe)(&Params(&params));
        assert!(lines[0].contains("<secret bmc.m1.password>"), "{lines:?}");
    }
}
