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

    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| SecretsError::Read {
                    path: path.to_owned(),
                    source,
                })?,
            );
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
