//! Secret values: loaded once, wrapped in a type that never prints them, registered for
//! scrubbing by value.
//!
//! The secrets file is YAML: nested mappings whose leaves are strings. A leaf is addressed by
//! its dotted path, e.g. `bmc.ms-02-1.password`. Error messages about this file name the file,
//! line and path, never a value or a source snippet.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use zeroize::Zeroizing;

/// A secret value. `Debug` and `Display` print `[redacted]`; only [`SecretString::expose`]
/// gives the value, so every use of the value is easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value itself. Call it only where the value must leave genesis (an API request, a
    /// process environment), never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// All secrets of a run, by dotted name.
#[derive(Clone, Default)]
pub struct Secrets {
    file: Option<PathBuf>,
    values: BTreeMap<String, SecretString>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("file", &self.file)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

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

/// The largest secrets, age or identity file read: 4 MiB (a secrets file with a few keys and
/// machine configs is a few tens of kilobytes).
pub const MAX_FILE: u64 = 4 * 1024 * 1024;

/// Opens a file that holds secrets: without blocking on a FIFO (`O_NONBLOCK`), then checked on
/// the open descriptor to be a regular file owned by the user running genesis (its owner could
/// otherwise swap the values: age recipients are public keys, so anyone can encrypt a file to
/// you) and at most [`MAX_FILE`] bytes.
pub fn open_owned(
    path: &Path,
    what: &'static str,
) -> Result<(std::fs::File, std::fs::Metadata), std::io::Error> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let metadata = file.metadata()?;
    let refuse = |reason: String, fix: String| {
        std::io::Error::other(SecretsError::Unsafe {
            path: path.to_owned(),
            what,
            reason,
            fix,
        })
    };
    if !metadata.is_file() {
        return Err(refuse(
            format!("{what} is not a regular file (a FIFO, a device or a directory)"),
            "point --secrets (or --age-identity) at a regular file".to_owned(),
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() != me {
        return Err(refuse(
            format!(
                "{what} is owned by uid {}, not by you (uid {me}); its owner could change the values genesis uses",
                metadata.uid()
            ),
            format!(
                "use a copy of your own (`install -m 600 {} secrets.yaml`), or have it chown-ed to you",
                shell_quote(path)
            ),
        ));
    }
    if metadata.len() > MAX_FILE {
        return Err(refuse(
            format!(
                "{what} is {} bytes, more than the {MAX_FILE} bytes genesis reads",
                metadata.len()
            ),
            "check that --secrets names the secrets file".to_owned(),
        ));
    }
    // Back to blocking reads for a regular file.
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor owned by `file`.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    Ok((file, metadata))
}

/// An [`open_owned`] refusal as a [`SecretsError`], other I/O errors through `read_error`.
fn owned_error(
    error: std::io::Error,
    read_error: impl FnOnce(std::io::Error) -> SecretsError,
) -> SecretsError {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<SecretsError>())
    {
        match error
            .into_inner()
            .map(|inner| inner.downcast::<SecretsError>())
        {
            Some(Ok(refusal)) => *refusal,
            _ => read_error(std::io::Error::other("unreadable")),
        }
    } else {
        read_error(error)
    }
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

impl Secrets {
    /// Builds a store from name/value pairs (tests and generated inventories).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            file: None,
            values: pairs
                .into_iter()
                .map(|(name, value)| (name.to_owned(), SecretString::new(value)))
                .collect(),
        }
    }

    /// Reads a plaintext secrets file, refusing it when group or others have any access.
    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        let text = read_private_text(path)?;
        Self::parse(path, &text)
    }

