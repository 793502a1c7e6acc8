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
    let plan = plan::build(&inputs, &|_| "pending".to_owned());
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
