//! The secrets a rehearsal runs with: one stand-in for every secret of the operator's file, of
//! the shape its uses need, so that `genesis up` reads, checks and hands them on exactly as it
//! would the real ones, while no value of the operator's is ever written (not to the
//! rehearsal's files, not to its API servers).
//!
//! - one-line values (passwords, user names, tokens): `rehearsal-stand-in-N`;
//! - the SSH private key: the key the rehearsal's sshd accepts (the operator's key would not
//!   open it anyway);
//! - a machine configuration (a YAML mapping): only the fields genesis and the lab simulator
//!   read, none of them secret: `version`, `machine.type`, `machine.network.hostname`,
//!   `machine.features.stableHostname`, `cluster.controlPlane.endpoint`, `cluster.clusterName`,
//!   and a `HostnameConfig` document's `apiVersion`, `kind`, `hostname` and `auto`
//!   ([`crate::inputs::talos`] lists why genesis reads them). Keys, certificates, tokens and
//!   every other field are left out.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::inputs::secret_values::SecretUse;
use crate::secrets::{SecretFormat, Secrets};

/// Paths (JSON pointers) of a v1alpha1 Talos document that a stand-in keeps.
const TALOS_KEPT: [&str; 6] = [
    "/version",
    "/machine/type",
    "/machine/network/hostname",
    "/machine/features/stableHostname",
    "/cluster/controlPlane/endpoint",
    "/cluster/clusterName",
];
/// Fields of a `HostnameConfig` document that a stand-in keeps.
const HOSTNAME_CONFIG_KEPT: [&str; 4] = ["/apiVersion", "/kind", "/hostname", "/auto"];

/// The stand-in secrets file (YAML) for `secrets`: every name of the operator's file, nested
/// by its dots as the file nests them.
pub fn file(secrets: &Secrets, uses: &[SecretUse], ssh_key: &str) -> Result<String, String> {
    let mut root = Map::new();
    for (index, name) in secrets.names().enumerate() {
        let format = uses
            .iter()
            .find(|use_| use_.name == name)
            .map_or(SecretFormat::Line, |use_| use_.format);
        let value = match format {
            SecretFormat::Line | SecretFormat::HarvesterToken => line_value(index),
            SecretFormat::SshPrivateKey => ssh_key.to_owned(),
            SecretFormat::YamlMapping => {
                let original = secrets.get(name).map(|value| value.expose()).unwrap_or("");
                machine_config(original)
            }
        };
        insert(&mut root, name, value);
    }
    serde_saphyr::to_string(&Value::Object(root))
        .map(|yaml| {
            format!(
                "# Stand-in secrets of a rehearsal (`genesis rehearse`, docs/rehearse.md): none is\n\
                 # the operator's. Removed with the rehearsal.\n{yaml}"
            )
        })
        .map_err(|error| format!("write the stand-in secrets: {error}"))
}

/// The one-line stand-in of the secret at `index` in the secrets file's order.
fn line_value(index: usize) -> String {
    format!("rehearsal-stand-in-{}", index + 1)
}

/// The stand-in of the one-line secret `name` (what [`file`] writes for it), if the file has it.
pub fn line_stand_in(secrets: &Secrets, name: &str) -> Option<String> {
    secrets
        .names()
        .position(|candidate| candidate == name)
        .map(line_value)
}

/// Each machine's BMC credentials as the rehearsal's stand-ins, from the `rufio.machine` steps'
/// `username` and `password` references: what the emulated BMCs accept.
pub fn bmc_credentials(
    secrets: &Secrets,
    steps: &[genesis_engine::StepSpec],
) -> Vec<genesis_rehearse::BmcCredentials> {
    let reference = |value: &Value| -> Option<String> {
        match value.get("secret").and_then(Value::as_str) {
            Some(name) => line_stand_in(secrets, name),
            None => value.as_str().map(str::to_owned),
        }
    };
    steps
        .iter()
        .filter(|step| step.kind == "rufio.machine")
        .filter_map(|step| {
            Some(genesis_rehearse::BmcCredentials {
                machine: step.params.get("machine")?.as_str()?.to_owned(),
                username: reference(step.params.get("username")?)?,
                password: reference(step.params.get("password")?)?,
            })
        })
        .collect()
}

fn insert(root: &mut Map<String, Value>, name: &str, value: String) {
    let mut parts: Vec<&str> = name.split('.').collect();
    let last = parts.pop().unwrap_or(name);
    let mut node = root;
    for part in parts {
        let entry = node
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        node = next;
    }
    node.insert(last.to_owned(), Value::String(value));
}