    /// Reads the secrets genesis runs with: the file [`choose_file`] picks for `path`, decrypted
    /// with the age identity when it is an age file, else as a private plaintext file.
    pub fn read(path: &Path, identity_flag: Option<&Path>) -> Result<Self, SecretsError> {
        let file = choose_file(path, Path::exists);
        if is_age_file(&file) {
            let (mut plaintext, _) = decrypt_file(&file, identity_flag)?;
            let text = into_text(&file, &mut plaintext)?;
            Self::parse(&file, &text)
        } else {
            Self::load(&file)
        }
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SecretsError> {
        let tree: SecretTree = serde_saphyr::from_str(text).map_err(|error| {
            let location = error.location();
            SecretsError::Malformed {
                path: path.to_owned(),
                line: location.map_or(0, |location| location.line()),
                column: location.map_or(0, |location| location.column()),
                // The parser's own message may quote the value; say only what shape is wanted.
                problem: "expected nested mappings whose leaves are strings (a value must be \
                          quoted or a block scalar, not a list or number)"
                    .to_owned(),
            }
        })?;
        let mut values = BTreeMap::new();
        tree.flatten(String::new(), &mut values);
        Ok(Self {
            file: Some(path.to_owned()),
            values,
        })
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Every value, for the scrubber that removes them from all output.
    pub fn values(&self) -> impl Iterator<Item = &SecretString> {
        self.values.values()
    }
}

/// Reads a file that must be accessible by its owner only (mode checked on the open file, so
/// what is checked is what is read), into memory that is wiped when dropped.
pub fn read_private(path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;

    let read_error = |source| SecretsError::Read {
        path: path.to_owned(),
        source,
    };
    let (mut file, metadata) =
        open_owned(path, "the secrets file").map_err(|error| owned_error(error, read_error))?;
    if too_open(metadata.mode()).is_some() {
        return Err(SecretsError::Permissions {
            path: path.to_owned(),
            mode: metadata.mode(),
            what: "a plaintext secrets file",
        });
    }
    // Sized up front so that the buffer is not reallocated (and copies left behind) while
    // reading.
    let capacity = usize::try_from(metadata.len())
        .unwrap_or(0)
        .saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    (&mut file)
        .take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(bytes)
}

/// Reads a plaintext secrets file as UTF-8 text (see [`read_private`]).
fn read_private_text(path: &Path) -> Result<Zeroizing<String>, SecretsError> {
    let mut bytes = read_private(path)?;
    into_text(path, &mut bytes)
}

/// Moves bytes into wiped-on-drop text, wiping them too when they are not UTF-8.
fn into_text(path: &Path, bytes: &mut Vec<u8>) -> Result<Zeroizing<String>, SecretsError> {
    String::from_utf8(std::mem::take(bytes))
        .map(Zeroizing::new)
        .map_err(|error| {
            drop(Zeroizing::new(error.into_bytes()));
            SecretsError::NotText {
                path: path.to_owned(),
            }
        })
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

// ---- age: encrypted secrets files -------------------------------------------------------

/// The environment variable naming the age identity file.
pub const IDENTITY_ENV: &str = "GENESIS_AGE_IDENTITY";

/// The identity file below the home directory when neither flag nor variable names one.
pub const DEFAULT_IDENTITY: &str = ".config/genesis/age.txt";

/// Whether a path names an age file (`.age`).
pub fn is_age_file(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "age")
}

/// `path` with `.age` appended: `secrets.yaml` → `secrets.yaml.age`.
pub fn age_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".age");
    PathBuf::from(name)
}

/// The recipients file kept beside an encrypted file: `secrets.yaml.age.recipients`.
pub fn recipients_file(encrypted: &Path) -> PathBuf {
    let mut name = encrypted.as_os_str().to_owned();
    name.push(".recipients");
    PathBuf::from(name)
}

/// Which file to read for `--secrets PATH`: the path itself when it exists or ends in `.age`;
/// otherwise `PATH.age` when that exists (so the default `secrets.yaml` finds
/// `secrets.yaml.age`); otherwise the path, whose absence is then reported.
pub fn choose_file(given: &Path, exists: impl Fn(&Path) -> bool) -> PathBuf {
    if is_age_file(given) || exists(given) {
        return given.to_owned();
    }
    let encrypted = age_path(given);
    if exists(&encrypted) {
        encrypted
    } else {
        given.to_owned()
    }
}

