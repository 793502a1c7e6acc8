//! Why a secrets file, the age identity or the recipients could not be used, and what to do;
//! messages name files, positions, modes and public keys, never a value.

use std::fmt;
use std::path::{Path, PathBuf};

use super::paths::{IdentityOrigin, recipients_file};

/// Why a secrets file (or the age identity or recipients that go with it) could not be used.
/// Messages carry file names, positions, modes and public keys only, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Group or others may access a file that holds secrets in plaintext.
    Permissions {
        path: PathBuf,
        mode: u32,
        /// What the file is: `a plaintext secrets file`, `an age identity file`.
        what: &'static str,
    },
    Malformed {
        path: PathBuf,
        line: u64,
        column: u64,
        problem: String,
    },
    /// The file is not UTF-8 text (after decryption, for an age file).
    NotText {
        path: PathBuf,
    },
    /// An encrypted secrets file, but nowhere to look for the identity.
    NoIdentity {
        secrets: PathBuf,
    },
    IdentityRead {
        path: PathBuf,
        origin: IdentityOrigin,
        secrets: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of the identity file that is not an X25519 identity (1-based).
    IdentityMalformed {
        path: PathBuf,
        line: usize,
    },
    IdentityEmpty {
        path: PathBuf,
    },
    /// None of the identity's keys is a recipient of the file.
    WrongIdentity {
        path: PathBuf,
        identity: PathBuf,
        public_keys: Vec<String>,
    },
    /// Encrypted with a passphrase (scrypt) instead of to recipients.
    Passphrase {
        path: PathBuf,
    },
    /// Not an age file, or damaged.
    Corrupt {
        path: PathBuf,
        reason: &'static str,
    },
    /// A line of a recipients file that is not an X25519 recipient (1-based).
    RecipientsMalformed {
        path: PathBuf,
        line: usize,
    },
    /// Encryption failed (no recipients, or writing the output).
    Encrypt {
        path: PathBuf,
        reason: String,
    },
    /// Not a regular file, owned by another user, or larger than [`MAX_FILE`].
    Unsafe {
        path: PathBuf,
        /// What the file is: `the secrets file`, `the age identity file`.
        what: &'static str,
        reason: String,
        fix: String,
    },
}

impl SecretsError {
    /// The file the problem is in.
    pub fn path(&self) -> &Path {
        match self {
            Self::Read { path, .. }
            | Self::Permissions { path, .. }
            | Self::Malformed { path, .. }
            | Self::NotText { path }
            | Self::IdentityRead { path, .. }
            | Self::IdentityMalformed { path, .. }
            | Self::IdentityEmpty { path }
            | Self::WrongIdentity { path, .. }
            | Self::Passphrase { path }
            | Self::Corrupt { path, .. }
            | Self::RecipientsMalformed { path, .. }
            | Self::Encrypt { path, .. }
            | Self::Unsafe { path, .. } => path,
            Self::NoIdentity { secrets } => secrets,
        }
    }

    /// Line and column in [`SecretsError::path`], `(0, 0)` for the whole file.
    pub fn position(&self) -> (u64, u64) {
        match self {
            Self::Malformed { line, column, .. } => (*line, *column),
            Self::IdentityMalformed { line, .. } | Self::RecipientsMalformed { line, .. } => {
                (u64::try_from(*line).unwrap_or(0), 1)
            }
            _ => (0, 0),
        }
    }