/// A machine configuration with only its non-secret fields (see the module's documentation);
/// a mapping that is no Talos configuration becomes `{rehearsal: stand-in}`.
pub fn machine_config(original: &str) -> String {
    let documents: Vec<Value> = serde_saphyr::from_multiple(original).unwrap_or_default();
    let mut kept = Vec::new();
    for document in &documents {
        let fields: &[&str] = match (
            document.get("kind").and_then(Value::as_str),
            document.get("version").and_then(Value::as_str),
        ) {
            (Some("HostnameConfig"), _) => &HOSTNAME_CONFIG_KEPT,
            (None, Some("v1alpha1")) => &TALOS_KEPT,
            _ => continue,
        };
        let mut out = Value::Object(Map::new());
        for pointer in fields {
            if let Some(value) = document.pointer(pointer) {
                set(&mut out, pointer, value.clone());
            }
        }
        kept.push(out);
    }
    if kept.is_empty() {
        kept.push(json!({"rehearsal": "stand-in"}));
    }
    kept.iter()
        .map(|document| serde_saphyr::to_string(document).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

fn set(out: &mut Value, pointer: &str, value: Value) {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let mut node = out;
    for part in &parts[..parts.len() - 1] {
        node = node
            .as_object_mut()
            .map(|map| {
                map.entry((*part).to_owned())
                    .or_insert_with(|| Value::Object(Map::new()))
            })
            .expect("objects all the way down");
    }
    if let Some(map) = node.as_object_mut() {
        map.insert(parts[parts.len() - 1].to_owned(), value);
    }
}

/// The secret values of `secrets` that a rehearsal must never write or print: every one-line
/// value and key line, and every scalar of a machine configuration the stand-in leaves out.
/// (Used by the tests' leak search.)
pub fn never_written(secrets: &Secrets) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for name in secrets.names() {
        let Some(value) = secrets.get(name) else {
            continue;
        };
        let text = value.expose();
        if !text.contains('\n') {
            out.insert(name.to_owned(), text.to_owned());
            continue;
        }
        let documents: Vec<Value> = serde_saphyr::from_multiple(text).unwrap_or_default();
        if documents.is_empty() {
            // A key: each of its body lines.
            for (index, line) in text.lines().enumerate() {
                if !line.starts_with("-----") && line.trim().len() >= 16 {
                    out.insert(format!("{name}[{index}]"), line.trim().to_owned());
                }
            }
            continue;
        }
        let kept = machine_config(text);
        for document in &documents {
            scalars(document, "", &mut |pointer, scalar| {
                if !kept.contains(scalar) {
                    out.insert(format!("{name}{pointer}"), scalar.to_owned());
                }
            });
        }
    }
    out
}

fn scalars(value: &Value, pointer: &str, found: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::String(text) => found(pointer, text),
        Value::Object(map) => {
            for (key, child) in map {
                scalars(child, &format!("{pointer}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                scalars(child, &format!("{pointer}/{index}"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "version: v1alpha1\nmachine:\n  type: controlplane\n  token: secret-machine-token\n  ca: {crt: Q1JU, key: S0VZ}\n  network: {hostname: cp-2}\ncluster:\n  secret: cluster-secret-xyz\n  controlPlane: {endpoint: 'https://10.10.10.15:6443'}\n  clusterName: platform\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: cp-2\n---\napiVersion: v1alpha1\nkind: SideroLinkConfig\napiUrl: https://siderolink.example/?jointoken=secret-join\n";

    #[test]
    fn a_machine_configuration_keeps_only_what_genesis_reads() {
        let stand_in = machine_config(CONFIG);
        let parsed = crate::inputs::talos::MachineConfig::parse(&stand_in).unwrap();
        let original = crate::inputs::talos::MachineConfig::parse(CONFIG).unwrap();
        assert_eq!(parsed, original);
        for secret in [
            "secret-machine-token",
            "Q1JU",
            "S0VZ",
            "cluster-secret-xyz",
            "secret-join",
        ] {
            assert!(!stand_in.contains(secret), "{secret} in {stand_in}");
        }
        assert!(stand_in.contains("clusterName: platform"), "{stand_in}");
    }

    #[test]
    fn every_secret_gets_a_stand_in_of_its_shape_and_none_is_the_operator_s() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::inputs::reference_paths(dir.path());
        let inputs = crate::inputs::load(&paths).unwrap();
        let check = crate::inputs::check_secrets(&paths, &crate::inputs::LoadOptions::default());
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nthe world's key\n-----END OPENSSH PRIVATE KEY-----\n";
        let text = file(&inputs.secrets, &check.uses, key).unwrap();
        let path = dir.path().join("stand-ins.yaml");
        std::fs::write(&path, &text).unwrap();
        let stand_ins = Secrets::parse(&path, &text).unwrap();
        let names: Vec<&str> = inputs.secrets.names().collect();
        assert_eq!(stand_ins.names().collect::<Vec<_>>(), names);
        assert_eq!(stand_ins.get("ssh.private_key").unwrap().expose(), key);
        for use_ in &check.uses {
            let value = stand_ins.get(&use_.name).unwrap();
            if use_.format != SecretFormat::SshPrivateKey {
                assert_eq!(use_.format.check(value), Ok(()), "{}", use_.name);
            }
        }
        let bmcs = bmc_credentials(&inputs.secrets, inputs.graph.steps());
        assert_eq!(bmcs.len(), 3);
        assert_eq!(bmcs[1].machine, "ms-02-2");
        assert_eq!(
            Some(bmcs[1].password.as_str()),
            stand_ins
                .get("bmc.ms-02-2.password")
                .map(|value| value.expose())
        );
        let secret_values = never_written(&inputs.secrets);
        assert!(secret_values.len() > 10, "{secret_values:?}");
        for (name, value) in secret_values {
            assert!(!text.contains(&value), "{name}'s value is in the stand-ins");
        }
    }
}
