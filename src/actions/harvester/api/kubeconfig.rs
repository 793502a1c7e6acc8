//! `harvester.api`'s kubeconfig: the fetched file pointed at the VIP with its secrets
//! registered with the scrubber, written privately, and exported to the operator's own file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use genesis_engine::{ActionError, ErrorKind};
use serde_json::Value;

use crate::actions::harvester::register_secrets;

/// Where RKE2 writes the admin kubeconfig on a server node.
pub const RKE2_KUBECONFIG: &str = "/etc/rancher/rke2/rke2.yaml";

/// A copy of the fetched kubeconfig for the operator: `--write-harvester-kubeconfig FILE`
/// adds it to FILE as the context `context` (one cluster, user and context of that name).
#[derive(Debug, Clone)]
pub struct KubeconfigExport {
    pub file: PathBuf,
    pub context: String,
}

impl KubeconfigExport {
    /// The context name for a lab: `harvester-<lab name>`.
    pub fn for_lab(file: PathBuf, lab_name: &str) -> Self {
        Self {
            file,
            context: format!("harvester-{lab_name}"),
        }
    }

    /// Adds the kubeconfig to the file as the named context, keeping the file's other
    /// entries, and writes it 0600.
    pub(super) fn write(&self, kubeconfig: &Value) -> Result<(), ActionError> {
        let shown = self.file.display().to_string();
        let existing = match std::fs::read_to_string(&self.file) {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(serde_saphyr::from_str::<Value>(&text).map_err(|error| {
                ActionError::new(
                    ErrorKind::InvalidParams,
                    format!("{shown} (--write-harvester-kubeconfig) is not a kubeconfig (YAML: {error}); name a kubeconfig file or a new file"),
                )
            })?),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(ActionError::with_source(
                    ErrorKind::Io,
                    format!("cannot read {shown} (--write-harvester-kubeconfig)"),
                    error,
                ));
            }
        };
        // The operator's file may hold other credentials: keep them out of any output.
        if let Some(existing) = &existing {
            register_secrets(existing);
        }
        let merged =
            crate::clients::kube::with_named_context(existing, kubeconfig, &self.context, &shown)
                .map_err(|error| {
                ActionError::with_source(
                    ErrorKind::InvalidParams,
                    format!("cannot add context `{}` to {shown}", self.context),
                    error,
                )
            })?;
        let yaml = serde_saphyr::to_string(&merged).map_err(|error| {
            ActionError::new(
                ErrorKind::Io,
                format!("cannot write {shown} as YAML: {error}"),
            )
        })?;
        write_private(&self.file, &yaml)
    }
}

/// The kubeconfig with every cluster's server set to `server`, and the secret values in it
/// (client keys, tokens, passwords) registered with the scrubber before anything else.
pub(super) fn rewrite_kubeconfig(text: &str, server: &str) -> Result<Value, ActionError> {
    let mut kubeconfig: Value = serde_saphyr::from_str(text).map_err(|error| {
        ActionError::new(
            ErrorKind::CommandFailed,
            format!("{RKE2_KUBECONFIG} is not a kubeconfig (YAML: {error})"),
        )
    })?;
    register_secrets(&kubeconfig);
    let clusters = kubeconfig
        .get_mut("clusters")
        .and_then(Value::as_array_mut)
        .filter(|clusters| !clusters.is_empty())
        .ok_or_else(|| {
            ActionError::new(
                ErrorKind::CommandFailed,
                format!("{RKE2_KUBECONFIG} has no clusters"),
            )
        })?;
    for cluster in clusters {
        if let Some(cluster) = cluster.get_mut("cluster").and_then(Value::as_object_mut) {
            cluster.insert("server".to_owned(), Value::String(server.to_owned()));
        }
    }
    Ok(kubeconfig)
}

