//! `genesis health`: is the lab as genesis left it? Each cluster read once, with a short
//! timeout, nothing written, no lock taken (see [`crate::health`] and docs/health-json.md).

use std::time::{Duration, Instant};

use clap::Args;

use super::common::Common;
use super::error::{CliError, CliResult, exit};
use crate::health::{Report, gather};
use crate::ui::OutputFormat;

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// `text`: one line per check and what to do; `json`: the report (docs/health-json.md).
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// How long the whole check may take: every cluster is read at once under this deadline.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s", value_name = "DURATION")]
    pub timeout: Duration,
}

pub fn run(args: HealthArgs, common: &Common) -> CliResult {
    if args.timeout.is_zero() {
        return Err(CliError::input("--timeout must be more than zero"));
    }
    let inputs = common.load_inputs()?;
    let scrubber =
        genesis_engine::Scrubber::new(inputs.secrets.values().map(|value| value.expose()));
    let options = common.cluster_options();
    let runtime = super::common::runtime()?;
    let started = Instant::now();
    let mut checks = runtime.block_on(gather::gather(&inputs, &options, args.timeout));
    // An object not there is "not run yet" unless the journal says its step finished; the
    // journal is read, never written. A journal that cannot be read leaves the checks as
    // they are.
    if let Ok(journal) = super::state::backend(common).and_then(|backend| {
        backend
            .load_journal()
            .map_err(|error| CliError::journal(&error))
    }) {
        let states = journal.states(&inputs.graph);
        let done = |step: &str| {
            inputs
                .graph
                .position(&genesis_engine::StepId::from(step))
                .and_then(|position| states.get(position))
                == Some(&genesis_engine::StepState::Done)
        };
        crate::health::escalate_missing(
            &mut checks,
            &|check| crate::health::step_of(&inputs.graph, check),
            &done,
        );
    }
    // A client stuck in an exec credential plugin is not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    let report = Report::new(
        inputs.lab.name.clone(),
        checks,
        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        u64::try_from(args.timeout.as_millis()).unwrap_or(u64::MAX),
    );
    let text = match args.output {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(&report)
                .map_err(|error| CliError::failed(format!("cannot encode the report: {error}")))?;
            scrubber.scrub_json(&mut value);
            serde_json::to_string_pretty(&value)
                .map_err(|error| CliError::failed(format!("cannot encode the report: {error}")))?
        }
        OutputFormat::Text => scrubber
            .scrub(&report.render_text(common.stdout_color()))
            .into_owned(),
    };
    crate::ui::term::write_out(text.trim_end().as_bytes(), true);
    match report.exit_code() {
        exit::OK => Ok(()),
        code => Err(CliError::reported(code)),
    }
}
