//! The selection (`--from`, `--only`, `--skip`, `--machine`) marked on a plan: every step stays
//! in the plan (and in its JSON, with `selected`), the text shows the selected ones.

use genesis_engine::select::Resolved;
use genesis_engine::{Graph, Selection, StepId};

use super::model::Plan;

/// Marks each step of `plan` selected or not, as `resolved` says; nothing changes when the
/// selection covers every step.
pub fn apply_selection(plan: &mut Plan, graph: &Graph, resolved: &Resolved, selection: Selection) {
    if selection.is_everything() {
        return;
    }
    let mut count = 0;
    for step in plan.phases.iter_mut().flat_map(|phase| &mut phase.steps) {
        let excluded = graph
            .position(&StepId::new(step.id.clone()))
            .and_then(|position| resolved.excluded.get(position).copied().flatten());
        step.selected = excluded.is_none();
        step.excluded_by = excluded;
        count += usize::from(step.selected);
    }
    plan.totals.selected = Some(count);
    plan.selection = Some(selection);
    // Only what the selected steps would reach is worth saying it was not observed.
    let reached: std::collections::HashSet<&str> = plan
        .phases
        .iter()
        .flat_map(|phase| &phase.steps)
        .filter(|step| step.selected && step.state != "done")
        .map(|step| step.target)
        .collect();
    plan.unobserved.retain(|fact| {
        let target = if fact.starts_with("the Platform cluster") {
            "platform"
        } else if fact.starts_with("the Harvester cluster") {
            "harvester"
        } else if fact.starts_with("the PXE artifact server") {
            "http"
        } else {
            return true;
        };
        reached.contains(target)
    });
}
