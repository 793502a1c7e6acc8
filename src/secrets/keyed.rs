//! The state directory's key for keyed fingerprints of secret values (`plan.key`, 0600, 32
//! random bytes): HMAC-SHA-256 of a secret's name and value under it. Saved plans record these
//! fingerprints (`plan::saved`), and each step's fingerprint covers those of the secrets it
//! references (`inputs`, `genesis_engine::StepSpec::secret_digests`), so that a changed value
//! re-plans the steps using it. A keyed fingerprint cannot be used to test guesses of a value
//! without the key, which never leaves the state directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genesis_engine::state_dir;
use ring::{digest, hmac, rand::SecureRandom as _};
use thiserror::Error;

use super::Secrets;

/// The key file in the state directory.
pub const KEY_FILE: &str = "plan.key";

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot use the plan key {path}")]
    Key {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the plan key {path} does not exist: the plan was made with another state directory; make the plan again with this one (`genesis plan --out FILE`)"
    )]
    NoKey { path: PathBuf },
}

/// The state directory's key for secret fingerprints.
pub struct PlanKey {
    key: hmac::Key,
    id: String,
}

impl PlanKey {
    pub(crate) fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            id: hex(digest::digest(&digest::SHA256, bytes).as_ref())[..16].to_owned(),
        }
    }

    /// The key of `state_dir`, made (32 random bytes, 0600) if it has none yet.
    pub fn load_or_create(state_dir: &Path) -> Result<Self, KeyError> {
        let path = state_dir.join(KEY_FILE);
        let key_error = |source| KeyError::Key {
            path: path.clone(),
            source,
        };
        if let Some(key) = Self::load_from(&path)? {
            return Ok(key);
        }
        state_dir::prepare(state_dir).map_err(key_error)?;
        let mut bytes = [0_u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| key_error(std::io::Error::other("no random numbers available")))?;
        let text = hex(&bytes);
        match state_dir::create_new_private(&path) {
            Ok(mut file) => {
                use std::io::Write as _;
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(key_error)?;
                Ok(Self::from_bytes(text.as_bytes()))
            }
            // Another process made it meanwhile: use that one.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::load_from(&path)?.ok_or_else(|| key_error(error))
            }
            Err(error) => Err(key_error(error)),
        }
    }

    /// The key of `state_dir`; an error naming the file when there is none.
    pub fn load(state_dir: &Path) -> Result<Self, KeyError> {
        let path = state_dir.join(KEY_FILE);
        Self::load_from(&path)?.ok_or(KeyError::NoKey { path })
    }

    fn load_from(path: &Path) -> Result<Option<Self>, KeyError> {
        match state_dir::read_existing(path) {
            Ok(Some(bytes)) if !bytes.is_empty() => Ok(Some(Self::from_bytes(&bytes))),
            Ok(_) => Ok(None),
            Err(source) => Err(KeyError::Key {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Which key this is: the first 16 hex digits of its SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The keyed fingerprint of one secret.
    fn sign(&self, name: &str, value: &str) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(name.as_bytes());
        context.update(b"\0");
        context.update(value.as_bytes());
        format!("hmac-sha256:{}", hex(context.sign().as_ref()))
    }

    /// The keyed digest of one secret for a step's fingerprint
    /// ([`genesis_engine::StepSpec::secret_digests`]): the same HMAC a saved plan records.
    pub fn digest(&self, name: &str, value: &str) -> genesis_engine::fingerprint::SecretDigest {
        genesis_engine::fingerprint::SecretDigest::new(self.sign(name, value))
    }

    /// Every secret's keyed fingerprint, by name.
    pub fn secrets(&self, secrets: &Secrets) -> BTreeMap<String, String> {
        secrets
            .names()
            .filter_map(|name| {
                secrets
                    .get(name)
                    .map(|value| (name.to_owned(), self.sign(name, value.expose())))
            })
            .collect()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}
