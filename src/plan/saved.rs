//! Saved plans: `genesis plan --out FILE` writes the plan with fingerprints of what it was made
//! from (input files, secrets, each step's inputs and journal state, what was observed);
//! `genesis up --plan FILE` makes the same fingerprints again and applies the plan only if
//! nothing differs, else names every difference.
//!
//! Secrets are fingerprinted with HMAC-SHA-256 under a random key kept in the state directory
//! (`plan.key`, 0600, [`crate::secrets::keyed`]): a plan file alone cannot be used to test
//! guesses of a secret value, and the fingerprints of two labs or state directories cannot be
//! compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genesis_engine::state_dir;
use ring::digest;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::inputs::Inputs;
use crate::secrets::keyed::hex;
pub use crate::secrets::keyed::{KEY_FILE, KeyError, PlanKey};

use super::model::Plan;

/// The `schema` of the `saved` object a saved plan carries next to the plan.
pub const SAVED_SCHEMA: &str = "genesis.saved-plan/v1";

/// A saved plan is read whole; no real plan comes near this.
const MAX_PLAN_BYTES: u64 = 32 * 1024 * 1024;

/// What a saved plan was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprints {
    /// [`SAVED_SCHEMA`].
    pub schema: String,
    /// `offline` or `live`, as the plan.
    pub mode: String,
    /// SHA-256 of each input file (the lab file, and every file below the phases directory:
    /// phase files and the templates they read), by path.
    pub files: BTreeMap<String, String>,
    /// Which key fingerprinted the secrets (the first 16 hex digits of its SHA-256).
    pub secrets_key: String,
    /// HMAC-SHA-256 of each secret's value under the state directory's key, by name.
    pub secrets: BTreeMap<String, String>,
    /// Each step's input fingerprint, as the journal records it.
    pub steps: BTreeMap<String, String>,
    /// Each step's journal state (`pending`, `done`, …).
    pub states: BTreeMap<String, String>,
    /// The steps `genesis up --plan` runs, in order.
    pub run: Vec<String>,
    /// Live mode: what each observed step's plan half saw (`outcome: summary`, and the diff's
    /// SHA-256 when there was one).
    pub observed: BTreeMap<String, String>,
}

#[derive(Debug, Error)]
pub enum SavedPlanError {
    #[error("cannot read the saved plan {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a saved plan (`genesis plan --out FILE` writes one): {reason}")]
    NotASavedPlan { path: PathBuf, reason: String },
    #[error("cannot read input file {path} to fingerprint it")]
    Input {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot write the saved plan {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SavedPlanError {
    /// Whether the operator must act (a wrong file, a missing key), as opposed to an I/O
    /// failure.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Self::NotASavedPlan { .. } | Self::Key(KeyError::NoKey { .. }) | Self::Read { .. }
        )
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        hex(digest::digest(&digest::SHA256, bytes).as_ref())
    )
}

/// Every regular file below `dir` (a symbolic link counts by its target's path, not followed),
/// sorted, with the SHA-256 of its content.
fn hash_tree(dir: &Path, out: &mut BTreeMap<String, String>) -> Result<(), SavedPlanError> {
    let error = |path: &Path| {
        let path = path.to_owned();
        move |source| SavedPlanError::Input { path, source }
    };
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).map_err(error(&current))? {
            let path = entry.map_err(error(&current))?.path();
            let metadata = std::fs::symlink_metadata(&path).map_err(error(&path))?;
            let shown = path.display().to_string();
            if metadata.file_type().is_symlink() {
                let target = std::fs::read_link(&path).map_err(error(&path))?;
                out.insert(
                    shown,
                    format!("link:{}", sha256(target.as_os_str().as_encoded_bytes())),
                );
            } else if metadata.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).map_err(error(&path))?;
                out.insert(shown, sha256(&bytes));
            }
        }
    }
    Ok(())
}

