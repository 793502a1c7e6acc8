//! Live mode: the Platform cluster reached (bounded), and each pending step that writes asked
//! what it would change.

use std::collections::BTreeMap;
use std::time::Duration;

use genesis_engine::{ActionError, JournalState, PlanOutcome, Registry, StepState};
use tokio_util::sync::CancellationToken;

use crate::actions::catalog::{self, Preview, Target};
use crate::errors::error_chain;
use crate::inputs::Inputs;

use super::model::{Observation, Observed, Plan};

/// The Platform cluster as `genesis up` reaches it: the command line's kubeconfig and context
/// over the lab file's.
pub fn platform_target(
    inputs: &Inputs,
    options: &crate::actions::ClusterOptions,
) -> crate::clients::kube::KubeTarget {
    options.platform_target(&inputs.lab)
}

/// Live mode: reach the Platform cluster (bounded by `timeout`), then ask every pending step
/// that writes what it would change, each through its read-only plan half (server-side dry
/// runs) and each bounded by `timeout`. When the cluster is not reachable the plan stays
/// offline and `plan.observation` says why. Nothing is written.
pub async fn observe(
    plan: &mut Plan,
    inputs: &Inputs,
    journal: &JournalState,
    registry: &Registry,
    platform: &crate::clients::kube::KubeTarget,
    timeout: Duration,
) {
    let probe = async {
        let client = platform
            .connect()
            .await
            .map_err(|error| error_chain(&error))?;
        client
            .apiserver_version()
            .await
            .map_err(|error| error_chain(&error))
    };
    let reached = match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(format!(
            "no answer within {}",
            humantime::format_duration(timeout)
        )),
    };
    if let Err(error) = reached {
        plan.observation = Some(Observation {
            platform: "unreachable",
            error: Some(error),
            timeout_seconds: timeout.as_secs(),
        });
        return;
    }
    plan.mode = "live";
    plan.observation = Some(Observation {
        platform: "reachable",
        error: None,
        timeout_seconds: timeout.as_secs(),
    });
    plan.unobserved
        .retain(|fact| !fact.starts_with("the Platform cluster"));

    let graph = &inputs.graph;
    let states = journal.states(graph);
    let cancel = CancellationToken::new();
    let harvester_api = graph
        .order()
        .iter()
        .copied()
        .find(|&position| graph.step(position).kind == "harvester.api");
    let harvester_ready = harvester_api.is_none_or(|position| states[position] == StepState::Done);
    let mut pending = Vec::new();
    let mut observed: BTreeMap<String, Observed> = BTreeMap::new();
    let left_out: std::collections::HashSet<String> = plan
        .phases
        .iter()
        .flat_map(|phase| &phase.steps)
        .filter(|step| !step.selected)
        .map(|step| step.id.clone())
        .collect();
    // Done in the journal but selected to run again (`run-again`): observed like a pending step.
    let again: std::collections::HashSet<String> = plan
        .phases
        .iter()
        .flat_map(|phase| &phase.steps)
        .filter(|step| step.state == "run-again")
        .map(|step| step.id.clone())
        .collect();
    for &position in graph.order() {
        let step = graph.step(position);
        if left_out.contains(step.id.as_str()) {
            continue;
        }
        let Some(kind) = catalog::find(&step.kind) else {
            continue;
        };
        let writes = matches!(kind.preview, Preview::Apply | Preview::DependsOnEarlier);
        let remote = matches!(kind.target, Target::Platform | Target::Harvester);
        let done = states[position] == StepState::Done && !again.contains(step.id.as_str());
        if done || !writes || !remote {
            continue;
        }
        let not_run: Vec<String> = graph
            .needs_of(position)
            .filter(|&need| states[need] != StepState::Done)
            .map(|need| format!("`{}`", graph.step(need).id))
            .collect();
        if kind.preview == Preview::DependsOnEarlier && !not_run.is_empty() {
            observed.insert(
                step.id.to_string(),
                Observed {
                    outcome: "depends-on-earlier",
                    summary: if not_run.len() == 1 {
                        format!(
                            "built from what {} discovers, which has not run yet",
                            not_run[0]
                        )
                    } else {
                        format!(
                            "built from what {} discover, which have not run yet",
                            not_run.join(", ")
                        )
                    },
                    diff: None,
                },
            );
            continue;
        }
        if kind.target == Target::Harvester && !harvester_ready {
            let provider = harvester_api
                .map_or_else(String::new, |position| graph.step(position).id.to_string());
            observed.insert(
                step.id.to_string(),
                Observed {
                    outcome: "depends-on-earlier",
                    summary: format!(
                        "needs the Harvester kubeconfig from step `{provider}`, which has not run"
                    ),
                    diff: None,
                },
            );
            continue;
        }
        let context =
            genesis_engine::plan::plan_context(graph, journal, &states, position, &cancel);
        let action = registry.resolve(&step.kind);
        pending.push(async move {
            let result = tokio::time::timeout(timeout, action.plan(step, &context)).await;
            (step.id.to_string(), observed_from(result, timeout))
        });
    }
    for (id, result) in futures::future::join_all(pending).await {
        observed.insert(id, result);
    }
    let mut by_preview = BTreeMap::new();
    for step in plan.phases.iter_mut().flat_map(|phase| &mut phase.steps) {
        if let Some(found) = observed.remove(&step.id) {
            step.preview = match found.outcome {
                "not-observed" => step.preview,
                outcome => outcome,
            };
            step.observed = Some(found);
        }
        *by_preview.entry(step.preview).or_insert(0) += 1;
    }
    plan.totals.by_preview = by_preview;
}

pub(crate) fn observed_from(
    result: Result<Result<PlanOutcome, ActionError>, tokio::time::error::Elapsed>,
    timeout: Duration,
) -> Observed {
    let (outcome, summary, diff) = match result {
        Ok(Ok(PlanOutcome::WillChange { summary, diff })) => ("will-change", summary, diff),
        Ok(Ok(PlanOutcome::NoChange { summary })) => ("no-change", summary, None),
        Ok(Ok(PlanOutcome::DependsOnEarlier { what })) => {
            ("depends-on-earlier", format!("depends on {what}"), None)
        }
        Ok(Ok(PlanOutcome::CannotPreview { why })) => ("cannot-preview", why, None),
        Ok(Err(error)) => ("not-observed", error.full_message(), None),
        Err(_) => (
            "not-observed",
            format!(
                "no answer within {} (see --observe-timeout)",
                humantime::format_duration(timeout)
            ),
            None,
        ),
    };
    Observed {
        outcome,
        summary,
        diff,
    }
}
