//! `genesis status`: the journal as a table, compared with the current inputs when they load.

use clap::Args;
use comfy_table::Cell;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use genesis_engine::RunOutcome;
use genesis_engine::journal::{self, JournalState, Journaled, StepRecord};
use genesis_engine::lock::format_time;
use genesis_engine::storage::LockStatus;
use serde::Serialize;

use super::common::Common;
use super::error::{CliError, CliResult};
use crate::errors::error_chain;
use crate::inputs;
use crate::ui::{OutputFormat, short_duration};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// `text`: a table on stdout; `json`: the same rows as a JSON document.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub select: super::select::SelectArgs,
}

/// One row of the status table.
#[derive(Debug, Serialize)]
pub struct StatusRow {
    pub number: Option<String>,
    pub step: String,
    pub state: String,
    pub attempts: u32,
    pub updated_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
    /// Whether the selection (`--only`, `--machine`, …) covers this step; the text table shows
    /// only selected rows.
    pub selected: bool,
    /// The step's phase, when the inputs load.
    #[serde(skip)]
    pub phase: Option<u32>,
}

#[derive(Debug, Serialize)]
struct StatusDocument {
    lock: Option<LockStatus>,
    last_run: Option<journal::RunInfo>,
    steps: Vec<StatusRow>,
}

pub fn run(args: StatusArgs, common: &Common) -> CliResult {
    let backend = super::state::backend(common)?;
    let journal = backend
        .load_journal()
        .map_err(|error| CliError::journal(&error))?;
    let lock = match backend.probe() {
        Ok(lock) => lock,
        Err(error) => {
            crate::errln!(
                "warning: cannot tell who holds the lock: {}",
                error_chain(&error)
            );
            None
        }
    };
    let (mut rows, scrubber) = match inputs::load_with(
        &common.input_paths(),
        &common.load_options(),
    ) {
        Ok(inputs) => {
            let selected = args.select.resolve(&inputs.graph)?;
            (
                rows_with_inputs(&journal, &inputs.graph, &selected),
                genesis_engine::Scrubber::new(inputs.secrets.values().map(|value| value.expose())),
            )
        }
        Err(_) if !args.select.is_everything() => {
            return Err(CliError::input(
                "the inputs do not load, so --from/--only/--skip/--machine cannot be resolved",
            )
            .with_hint("`genesis validate` shows what is wrong; `genesis status` without a selection shows the journal alone"));
        }
        Err(_) => {
            crate::errln!(
                "note: the inputs do not load (see `genesis validate`); showing the journal alone"
            );
            (
                rows_from_journal(&journal),
                genesis_engine::Scrubber::empty(),
            )
        }
    };
    // The journal was scrubbed with the secrets of the run that wrote it; the current ones
    // are scrubbed again here, in case a value changed since.
    for row in &mut rows {
        if let Some(detail) = &mut row.detail {
            scrubber.scrub_string(detail);
        }
    }
    match args.output {
        OutputFormat::Json => {
            let document = StatusDocument {
                lock,
                last_run: journal.last_run().cloned(),
                steps: rows,
            };
            let text = serde_json::to_string_pretty(&document)
                .map_err(|error| CliError::failed(format!("cannot encode the status: {error}")))?;
            crate::ui::term::write_out(text.as_bytes(), true);
        }
        OutputFormat::Text => {
            if let Some(lock) = &lock {
                if lock.alive {
                    crate::outln!("running: {}", lock.holder);
                } else {
                    crate::outln!("lock left by a run that is gone: {}", lock.holder);
                }
            }
            if let Some(run) = journal.last_run() {
                let ended = match (run.outcome, run.ended_at) {
                    (Some(outcome), Some(at)) => {
                        let outcome = match outcome {
                            RunOutcome::Succeeded => "succeeded",
                            RunOutcome::Failed => "failed",
                            RunOutcome::Interrupted => "interrupted",
                        };
                        format!("{outcome} at {}", format_time(at))
                    }
                    _ => "no recorded end (running, or killed)".to_owned(),
                };
                crate::outln!(
                    "last run {} on {} (pid {}), started {}: {ended}",
                    run.run,
                    run.host,
                    run.pid,
                    format_time(run.started_at)
                );
            }
            let shown: Vec<&StatusRow> = rows.iter().filter(|row| row.selected).collect();
            crate::out!("{}", render(&shown, common.stdout_color()));
            for line in left_out(&rows) {
                crate::outln!("{line}");
            }
        }
    }
    Ok(())
}