impl Fingerprints {
    /// The fingerprints of `plan`, made from `inputs` now; `run` lists the steps
    /// `genesis up --plan` would run.
    pub fn of(
        inputs: &Inputs,
        plan: &Plan,
        run: Vec<String>,
        key: &PlanKey,
    ) -> Result<Self, SavedPlanError> {
        let mut files = BTreeMap::new();
        let lab = &inputs.paths.lab;
        let bytes = std::fs::read(lab).map_err(|source| SavedPlanError::Input {
            path: lab.clone(),
            source,
        })?;
        files.insert(lab.display().to_string(), sha256(&bytes));
        hash_tree(&inputs.paths.phases, &mut files)?;
        let graph = &inputs.graph;
        // With the secrets digested under `key`, as `genesis up` journals them, whether or not
        // the inputs were loaded with the key (a plan made before the state directory existed).
        let steps = graph
            .order()
            .iter()
            .map(|&position| {
                let mut step = graph.step(position).clone();
                crate::inputs::digest_step(&mut step, &inputs.secrets, key);
                (
                    step.id.to_string(),
                    genesis_engine::fingerprint::of(&step).to_string(),
                )
            })
            .collect();
        let all_steps = || plan.phases.iter().flat_map(|phase| &phase.steps);
        let states = all_steps()
            .map(|step| (step.id.clone(), step.state.clone()))
            .collect();
        let observed = all_steps()
            .filter_map(|step| {
                step.observed.as_ref().map(|observed| {
                    let mut seen = format!("{}: {}", observed.outcome, observed.summary);
                    if let Some(diff) = &observed.diff {
                        seen.push_str(&format!(" (diff {})", sha256(diff.as_bytes())));
                    }
                    (step.id.clone(), seen)
                })
            })
            .collect();
        Ok(Self {
            schema: SAVED_SCHEMA.to_owned(),
            mode: plan.mode.to_owned(),
            files,
            secrets_key: key.id().to_owned(),
            secrets: key.secrets(&inputs.secrets),
            steps,
            states,
            run,
            observed,
        })
    }
}

/// The keys of two maps: only in the first, only in the second, in both with other values.
fn compare<'a>(
    before: &'a BTreeMap<String, String>,
    now: &'a BTreeMap<String, String>,
) -> (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>) {
    let gone = before
        .keys()
        .filter(|key| !now.contains_key(*key))
        .map(String::as_str)
        .collect();
    let new = now
        .keys()
        .filter(|key| !before.contains_key(*key))
        .map(String::as_str)
        .collect();
    let changed = before
        .iter()
        .filter(|(key, value)| now.get(*key).is_some_and(|other| other != *value))
        .map(|(key, _)| key.as_str())
        .collect();
    (gone, new, changed)
}

