//! What a plan is: phases and steps with their state, previews, observations and totals; and
//! how it is built from the inputs and the journal.

use std::collections::BTreeMap;

use genesis_engine::StepSpec;
use serde::Serialize;

use crate::actions::catalog::{self, Params, Preview, Target};
use crate::inputs::Inputs;

use super::effects::{self, Disk, Summary};

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

fn preview_label(preview: Preview) -> &'static str {
    match preview {
        Preview::Check => "check",
        Preview::Apply => "unobserved",
        Preview::DependsOnEarlier => "depends-on-earlier",
        Preview::CannotPreview => "cannot-preview",
    }
}

fn target_label(target: Target) -> &'static str {
    match target {
        Target::Local => "local",
        Target::Http => "http",
        Target::Platform => "platform",
        Target::Harvester => "harvester",
    }
}

/// Builds the plan. `state_of` gives each step's journal state (`pending` without a journal).
pub fn build(inputs: &Inputs, state_of: &dyn Fn(&StepSpec) -> String) -> Plan {
    let graph = &inputs.graph;
    let mut phases: Vec<PhasePlan> = inputs
        .phases
        .iter()
        .map(|phase| PhasePlan {
            number: phase.number,
            name: phase.name.clone(),
            file: phase.file.display().to_string(),
            steps: Vec::new(),
        })
        .collect();
    let mut branches: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut by_state = BTreeMap::new();
    let mut by_preview = BTreeMap::new();
    let mut targets = std::collections::BTreeSet::new();
    for &position in graph.order() {
        let step = graph.step(position);
        let kind = catalog::find(&step.kind);
        let state = state_of(step);
        let preview = if state == "done" {
            "nothing"
        } else {
            kind.map_or("cannot-preview", |kind| preview_label(kind.preview))
        };
        let target = kind.map_or(Target::Local, |kind| kind.target);
        if state != "done" {
            targets.insert(target_label(target));
        }
        let actions = kind.map_or_else(Vec::new, |kind| (kind.describe)(&Params(&step.params)));
        let (step_effects, erases) = if state == "done" {
            (Vec::new(), Vec::new())
        } else {
            effects::for_plan_step(&inputs.lab, step)
        };
        *by_state.entry(state.clone()).or_insert(0) += 1;
        *by_preview.entry(preview).or_insert(0) += 1;
        if let Some(item) = &step.item {
            branches
                .entry(item.clone())
                .or_default()
                .push(step.id.to_string());
        }
        let plan = StepPlan {
            number: step.number.clone(),
            id: step.id.to_string(),
            name: step.name.clone(),
            kind: step.kind.clone(),
            item: step.item.clone(),
            needs: step.needs.iter().map(ToString::to_string).collect(),
            state,
            preview,
            target: target_label(target),
            actions,
            timeout_seconds: step.timeout.as_secs(),
            attempts: step.retry.attempts,
            effects: step_effects,
            erases,
            observed: None,
            selected: true,
            excluded_by: None,
        };
        if let Some(phase) = phases.iter_mut().find(|phase| phase.number == step.phase) {
            phase.steps.push(plan);
        }
    }
    let endpoints = &inputs.lab.endpoints;
    let mut unobserved = Vec::new();
    if targets.contains("platform") {
        unobserved.push(format!(
            "the Platform cluster (context `{}`): objects are shown as they would be applied, not compared with what exists",
            endpoints.platform.context
        ));
    }
    if targets.contains("harvester") {
        unobserved.push(format!(
            "the Harvester cluster at {}:{}: its kubeconfig comes from step `harvester-api` during the run",
            endpoints.harvester.vip.value, endpoints.harvester.api_port
        ));
    }
    if targets.contains("http") {
        unobserved.push(format!(
            "the PXE artifact server at {}",
            endpoints.pxe.base_url.value
        ));
    }
    let mut plan = Plan {
        schema: SCHEMA,
        lab: inputs.lab.name.clone(),
        mode: "offline",
        unobserved,
        totals: Totals {
            phases: phases.len(),
            steps: graph.len(),
            by_state,
            by_preview,
            selected: None,
        },
        phases,
        branches: branches
            .into_iter()
            .map(|(item, steps)| Branch { item, steps })
            .collect(),
        summary: Summary::default(),
        observation: None,
        projection: super::projection::project(inputs, state_of),
        selection: None,
    };
    effects::summarize(&mut plan);
    plan
}