/// One line per phase with steps the selection leaves out: `phase 3: 9 steps not selected`.
fn left_out(rows: &[StatusRow]) -> Vec<String> {
    let mut by_phase: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for row in rows.iter().filter(|row| !row.selected) {
        *by_phase.entry(row.phase.unwrap_or_default()).or_insert(0) += 1;
    }
    by_phase
        .into_iter()
        .map(|(phase, count)| {
            format!(
                "phase {phase}: {count} step{} not selected",
                if count == 1 { "" } else { "s" }
            )
        })
        .collect()
}

fn rows_with_inputs(
    journal: &JournalState,
    graph: &genesis_engine::Graph,
    selected: &genesis_engine::select::Resolved,
) -> Vec<StatusRow> {
    let states = journal.states(graph);
    graph
        .order()
        .iter()
        .map(|&position| {
            let step = graph.step(position);
            let record = journal.step(&step.id);
            StatusRow {
                number: Some(step.number.clone()),
                step: step.id.to_string(),
                state: journal.describe(step, &states[position]),
                attempts: record.map_or(0, |record| record.attempts),
                updated_at: record.map(|record| format_time(record.updated_at)),
                duration_ms: record.and_then(|record| record.duration_ms),
                detail: record.and_then(detail),
                selected: selected.includes(position),
                phase: Some(step.phase),
            }
        })
        .collect()
}

fn rows_from_journal(journal: &JournalState) -> Vec<StatusRow> {
    journal
        .steps()
        .map(|(id, record)| StatusRow {
            number: None,
            step: id.to_string(),
            state: match record.state {
                Journaled::Started | Journaled::Interrupted => "outcome unknown",
                Journaled::Succeeded => "done",
                Journaled::Failed => "failed",
                Journaled::Skipped => "pending",
            }
            .to_owned(),
            attempts: record.attempts,
            updated_at: Some(format_time(record.updated_at)),
            duration_ms: record.duration_ms,
            detail: detail(record),
            selected: true,
            phase: None,
        })
        .collect()
}

fn detail(record: &StepRecord) -> Option<String> {
    match record.state {
        Journaled::Failed => record.error.clone(),
        Journaled::Skipped => record
            .skip_reason
            .as_ref()
            .map(|reason| format!("skipped: {reason}")),
        Journaled::Started | Journaled::Interrupted => record
            .last_intent
            .as_ref()
            .map(|intent| format!("last announced: {intent}")),
        Journaled::Succeeded => None,
    }
}

/// The status table; `color` colours the state column.
pub fn render(rows: &[&StatusRow], color: bool) -> String {
    let mut table = crate::ui::report::table(color);
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(crate::ui::report::arrangement())
        .set_header([
            "step", "id", "state", "attempts", "updated", "duration", "detail",
        ]);
    for row in rows {
        table.add_row([
            Cell::new(crate::ui::term::line(
                row.number.as_deref().unwrap_or_default(),
            )),
            Cell::new(crate::ui::term::line(&row.step)),
            crate::ui::report::state_cell(&row.state),
            Cell::new(if row.attempts == 0 {
                String::new()
            } else {
                row.attempts.to_string()
            }),
            Cell::new(row.updated_at.clone().unwrap_or_default()),
            Cell::new(row.duration_ms.map(short_duration).unwrap_or_default()),
            Cell::new(crate::ui::term::line(
                row.detail.as_deref().unwrap_or_default(),
            )),
        ]);
    }
    format!("{table}\n")
}
