//! Step 12 checked on every `genesis up`: the Secret is minted again when the Harvester
//! credentials it carries are no longer those of the kubeconfig step 9 keeps (RKE2 rotated the
//! client certificate, and step 9 fetched the new one), or when its client certificate expires
//! in under [`credentials::RENEW_WITHIN_DAYS`] days. One GET of the Secret; the verdict names
//! what changed, never a value.

use std::time::SystemTime;

use genesis_engine::action::Verified;
use genesis_engine::events::Stream;
use genesis_engine::{ActionError, PlanContext, RunContext, StepSpec};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::Value;

use super::{ArgocdClusterSecret, ClusterSecretParams, TlsData, tls_data};
use crate::actions::argocd::credentials::{self, ClientCertificate};
use crate::actions::harvester::{kubeconfig_from_needs, params};
use crate::clients::kube::classify;

impl ArgocdClusterSecret {
    /// Whether the Secret still carries the kept kubeconfig's credentials, valid long enough.
    pub(super) async fn check(
        &self,
        step: &StepSpec,
        context: &PlanContext,
    ) -> Result<Verified, ActionError> {
        let params: ClusterSecretParams = params(step)?;
        // Without the kubeconfig of step 9 (a run that never fetched one) nothing compares.
        let Some(kubeconfig) =
            kubeconfig_from_needs(context.needs.values().map(|outputs| outputs.as_ref()))
        else {
            return Ok(Verified::NotSupported);
        };
        let tls = tls_data(&kubeconfig)?;
        let client = self.platform.for_step().await?;
        let name = Self::secret_name(&params);
        let secret = Api::<Secret>::namespaced(client, &params.namespace)
            .get_opt(&name)
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("cannot read Secret {}/{name}", params.namespace),
                )
            })?;
        Ok(match secret {
            None => Verified::Drifted {
                what: format!("re-minting: Secret {}/{name} is gone", params.namespace),
            },
            Some(secret) => judge(config_of(&secret).as_ref(), &tls, SystemTime::now()),
        })
    }
}

impl ArgocdClusterSecret {
    /// Before minting: says why the Secret is minted again when it carries another or an
    /// expiring certificate, and warns when the certificate it is about to carry expires within
    /// [`credentials::RENEW_WITHIN_DAYS`] days (minting again does not renew it: RKE2 must issue
    /// a new one, and the next `genesis up` fetches it). Returns the new certificate's subject
    /// and validity, for the step's outputs.
    pub(super) async fn renewal_note(
        &self,
        client: &kube::Client,
        params: &ClusterSecretParams,
        tls: &TlsData,
        context: &RunContext,
    ) -> Result<String, ActionError> {
        let now = SystemTime::now();
        let name = Self::secret_name(params);
        let existing = Api::<Secret>::namespaced(client.clone(), &params.namespace)
            .get_opt(&name)
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("cannot read Secret {}/{name}", params.namespace),
                )
            })?;
        let say = |line: String| {
            context.output(Stream::Stderr, line.clone());
            context.set_substate(line);
        };
        if let Some(config) = existing.as_ref().and_then(config_of) {
            let shown = format!("re-minting Secret {}/{name}", params.namespace);
            let old = config
                .pointer("/tlsClientConfig/certData")
                .and_then(Value::as_str);
            if old.is_some_and(|old| old != tls.cert) {
                say(format!("{shown}: the Harvester client certificate changed"));
            } else if let Ok(Some(old)) = credentials::from_argocd_config(&config)
                && old.needs_renewal(now)
            {
                say(format!(
                    "{shown}: the Harvester client certificate {}",
                    expiry(&old, now)
                ));
            }
        }
        Ok(match credentials::from_kubeconfig_data(&tls.cert) {
            Ok(new) if new.needs_renewal(now) => {
                say(format!(
                    "warning: the Harvester client certificate {} and minting the Secret again does not renew it: RKE2 issues a new one when rke2-server restarts (or after `rke2 certificate rotate`); the next `genesis up` fetches it",
                    expiry(&new, now)
                ));
                format!("{}, {}", new.subject, expiry(&new, now))
            }
            Ok(new) => format!("{}, {}", new.subject, expiry(&new, now)),
            Err(error) => format!("not readable: {error}"),
        })
    }
}

