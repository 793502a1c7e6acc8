//! The offline plan: every step, in order, with its state and what `genesis up` would do.
//!
//! The JSON form (`genesis plan -o json`) is a stable interface, documented in
//! `docs/plan-json.md`; fields are only ever added.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use genesis_engine::{ActionError, JournalState, PlanOutcome, Registry, StepSpec, StepState};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::actions::catalog::{self, Params, Preview, Target};
use crate::inputs::Inputs;

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
    /// Absent with `--offline`; else whether the Platform cluster could be observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observation: Option<Observation>,
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
    /// Live mode only: what the step's plan half observed on the cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
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
            observed: None,
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
    Plan {
        schema: SCHEMA,
        lab: inputs.lab.name.clone(),
        mode: "offline",
        unobserved,
        totals: Totals {
            phases: phases.len(),
            steps: graph.len(),
            by_state,
            by_preview,
        },
        phases,
        branches: branches
            .into_iter()
            .map(|(item, steps)| Branch { item, steps })
            .collect(),
        observation: None,
    }
}

fn preview_text(preview: &str) -> &'static str {
    match preview {
        "check" => "read-only check",
        "unobserved" => "will apply (current state not observed offline)",
        "depends-on-earlier" => "depends on what an earlier step discovers",
        "cannot-preview" => "cannot be previewed",
        "will-change" => "will change (observed)",
        "no-change" => "no change (observed)",
        _ => "nothing to do",
    }
}

/// The plan for people: phases, steps with number, id, kind, needs and actions.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.mode == "live" {
        let _ = writeln!(
            out,
            "genesis plan for lab `{}` (live mode: the Platform cluster was observed with server-side dry runs; nothing will change)",
            plan.lab
        );
    } else {
        let _ = writeln!(
            out,
            "genesis plan for lab `{}` ({} mode: nothing was contacted, nothing will change)",
            plan.lab, plan.mode
        );
    }
    let all_steps = || plan.phases.iter().flat_map(|phase| &phase.steps);
    let number_width = all_steps().map(|step| step.number.len()).max().unwrap_or(0);
    let id_width = all_steps().map(|step| step.id.len()).max().unwrap_or(0);
    let kind_width = all_steps().map(|step| step.kind.len()).max().unwrap_or(0);
    let indent = " ".repeat(number_width + 4);
    for phase in &plan.phases {
        let _ = writeln!(
            out,
            "\nPhase {}: {}  ({})",
            phase.number, phase.name, phase.file
        );
        for step in &phase.steps {
            let _ = writeln!(
                out,
                "  {:<number_width$}  {:<id_width$}  {:<kind_width$}  {} [{}]",
                step.number,
                step.id,
                step.kind,
                preview_text(step.preview),
                step.state
            );
            let _ = writeln!(out, "{indent}{}", step.name);
            if !step.needs.is_empty() {
                let _ = writeln!(out, "{indent}needs: {}", step.needs.join(", "));
            }
            if let Some(observed) = &step.observed {
                if observed.outcome == "not-observed" {
                    let _ = writeln!(out, "{indent}not observed: {}", observed.summary);
                } else {
                    for line in observed.summary.split("; ") {
                        let _ = writeln!(out, "{indent}{line}");
                    }
                }
                for line in observed.diff.iter().flat_map(|diff| diff.lines()) {
                    let _ = writeln!(out, "{indent}  {line}");
                }
            }
            let show_actions = !matches!(step.preview, "nothing" | "no-change");
            if show_actions {
                for action in &step.actions {
                    let _ = writeln!(out, "{indent}- {action}");
                }
            }
        }
    }
    if !plan.branches.is_empty() {
        let _ = writeln!(out, "\nBranches (one per machine or VM):");
        for branch in &plan.branches {
            let _ = writeln!(out, "  {:<10} {}", branch.item, branch.steps.join(" -> "));
        }
    }
    if !plan.unobserved.is_empty() {
        let _ = writeln!(
            out,
            "\nNot observed{}:",
            if plan.mode == "live" {
                ""
            } else {
                " (offline)"
            }
        );
        for fact in &plan.unobserved {
            let _ = writeln!(out, "  - {fact}");
        }
    }
    let states: Vec<String> = plan
        .totals
        .by_state
        .iter()
        .map(|(state, count)| format!("{count} {state}"))
        .collect();
    let _ = writeln!(
        out,
        "\n{} steps in {} phases: {}.",
        plan.totals.steps,
        plan.totals.phases,
        states.join(", ")
    );
    out
}

/// The Platform cluster as `genesis up` reaches it: the command line's kubeconfig and context
/// over the lab file's.
pub fn platform_target(
    inputs: &Inputs,
    options: &crate::actions::ClusterOptions,
) -> crate::clients::kube::KubeTarget {
    let endpoint = &inputs.lab.endpoints.platform;
    crate::clients::kube::KubeTarget {
        cluster: "platform".to_owned(),
        kubeconfig: options
            .kubeconfig
            .clone()
            .or_else(|| endpoint.kubeconfig.as_ref().map(std::path::PathBuf::from)),
        context: Some(
            options
                .context
                .clone()
                .unwrap_or_else(|| endpoint.context.clone()),
        ),
    }
}

