//! age: encrypted secrets files, the identity that decrypts them and the recipients they are
//! encrypted to.

use std::fmt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

use super::error::SecretsError;
use super::file::{MAX_FILE, open_owned, owned_error, read_private};
use super::paths::IdentityLocation;

/// The X25519 identities of an identity file. `Debug` shows the file and public keys only.
pub struct AgeIdentity {
    file: PathBuf,
    keys: Vec<age::x25519::Identity>,
}

impl fmt::Debug for AgeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgeIdentity")
            .field("file", &self.file)
            .field("public_keys", &self.public_keys())
            .finish()
    }
}

impl AgeIdentity {
    /// Reads the identity file, which must be private like a plaintext secrets file.
    pub fn load(location: &IdentityLocation, secrets: &Path) -> Result<Self, SecretsError> {
        let bytes = read_private(&location.path).map_err(|error| match error {
            SecretsError::Read { source, .. } => SecretsError::IdentityRead {
                path: location.path.clone(),
                origin: location.origin,
                secrets: secrets.to_owned(),
                source,
            },
            SecretsError::Permissions { path, mode, .. } => SecretsError::Permissions {
                path,
                mode,
                what: "an age identity file",
            },
            SecretsError::Unsafe {
                path, reason, fix, ..
            } => SecretsError::Unsafe {
                path,
                what: "the age identity file",
                reason: reason.replacen("the secrets file", "the age identity file", 1),
                fix,
            },
            other => other,
        })?;
        Self::parse(&location.path, &bytes)
    }

    /// Parses `AGE-SECRET-KEY-1…` lines; blank lines and `#` comments are skipped. An error
    /// names the line number, never its text.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, SecretsError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SecretsError::IdentityMalformed {
            path: path.to_owned(),
            line: 1,
        })?;
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = line.parse::<age::x25519::Identity>().map_err(|_| {
                SecretsError::IdentityMalformed {
                    path: path.to_owned(),
                    line: index + 1,
                }
            })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(SecretsError::IdentityEmpty {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            file: path.to_owned(),
            keys,
        })
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The recipients (public keys) of the identities.
    pub fn recipients(&self) -> Vec<age::x25519::Recipient> {
        self.keys
            .iter()
            .map(age::x25519::Identity::to_public)
            .collect()
    }

    pub fn public_keys(&self) -> Vec<String> {
        self.recipients().iter().map(ToString::to_string).collect()
    }
}

/// Parses one `age1…` recipient.
pub fn parse_recipient(text: &str) -> Option<age::x25519::Recipient> {
    text.trim().parse().ok()
}

/// Parses a recipients file: `age1…` lines, blank lines and `#` comments.
pub fn parse_recipients(
    path: &Path,
    text: &str,
) -> Result<Vec<age::x25519::Recipient>, SecretsError> {
    let mut recipients = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        recipients.push(parse_recipient(line).ok_or_else(|| {
            SecretsError::RecipientsMalformed {
                path: path.to_owned(),
                line: index + 1,
            }
        })?);
    }
    Ok(recipients)
}

/// Decrypts an age file's bytes with the identity, into wiped-on-drop memory.
pub fn decrypt(
    path: &Path,
    ciphertext: &[u8],
    identity: &AgeIdentity,
) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    use std::io::Read;

    let corrupt = |reason| SecretsError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(|error| {
        corrupt(match error {
            age::DecryptError::UnknownFormat => "an unknown age version",
            age::DecryptError::InvalidMac => "the header was altered (its MAC does not match)",
            _ => "it does not start with a valid age header",
        })
    })?;
    if decryptor.is_scrypt() {
        return Err(SecretsError::Passphrase {
            path: path.to_owned(),
        });
    }
    let mut reader = decryptor
        .decrypt(identity.keys.iter().map(|key| key as &dyn age::Identity))
        .map_err(|error| match error {
            age::DecryptError::NoMatchingKeys => SecretsError::WrongIdentity {
                path: path.to_owned(),
                identity: identity.file.clone(),
                public_keys: identity.public_keys(),
            },
            age::DecryptError::InvalidMac => {
                corrupt("the header was altered (its MAC does not match)")
            }
            _ => corrupt("its header cannot be decrypted"),
        })?;
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    reader
        .read_to_end(&mut plaintext)
        .map_err(|_| corrupt("the encrypted content was altered or cut short"))?;
    Ok(plaintext)
}

/// Encrypts bytes to the recipients (binary age format).
pub fn encrypt(
    path: &Path,
    plaintext: &[u8],
    recipients: &[age::x25519::Recipient],
) -> Result<Vec<u8>, SecretsError> {
    use std::io::Write;

    let failed = |reason: String| SecretsError::Encrypt {
        path: path.to_owned(),
        reason,
    };
    if recipients.is_empty() {
        return Err(failed("no recipients".to_owned()));
    }
    let encryptor = age::Encryptor::with_recipients(
        recipients
            .iter()
            .map(|recipient| recipient as &dyn age::Recipient),
    )
    .map_err(|error| failed(error.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|error| failed(error.to_string()))?;
    writer
        .write_all(plaintext)
        .and_then(|()| writer.finish().map(drop))
        .map_err(|error| failed(error.to_string()))?;
    Ok(out)
}

/// Reads and decrypts an age file with the identity found for `identity_flag`.
pub fn decrypt_file(
    path: &Path,
    identity_flag: Option<&Path>,
) -> Result<(Zeroizing<Vec<u8>>, AgeIdentity), SecretsError> {
    let read_error = |source| SecretsError::Read {
        path: path.to_owned(),
        source,
    };
    let ciphertext = {
        use std::io::Read;
        let (file, _) = open_owned(path, "the encrypted secrets file")
            .map_err(|error| owned_error(error, read_error))?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        bytes
    };
    let location =
        IdentityLocation::find(identity_flag).ok_or_else(|| SecretsError::NoIdentity {
            secrets: path.to_owned(),
        })?;
    let identity = AgeIdentity::load(&location, path)?;
    let plaintext = decrypt(path, &ciphertext, &identity)?;
    Ok((plaintext, identity))
}
