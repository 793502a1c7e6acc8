//! How a plan is built from the inputs and the journal: every step with its state, preview,
//! target, actions and effects, then the projection and the summary.

use std::collections::BTreeMap;

use genesis_engine::StepSpec;

use crate::actions::catalog::{self, Params, Preview, Target};
use crate::inputs::Inputs;

use super::effects;
use super::model::{Branch, PhasePlan, Plan, SCHEMA, StepPlan, Summary, Totals};

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
            why: None,
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
