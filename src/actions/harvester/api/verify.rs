//! Step 9 checked on every `genesis up`: RKE2 rotates the admin client certificate in
//! `rke2.yaml` (on restart when it nears expiry, or by `rke2 certificate rotate`), and then the
//! kubeconfig genesis keeps, and the Argo CD Secret minted from it (step 12), are stale. One SSH
//! session reads the node's file again; the step runs again (and so does what needs it) when
//! it differs from the kept copy. Nothing of either file is shown, only which part changed.

use std::time::{Duration, SystemTime};

use genesis_engine::action::Verified;
use genesis_engine::{ActionError, ErrorKind, StepSpec};
use serde_json::Value;

use super::{ApiParams, HarvesterApi, KUBECONFIG_FILE, RKE2_KUBECONFIG, classify_ssh, params};
use super::{SshTarget, rewrite_kubeconfig, ssh};
use crate::actions::argocd::credentials;

/// The one SSH session of the check, connection included.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

impl HarvesterApi {
    /// Whether the kept kubeconfig is still the node's.
    pub(super) async fn check(&self, step: &StepSpec) -> Result<Verified, ActionError> {
        let params: ApiParams = params(step)?;
        let path = self.state_dir.join(KUBECONFIG_FILE);
        let kept = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Verified::Drifted {
                    what: format!("{} is gone; fetching it again", path.display()),
                });
            }
            Err(error) => {
                return Err(ActionError::with_source(
                    ErrorKind::Io,
                    format!("cannot read {}", path.display()),
                    error,
                ));
            }
        };
        let target = SshTarget {
            host: params.first_node_ip.clone(),
            port: params.ssh_port,
            user: params.ssh_user.clone(),
            known_hosts: ssh::known_hosts_path(&self.state_dir),
        };
        let key = params.ssh_key.value(&self.secrets)?;
        let command = format!("sudo cat {RKE2_KUBECONFIG}");
        let output = tokio::time::timeout(CHECK_TIMEOUT, target.run(key, &command))
            .await
            .map_err(|_| {
                ActionError::new(
                    ErrorKind::Unreachable,
                    format!(
                        "SSH to {} ({}:{}) did not finish within {} s",
                        params.first_node,
                        params.first_node_ip,
                        params.ssh_port,
                        CHECK_TIMEOUT.as_secs()
                    ),
                )
            })?
            .map_err(|error| classify_ssh(error, &params.first_node))?;
        if output.exit_status != Some(0) {
            return Err(ActionError::new(
                ErrorKind::CommandFailed,
                format!(
                    "`{command}` on {} ended with {}: {}",
                    params.first_node,
                    output
                        .exit_status
                        .map_or("no exit status".to_owned(), |code| format!(
                            "exit status {code}"
                        )),
                    output.stderr.trim()
                ),
            ));
        }
        let text = String::from_utf8(output.stdout).map_err(|error| {
            ActionError::with_source(
                ErrorKind::CommandFailed,
                format!("{RKE2_KUBECONFIG} on {} is not UTF-8", params.first_node),
                error,
            )
        })?;
        let node = rewrite_kubeconfig(&text, &Self::server(&params))?;
        // The kept copy may be unreadable YAML (edited by hand): then it differs.
        let kept: Value = serde_saphyr::from_str(&kept).unwrap_or(Value::Null);
        Ok(compare(&kept, &node, &params.first_node, SystemTime::now()))
    }
}

/// The first user's `client-certificate-data`.
fn client_certificate(kubeconfig: &Value) -> Option<&str> {
    kubeconfig
        .pointer("/users/0/user/client-certificate-data")
        .and_then(Value::as_str)
}

/// The verdict on the kept kubeconfig against the node's, both with the server at the VIP.
fn compare(kept: &Value, node: &Value, first_node: &str, now: SystemTime) -> Verified {
    if kept == node {
        return Verified::Holds;
    }
    let what = match (client_certificate(kept), client_certificate(node)) {
        (Some(old), Some(new)) if old != new => {
            let validity = credentials::from_kubeconfig_data(new)
                .ok()
                .and_then(|certificate| certificate.days_left(now))
                .map_or_else(String::new, |days| {
                    format!(" (the new one is valid for {days} more days)")
                });
            format!(
                "the Harvester client certificate in {RKE2_KUBECONFIG} on {first_node} changed{validity}; fetching it again"
            )
        }
        _ => format!("{RKE2_KUBECONFIG} on {first_node} changed; fetching it again"),
    };
    Verified::Drifted { what }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kubeconfig(certificate: &str) -> Value {
        json!({
            "clusters": [{"name": "default", "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority-data": "Q0E="}}],
            "users": [{"name": "default", "user": {"client-certificate-data": certificate, "client-key-data": "S0VZ"}}],
        })
    }

    #[test]
    fn only_a_different_file_drifts_and_a_new_certificate_is_named() {
        let now = SystemTime::now();
        let kept = kubeconfig("T0xE");
        assert_eq!(
            compare(&kept, &kept.clone(), "ms-02-1", now),
            Verified::Holds
        );
        let Verified::Drifted { what } = compare(&kept, &kubeconfig("TkVX"), "ms-02-1", now) else {
            panic!("a new certificate drifts");
        };
        assert!(
            what.starts_with(
                "the Harvester client certificate in /etc/rancher/rke2/rke2.yaml on ms-02-1 changed"
            ),
            "{what}"
        );
        assert!(!what.contains("TkVX") && !what.contains("S0VZ"), "{what}");
        let mut other = kept.clone();
        other["clusters"][0]["cluster"]["certificate-authority-data"] = json!("Q0Ey");
        let Verified::Drifted { what } = compare(&kept, &other, "ms-02-1", now) else {
            panic!("another CA drifts");
        };
        assert_eq!(
            what,
            "/etc/rancher/rke2/rke2.yaml on ms-02-1 changed; fetching it again"
        );
    }
}