/// Where the identity path came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityOrigin {
    Flag,
    Environment,
    Default,
}

impl fmt::Display for IdentityOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flag => "given by --age-identity",
            Self::Environment => "given by GENESIS_AGE_IDENTITY",
            Self::Default => "the default ~/.config/genesis/age.txt",
        })
    }
}

/// The identity file to use and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityLocation {
    pub path: PathBuf,
    pub origin: IdentityOrigin,
}

/// The lookup order: the flag, then the variable (when not empty), then the home directory's
/// `.config/genesis/age.txt`. `None` only without all three.
pub fn identity_location(
    flag: Option<&Path>,
    environment: Option<&std::ffi::OsStr>,
    home: Option<&Path>,
) -> Option<IdentityLocation> {
    if let Some(path) = flag {
        return Some(IdentityLocation {
            path: path.to_owned(),
            origin: IdentityOrigin::Flag,
        });
    }
    if let Some(value) = environment.filter(|value| !value.is_empty()) {
        return Some(IdentityLocation {
            path: PathBuf::from(value),
            origin: IdentityOrigin::Environment,
        });
    }
    home.filter(|home| !home.as_os_str().is_empty())
        .map(|home| IdentityLocation {
            path: home.join(DEFAULT_IDENTITY),
            origin: IdentityOrigin::Default,
        })
}

impl IdentityLocation {
    /// [`identity_location`] with this process's environment.
    pub fn find(flag: Option<&Path>) -> Option<Self> {
        let environment = std::env::var_os(IDENTITY_ENV);
        let home = std::env::var_os("HOME").map(PathBuf::from);
        identity_location(flag, environment.as_deref(), home.as_deref())
    }
}

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

// ---- well-formed values ------------------------------------------------------------------

/// What shape a secret's value must have, from the parameter that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretFormat {
    /// One line without surrounding white space: passwords, tokens, user names.
    Line,
    /// An unencrypted OpenSSH private key (`ssh_key` parameters).
    SshPrivateKey,
    /// A YAML mapping, such as a machine configuration (`user_data` parameters).
    YamlMapping,
}

impl SecretFormat {
    /// The format of a secret used as parameter `param` (its last key decides).
    pub fn of_param(param: &str) -> Self {
        match param.rsplit('.').next().unwrap_or(param) {
            "ssh_key" | "private_key" => Self::SshPrivateKey,
            "user_data" | "machine_config" => Self::YamlMapping,
            _ => Self::Line,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Line => "one line",
            Self::SshPrivateKey => "OpenSSH private key",
            Self::YamlMapping => "YAML mapping",
        }
    }

    /// Checks a value; the reason never quotes it.
    pub fn check(self, value: &SecretString) -> Result<(), &'static str> {
        let text = value.expose();
        if text.trim().is_empty() {
            return Err("empty");
        }
        match self {
            Self::Line => {
                if text.contains(['\n', '\r']) {
                    Err(
                        "spans several lines; a block scalar (`|`) keeps the final newline, so \
                         quote the value instead",
                    )
                } else if text.trim() != text {
                    Err("starts or ends with white space")
                } else {
                    Ok(())
                }
            }
            Self::SshPrivateKey => russh::keys::decode_secret_key(text, None)
                .map(drop)
                .map_err(|_| "not an unencrypted OpenSSH private key"),
            Self::YamlMapping => {
                match serde_saphyr::from_str::<BTreeMap<String, serde_json::Value>>(text) {
                    Ok(map) if !map.is_empty() => Ok(()),
                    _ => Err("not a YAML mapping"),
                }
            }
        }
    }
}

/// The YAML shape of the secrets file, read without ever holding a value in a printable type.
enum SecretTree {
    Leaf(SecretString),
    Branch(BTreeMap<String, SecretTree>),
}