/// What differs between the plan's fingerprints and now's, one sentence each; empty when the
/// plan still holds.
pub fn differences(saved: &Fingerprints, now: &Fingerprints) -> Vec<String> {
    let mut out = Vec::new();
    let (gone, new, changed) = compare(&saved.files, &now.files);
    out.extend(changed.iter().map(|file| format!("file {file} changed")));
    out.extend(
        gone.iter()
            .map(|file| format!("file {file} is no longer an input (removed or another path)")),
    );
    out.extend(new.iter().map(|file| format!("file {file} is a new input")));
    if saved.secrets_key == now.secrets_key {
        let (gone, new, changed) = compare(&saved.secrets, &now.secrets);
        out.extend(
            changed
                .iter()
                .map(|name| format!("secret `{name}` has another value")),
        );
        out.extend(
            gone.iter()
                .map(|name| format!("secret `{name}` was removed")),
        );
        out.extend(new.iter().map(|name| format!("secret `{name}` was added")));
    } else {
        out.push(
            "the secrets were fingerprinted with another state directory's key, so they cannot be compared"
                .to_owned(),
        );
    }
    let (gone, new, changed) = compare(&saved.steps, &now.steps);
    out.extend(
        changed
            .iter()
            .map(|step| format!("step `{step}`: its resolved inputs changed")),
    );
    out.extend(
        gone.iter()
            .map(|step| format!("step `{step}` is no longer in the run")),
    );
    out.extend(new.iter().map(|step| format!("step `{step}` is new")));
    for (step, before) in &saved.states {
        if let Some(state) = now.states.get(step)
            && state != before
        {
            // `run-again`: done in the journal now, and the saved plan's own selection would
            // run it again.
            let since = if state == "run-again" {
                " (it finished since the plan was made)"
            } else {
                ""
            };
            out.push(format!(
                "step `{step}`: the journal said `{before}` at plan time and says `{state}` now{since}"
            ));
        }
    }
    if saved.mode == "live" && now.mode != "live" {
        out.push("the plan observed the Platform cluster, which cannot be observed now".to_owned());
    } else if saved.mode == "live" {
        for (step, before) in &saved.observed {
            match now.observed.get(step) {
                Some(seen) if seen == before => {}
                Some(seen) => out.push(format!(
                    "step `{step}`: the plan observed \"{before}\", now \"{seen}\""
                )),
                None => out.push(format!(
                    "step `{step}`: the plan observed \"{before}\"; it is not observed now"
                )),
            }
        }
        for (step, seen) in &now.observed {
            if !saved.observed.contains_key(step) {
                out.push(format!(
                    "step `{step}`: not observed at plan time, now \"{seen}\""
                ));
            }
        }
    }
    if out.is_empty() && saved.run != now.run {
        out.push(format!(
            "the steps to run differ: the plan runs {}, this run would run {}",
            list(&saved.run),
            list(&now.run)
        ));
    }
    out
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

/// The plan's JSON with the fingerprints beside it, as `genesis plan --out` writes it.
pub fn document(plan: &Plan, fingerprints: &Fingerprints) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or(serde_json::Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "saved".to_owned(),
            serde_json::to_value(fingerprints).unwrap_or(serde_json::Value::Null),
        );
    }
    value
}

/// Writes `text` to `path`, mode 0600, through a private temporary file in the same directory
/// and a rename, so a reader never sees half a plan. An existing file is replaced.
pub fn write(path: &Path, text: &str) -> Result<(), SavedPlanError> {
    let error = |source| SavedPlanError::Write {
        path: path.to_owned(),
        source,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".genesis-plan")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(&directory)
        .map_err(error)?;
    use std::io::Write as _;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(error)?;
    file.persist(path).map_err(|persist| error(persist.error))?;
    Ok(())
}

/// Reads a saved plan: its fingerprints (the plan itself is for people and machines).
pub fn read(path: &Path) -> Result<Fingerprints, SavedPlanError> {
    let not_saved = |reason: String| SavedPlanError::NotASavedPlan {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|source| SavedPlanError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bytes = state_dir::read_capped(file, path, MAX_PLAN_BYTES).map_err(|source| {
        SavedPlanError::Read {
            path: path.to_owned(),
            source,
        }
    })?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|error| not_saved(format!("not JSON ({error})")))?;
    if value.get("schema").and_then(serde_json::Value::as_str) != Some(super::model::SCHEMA) {
        return Err(not_saved(format!(
            "its `schema` is not `{}`",
            super::model::SCHEMA
        )));
    }
    let saved = value.get("saved").ok_or_else(|| {
        not_saved(
            "it has no `saved` fingerprints (is it `genesis plan -o json` output?)".to_owned(),
        )
    })?;
    let fingerprints: Fingerprints = serde_json::from_value(saved.clone())
        .map_err(|error| not_saved(format!("its `saved` object is not readable ({error})")))?;
    if fingerprints.schema != SAVED_SCHEMA {
        return Err(not_saved(format!(
            "its `saved.schema` is `{}`, this genesis reads `{SAVED_SCHEMA}`",
            fingerprints.schema
        )));
    }
    Ok(fingerprints)
}

#[cfg(test)]
mod tests;