    /// What is wrong, without the file name.
    pub fn detail(&self) -> String {
        match self {
            Self::Read { source, .. } => format!("cannot read the secrets file: {source}"),
            Self::Permissions { path, mode, what } => format!(
                "mode {:04o} is too open ({}); {what} must be private to its owner, like an SSH \
                 private key: run `chmod 600 {}`",
                mode & 0o7777,
                too_open(*mode).unwrap_or_default(),
                shell_quote(path)
            ),
            Self::Malformed { problem, .. } => problem.clone(),
            Self::NotText { .. } => "the secrets are not UTF-8 text".to_owned(),
            Self::NoIdentity { .. } => "the file is encrypted with age, and there is no identity \
                 to decrypt it: no --age-identity, no GENESIS_AGE_IDENTITY and no HOME"
                .to_owned(),
            Self::IdentityRead {
                origin,
                secrets,
                source,
                ..
            } => format!(
                "cannot read the age identity ({origin}) needed to decrypt {}: {source}",
                secrets.display()
            ),
            Self::IdentityMalformed { line, .. } => format!(
                "line {line} is not an age X25519 identity (`AGE-SECRET-KEY-1…`); the line is \
                 not shown"
            ),
            Self::IdentityEmpty { .. } => "the age identity file holds no identity".to_owned(),
            Self::WrongIdentity {
                identity,
                public_keys,
                ..
            } => format!(
                "the file is not encrypted to the age identity in {} (public key {})",
                identity.display(),
                public_keys.join(", ")
            ),
            Self::Passphrase { .. } => "the file is encrypted with a passphrase; genesis reads \
                 age files encrypted to X25519 recipients"
                .to_owned(),
            Self::Corrupt { reason, .. } => format!("not a readable age file: {reason}"),
            Self::RecipientsMalformed { line, .. } => {
                format!("line {line} is not an age X25519 recipient (`age1…`)")
            }
            Self::Encrypt { reason, .. } => format!("cannot encrypt: {reason}"),
            Self::Unsafe { reason, .. } => format!("refused: {reason}"),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            Self::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "copy secrets.example to a private secrets.yaml (`install -m 600 secrets.example \
                 secrets.yaml`) and fill in your values, keep it encrypted as secrets.yaml.age \
                 (`genesis secrets encrypt`), or pass --secrets FILE"
                    .to_owned()
            }
            Self::Read { .. } => "check that the file is readable by you".to_owned(),
            Self::Permissions { path, what, .. } => {
                let fix = format!("run `chmod 600 {}`", shell_quote(path));
                if what.contains("secrets") {
                    format!("{fix}, or keep the secrets encrypted: `genesis secrets encrypt`")
                } else {
                    fix
                }
            }
            Self::Malformed { .. } | Self::NotText { .. } => {
                "see secrets.example for the layout".to_owned()
            }
            Self::NoIdentity { .. } => {
                "pass --age-identity FILE or set GENESIS_AGE_IDENTITY (docs/secrets.md)".to_owned()
            }
            Self::IdentityRead { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "put the identity the file was encrypted to there, or pass --age-identity FILE \
                 or set GENESIS_AGE_IDENTITY; a new identity (`genesis secrets keygen`) must \
                 first be added as a recipient by someone who can decrypt the file \
                 (docs/secrets.md)"
                    .to_owned()
            }
            Self::IdentityRead { .. } => "check that the file is readable by you".to_owned(),
            Self::IdentityMalformed { .. } | Self::IdentityEmpty { .. } => {
                "an identity file holds `AGE-SECRET-KEY-1…` lines as age-keygen writes them; \
                 comments start with #"
                    .to_owned()
            }
            Self::WrongIdentity { path, .. } => format!(
                "use the identity it was encrypted to (--age-identity FILE or \
                 GENESIS_AGE_IDENTITY), or ask someone who can decrypt it to add your public key \
                 to {} and run `genesis secrets edit --rekey`",
                recipients_file(path).display()
            ),
            Self::Passphrase { path } => format!(
                "decrypt it with age and encrypt the plaintext again with `genesis secrets \
                 encrypt -o {}`",
                shell_quote(path)
            ),
            Self::Corrupt { .. } => "restore the file from version control, or encrypt the \
                 plaintext again with `genesis secrets encrypt`"
                .to_owned(),
            Self::RecipientsMalformed { .. } => {
                "a recipients file holds `age1…` public keys, one a line; comments start with #"
                    .to_owned()
            }
            Self::Encrypt { .. } => {
                "give recipients with --recipient or --recipients-file, and a writable output"
                    .to_owned()
            }
            Self::Unsafe { fix, .. } => fix.clone(),
        }
    }
}

impl fmt::Display for SecretsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position() {
            (0, _) => write!(f, "{}: {}", self.path().display(), self.detail()),
            (line, column) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path().display(),
                self.detail()
            ),
        }
    }
}

/// Who besides the owner may use a file with this mode (`group may read, others may read`),
/// or `None` when nobody may. Any group or other bit counts, as OpenSSH counts them for a
/// private key: write access lets someone replace a secret, execute is never wanted.
pub fn too_open(mode: u32) -> Option<String> {
    let describe = |bits: u32, class: &str| {
        let mut rights = Vec::new();
        if bits & 0o4 != 0 {
            rights.push("read");
        }
        if bits & 0o2 != 0 {
            rights.push("write");
        }
        if bits & 0o1 != 0 {
            rights.push("execute");
        }
        (!rights.is_empty()).then(|| format!("{class} may {}", rights.join(" and ")))
    };
    let parts: Vec<String> = [
        describe((mode >> 3) & 0o7, "group"),
        describe(mode & 0o7, "others"),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A path written so that it can be pasted into a POSIX shell.
pub fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    shlex::try_quote(&text).map_or_else(|_| text.clone().into_owned(), |quoted| quoted.into_owned())
}
