//! `tinkerbell.hardware` (step 7): a machine's `Hardware`, with its Harvester install
//! configuration (harvester-installer's config file) as user data.

use std::sync::Arc;

use genesis_engine::{ActionError, ErrorKind, Outputs, StepSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MANAGED_BY, OneObject, SingleObject, hardware_resource};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::support::{SecretRef, params};
use crate::clients::kube::LazyClient;
use crate::clients::kube::apply::Object;
use crate::secrets::Secrets;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HardwareParams {
    namespace: String,
    machine: String,
    role: String,
    mac: String,
    ip: String,
    netmask: String,
    /// Required, and may be null (a lab without a gateway): `genesis validate` has always
    /// asked for the key.
    #[serde(deserialize_with = "nullable")]
    gateway: Option<String>,
    #[serde(default = "yes")]
    uefi: bool,
    install_disk: String,
    data_disk: Option<String>,
    vip: String,
    #[serde(default)]
    dns_servers: Vec<String>,
    #[serde(default)]
    ntp_servers: Vec<String>,
    #[serde(default)]
    ssh_authorized_keys: Vec<String>,
    /// Extra names (DNS names or addresses) for the serving certificate of the Harvester API
    /// (RKE2's kube-apiserver), e.g. the hostname Argo CD reaches it by.
    #[serde(default)]
    tls_sans: Vec<String>,
    token: SecretRef,
    os_password: SecretRef,
}

/// The RKE2 config drop-in through which genesis adds `tls_sans` to the API certificate. RKE2
/// reads `/etc/rancher/rke2/config.yaml.d/*.yaml` in name order after `config.yaml`, and a key
/// ending in `+` appends to the value of the files before it (k3s-io/k3s
/// pkg/configfilearg/parser.go `readConfigFile`), so the VIP that harvester-installer writes as
/// `tls-san` in `90-harvester-server.yaml` stays.
pub const TLS_SAN_DROP_IN: &str = "/etc/rancher/rke2/config.yaml.d/95-genesis-tls-san.yaml";

/// An `Option` whose key must be present (a missing key is an error; `null` is `None`).
fn nullable<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer)
}

fn yes() -> bool {
    true
}

/// The `tinkerbell.hardware` action.
#[derive(Debug)]
pub struct Hardware {
    client: Arc<LazyClient>,
    secrets: Secrets,
}

impl Hardware {
    pub fn new(client: Arc<LazyClient>, secrets: Secrets) -> Self {
        Self { client, secrets }
    }

    /// The Harvester install configuration (harvester-installer's config file), per machine:
    /// the first node creates the cluster at the VIP, the others join through it.
    fn harvester_config(params: &HardwareParams, token: &str, password: &str) -> Value {
        let mut management = json!({
            "interfaces": [{"hwAddr": params.mac}],
            "method": "static",
            "ip": params.ip,
            "subnet_mask": params.netmask,
        });
        if let Some(gateway) = &params.gateway {
            management["gateway"] = json!(gateway);
        }
        let mut install = json!({
            "mode": params.role,
            "automatic": true,
            "device": params.install_disk,
            "management_interface": management,
        });
        if let Some(data_disk) = &params.data_disk {
            install["data_disk"] = json!(data_disk);
        }
        let mut config = json!({
            "scheme_version": 1,
            "token": token,
            "os": {
                "hostname": params.machine,
                "password": password,
                "ssh_authorized_keys": params.ssh_authorized_keys,
                "dns_nameservers": params.dns_servers,
                "ntp_servers": params.ntp_servers,
            },
            "install": install,
        });
        if !params.tls_sans.is_empty() {
            // harvester-installer writes `os.write_files` into the installed system on every
            // boot of every node (pkg/config/cos.go), unlike the top-level `sans`, which only
            // the node that creates the cluster gets (its 90-harvester-server.yaml); a node
            // promoted to control plane later would serve a certificate without the name.
            let content = format!(
                "# Written by genesis: names of the Harvester API besides RKE2's defaults.\ntls-san+:\n{}",
                params
                    .tls_sans
                    .iter()
                    .map(|name| format!(
                        "  - {}\n",
                        serde_json::to_string(name).unwrap_or_default()
                    ))
                    .collect::<String>()
            );
            config["os"]["write_files"] = json!([{
                "path": TLS_SAN_DROP_IN,
                "content": content,
                "permissions": "0600",
            }]);
        }
        if params.role == "create" {
            config["install"]["vip"] = json!(params.vip);
            config["install"]["vip_mode"] = json!("static");
        } else {
            config["server_url"] = json!(format!("https://{}:443", params.vip));
        }
        config
    }