impl SecretTree {
    fn flatten(self, prefix: String, into: &mut BTreeMap<String, SecretString>) {
        match self {
            Self::Leaf(value) => {
                into.insert(prefix, value);
            }
            Self::Branch(children) => {
                for (key, child) in children {
                    let name = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    child.flatten(name, into);
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for SecretTree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TreeVisitor;

        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = SecretTree;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string or a mapping")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<SecretTree, E> {
                Ok(SecretTree::Leaf(SecretString::new(value)))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<SecretTree, E> {
                Ok(SecretTree::Leaf(SecretString::new(value)))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretTree, A::Error> {
                let mut children = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let child = map.next_value::<SecretTree>()?;
                    if children.insert(key.clone(), child).is_some() {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                }
                Ok(SecretTree::Branch(children))
            }
        }

        deserializer.deserialize_any(TreeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let secret = SecretString::new("hunter2");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("hunter2"));
        let secrets = Secrets::from_pairs([("harvester.token", "hunter2")]);
        assert!(!format!("{secrets:?}").contains("hunter2"));
    }

    #[test]
    fn flattens_nested_names() {
        let secrets = Secrets::parse(
            Path::new("s.yaml"),
            "bmc:\n  ms-02-1:\n    username: admin\n    password: \"p w\"\nharvester:\n  token: t\n",
        )
        .expect("valid secrets");
        let names: Vec<&str> = secrets.names().collect();
        assert_eq!(
            names,
            [
                "bmc.ms-02-1.password",
                "bmc.ms-02-1.username",
                "harvester.token"
            ]
        );
        assert_eq!(
            secrets
                .get("bmc.ms-02-1.password")
                .map(SecretString::expose),
            Some("p w")
        );
    }

    #[test]
    fn only_owner_access_is_private_enough() {
        assert_eq!(too_open(0o100600), None);
        assert_eq!(too_open(0o400), None);
        assert_eq!(too_open(0o700), None);
        assert_eq!(
            too_open(0o644).as_deref(),
            Some("group may read, others may read")
        );
        assert_eq!(too_open(0o640).as_deref(), Some("group may read"));
        assert_eq!(too_open(0o602).as_deref(), Some("others may write"));
        assert_eq!(
            too_open(0o670).as_deref(),
            Some("group may read and write and execute")
        );
    }

    #[test]
    fn refuses_a_readable_file_with_the_chmod_that_fixes_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("my secrets.yaml");
        std::fs::write(&path, "harvester:\n  token: sup3rs3cret\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let message = Secrets::load(&path)
            .expect_err("0644 is refused")
            .to_string();
        assert!(message.contains("mode 0644"), "{message}");
        assert!(
            message.contains(&format!("chmod 600 '{}'", path.display())),
            "{message}"
        );
        assert!(!message.contains("sup3rs3cret"), "{message}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let secrets = Secrets::load(&path).expect("0600 is accepted");
        assert_eq!(
            secrets.get("harvester.token").map(SecretString::expose),
            Some("sup3rs3cret")
        );
    }

    #[test]
    fn the_age_file_is_read_when_the_plaintext_is_absent() {
        let present = |existing: &'static [&'static str]| {
            move |path: &Path| existing.iter().any(|known| Path::new(known) == path)
        };
        let given = Path::new("secrets.yaml");
        assert_eq!(
            choose_file(given, present(&["secrets.yaml", "secrets.yaml.age"])),
            given
        );
        assert_eq!(
            choose_file(given, present(&["secrets.yaml.age"])),
            Path::new("secrets.yaml.age")
        );
        assert_eq!(choose_file(given, present(&[])), given);
        let encrypted = Path::new("team/s.yaml.age");
        assert_eq!(choose_file(encrypted, present(&[])), encrypted);
        assert!(is_age_file(encrypted) && !is_age_file(given));
        assert_eq!(
            recipients_file(encrypted),
            Path::new("team/s.yaml.age.recipients")
        );
    }

    #[test]
    fn identity_lookup_is_flag_then_variable_then_home() {
        let home = Path::new("/home/op");
        let variable = std::ffi::OsStr::new("/keys/env.txt");
        let found = |flag: Option<&str>, env: Option<&std::ffi::OsStr>, home: Option<&Path>| {
            identity_location(flag.map(Path::new), env, home)
                .map(|location| (location.path, location.origin))
        };
        assert_eq!(
            found(Some("/keys/flag.txt"), Some(variable), Some(home)),
            Some((PathBuf::from("/keys/flag.txt"), IdentityOrigin::Flag))
        );
        assert_eq!(
            found(None, Some(variable), Some(home)),
            Some((PathBuf::from("/keys/env.txt"), IdentityOrigin::Environment))
        );
        assert_eq!(
            found(None, Some(std::ffi::OsStr::new("")), Some(home)),
            Some((
                PathBuf::from("/home/op/.config/genesis/age.txt"),
                IdentityOrigin::Default
            ))
        );
        assert_eq!(found(None, None, None), None);
    }

    fn identity() -> (String, AgeIdentity) {
        use age::secrecy::ExposeSecret;
        let key = age::x25519::Identity::generate();
        let text = format!(
            "# created: now\n# public key: {}\n{}\n",
            key.to_public(),
            key.to_string().expose_secret()
        );
        let identity = AgeIdentity::parse(Path::new("age.txt"), text.as_bytes()).expect("parses");
        (text, identity)
    }

    #[test]
    fn age_round_trip_wrong_identity_and_corruption() {
        let (_, mine) = identity();
        let (_, theirs) = identity();
        let plaintext = b"harvester:\n  token: sup3rs3cret\n";
        let path = Path::new("s.yaml.age");
        let ciphertext = encrypt(path, plaintext, &mine.recipients()).expect("encrypts");
        assert!(
            !ciphertext
                .windows(b"sup3rs3cret".len())
                .any(|window| window == b"sup3rs3cret")
        );
        assert_eq!(
            decrypt(path, &ciphertext, &mine)
                .expect("decrypts")
                .as_slice(),
            plaintext
        );

        let wrong = decrypt(path, &ciphertext, &theirs).expect_err("not a recipient");
        assert!(
            matches!(wrong, SecretsError::WrongIdentity { .. }),
            "{wrong}"
        );
        assert!(
            wrong.to_string().contains(&theirs.public_keys()[0]),
            "{wrong}"
        );

        let mut damaged = ciphertext.clone();
        let last = damaged.len() - 3;
        damaged[last] ^= 0x55;
        let corrupt = decrypt(path, &damaged, &mine).expect_err("altered payload");
        assert!(matches!(corrupt, SecretsError::Corrupt { .. }), "{corrupt}");
        let not_age = decrypt(path, plaintext, &mine).expect_err("plaintext is no age file");
        assert!(matches!(not_age, SecretsError::Corrupt { .. }), "{not_age}");
        assert!(matches!(
            encrypt(path, plaintext, &[]),
            Err(SecretsError::Encrypt { .. })
        ));
    }

    #[test]
    fn identity_and_recipient_files_name_the_bad_line_only() {
        let (text, identity) = identity();
        let public = identity.public_keys().remove(0);
        let broken = text.replace("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-X");
        let error = AgeIdentity::parse(Path::new("age.txt"), broken.as_bytes())
            .expect_err("not an identity");
        let message = error.to_string();
        assert!(message.starts_with("age.txt:3:1: line 3 "), "{message}");
        assert!(!message.contains("AGE-SECRET-KEY-X"), "{message}");
        assert!(matches!(
            AgeIdentity::parse(Path::new("age.txt"), b"# nothing\n"),
            Err(SecretsError::IdentityEmpty { .. })
        ));
        assert!(!format!("{identity:?}").contains("AGE-SECRET-KEY"));

        let recipients = parse_recipients(Path::new("r.txt"), &format!("# team\n\n{public}\n"))
            .expect("recipients");
        assert_eq!(recipients.len(), 1);
        let error = parse_recipients(Path::new("r.txt"), &format!("{public}\nage1nope\n"))
            .expect_err("bad recipient");
        assert!(error.to_string().starts_with("r.txt:2:1: "), "{error}");
    }

    #[test]
    fn values_are_checked_by_the_parameter_that_uses_them() {
        assert_eq!(
            SecretFormat::of_param("params.ssh_key"),
            SecretFormat::SshPrivateKey
        );
        assert_eq!(
            SecretFormat::of_param("params.user_data"),
            SecretFormat::YamlMapping
        );
        assert_eq!(
            SecretFormat::of_param("params.password"),
            SecretFormat::Line
        );
        let check = |format: SecretFormat, value: &str| format.check(&SecretString::new(value));
        assert_eq!(check(SecretFormat::Line, "pw"), Ok(()));
        assert_eq!(check(SecretFormat::Line, " "), Err("empty"));
        assert!(check(SecretFormat::Line, "pw\n").is_err());
        assert!(check(SecretFormat::Line, " pw").is_err());
        assert_eq!(
            check(
                SecretFormat::YamlMapping,
                "version: v1alpha1\nmachine: {type: controlplane}\n"
            ),
            Ok(())
        );
        assert!(check(SecretFormat::YamlMapping, "just text").is_err());
        assert!(
            check(
                SecretFormat::SshPrivateKey,
                "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE\n-----END OPENSSH PRIVATE KEY-----\n"
            )
            .is_err()
        );
    }

    #[test]
    fn malformed_file_names_the_line_but_not_the_value() {
        let error = Secrets::parse(
            Path::new("s.yaml"),
            "harvester:\n  token: [sup3rs3cret, x]\n",
        )
        .expect_err("a list is not a secret");
        let message = error.to_string();
        assert!(message.starts_with("s.yaml:2:"), "{message}");
        assert!(!message.contains("sup3rs3cret"), "{message}");
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            // Bounded so that a normal `cargo test` spends a second or two here.
            #![proptest_config(ProptestConfig::with_cases(256))]

            // Any text at all: the secrets parser returns or refuses, never panics, and an
            // error never quotes a value-looking token of the input.
            #[test]
            fn the_secrets_parser_never_panics(text in "(?s).{0,400}") {
                let _ = Secrets::parse(Path::new("s.yaml"), &text);
            }

            // YAML-shaped input: nesting, block scalars, anchors, tags, odd scalars.
            #[test]
            fn yaml_shaped_secrets_never_panic(
                lines in proptest::collection::vec(
                    (
                        0usize..4,
                        "[a-z_.0-9-]{0,12}",
                        prop_oneof![
                            Just(String::new()),
                            Just("|".to_owned()),
                            Just(">-".to_owned()),
                            Just("&a x".to_owned()),
                            Just("*a".to_owned()),
                            Just("!!binary aGk=".to_owned()),
                            Just("[1, {a: b}]".to_owned()),
                            Just("~".to_owned()),
                            Just("\"unterminated".to_owned()),
                            "[ -~]{0,20}",
                        ],
                    ),
                    0..16,
                ),
            ) {
                let mut text = String::new();
                for (indent, key, value) in lines {
                    text.push_str(&"  ".repeat(indent));
                    text.push_str(&key);
                    text.push_str(": ");
                    text.push_str(&value);
                    text.push('\n');
                }
                if let Err(error) = Secrets::parse(Path::new("s.yaml"), &text) {
                    let _ = (error.to_string(), error.help());
                }
            }

            // The age identity parser, on any bytes.
            #[test]
            fn the_identity_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                let _ = AgeIdentity::parse(Path::new("age.txt"), &bytes);
            }
        }
    }
}
