//! RKE2 rotating the admin client certificate on the first Harvester node: what
//! `rke2 certificate rotate` followed by a restart of rke2-server does, or rke2-server renewing
//! a certificate that nears its end at start. RKE2 (as k3s) writes the admin kubeconfig
//! `/etc/rancher/rke2/rke2.yaml` with `client-certificate-data` holding the new
//! `client-admin.crt` followed by the client CA, and `client-key-data` its key
//! (k3s-io/k3s pkg/daemons/control/deps/deps.go, pkg/cli/cert/cert.go; docs/testworld.md).
//!
//! Here the new certificate (CN=system:admin, O=system:masters, client authentication) is
//! issued by the test world's Harvester API server CA (its `pki/ca.crt` and `ca.key`, the CA
//! behind `--client-ca-file`), so the API server accepts it, and replaces the old credentials
//! in the node's `rke2.yaml`.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::harvester::{RKE2_KUBECONFIG, write_private};
use crate::{Error, Shared};

/// A PEM file's first block, as DER.
fn pem_der(text: &str, what: &str) -> Result<Vec<u8>, Error> {
    let body: String = text
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END "))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|error| Error::Invalid(format!("{what} is not PEM: {error}")))
}

/// A DER length.
fn der_length(length: usize, out: &mut Vec<u8>) {
    if length < 0x80 {
        out.push(length as u8);
    } else if length <= 0xff {
        out.extend([0x81, length as u8]);
    } else {
        out.extend([0x82, (length >> 8) as u8, (length & 0xff) as u8]);
    }
}

/// A P-256 `EC PRIVATE KEY` (SEC 1, what Go's `x509.MarshalECPrivateKey` writes) wrapped as
/// PKCS #8 (RFC 5208 `PrivateKeyInfo`), the form ring reads.
fn sec1_p256_to_pkcs8(sec1: &[u8]) -> Vec<u8> {
    // version 0, AlgorithmIdentifier { id-ecPublicKey, prime256v1 }.
    const HEAD: [u8; 24] = [
        0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
        0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let mut octets = vec![0x04];
    der_length(sec1.len(), &mut octets);
    octets.extend_from_slice(sec1);
    let mut out = vec![0x30];
    der_length(HEAD.len() + octets.len(), &mut out);
    out.extend_from_slice(&HEAD);
    out.extend_from_slice(&octets);
    out
}

/// Issues a new admin client certificate valid for `valid_for` from the CA in `ca_dir`, puts
/// it and its key into the first node's `rke2.yaml`, and returns the certificate's PEM.
pub(crate) async fn rotate_admin_certificate(
    shared: &Shared,
    ca_dir: &Path,
    valid_for: Duration,
) -> Result<String, Error> {
    let Some(root) = &shared.world.node_files.first_node_root else {
        return Err(Error::Invalid(
            "no node filesystem: the world has no first node to rotate a certificate on".into(),
        ));
    };
    let path = root.join(RKE2_KUBECONFIG.trim_start_matches('/'));
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| Error::NodeFile {
            path: path.to_owned(),
            source,
        })
    };
    let mut kubeconfig: Value = serde_saphyr::from_str(&read(&path)?)
        .map_err(|error| Error::Invalid(format!("{RKE2_KUBECONFIG}: {error}")))?;
    let ca_pem = read(&ca_dir.join("ca.crt"))?;
    let ca_key = sec1_p256_to_pkcs8(&pem_der(&read(&ca_dir.join("ca.key"))?, "ca.key")?);
    let invalid = |what: &str, error: rcgen::Error| Error::Invalid(format!("{what}: {error}"));
    let ca_key =
        rcgen::KeyPair::try_from(ca_key.as_slice()).map_err(|error| invalid("ca.key", error))?;
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca_pem, ca_key)
        .map_err(|error| invalid("ca.crt", error))?;

    let key = rcgen::KeyPair::generate().map_err(|error| invalid("a new key", error))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|error| invalid("certificate parameters", error))?;
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "system:masters");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "system:admin");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now
        + time::Duration::try_from(valid_for)
            .map_err(|error| Error::Invalid(format!("validity: {error}")))?;
    let certificate = params
        .signed_by(&key, &issuer)
        .map_err(|error| invalid("the new certificate", error))?;
    let certificate_pem = certificate.pem();
    // RKE2's client-admin.crt: the certificate, then the client CA.
    let bundle = format!("{certificate_pem}{ca_pem}");
    let encode = |text: &str| Value::String(base64::engine::general_purpose::STANDARD.encode(text));
    let users = kubeconfig
        .get_mut("users")
        .and_then(Value::as_array_mut)
        .filter(|users| !users.is_empty())
        .ok_or_else(|| Error::Invalid(format!("{RKE2_KUBECONFIG} has no users")))?;
    for user in users {
        if let Some(user) = user.get_mut("user").and_then(Value::as_object_mut) {
            user.insert("client-certificate-data".into(), encode(&bundle));
            user.insert("client-key-data".into(), encode(&key.serialize_pem()));
        }
    }
    let yaml = serde_saphyr::to_string(&kubeconfig)
        .map_err(|error| Error::Invalid(format!("{RKE2_KUBECONFIG} as YAML: {error}")))?;
    write_private(&path, &yaml, shared.world.node_files.owner.as_deref()).await?;
    shared.record(
        "harvester",
        "rke2.client_certificate_rotated",
        RKE2_KUBECONFIG,
        format!("valid for {} days", valid_for.as_secs() / 86_400),
    );
    Ok(certificate_pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sec1_key_wrapped_as_pkcs8_loads() {
        // A P-256 key in SEC 1 form, as Go writes it, made here from a PKCS #8 one by taking
        // its inner octet string: wrapping it again must load.
        let key = rcgen::KeyPair::generate().expect("key");
        let pkcs8 = key.serialize_der();
        // PrivateKeyInfo: SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING sec1 }.
        let header = if pkcs8[1] == 0x81 { 3 } else { 2 };
        let inner_at = header + 3 + 21;
        let (tag, length_byte) = (pkcs8[inner_at], pkcs8[inner_at + 1]);
        assert_eq!(tag, 0x04);
        assert!(length_byte < 0x80);
        let sec1 = &pkcs8[inner_at + 2..inner_at + 2 + usize::from(length_byte)];
        assert_eq!(sec1[0], 0x30, "an ECPrivateKey SEQUENCE");
        let wrapped = sec1_p256_to_pkcs8(sec1);
        let loaded = rcgen::KeyPair::try_from(wrapped.as_slice()).expect("loads");
        assert_eq!(loaded.public_key_raw(), key.public_key_raw());
    }
}
