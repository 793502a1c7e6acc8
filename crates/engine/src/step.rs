//! What the engine knows about a step: identity, ordering, parameters and policies.
//!
//! A [`StepSpec`] is fully resolved: templates are expanded, fan-out is done, and parameters are
//! plain JSON. The engine never interprets `kind` or `params`; it hands them to the action
//! registered for the kind.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The non-secret outputs of a finished step, journaled and replayed to the steps that need it.
pub type Outputs = serde_json::Map<String, serde_json::Value>;

/// Whether an error is worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Transient,
    Permanent,
}

/// Stable identity of a step instance, e.g. `register-argocd` or `install/ms-02-2`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StepId(pub String);

impl StepId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for StepId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// How often and how patiently a step is retried after a transient error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Total attempts, including the first one. `1` means no retry.
    pub attempts: u32,
    /// Delay before the second attempt.
    #[serde(with = "duration_millis")]
    pub initial_backoff: Duration,
    /// Upper bound of any single delay.
    #[serde(with = "duration_millis")]
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 1,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A keyed digest of one secret's value (e.g. `hmac-sha256:…`), made by the product under a
/// key the journal does not hold. It is hashed into fingerprints and never shown: `Debug`
/// prints a placeholder, and there is no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest(String);

impl SecretDigest {
    pub fn new(digest: impl Into<String>) -> Self {
        Self(digest.into())
    }

    /// For the fingerprint only.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(<keyed>)")
    }
}

/// One resolved step instance of the run's DAG.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSpec {
    pub id: StepId,
    /// The operator-facing number: `12`, or `9/ms-02-2` for one machine of a fanned-out step.
    pub number: String,
    /// Position in the global order; fan-out instances share the number of their template.
    pub ordinal: u32,
    /// Short human title, e.g. "Register Harvester with Argo CD".
    pub name: String,
    /// Phase number; every step of a later phase waits for all steps of earlier phases.
    pub phase: u32,
    /// Built-in action that runs this step.
    pub kind: String,
    /// The machine (or other inventory item) this instance was fanned out for.
    pub item: Option<String>,
    /// Resolved, non-secret parameters. Secrets appear by reference only.
    pub params: serde_json::Value,
    /// Explicit dependencies (in the same or an earlier phase).
    pub needs: Vec<StepId>,
    #[serde(with = "duration_millis")]
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// What the step is expected to take on real hardware (for the projected clock, see
    /// [`crate::critical`]); `None` when nobody has estimated it. Not part of the fingerprint:
    /// a better estimate never re-plans a step.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_millis"
    )]
    pub estimate: Option<Duration>,
    /// A keyed digest of each secret value the parameters reference, by secret name, filled
    /// by the product when it resolves the graph. Part of the fingerprint when not empty (a
    /// rotated value re-plans the step); never serialized.
    #[serde(skip)]
    pub secret_digests: BTreeMap<String, SecretDigest>,
}

mod duration_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

mod optional_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => {
                serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
            }
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(|millis| millis.map(Duration::from_millis))
    }
}

#[cfg(test)]
impl StepSpec {
    /// An `exec` step named and numbered `id`, with a one-second timeout and the default
    /// retry, for the engine's tests (which override what they need with struct update).
    pub(crate) fn for_test(id: &str, phase: u32, needs: &[&str]) -> Self {
        Self {
            id: StepId::from(id),
            number: id.to_owned(),
            ordinal: 0,
            name: id.to_owned(),
            phase,
            kind: "exec".to_owned(),
            item: None,
            params: serde_json::Value::Null,
            needs: needs.iter().map(|need| StepId::from(*need)).collect(),
            timeout: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            estimate: None,
            secret_digests: BTreeMap::new(),
        }
    }
}
