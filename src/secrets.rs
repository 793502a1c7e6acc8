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

/// Why a secrets file could not be used. Messages carry positions and names only.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read secrets file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: mode {mode:04o} is too open ({who}); a plaintext secrets file must be private \
         to its owner, like an SSH private key: run `chmod 600 {quoted}`",
        mode = mode & 0o7777,
        who = too_open(*mode).unwrap_or_default(),
        quoted = shell_quote(path)
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{path}:{line}:{column}: {problem}")]
    Malformed {
        path: PathBuf,
        line: u64,
        column: u64,
        problem: String,
    },
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
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    if too_open(metadata.mode()).is_some() {
        return Err(SecretsError::Permissions {
            path: path.to_owned(),
            mode: metadata.mode(),
        });
    }
    // Sized up front so that the buffer is not reallocated (and copies left behind) while
    // reading.
    let capacity = usize::try_from(metadata.len())
        .unwrap_or(0)
        .saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.read_to_end(&mut bytes).map_err(read_error)?;
    Ok(bytes)
}

/// Reads a plaintext secrets file as UTF-8 text (see [`read_private`]).
fn read_private_text(path: &Path) -> Result<Zeroizing<String>, SecretsError> {
    let mut bytes = read_private(path)?;
    let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|error| {
        // Wipe the rejected bytes too.
        drop(Zeroizing::new(error.into_bytes()));
        SecretsError::Read {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        }
    })?;
    Ok(Zeroizing::new(text))
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
}
