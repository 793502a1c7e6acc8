//! `genesis plan`: the dry run. Plan data goes to stdout; nothing is written anywhere.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{Common, exit};
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
}

pub fn run(args: PlanArgs, common: &Common) -> ExitCode {
    let inputs = match common.load_inputs() {
        Ok(inputs) => inputs,
        Err(code) => return code,
    };
    // The journal says what is done already; reading it changes nothing.
    let journal = match genesis_engine::journal::load(&common.state_dir) {
        Ok(journal) => journal,
        Err(error) => {
            eprintln!("error: {}", super::up::error_chain(&error));
            return ExitCode::from(exit::STEP_FAILED);
        }
    };
    let states = journal.states(&inputs.graph);
    let plan = plan::build(&inputs, &|step| {
        inputs
            .graph
            .position(&step.id)
            .and_then(|position| states.get(position))
            .map_or("pending", genesis_engine::StepState::label)
            .replace(' ', "-")
    });
    let text = match args.output {
        PlanFormat::Text => plan::render_text(&plan),
        PlanFormat::Json => match serde_json::to_string_pretty(&plan) {
            Ok(json) => json + "\n",
            Err(error) => {
                eprintln!("error: cannot encode the plan as JSON: {error}");
                return ExitCode::from(exit::STEP_FAILED);
            }
        },
    };
    print!("{text}");
    ExitCode::SUCCESS
}