/// Writes `contents` to `path` with mode 0600, atomically (a private temporary file, renamed).
pub(super) fn write_private(path: &Path, contents: &str) -> Result<(), ActionError> {
    let io = |what: String| {
        move |error: std::io::Error| ActionError::with_source(ErrorKind::Io, what, error)
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(io(format!("cannot create {}", parent.display())))?;
    }
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .map_err(io(format!("cannot write {}", temporary.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io(format!("cannot make {} private", temporary.display())))?;
    }
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(format!("cannot write {}", temporary.display())))?;
    std::fs::rename(&temporary, path).map_err(io(format!("cannot write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn the_server_points_at_the_vip_and_the_client_key_is_scrubbed() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIUnitTestOnlyKeyMaterialLine1xxxxxxxxxxxxx\nAwEHoUQDQgAEUnitTestOnlyKeyMaterialLine2yyyyyyyyyy\n-----END EC PRIVATE KEY-----\n";
        let key_data = base64::engine::general_purpose::STANDARD.encode(pem);
        let text = format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://127.0.0.1:6443\n  name: default\ncontexts:\n- context: {{cluster: default, user: default}}\n  name: default\ncurrent-context: default\nkind: Config\nusers:\n- name: default\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: {key_data}\n"
        );
        let rewritten =
            rewrite_kubeconfig(&text, "https://10.10.10.20:6443").expect("a kubeconfig");
        assert_eq!(
            rewritten["clusters"][0]["cluster"]["server"],
            "https://10.10.10.20:6443"
        );
        assert_eq!(rewritten["users"][0]["user"]["client-key-data"], key_data);
        let scrubber = genesis_engine::Scrubber::empty();
        for leak in [
            key_data.as_str(),
            pem,
            "MHcCAQEEIUnitTestOnlyKeyMaterialLine1xxxxxxxxxxxxx",
        ] {
            assert_eq!(scrubber.scrub(&format!("x {leak} y")), "x [redacted] y");
        }
        assert!(rewrite_kubeconfig("clusters: []", "https://x").is_err());
    }

    #[test]
    fn the_export_adds_a_named_context_to_the_operators_file_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("kube/config");
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Config\ncurrent-context: platform\nclusters:\n- name: platform\n  cluster: {server: 'https://p:6443'}\nusers:\n- name: platform\n  user: {token: operator-token-value}\ncontexts:\n- name: platform\n  context: {cluster: platform, user: platform}\n",
        )
        .expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let fetched = rewrite_kubeconfig(
            "clusters:\n- name: default\n  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: Q0E=}\nusers:\n- name: default\n  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}\ncontexts:\n- name: default\n  context: {cluster: default, user: default}\ncurrent-context: default\n",
            "https://10.10.10.20:6443",
        )
        .expect("kubeconfig");
        let export = KubeconfigExport::for_lab(file.clone(), "reference-lab");
        assert_eq!(export.context, "harvester-reference-lab");
        export.write(&fetched).expect("written");
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let written: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&file).expect("read")).expect("YAML");
        assert_eq!(written["current-context"], "platform");
        assert_eq!(written["users"][0]["user"]["token"], "operator-token-value");
        let kubeconfig: kube::config::Kubeconfig =
            serde_json::from_value(written.clone()).expect("a kubeconfig");
        let names: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["platform", "harvester-reference-lab"]);
        assert_eq!(
            written["clusters"][1]["cluster"]["server"],
            "https://10.10.10.20:6443"
        );
        // The operator's other credentials are scrubbed from output too.
        assert_eq!(
            genesis_engine::Scrubber::empty().scrub("operator-token-value"),
            "[redacted]"
        );
        // Not a kubeconfig: refused, the file left alone.
        let other = dir.path().join("notes.yaml");
        std::fs::write(&other, "- a\n- list\n").expect("write");
        let error = KubeconfigExport::for_lab(other.clone(), "lab")
            .write(&fetched)
            .expect_err("not a kubeconfig");
        assert!(error.to_string().contains("notes.yaml"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&other).expect("read"),
            "- a\n- list\n"
        );
    }
}
