//! The dry run: for each step, its state from the journal and what `run` would do.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::action::{PlanContext, PlanOutcome};
use crate::graph::Graph;
use crate::journal::{JournalState, StepState};
use crate::registry::Registry;
use crate::select::Resolved;

/// One step of the plan.
#[derive(Clone, Debug, Serialize)]
pub struct StepPlan {
    pub position: usize,
    pub state: StepState,
    /// The flag that leaves the step out of the run, if any.
    pub excluded: Option<&'static str>,
    /// What `run` would do; `None` when it will not run (done, or left out).
    pub outcome: Option<PlanOutcome>,
    /// The plan half failed to observe what it needed.
    pub error: Option<String>,
}

/// Plans every step in execution order, calling each runnable step's read-only `plan` half.
/// Nothing is changed and nothing is written.
pub async fn plan(
    graph: &Graph,
    registry: &Registry,
    journal: &JournalState,
    selection: &Resolved,
    cancel: &CancellationToken,
) -> Vec<StepPlan> {
    let states = journal.states(graph);
    let mut plans = Vec::with_capacity(graph.len());
    for &position in graph.order() {
        let step = graph.step(position);
        let state = states[position].clone();
        let excluded = selection.excluded.get(position).copied().flatten();
        let forced = selection.forced.get(position).copied().unwrap_or(false);
        if excluded.is_some() || (state == StepState::Done && !forced) {
            plans.push(StepPlan {
                position,
                state,
                excluded,
                outcome: None,
                error: None,
            });
            continue;
        }
        let context = plan_context(graph, journal, &states, position, cancel);
        let (outcome, error) = match registry.resolve(&step.kind).plan(step, &context).await {
            Ok(outcome) => (Some(outcome), None),
            Err(error) => (None, Some(error.full_message())),
        };
        plans.push(StepPlan {
            position,
            state,
            excluded,
            outcome,
            error,
        });
    }
    plans
}

/// What a step's plan half may look at: the outputs of the needed steps that are done in the
/// journal (`states` from [`JournalState::states`]), and whether its last outcome is unknown.
pub fn plan_context(
    graph: &Graph,
    journal: &JournalState,
    states: &[StepState],
    position: usize,
    cancel: &CancellationToken,
) -> PlanContext {
    let needs: BTreeMap<_, _> = graph
        .needs_of(position)
        .filter_map(|need| {
            let id = &graph.step(need).id;
            (states[need] == StepState::Done)
                .then(|| {
                    journal
                        .step(id)
                        .map(|record| (id.clone(), Arc::clone(&record.outputs)))
                })
                .flatten()
        })
        .collect();
    PlanContext {
        needs,
        outcome_unknown: states[position] == StepState::OutcomeUnknown,
        cancel: cancel.clone(),
    }
}
