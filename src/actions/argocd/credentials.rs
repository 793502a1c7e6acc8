//! The client certificate inside Argo CD's cluster Secret (step 12) or a kubeconfig: when it
//! stops being valid, so that `genesis health` can warn and `genesis up` can mint the Secret
//! again before Argo CD loses the cluster.
//!
//! Argo CD's `config` carries `tlsClientConfig.certData`, a Go `[]byte` and therefore base64 in
//! JSON, holding the PEM certificate (argoproj/argo-cd pkg/apis/application/v1alpha1/types.go
//! `TLSClientConfig`, UPSTREAM-APIS §5.1); a kubeconfig's `client-certificate-data` is the same
//! base64 of PEM. RKE2 issues the admin client certificate for one year and renews it at start
//! when under 90 days remain (rke2 docs "Certificate Management"; a guess for Harvester's
//! shipped RKE2, not read in its source).

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::Value;

/// Below this many days left, `health` warns and `up` mints the Secret again.
pub const RENEW_WITHIN_DAYS: u64 = 30;

/// What the certificate says about itself (never its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The subject, e.g. `CN=system:admin,O=system:masters`.
    pub subject: String,
    /// The end of its validity.
    pub not_after: SystemTime,
}

impl ClientCertificate {
    /// Whole days from `now` to the end of validity; `None` once it has expired.
    pub fn days_left(&self, now: SystemTime) -> Option<u64> {
        self.not_after
            .duration_since(now)
            .ok()
            .map(|left| left.as_secs() / 86_400)
    }

    /// Expired, or fewer than [`RENEW_WITHIN_DAYS`] days left.
    pub fn needs_renewal(&self, now: SystemTime) -> bool {
        self.days_left(now)
            .is_none_or(|days| days < RENEW_WITHIN_DAYS)
    }
}

/// Why no certificate could be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error("{field} is missing")]
    Missing { field: &'static str },
    #[error("{field} is not base64")]
    NotBase64 { field: &'static str },
    #[error("{field} holds no PEM certificate: {reason}")]
    NotPem { field: &'static str, reason: String },
    #[error("{field} holds a certificate that does not parse: {reason}")]
    NotX509 { field: &'static str, reason: String },
}

/// The client certificate of an Argo CD cluster Secret's `config` JSON; `Ok(None)` when the
/// config authenticates another way (a bearer token, no `certData`).
pub fn from_argocd_config(config: &Value) -> Result<Option<ClientCertificate>, CredentialsError> {
    const FIELD: &str = "config.tlsClientConfig.certData";
    match config.pointer("/tlsClientConfig/certData") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(data)) => from_base64_pem(FIELD, data).map(Some),
        Some(_) => Err(CredentialsError::NotBase64 { field: FIELD }),
    }
}

/// The certificate in a kubeconfig user's `client-certificate-data`.
pub fn from_kubeconfig_data(data: &str) -> Result<ClientCertificate, CredentialsError> {
    from_base64_pem("client-certificate-data", data)
}

fn from_base64_pem(field: &'static str, data: &str) -> Result<ClientCertificate, CredentialsError> {
    if data.trim().is_empty() {
        return Err(CredentialsError::Missing { field });
    }
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| CredentialsError::NotBase64 { field })?;
    from_pem(field, &pem)
}

/// The first certificate of a PEM bundle (RKE2 puts the client certificate first, then its CA).
pub fn from_pem(field: &'static str, pem: &[u8]) -> Result<ClientCertificate, CredentialsError> {
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem).map_err(|error| CredentialsError::NotPem {
            field,
            reason: error.to_string(),
        })?;
    let certificate = block
        .parse_x509()
        .map_err(|error| CredentialsError::NotX509 {
            field,
            reason: error.to_string(),
        })?;
    let seconds = certificate.validity().not_after.timestamp();
    let not_after = if seconds >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    };
    Ok(ClientCertificate {
        subject: certificate.subject().to_string(),
        not_after,
    })
}

/// A self-signed client certificate (`CN=system:admin`) valid from yesterday for `days` days,
/// as PEM, for tests that need a real one.
#[cfg(test)]
pub(crate) fn test_certificate(days: i64) -> String {
    let mut params = rcgen::CertificateParams::new(vec![]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "system:admin");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
    let key = rcgen::KeyPair::generate().expect("key");
    params.self_signed(&key).expect("cert").pem()
}

#[cfg(test)]
mod tests {
    use super::test_certificate as certificate;
    use super::*;
    use serde_json::json;

    fn encoded(pem: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(pem)
    }

    #[test]
    fn reads_days_left_from_an_argocd_config() {
        let config =
            json!({"tlsClientConfig": {"certData": encoded(&certificate(200)), "keyData": "x"}});
        let found = from_argocd_config(&config)
            .expect("parses")
            .expect("has one");
        assert_eq!(found.subject, "CN=system:admin");
        let days = found.days_left(SystemTime::now()).expect("valid");
        assert!((199..=200).contains(&days), "{days}");
        assert!(!found.needs_renewal(SystemTime::now()));
    }

    #[test]
    fn under_thirty_days_or_expired_needs_renewal() {
        let soon = from_kubeconfig_data(&encoded(&certificate(10))).expect("parses");
        assert!(soon.needs_renewal(SystemTime::now()));
        let later = SystemTime::now() + Duration::from_secs(11 * 86_400);
        assert_eq!(soon.days_left(later), None);
        assert!(soon.needs_renewal(later));
    }

    #[test]
    fn a_token_config_has_no_certificate_and_garbage_is_named() {
        assert_eq!(
            from_argocd_config(&json!({"bearerToken": "t"})).expect("ok"),
            None
        );
        assert_eq!(
            from_argocd_config(&json!({"tlsClientConfig": {"certData": "%%%"}})),
            Err(CredentialsError::NotBase64 {
                field: "config.tlsClientConfig.certData"
            })
        );
        assert!(matches!(
            from_kubeconfig_data(&encoded("not a certificate")),
            Err(CredentialsError::NotPem { .. })
        ));
    }
}
