//! Which secrets of a done step changed since it succeeded, from the tags the journal keeps
//! ([`crate::fingerprint::secret_tags`]); the values and their keyed digests are never here.

use super::{JournalState, Journaled, StepState};
use crate::fingerprint;
use crate::step::StepSpec;

impl JournalState {
    /// The secrets of a done step whose values changed since its last success, by name: those
    /// whose tag differs from the journaled one. Empty when the step has no secrets, did not
    /// succeed, or was journaled before secrets were tagged (then it is not known which).
    pub fn changed_secrets(&self, step: &StepSpec) -> Vec<String> {
        let Some(record) = self.steps.get(&step.id) else {
            return Vec::new();
        };
        if record.state != Journaled::Succeeded || record.secrets.is_empty() {
            return Vec::new();
        }
        fingerprint::secret_tags(step)
            .into_iter()
            .filter(|(name, tag)| record.secrets.get(name) != Some(tag))
            .map(|(name, _)| name)
            .collect()
    }

    /// Why `step` is in `state`, for a step whose inputs changed: the secrets whose values
    /// changed, or the upstream step whose inputs did; `None` otherwise or when not known.
    pub fn why(&self, step: &StepSpec, state: &StepState) -> Option<String> {
        match state {
            StepState::ChangedInputs { upstream: None } => {
                changed_secrets_text(&self.changed_secrets(step))
            }
            StepState::ChangedInputs {
                upstream: Some(upstream),
            } => Some(format!("upstream `{upstream}` changed")),
            _ => None,
        }
    }

    /// `state` of `step` as text: [`StepState`]'s, naming the secrets whose values changed
    /// when that is why its inputs changed (`changed inputs (secret `a` changed)`).
    pub fn describe(&self, step: &StepSpec, state: &StepState) -> String {
        match state {
            StepState::ChangedInputs { upstream: None } => {
                match changed_secrets_text(&self.changed_secrets(step)) {
                    Some(why) => format!("{} ({why})", state.label()),
                    None => state.to_string(),
                }
            }
            other => other.to_string(),
        }
    }
}

/// `secret `a` changed`, `secrets `a`, `b` changed`; `None` for no names.
pub fn changed_secrets_text(names: &[String]) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("secret `{one}` changed")),
        more => Some(format!(
            "secrets {} changed",
            more.iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
