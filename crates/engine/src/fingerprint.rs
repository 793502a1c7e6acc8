//! Fingerprints of a step's resolved inputs.
//!
//! A finished step stores the fingerprint of what it ran with. On the next run, a step whose
//! current fingerprint differs is planned again, and so is everything downstream of it.
//!
//! The fingerprint covers the kind, the inventory item and the parameters, hashed over a
//! canonical JSON form (object keys sorted) so that key order in a phase file does not matter.
//! Secrets appear in parameters by reference (`{secret: name}`); the product adds a keyed
//! digest of each referenced value ([`StepSpec::secret_digests`], an HMAC under a key the
//! journal never holds), so a rotated value re-plans the steps that use it. A step without
//! secrets is fingerprinted exactly as before digests existed: its journal records stay valid.
//!
//! The journal also keeps one [`secret_tags`] entry per secret of a step, so that planning can
//! say which secret changed. A tag is a hash of the step, the secret's name and its keyed
//! digest: neither the value nor the digest is written anywhere.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::step::SecretDigest;
use crate::step::StepSpec;

/// `sha256:` followed by 64 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fingerprint of a step's resolved inputs.
pub fn of(step: &StepSpec) -> Fingerprint {
    let mut hasher = Sha256::new();
    hasher.update(b"genesis-step-v1\0");
    hasher.update(step.kind.as_bytes());
    hasher.update(b"\0");
    hasher.update(step.item.as_deref().unwrap_or("").as_bytes());
    hasher.update(b"\0");
    let mut canonical = Vec::with_capacity(256);
    write_canonical(&step.params, &mut canonical);
    hasher.update(&canonical);
    // Only when there are any, so that the fingerprints of steps without secrets (and the
    // journals that recorded them) are those of before.
    if !step.secret_digests.is_empty() {
        hasher.update(b"\0secrets\0");
        for (name, digest) in &step.secret_digests {
            hasher.update(name.as_bytes());
            hasher.update(b"\0");
            hasher.update(digest.as_str().as_bytes());
            hasher.update(b"\0");
        }
    }
    finish(hasher)
}

/// One tag per secret of the step, by name, for the journal: which secret changed can be told
/// by comparing tags, and a tag reveals neither the value nor its keyed digest.
pub fn secret_tags(step: &StepSpec) -> BTreeMap<String, Fingerprint> {
    step.secret_digests
        .iter()
        .map(|(name, digest)| {
            let mut hasher = Sha256::new();
            hasher.update(b"genesis-secret-tag-v1\0");
            hasher.update(step.id.as_str().as_bytes());
            hasher.update(b"\0");
            hasher.update(name.as_bytes());
            hasher.update(b"\0");
            hasher.update(digest.as_str().as_bytes());
            (name.clone(), finish(hasher))
        })
        .collect()
}

fn finish(hasher: Sha256) -> Fingerprint {
    let digest = hasher.finalize();
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest {
        text.push(hex_digit(byte >> 4));
        text.push(hex_digit(byte & 0x0f));
    }
    Fingerprint(text)
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

/// JSON with object keys sorted, independent of serde_json's map ordering features.
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|left, right| left.0.cmp(right.0));
            out.push(b'{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(&serde_json::Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        serde_json::Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => {
            // Scalars serialize deterministically.
            if let Ok(text) = serde_json::to_vec(scalar) {
                out.extend_from_slice(&text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::step::{RetryPolicy, StepId};

    fn step(params: serde_json::Value) -> StepSpec {
        StepSpec {
            id: StepId::from("a"),
            number: "1".into(),
            ordinal: 1,
            name: "a".into(),
            phase: 2,
            kind: "exec".into(),
            item: None,
            params,
            needs: vec![],
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            estimate: None,
            secret_digests: BTreeMap::new(),
        }
    }

    #[test]
    fn ignores_key_order_but_not_values() {
        let left = of(&step(
            serde_json::json!({"a": 1, "b": [1, {"x": "y", "w": "z"}]}),
        ));
        let right = of(&step(
            serde_json::json!({"b": [1, {"w": "z", "x": "y"}], "a": 1}),
        ));
        assert_eq!(left, right);
        assert_ne!(left, of(&step(serde_json::json!({"a": 2, "b": [1]}))));
        assert!(left.as_str().starts_with("sha256:"));
        assert_eq!(left.as_str().len(), 7 + 64);
    }

    #[test]
    fn timeouts_and_names_do_not_count() {
        let mut other = step(serde_json::json!({}));
        other.timeout = Duration::from_secs(99);
        other.name = "renamed".into();
        assert_eq!(of(&step(serde_json::json!({}))), of(&other));
        other.kind = "other".into();
        assert_ne!(of(&step(serde_json::json!({}))), of(&other));
    }

    /// The fingerprint of a secret-free step as this version wrote it before secret digests
    /// existed: journals recorded then stay valid.
    #[test]
    fn steps_without_secrets_keep_their_fingerprint() {
        let plain = step(serde_json::json!({"url": "http://x", "n": [1, 2]}));
        assert_eq!(
            of(&plain).as_str(),
            "sha256:596f1799260f414cdd4305882b8f2ea276a023ca9473fc937f04b56bf82c068f"
        );
        assert!(secret_tags(&plain).is_empty());
    }

    #[test]
    fn a_secret_digest_counts_and_is_told_apart_by_tag() {
        let params = serde_json::json!({"key": {"secret": "ssh.key"}, "other": {"secret": "b"}});
        let mut one = step(params.clone());
        one.secret_digests
            .insert("ssh.key".into(), SecretDigest::new("hmac-sha256:aa"));
        one.secret_digests
            .insert("b".into(), SecretDigest::new("hmac-sha256:bb"));
        let mut two = one.clone();
        assert_eq!(of(&one), of(&two));
        two.secret_digests
            .insert("ssh.key".into(), SecretDigest::new("hmac-sha256:cc"));
        assert_ne!(of(&one), of(&two));
        assert_ne!(of(&one), of(&step(params)));
        let (before, after) = (secret_tags(&one), secret_tags(&two));
        assert_ne!(before["ssh.key"], after["ssh.key"]);
        assert_eq!(before["b"], after["b"]);
        assert!(
            before
                .values()
                .all(|tag| tag.as_str().starts_with("sha256:"))
        );
        assert_eq!(
            format!("{:?}", one.secret_digests["b"]),
            "SecretDigest(<keyed>)"
        );
    }
}
