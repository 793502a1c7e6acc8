//! Phase files (`phases/phase-N.yaml`): the steps of one phase as data.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One phase file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseFile {
    pub phase: Spanned<u32>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// What the operator has once this phase is done ("Platform HA"), named by the projected
    /// clock of `genesis plan`; absent: the phase's name.
    #[serde(default)]
    pub milestone: Option<String>,
    pub steps: Vec<StepTemplate>,
}

/// A step as written: before fan-out over the inventory and before `${…}` interpolation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepTemplate {
    pub id: Spanned<String>,
    pub number: Spanned<u32>,
    pub name: String,
    pub kind: Spanned<String>,
    #[serde(default)]
    pub for_each: Option<Spanned<ForEach>>,
    #[serde(default)]
    pub needs: Vec<Spanned<String>>,
    #[serde(default)]
    pub params: Option<Spanned<serde_json::Value>>,
    pub timeout: Spanned<String>,
    /// What the step takes on real hardware (`25m`), for the projected clock; cited in
    /// docs/benchmarks.md. Optional: a step without one counts as taking no time.
    #[serde(default)]
    pub estimate: Option<Spanned<String>>,
    #[serde(default)]
    pub retry: Option<RetryTemplate>,
}

/// What a step fans out over: one instance per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum ForEach {
    #[serde(rename = "machines")]
    Machines,
    #[serde(rename = "machines.create")]
    CreateMachines,
    #[serde(rename = "machines.join")]
    JoinMachines,
    #[serde(rename = "vms")]
    Vms,
}

impl ForEach {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Machines => "machines",
            Self::CreateMachines => "machines.create",
            Self::JoinMachines => "machines.join",
            Self::Vms => "vms",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryTemplate {
    pub attempts: Spanned<u32>,
    #[serde(default)]
    pub backoff: Option<Spanned<String>>,
    #[serde(default)]
    pub max_backoff: Option<Spanned<String>>,
}
