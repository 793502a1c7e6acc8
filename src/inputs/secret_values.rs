//! One check of the secrets' values, shared by `genesis validate` (and every command that loads
//! the inputs: a bad value stops `genesis up` before the first machine is touched) and by
//! `genesis secrets check` (which shows the same verdicts as a table): each referenced secret
//! present and in the shape its use needs (an SSH key that loads, a token Harvester accepts, a
//! YAML mapping), and no value empty. Problems point at the value's line in the secrets file
//! and never quote it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::secrets::{SecretFormat, Secrets};

use super::diagnostics::Diagnostic;

/// One use of a secret by a step's parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub name: String,
    pub step: String,
    /// The parameter's key path, e.g. `params.password`.
    pub param: String,
    pub format: SecretFormat,
}

/// What is wrong with one referenced secret, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStatus {
    Ok,
    Missing,
    Malformed {
        reason: &'static str,
        format: SecretFormat,
    },
}

/// One referenced secret: the formats its uses need, who uses it, and its status.
#[derive(Debug, Clone)]
pub struct SecretVerdict {
    pub name: String,
    pub formats: Vec<SecretFormat>,
    /// `step params.key`, each once, in step order.
    pub users: Vec<String>,
    pub status: SecretStatus,
}

/// The verdict on every referenced secret, by name.
pub fn judge(secrets: &Secrets, uses: &[SecretUse]) -> Vec<SecretVerdict> {
    let mut by_name: BTreeMap<&str, SecretVerdict> = BTreeMap::new();
    for use_ in uses {
        let verdict = by_name
            .entry(use_.name.as_str())
            .or_insert_with(|| SecretVerdict {
                name: use_.name.clone(),
                formats: Vec::new(),
                users: Vec::new(),
                status: SecretStatus::Ok,
            });
        if !verdict.formats.contains(&use_.format) {
            verdict.formats.push(use_.format);
        }
        let user = format!("{} {}", use_.step, use_.param);
        if !verdict.users.contains(&user) {
            verdict.users.push(user);
        }
    }
    for verdict in by_name.values_mut() {
        verdict.status = match secrets.get(&verdict.name) {
            None => SecretStatus::Missing,
            Some(value) => verdict
                .formats
                .iter()
                .find_map(|&format| {
                    format
                        .check(value)
                        .err()
                        .map(|reason| SecretStatus::Malformed { reason, format })
                })
                .unwrap_or(SecretStatus::Ok),
        };
    }
    by_name.into_values().collect()
}

/// The value problems as diagnostics at the value's line in `file`, each with the secret's
/// name: malformed referenced secrets, and empty values the steps do not reference (an
/// optional secret left empty). Absent secrets are reported where they are referenced.
pub fn problems(
    secrets: &Secrets,
    verdicts: &[SecretVerdict],
    file: &Path,
) -> Vec<(String, Diagnostic)> {
    let mut out = Vec::new();
    for verdict in verdicts {
        if let SecretStatus::Malformed { reason, format } = verdict.status {
            let used_by = match verdict.users.as_slice() {
                [] => String::new(),
                [one] => format!(", used by {one}"),
                [first, rest @ ..] => format!(", used by {first} and {} more", rest.len()),
            };
            out.push((
                verdict.name.clone(),
                Diagnostic::new(
                    file,
                    secrets.position(&verdict.name),
                    verdict.name.clone(),
                    format!(
                        "the value is {reason} (it must be {}{used_by})",
                        article(format.name())
                    ),
                )
                .help(format.help()),
            ));
        }
    }
    for name in secrets.names() {
        let referenced = verdicts.iter().any(|verdict| verdict.name == name);
        let empty = secrets
            .get(name)
            .is_some_and(|value| value.expose().trim().is_empty());
        if empty && !referenced {
            out.push((
                name.to_owned(),
                Diagnostic::new(file, secrets.position(name), name, "the value is empty").help(
                    "fill it in, or delete the entry if it is optional (see secrets.example)",
                ),
            ));
        }
    }
    out
}

/// `a Harvester token`, `an OpenSSH private key`, `one line`.
fn article(name: &str) -> String {
    if name.starts_with("one ") {
        return name.to_owned();
    }
    let vowel = name.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']);
    format!("{} {name}", if vowel { "an" } else { "a" })
}
