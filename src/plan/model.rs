//! What a plan is: phases and steps with their state, previews, observations, effects and
//! totals, and its closing summary (built by `super::build`).

use std::collections::BTreeMap;

use serde::Serialize;

pub const SCHEMA: &str = "genesis.plan/v1";

#[derive(Debug, Serialize)]
pub struct Plan {
    pub schema: &'static str,
    pub lab: String,
    /// `offline`: no cluster or server was contacted.
    pub mode: &'static str,
    /// Facts the plan could not observe, so it does not claim them.
    pub unobserved: Vec<String>,
    pub phases: Vec<PhasePlan>,
    /// One chain of steps per inventory item (machine or VM) that steps fan out over.
    pub branches: Vec<Branch>,
    pub totals: Totals,
    /// What `genesis up` would do, counted: objects (live), steps, machines erased and
    /// power-cycled. Set by [`super::summarize`].
    pub summary: Summary,
    /// Absent with `--offline`; else whether the Platform cluster could be observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation: Option<Observation>,
    /// Time on hardware from the steps' estimates (absent when no step has one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection: Option<super::Projection>,
    /// The `--from`/`--only`/`--skip`/`--machine` given; absent when every step is selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<genesis_engine::Selection>,
}

#[derive(Debug, Serialize)]
pub struct PhasePlan {
    pub number: u32,
    pub name: String,
    pub file: String,
    pub steps: Vec<StepPlan>,
}

#[derive(Debug, Serialize)]
pub struct StepPlan {
    /// Operator-facing number, `12` or `9/ms-02-2`.
    pub number: String,
    pub id: String,
    pub name: String,
    pub kind: String,
    /// The machine or VM this instance was fanned out for.
    pub item: Option<String>,
    /// Ids of the steps this one explicitly needs (every step also waits for earlier phases).
    pub needs: Vec<String>,
    /// From the journal: `pending`, `done`, `failed`, `changed-inputs`, `outcome-unknown`.
    pub state: String,
    /// Why a `changed-inputs` step changed, when known: `secret `ssh.private_key` changed`,
    /// `upstream `harvester-api` changed` (never a value or a digest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// `check`, `unobserved`, `depends-on-earlier`, `cannot-preview`, or `nothing` when done.
    pub preview: &'static str,
    /// Where the step acts: `local`, `http`, `platform`, `harvester`.
    pub target: &'static str,
    /// What `genesis up` would do, one action per line. Secrets appear as `<secret NAME>`.
    pub actions: Vec<String>,
    pub timeout_seconds: u64,
    pub attempts: u32,
    /// What running it does to a machine beyond the objects it writes: `erases-disks`,
    /// `power-cycles`. Empty when done, when observed to change nothing, or for kinds without.
    pub effects: Vec<&'static str>,
    /// The disks it erases, as the lab file names them (with `erases-disks`).
    pub erases: Vec<Disk>,
    /// Live mode only: what the step's plan half observed on the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
    /// Whether the selection (`--only`, `--machine`, …) covers this step; always true without
    /// one.
    pub selected: bool,
    /// The flag that left the step out, when it is not selected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_by: Option<&'static str>,
}

/// What a writing step would change, observed on the live cluster (live mode only).
#[derive(Debug, Clone, Serialize)]
pub struct Observed {
    /// `will-change`, `no-change`, `depends-on-earlier`, `cannot-preview` or `not-observed`.
    pub outcome: &'static str,
    /// One line per object: `Hardware tink-system/ms-02-1: update`; secrets show per key as
    /// `changed`/`unchanged`, never by value.
    pub summary: String,
    /// A unified diff of the fields that change (live object against a server-side dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// How the plan tried to observe the clusters (absent with `--offline`).
#[derive(Debug, Clone, Serialize)]
pub struct Observation {
    /// The Platform cluster: `reachable` or `unreachable`.
    pub platform: &'static str,
    /// Why it was not reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The bound on reaching it and on each step's observation.
    pub timeout_seconds: u64,
}

#[derive(Debug, Serialize)]
pub struct Branch {
    pub item: String,
    pub steps: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub phases: usize,
    pub steps: usize,
    pub by_state: BTreeMap<String, usize>,
    pub by_preview: BTreeMap<&'static str, usize>,
    /// With a selection: how many steps it covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected: Option<usize>,
}

/// One disk a step erases, as the lab file names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Disk {
    pub machine: String,
    /// The block device, e.g. `/dev/nvme0n1`.
    pub device: String,
    /// `install` (the lab's `install_disk`) or `data` (its `data_disk`).
    pub role: &'static str,
}

impl Disk {
    /// `install disk /dev/nvme0n1`.
    pub fn describe(&self) -> String {
        format!("{} disk {}", self.role, self.device)
    }
}

/// Objects by what `genesis up` would do to them, from a live plan's observations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectCounts {
    pub create: usize,
    pub change: usize,
    pub delete: usize,
    pub unchanged: usize,
}

/// Steps by what the plan knows about them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepCounts {
    /// Steps that are not done: `genesis up` runs them.
    pub to_run: usize,
    /// Done in the journal: left alone.
    pub done: usize,
    /// Steps that will write objects whose current state was not observed (offline, built from
    /// what an earlier step discovers, or the observation failed).
    pub unobserved: usize,
    /// Read-only checks.
    pub check: usize,
    /// Local commands genesis cannot look inside.
    pub cannot_preview: usize,
}

/// The plan's closing summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Live mode only: the objects the observed steps would create, change, delete or leave
    /// alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectCounts>,
    pub steps: StepCounts,
    /// Machines whose disks will be erased.
    pub machines_erased: Vec<String>,
    /// Machines that will be power-cycled.
    pub machines_power_cycled: Vec<String>,
    /// Every disk that will be erased.
    pub disks_erased: Vec<Disk>,
}