fn chain(error: &dyn std::error::Error) -> String {
    crate::errors::error_chain(error)
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
        let client = platform.connect().await.map_err(|error| chain(&error))?;
        client
            .apiserver_version()
            .await
            .map_err(|error| chain(&error))
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
    for &position in graph.order() {
        let step = graph.step(position);
        let Some(kind) = catalog::find(&step.kind) else {
            continue;
        };
        let writes = matches!(kind.preview, Preview::Apply | Preview::DependsOnEarlier);
        let remote = matches!(kind.target, Target::Platform | Target::Harvester);
        if states[position] == StepState::Done || !writes || !remote {
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

fn observed_from(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, preview: &'static str, observed: Option<Observed>) -> StepPlan {
        StepPlan {
            number: "7".to_owned(),
            id: id.to_owned(),
            name: "Hardware".to_owned(),
            kind: "tinkerbell.hardware".to_owned(),
            item: None,
            needs: Vec::new(),
            state: "pending".to_owned(),
            preview,
            target: "platform",
            actions: vec!["apply Hardware".to_owned()],
            timeout_seconds: 60,
            attempts: 3,
            observed,
        }
    }

    fn plan(steps: Vec<StepPlan>) -> Plan {
        Plan {
            schema: SCHEMA,
            lab: "lab".to_owned(),
            mode: "live",
            unobserved: Vec::new(),
            phases: vec![PhasePlan {
                number: 3,
                name: "Harvester".to_owned(),
                file: "phase-3.yaml".to_owned(),
                steps,
            }],
            branches: Vec::new(),
            totals: Totals {
                phases: 1,
                steps: 1,
                by_state: BTreeMap::new(),
                by_preview: BTreeMap::new(),
            },
            observation: None,
        }
    }

    #[test]
    fn outcomes_map_to_the_documented_words() {
        let timeout = Duration::from_secs(3);
        let changed = observed_from(
            Ok(Ok(PlanOutcome::WillChange {
                summary: "X: update".to_owned(),
                diff: Some("-a\n+b\n".to_owned()),
            })),
            timeout,
        );
        assert_eq!(changed.outcome, "will-change");
        assert_eq!(changed.diff.as_deref(), Some("-a\n+b\n"));
        let same = observed_from(
            Ok(Ok(PlanOutcome::NoChange {
                summary: "X: no change".to_owned(),
            })),
            timeout,
        );
        assert_eq!(same.outcome, "no-change");
        let failed = observed_from(
            Ok(Err(ActionError::new(
                genesis_engine::ErrorKind::Unreachable,
                "connection refused",
            ))),
            timeout,
        );
        assert_eq!(
            (failed.outcome, failed.summary.as_str()),
            ("not-observed", "connection refused")
        );
        let depends = observed_from(
            Ok(Ok(PlanOutcome::DependsOnEarlier {
                what: "step 9".to_owned(),
            })),
            timeout,
        );
        assert_eq!(depends.outcome, "depends-on-earlier");
        assert_eq!(depends.summary, "depends on step 9");
    }

    #[tokio::test]
    async fn a_timeout_names_the_flag() {
        let elapsed = tokio::time::timeout(Duration::ZERO, std::future::pending::<()>())
            .await
            .expect_err("times out");
        let observed = observed_from(Err(elapsed), Duration::from_secs(3));
        assert_eq!(observed.outcome, "not-observed");
        assert!(observed.summary.contains("3s"), "{}", observed.summary);
        assert!(observed.summary.contains("--observe-timeout"));
    }

    #[test]
    fn the_text_shows_each_object_and_the_diff_and_no_actions_without_change() {
        let text = render_text(&plan(vec![
            step(
                "hardware/a",
                "will-change",
                Some(Observed {
                    outcome: "will-change",
                    summary: "Secret ns/s: update (data.password changed); Machine ns/m: no change"
                        .to_owned(),
                    diff: Some("--- live\n+++ after\n-  x: 1\n+  x: 2\n".to_owned()),
                }),
            ),
            step(
                "hardware/b",
                "no-change",
                Some(Observed {
                    outcome: "no-change",
                    summary: "Hardware ns/b: no change".to_owned(),
                    diff: None,
                }),
            ),
        ]));
        assert!(text.contains("live mode"), "{text}");
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let start = lines
            .iter()
            .position(|line| line.contains("hardware/a"))
            .expect("step a");
        assert_eq!(
            &lines[start + 2..start + 8],
            [
                "Secret ns/s: update (data.password changed)",
                "Machine ns/m: no change",
                "--- live",
                "+++ after",
                "-  x: 1",
                "+  x: 2",
            ]
        );
        assert_eq!(lines[start + 8], "- apply Hardware");
        let b = lines
            .iter()
            .position(|line| line.contains("hardware/b"))
            .expect("step b");
        assert!(lines[b].contains("no change (observed)"));
        assert_eq!(
            lines
                .iter()
                .filter(|line| **line == "- apply Hardware")
                .count(),
            1,
            "no actions for a step that changes nothing"
        );
    }
}
