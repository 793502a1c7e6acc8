//! `genesis describe STEP|MACHINE`: the objects a step owns (or every step of a machine's
//! branch), read live, as a tree with their conditions. Read-only; no lock, no journal.

use std::time::Duration;

use clap::Args;
use clap_complete::engine::ArgValueCandidates;
use genesis_engine::Graph;
use genesis_engine::select::{self, SelectError};

use super::common::Common;
use super::error::{CliError, CliResult};
use crate::health::describe::{Description, describe};
use crate::ui::OutputFormat;

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// A machine or VM of the lab (every step of its branch), or a step: id, number,
    /// fan-out template or glob, as `--only` takes them.
    #[arg(value_name = "STEP|MACHINE", add = ArgValueCandidates::new(targets))]
    pub target: String,
    /// `text`: a tree; `json`: the same as a document (docs/health-json.md, "describe").
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// How long reading may take: every cluster is read at once under this deadline.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s", value_name = "DURATION")]
    pub timeout: Duration,
}

/// Machine names, then step ids, for completion.
fn targets() -> Vec<clap_complete::CompletionCandidate> {
    let mut candidates = super::candidates::machines();
    candidates.extend(super::candidates::steps());
    candidates
}

/// The steps `target` names: a machine's branch, else the steps of a reference; an unknown
/// name is bad input with the nearest step ids and machine names.
pub fn resolve(graph: &Graph, target: &str) -> Result<(Vec<usize>, &'static str), CliError> {
    let machines = select::machines(graph);
    if machines.iter().any(|machine| machine == target) {
        return select::machine_branch(graph, target)
            .map(|positions| (positions, "machine"))
            .map_err(|error| CliError::input(error.to_string()).with_hint(error.help()));
    }
    match select::lookup(graph, "describe", target) {
        Ok(positions) => Ok((positions, "step")),
        Err(SelectError::UnknownStep { templates, .. }) => {
            let candidates = graph
                .steps()
                .iter()
                .map(|step| step.id.to_string())
                .chain(templates.iter().cloned())
                .chain(machines.iter().cloned());
            let nearest = select::nearest(target, candidates);
            let quoted = |names: &[String]| {
                names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let hint = if nearest.is_empty() {
                format!(
                    "the machines and VMs are {}; the steps are {} (`genesis plan` lists them all)",
                    quoted(&machines),
                    quoted(&templates)
                )
            } else {
                format!("did you mean {}?", quoted(&nearest))
            };
            Err(
                CliError::input(format!("`{target}` names no step or machine of this run"))
                    .with_hint(hint),
            )
        }
        Err(error) => Err(CliError::input(error.to_string()).with_hint(error.help())),
    }
}

pub fn run(args: DescribeArgs, common: &Common) -> CliResult {
    if args.timeout.is_zero() {
        return Err(CliError::input("--timeout must be more than zero"));
    }
    let inputs = common.load_inputs()?;
    let (positions, target_kind) = resolve(&inputs.graph, &args.target)?;
    let scrubber =
        genesis_engine::Scrubber::new(inputs.secrets.values().map(|value| value.expose()));
    let options = common.cluster_options();
    let runtime = super::common::runtime()?;
    let steps = runtime.block_on(describe(&inputs, &options, &positions, args.timeout));
    runtime.shutdown_timeout(Duration::from_millis(100));
    let description = Description {
        schema: "genesis.describe/v1",
        target: args.target.clone(),
        target_kind,
        steps,
    };
    let text = match args.output {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(&description).map_err(|error| {
                CliError::failed(format!("cannot encode the description: {error}"))
            })?;
            scrubber.scrub_json(&mut value);
            serde_json::to_string_pretty(&value).map_err(|error| {
                CliError::failed(format!("cannot encode the description: {error}"))
            })?
        }
        OutputFormat::Text => scrubber.scrub(&description.tree().render()).into_owned(),
    };
    crate::ui::term::write_out(text.trim_end().as_bytes(), true);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_graph() -> Graph {
        crate::inputs::reference_lab().graph
    }

    #[test]
    fn a_machine_is_its_branch_and_a_step_is_itself() {
        let graph = reference_graph();
        let (positions, kind) = resolve(&graph, "ms-02-2").expect("machine");
        assert_eq!(kind, "machine");
        let ids: Vec<&str> = positions
            .iter()
            .map(|&position| graph.step(position).id.as_str())
            .collect();
        for id in ["bmc/ms-02-2", "hardware/ms-02-2", "join-cluster/ms-02-2"] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        assert!(!ids.contains(&"hardware/ms-02-3"), "{ids:?}");
        let (positions, kind) = resolve(&graph, "hardware/ms-02-2").expect("step");
        assert_eq!((positions.len(), kind), (1, "step"));
    }

    #[test]
    fn an_unknown_name_is_bad_input_with_the_nearest_steps_and_machines() {
        let graph = reference_graph();
        let error = resolve(&graph, "ms-02-9").expect_err("unknown");
        assert_eq!(error.code(), super::super::error::exit::BAD_INPUT);
        assert_eq!(
            error.message(),
            Some("`ms-02-9` names no step or machine of this run")
        );
        let error = format!("{error:?}");
        assert!(error.contains("did you mean `ms-02-1`"), "{error}");
    }
}
