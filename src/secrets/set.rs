//! All secrets of a run, by dotted name, read from the YAML file (plaintext or age) without
//! ever holding a value in a printable type.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::age::decrypt_file;
use super::error::SecretsError;
use super::file::{into_text, read_private_text};
use super::paths::{choose_file, is_age_file};
use super::value::SecretString;

/// All secrets of a run, by dotted name.
#[derive(Clone, Default)]
pub struct Secrets {
    file: Option<PathBuf>,
    values: BTreeMap<String, SecretString>,
    /// Where each value is written in the (decrypted) file: line and column, 1-based.
    positions: BTreeMap<String, (u64, u64)>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("file", &self.file)
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
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
            positions: BTreeMap::new(),
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
        let mut positions = BTreeMap::new();
        tree.flatten(String::new(), (0, 0), &mut values, &mut positions);
        Ok(Self {
            file: Some(path.to_owned()),
            values,
            positions,
        })
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// Line and column of the value of `name` in the file (of the plaintext, for an age
    /// file); `(0, 0)` when unknown.
    pub fn position(&self, name: &str) -> (u64, u64) {
        self.positions.get(name).copied().unwrap_or((0, 0))
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
    /// Children with the line and column of each value.
    Branch(BTreeMap<String, (SecretTree, (u64, u64))>),
}

impl SecretTree {
    fn flatten(
        self,
        prefix: String,
        position: (u64, u64),
        into: &mut BTreeMap<String, SecretString>,
        positions: &mut BTreeMap<String, (u64, u64)>,
    ) {
        match self {
            Self::Leaf(value) => {
                positions.insert(prefix.clone(), position);
                into.insert(prefix, value);
            }
            Self::Branch(children) => {
                for (key, (child, position)) in children {
                    let name = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    child.flatten(name, position, into, positions);
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
                    let child = map.next_value::<serde_saphyr::Spanned<SecretTree>>()?;
                    let position = (child.referenced.line(), child.referenced.column());
                    if children
                        .insert(key.clone(), (child.value, position))
                        .is_some()
                    {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                }
                Ok(SecretTree::Branch(children))
            }
        }

        deserializer.deserialize_any(TreeVisitor)
    }
}
