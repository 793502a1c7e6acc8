//! `genesis plan`: the dry run. Plan data goes to stdout; nothing is written anywhere.
//!
//! With the Platform cluster reachable (kubeconfig and context as for `genesis up`), every
//! pending step that writes is observed: its plan half compares the live objects with a
//! server-side dry run of the apply. Unreachable, or with `--offline`, the plan is built from
//! the inputs and the journal alone.

use std::time::Duration;

use clap::{Args, ValueEnum};
use genesis_engine::Scrubber;

use super::common::Common;
use super::error::{CliError, CliResult};
use crate::plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format: text for people, json for machines (see docs/plan-json.md).
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
    pub output: PlanFormat,
    /// Contact nothing: plan from the inputs and the journal only.
    #[arg(long)]
    pub offline: bool,
    /// Bound on reaching the Platform cluster and on each step's observation; past it the
    /// plan falls back to offline (cluster) or says the step was not observed.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s", value_name = "DURATION")]
    pub observe_timeout: Duration,
    #[command(flatten)]
    pub select: super::select::SelectArgs,
}

impl PlanArgs {
    /// `genesis up --dry-run`: the default plan in the given format, of the selected steps.
    pub fn with_output(output: PlanFormat, select: super::select::SelectArgs) -> Self {
        Self {
            output,
            offline: false,
            observe_timeout: Duration::from_secs(10),
            select,
        }
    }
}

pub fn run(args: PlanArgs, common: &Common) -> CliResult {
    let inputs = common.load_inputs()?;
    let selected = args.select.resolve(&inputs.graph)?;
    // The journal says what is done already; reading it changes nothing. It comes from the
    // selected state backend (`--state`), except that `--offline` contacts no cluster.
    let state = super::state::options(common);
    let journal = if args.offline && state.kind() == crate::state::StateKind::Kubernetes {
        crate::errln!(
            "note: --offline: the journal is kept in the Platform cluster (--state kubernetes) and was not read; every step shows as pending"
        );
        genesis_engine::journal::JournalState::default()
    } else {
        super::state::backend(common)?
            .load_journal()
            .map_err(|error| CliError::journal(&error))?
    };
    let states = journal.states(&inputs.graph);
    let mut plan = plan::build(&inputs, &|step| {
        inputs
            .graph
            .position(&step.id)
            .and_then(|position| states.get(position))
            .map_or("pending", genesis_engine::StepState::label)
            .replace(' ', "-")
    });
    plan::apply_selection(&mut plan, &inputs.graph, &selected, args.select.selection());
    // With --harvester-context the run reaches Harvester through the operator's context.
    let harvester = crate::actions::harvester::OperatorContext::new(
        plan::platform_target(&inputs, &common.cluster_options()).kubeconfig,
        common.harvester_context.clone(),
    );
    if let Some(how) = harvester.describe() {
        let fetching = crate::actions::harvester::ApiStep::of(&inputs.graph);
        for fact in &mut plan.unobserved {
            if let Some(cluster) = fact
                .strip_prefix("the Harvester cluster")
                .and_then(|rest| rest.split(": ").next())
            {
                *fact = format!(
                    "the Harvester cluster{cluster}: the run reaches it through {how}, not the kubeconfig {fetching} fetches"
                );
            }
        }
    }
    if !args.offline {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|error| {
                CliError::failed(format!("could not start the async runtime: {error}"))
            })?;
        let options = common.cluster_options();
        let registry = crate::actions::registry(&inputs, &options);
        let target = plan::platform_target(&inputs, &options);
        runtime.block_on(plan::observe(
            &mut plan,
            &inputs,
            &journal,
            &registry,
            &target,
            args.observe_timeout,
        ));
        runtime.shutdown_timeout(Duration::from_millis(200));
        if let Some(observation) = &plan.observation
            && let Some(error) = &observation.error
        {
            crate::errln!(
                "note: the Platform cluster (context `{}`) is not reachable: {error}; showing the offline plan (use --offline to skip this check)",
                target.context.as_deref().unwrap_or("(current)")
            );
        }
    }
    let text = match args.output {
        PlanFormat::Text => plan::render_text(&plan),
        PlanFormat::Json => {
            serde_json::to_string_pretty(&plan).map_err(|error| {
                CliError::failed(format!("cannot encode the plan as JSON: {error}"))
            })? + "\n"
        }
    };
    // The plan halves never render a secret value; this is the guard in case one slips in.
    let scrubber = Scrubber::new(inputs.secrets.values().map(|value| value.expose()));
    match args.output {
        // JSON escapes its own control characters; text is sanitized for the terminal.
        PlanFormat::Json => crate::ui::term::write_out(scrubber.scrub(&text).as_bytes(), false),
        PlanFormat::Text => crate::out!("{}", scrubber.scrub(&text)),
    }
    Ok(())
}
