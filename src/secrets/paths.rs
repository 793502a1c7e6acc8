//! Where secrets files live and how they are named: the encrypted file beside the plaintext
//! one, its recipients file, and the age identity that decrypts it.

use std::fmt;
use std::path::{Path, PathBuf};

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