/// The Secret's `config`, as JSON.
pub(super) fn config_of(secret: &Secret) -> Option<Value> {
    let bytes = secret.data.as_ref()?.get("config")?;
    serde_json::from_slice(&bytes.0).ok()
}

/// `expires in N days` / `has expired`.
pub(super) fn expiry(certificate: &ClientCertificate, now: SystemTime) -> String {
    match certificate.days_left(now) {
        Some(days) => format!("expires in {days} days"),
        None => "has expired".to_owned(),
    }
}

/// The verdict on the Secret's `config` against the kept kubeconfig's credentials, `now`.
pub(super) fn judge(config: Option<&Value>, tls: &TlsData, now: SystemTime) -> Verified {
    let drifted = |what: String| Verified::Drifted {
        what: format!("re-minting: {what}"),
    };
    let Some(config) = config else {
        return drifted("the Secret's `config` is missing or not JSON".to_owned());
    };
    let field = |key: &str| {
        config
            .pointer(&format!("/tlsClientConfig/{key}"))
            .and_then(Value::as_str)
    };
    if field("certData") != Some(tls.cert.as_str()) {
        return drifted("the Harvester client certificate changed".to_owned());
    }
    if field("keyData") != Some(tls.key.as_str()) || field("caData") != Some(tls.ca.as_str()) {
        return drifted("the Harvester credentials changed".to_owned());
    }
    match credentials::from_argocd_config(config) {
        Ok(Some(certificate)) if certificate.needs_renewal(now) => drifted(format!(
            "the Harvester client certificate {}",
            expiry(&certificate, now)
        )),
        Ok(_) => Verified::Holds,
        Err(error) => drifted(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine as _;
    use serde_json::json;

    use super::*;

    fn pem(days: i64) -> String {
        crate::actions::argocd::credentials::test_certificate(days)
    }

    fn tls(days: i64) -> TlsData {
        TlsData {
            ca: "Q0E=".to_owned(),
            cert: base64::engine::general_purpose::STANDARD.encode(pem(days)),
            key: "S0VZ".to_owned(),
        }
    }

    fn config(tls: &TlsData) -> Value {
        json!({"tlsClientConfig": {"insecure": false, "caData": tls.ca, "certData": tls.cert, "keyData": tls.key}})
    }

    fn what(verdict: Verified) -> String {
        match verdict {
            Verified::Drifted { what } => what,
            other => panic!("expected a drift, got {other:?}"),
        }
    }

    #[test]
    fn the_same_credentials_valid_long_enough_hold() {
        let kept = tls(365);
        let now = SystemTime::now();
        assert_eq!(judge(Some(&config(&kept)), &kept, now), Verified::Holds);
        // 31 days left: still holds; the rule is under 30.
        let month = tls(32);
        assert_eq!(judge(Some(&config(&month)), &month, now), Verified::Holds);
    }

    #[test]
    fn a_rotated_certificate_or_other_credentials_re_mint() {
        let now = SystemTime::now();
        let minted = tls(365);
        let rotated = tls(365);
        let said = what(judge(Some(&config(&minted)), &rotated, now));
        assert_eq!(said, "re-minting: the Harvester client certificate changed");
        assert!(!said.contains(&rotated.cert) && !said.contains(&minted.key));
        let mut other_key = minted.clone();
        other_key.key = "T1RIRVI=".to_owned();
        assert_eq!(
            what(judge(Some(&config(&minted)), &other_key, now)),
            "re-minting: the Harvester credentials changed"
        );
        assert_eq!(
            what(judge(None, &minted, now)),
            "re-minting: the Secret's `config` is missing or not JSON"
        );
    }

    /// The expiry rule: under 30 days left, or expired, re-mints and says how long is left.
    #[test]
    fn a_certificate_expiring_within_thirty_days_re_mints() {
        let now = SystemTime::now();
        let soon = tls(12);
        let said = what(judge(Some(&config(&soon)), &soon, now));
        assert!(
            said == "re-minting: the Harvester client certificate expires in 12 days"
                || said == "re-minting: the Harvester client certificate expires in 11 days",
            "{said}"
        );
        let later = now + Duration::from_secs(13 * 86_400);
        assert_eq!(
            what(judge(Some(&config(&soon)), &soon, later)),
            "re-minting: the Harvester client certificate has expired"
        );
    }
}