    fn body(&self, params: &HardwareParams) -> Result<Value, ActionError> {
        let config = Self::harvester_config(
            params,
            params.token.value(&self.secrets)?,
            params.os_password.value(&self.secrets)?,
        );
        let user_data = serde_saphyr::to_string(&config).map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                "cannot write the Harvester configuration",
                error,
            )
        })?;
        let mut dhcp = json!({
            "mac": params.mac.to_ascii_lowercase(),
            "hostname": params.machine,
            "arch": "x86_64",
            "uefi": params.uefi,
            "lease_time": 86400,
            "name_servers": params.dns_servers,
            "ip": {"address": params.ip, "netmask": params.netmask, "family": 4},
        });
        if let Some(gateway) = &params.gateway {
            dhcp["ip"]["gateway"] = json!(gateway);
        }
        Ok(json!({
            "apiVersion": "tinkerbell.org/v1alpha1",
            "kind": "Hardware",
            "metadata": {"name": params.machine, "namespace": params.namespace, "labels": {MANAGED_BY: "genesis"}},
            "spec": {
                "bmcRef": {"apiGroup": "bmc.tinkerbell.org", "kind": "Machine", "name": params.machine},
                "disks": [{"device": params.install_disk}],
                // allowPXE is left to the Workflow's toggleAllowNetboot: on for the install, off
                // after it, so the machine then boots the installed system.
                "interfaces": [{"dhcp": dhcp, "netboot": {"allowWorkflow": true}}],
                "userData": user_data,
            },
        }))
    }
}

impl SingleObject for Hardware {
    fn client(&self) -> &LazyClient {
        &self.client
    }

    fn object(&self, step: &StepSpec) -> Result<(Object, Outputs), ActionError> {
        let params: HardwareParams = params(step)?;
        // The user data holds the cluster token and password: the plan shows it as changed or
        // unchanged, never by value.
        let object = Object::namespaced(
            hardware_resource(),
            &params.namespace,
            &params.machine,
            self.body(&params)?,
            "Hardware",
        )
        .hiding(&["/spec/userData"]);
        let mut outputs = Outputs::new();
        outputs.insert("hardware".to_owned(), params.machine.clone().into());
        outputs.insert("mode".to_owned(), params.role.clone().into());
        Ok((object, outputs))
    }
}

/// `tinkerbell.hardware`: a machine's Hardware.
/// The Hardware the step applies (on the platform cluster).
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    match (text(p, "namespace"), text(p, "machine")) {
        (Some(namespace), Some(name)) => {
            vec![OwnedObject::named(
                Cluster::Platform,
                super::hardware_resource(),
                namespace,
                name,
            )]
        }
        _ => Vec::new(),
    }
}

pub(crate) const KIND: Definition = Definition {
    name: "tinkerbell.hardware",
    summary: "a Hardware with the machine's Harvester install configuration",
    target: Target::Platform,
    preview: Preview::Apply,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<HardwareParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("machine", NameRule::Object),
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
    build: Build::Remote(|clusters| {
        OneObject::action(Hardware::new(
            Arc::clone(&clusters.platform),
            clusters.secrets.clone(),
        ))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_node_creates_at_the_vip_and_others_join_through_it() {
        let mut params = HardwareParams {
            namespace: "tink-system".into(),
            machine: "ms-02-1".into(),
            role: "create".into(),
            mac: "02:00:00:0a:0a:0b".into(),
            ip: "10.10.10.11".into(),
            netmask: "255.255.255.0".into(),
            gateway: Some("10.10.10.1".into()),
            uefi: true,
            install_disk: "/dev/nvme0n1".into(),
            data_disk: None,
            vip: "10.10.10.20".into(),
            dns_servers: vec![],
            ntp_servers: vec![],
            ssh_authorized_keys: vec![],
            tls_sans: vec!["harvester.lab.local".into()],
            token: SecretRef { secret: "t".into() },
            os_password: SecretRef { secret: "p".into() },
        };
        let create = Hardware::harvester_config(&params, "tok", "pw");
        assert_eq!(create["install"]["mode"], "create");
        assert_eq!(create["install"]["vip"], "10.10.10.20");
        assert!(create.get("server_url").is_none());
        params.role = "join".into();
        let join = Hardware::harvester_config(&params, "tok", "pw");
        assert_eq!(join["server_url"], "https://10.10.10.20:443");
        assert!(join["install"].get("vip").is_none());
        assert_eq!(join["token"], "tok");
        // Every node, joining ones included, carries the drop-in with the extra name.
        for config in [&create, &join] {
            let file = &config["os"]["write_files"][0];
            assert_eq!(file["path"], TLS_SAN_DROP_IN);
            let drop_in: Value =
                serde_saphyr::from_str(file["content"].as_str().expect("content")).expect("YAML");
            assert_eq!(drop_in["tls-san+"], json!(["harvester.lab.local"]));
        }
    }
}
