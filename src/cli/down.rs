//! `genesis down`: take down what genesis made (see [`crate::teardown::down`]); and the
//! question before genesis removes anything (`down`, `up --reinstall`): the same rule as
//! `up`'s before it erases disks (see [`super::confirm`]): shown and asked on a terminal,
//! `--yes` for scripts, refused (exit 2) without a terminal and without `--yes`, before
//! anything is written.

use std::sync::Arc;

use clap::Args;
use clap_complete::engine::ArgValueCandidates;
use genesis_engine::Scrubber;

use super::common::Common;
use super::confirm::{Question, ask};
use super::error::{CliError, CliResult};
use crate::errors::error_chain;
use crate::plan::Destruction;
use crate::teardown::down::{Down, Scope};

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Only this phase and the later ones (3: the machines and what follows; 4: the VMs).
    #[arg(long, value_name = "N")]
    pub phase: Option<u32>,
    /// Only this machine's or VM's steps (repeatable); a machine is also taken out of
    /// Harvester (its Node cordoned and deleted).
    #[arg(
        long = "machine",
        value_name = "NAME",
        add = ArgValueCandidates::new(super::candidates::machines)
    )]
    pub machines: Vec<String>,
    /// Delete and power off without asking (for scripts; GENESIS_YES=1 does the same).
    #[arg(
        long,
        short = 'y',
        env = "GENESIS_YES",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub yes: bool,
    /// Show what would be deleted and powered off, and stop.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: DownArgs, common: &Common) -> CliResult {
    let inputs = common.load_inputs()?;
    if let Some(phase) = args.phase
        && !inputs.graph.phases().contains(&phase)
    {
        let phases: Vec<String> = inputs.graph.phases().iter().map(u32::to_string).collect();
        return Err(CliError::input(format!(
            "--phase {phase}: the phases are {}",
            phases.join(", ")
        )));
    }
    let scope = Scope {
        phase: args.phase,
        machines: args.machines.clone(),
    };
    let down = Down::plan(&inputs.graph, &scope)
        .map_err(|error| CliError::input(error.to_string()).with_hint(error.help()))?;
    let removal = Removal {
        command: "genesis down",
        heading: "genesis down will, in this order:",
        lines: down.lines(&inputs.graph),
        destruction: &Destruction::default(),
    };
    if args.dry_run {
        let rendered = removal.render();
        crate::ui::term::write_err(crate::ui::term::text(&rendered).as_bytes(), false);
        crate::errln!("(--dry-run: nothing was done)");
        return Ok(());
    }
    confirm_removal(&removal, &inputs.lab.name, args.yes, common.stderr_color())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("could not start the async runtime: {error}")))?;
    let state = super::state::backend(common)?;
    let acquired = state
        .acquire("genesis down")
        .map_err(|error| CliError::lock(&error))?;
    if let Some(previous) = &acquired.taken_over {
        crate::errln!("warning: taking over the lock left by a run that is gone: {previous}");
    }
    let scrubber = Arc::new(Scrubber::new(
        inputs.secrets.values().map(|value| value.expose()),
    ));
    let (mut journal, prior) = state
        .open_journal(scrubber)
        .map_err(|error| CliError::journal(&error))?;
    let done =
        runtime.block_on(down.execute(&inputs, &common.cluster_options(), &mut journal, &prior));
    drop(journal);
    drop(acquired);
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match done {
        Ok(outcome) => {
            crate::errln!(
                "down: {} forgotten in the journal; `genesis up` makes them again",
                crate::plan::count(outcome.forgotten.len(), "step")
            );
            if !outcome.left_alone.is_empty() {
                crate::errln!(
                    "left alone ({} without genesis's label): {}",
                    outcome.left_alone.len(),
                    outcome.left_alone.join(", ")
                );
            }
            Ok(())
        }
        Err(error) => Err(CliError::failed(error_chain(&error))
            .with_hint("run `genesis down` again: it looks first and skips what is already gone")),
    }
}

/// What a command will remove, power off or erase.
pub struct Removal<'a> {
    /// The command, for messages (`genesis up --reinstall`).
    pub command: &'a str,
    /// The line above the list.
    pub heading: &'a str,
    /// What it removes or powers off, one line each.
    pub lines: Vec<String>,
    /// The destructive steps the run after it starts (empty for `down`).
    pub destruction: &'a Destruction,
}

impl Removal<'_> {
    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.destruction.is_empty()
    }

    fn render(&self) -> String {
        let mut text = String::new();
        if !self.lines.is_empty() {
            text.push_str(self.heading);
            text.push('\n');
            for line in &self.lines {
                text.push_str("  - ");
                text.push_str(line);
                text.push('\n');
            }
        }
        if !self.destruction.is_empty() {
            text.push_str(&self.destruction.render());
        }
        text
    }
}

/// Shows what will be removed and asks, proceeds (`--yes`) or refuses, by `up`'s rule
/// ([`super::confirm::ask`]).
pub fn confirm_removal(
    removal: &Removal<'_>,
    lab: &str,
    yes: bool,
    color: bool,
) -> Result<(), CliError> {
    let question = Question {
        shown: removal.render(),
        empty: removal.is_empty(),
        refusal: format!(
            "`{}` would do the above, and there is no terminal to confirm on; nothing was done",
            removal.command
        ),
        hint: format!(
            "review it, then run `{} --yes` (or set GENESIS_YES=1) to confirm without a terminal",
            removal.command
        ),
        warning: None,
    };
    ask(&question, lab, yes, color)
}
