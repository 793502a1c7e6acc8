//! `genesis plan`: the dry run. Plan data goes to stdout; nothing is written anywhere.
//!
//! With the Platform cluster reachable (kubeconfig and context as for `genesis up`), every
//! pending step that writes is observed: its plan half compares the live objects with a
//! server-side dry run of the apply. Unreachable, or with `--offline`, the plan is built from
//! the inputs and the journal alone.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use genesis_engine::Scrubber;

use super::common::Common;
use super::error::{CliError, CliResult};
use crate::inputs::Inputs;
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
    /// Also save the plan to FILE (JSON, mode 0600) with fingerprints of its inputs and of
    /// what it observed; `genesis up --plan FILE` applies exactly it (docs/runbook.md).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
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
            out: None,
            select,
        }
    }
}

pub fn run(args: PlanArgs, common: &Common) -> CliResult {
    let inputs = common.load_inputs()?;
    let selected = args.select.resolve(&inputs.graph)?;
    let selecting = (&selected, args.select.selection());
    let plan = make(
        common,
        &inputs,
        Some(selecting),
        args.offline,
        args.observe_timeout,
    )?;
    // The plan halves never render a secret value; this is the guard in case one slips in.
    let scrubber = Scrubber::new(inputs.secrets.values().map(|value| value.expose()));
    if let Some(out) = &args.out {
        let key = plan::saved::PlanKey::load_or_create(&common.state_dir)
            .map_err(|error| saved_error(&error.into()))?;
        let fingerprints = plan::saved::Fingerprints::of(&inputs, &plan, steps_to_run(&plan), &key)
            .map_err(|error| saved_error(&error))?;
        let document = plan::saved::document(&plan, &fingerprints);
        let text = serde_json::to_string_pretty(&document).map_err(|error| {
            CliError::failed(format!("cannot encode the plan as JSON: {error}"))
        })? + "\n";
        plan::saved::write(out, &scrubber.scrub(&text)).map_err(|error| saved_error(&error))?;
        crate::errln!(
            "saved the plan to {}; `genesis up --plan {}` applies exactly it, and refuses if its inputs or what it observed change",
            out.display(),
            out.display()
        );
    }
    let text = match args.output {
        PlanFormat::Text => plan::render_text(&plan),
        PlanFormat::Json => {
            serde_json::to_string_pretty(&plan).map_err(|error| {
                CliError::failed(format!("cannot encode the plan as JSON: {error}"))
            })? + "\n"
        }
    };
    match args.output {
        // JSON escapes its own control characters; text is sanitized for the terminal.
        PlanFormat::Json => crate::ui::term::write_out(scrubber.scrub(&text).as_bytes(), false),
        PlanFormat::Text => {
            let text = scrubber.scrub(&text);
            let text = crate::ui::term::text(&text);
            if common.stdout_color() {
                crate::ui::term::write_out(plan::colorize(&text).as_bytes(), false);
            } else {
                crate::ui::term::write_out(text.as_bytes(), false);
            }
        }
    }
    Ok(())
}

/// A saved plan that cannot be written, read or checked.
pub(crate) fn saved_error(error: &plan::saved::SavedPlanError) -> CliError {
    if error.is_input() {
        CliError::input(crate::errors::error_chain(error))
    } else {
        CliError::from_error(error)
    }
}

/// The ids of the steps a plan says `genesis up` runs, in order.
pub(crate) fn steps_to_run(plan: &plan::Plan) -> Vec<String> {
    plan.phases
        .iter()
        .flat_map(|phase| &phase.steps)
        .filter(|step| step.selected && step.state != "done")
        .map(|step| step.id.clone())
        .collect()
}

/// The plan as `genesis plan` makes it: from the inputs and the journal, observed on the
/// Platform cluster unless `offline`, with its summary.
pub(crate) fn make(
    common: &Common,
    inputs: &Inputs,
    selection: Option<(&genesis_engine::select::Resolved, genesis_engine::Selection)>,
    offline: bool,
    observe_timeout: Duration,
) -> Result<plan::Plan, CliError> {
    // The journal says what is done already; reading it changes nothing. It comes from the
    // selected state backend (`--state`), except that `--offline` contacts no cluster.
    let state = super::state::options(common);
    let journal = if offline && state.kind() == crate::state::StateKind::Kubernetes {
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
    // A done step that --only or --from selects runs again (as `up` runs it): the plan says so,
    // with its effects, instead of "done".
    let forced_steps: Vec<bool> = selection
        .as_ref()
        .map(|(resolved, _)| resolved.forced.clone())
        .unwrap_or_default();
    let forced = |position: usize| forced_steps.get(position) == Some(&true);
    let mut plan = plan::build(inputs, &|step| {
        let position = inputs.graph.position(&step.id);
        let state = position
            .and_then(|position| states.get(position))
            .map_or("pending", genesis_engine::StepState::label)
            .replace(' ', "-");
        match position {
            Some(position) if state == "done" && forced(position) => "run-again".to_owned(),
            _ => state,
        }
    });
    for step in plan.phases.iter_mut().flat_map(|phase| &mut phase.steps) {
        if let Some(position) = inputs
            .graph
            .position(&genesis_engine::StepId::new(&*step.id))
        {
            step.why = journal.why(inputs.graph.step(position), &states[position]);
        }
    }
    if let Some((resolved, selection)) = selection {
        plan::apply_selection(&mut plan, &inputs.graph, resolved, selection);
        // The projection is of what this selection runs: a step it leaves out takes no time.
        plan.projection = plan::project(inputs, &|step| {
            let position = inputs.graph.position(&step.id);
            match position {
                Some(position) if resolved.excluded[position].is_none() && forced(position) => {
                    "run-again".to_owned()
                }
                Some(position) if resolved.excluded[position].is_none() => states
                    .get(position)
                    .map_or("pending", genesis_engine::StepState::label)
                    .replace(' ', "-"),
                _ => "done".to_owned(),
            }
        });
    }
    // With --harvester-context the run reaches Harvester through the operator's context.
    let harvester = crate::actions::harvester::OperatorContext::new(
        plan::platform_target(inputs, &common.cluster_options()).kubeconfig,
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
    if !offline {
        let runtime = super::common::runtime()?;
        let options = common.cluster_options();
        let registry = crate::actions::registry(inputs, &options);
        let target = plan::platform_target(inputs, &options);
        runtime.block_on(plan::observe(
            &mut plan,
            inputs,
            &journal,
            &registry,
            &target,
            observe_timeout,
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
    plan::summarize(&mut plan);
    Ok(plan)
}
