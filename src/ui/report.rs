//! The final table (step, result, attempts, duration) and the critical path.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{Cell, Color, ContentArrangement, Table};
use genesis_engine::report::{Projected, StepReport};
use genesis_engine::{Report, RunOutcome, StepResult};

use super::render::short_duration;

/// Wrap columns to the terminal only when its width is known and usable; a pseudo-terminal
/// that reports no width would squeeze every cell to one character.
pub fn arrangement() -> ContentArrangement {
    match Table::new().width() {
        Some(width) if width >= 60 => ContentArrangement::Dynamic,
        _ => ContentArrangement::Disabled,
    }
}

/// A table whose cells may carry colour: with `color`, styling is applied even when comfy-table
/// cannot see a terminal (the caller decided, by `--color` and `NO_COLOR`); without it, never.
pub fn table(color: bool) -> Table {
    let mut table = Table::new();
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// A state or result word as a cell, coloured by what it means: done/succeeded green,
/// failed red, changed/drifted/interrupted yellow, the rest plain.
pub fn state_cell(word: &str) -> Cell {
    let cell = Cell::new(word);
    match word {
        "done" | "succeeded" => cell.fg(Color::Green),
        "failed" => cell.fg(Color::Red),
        "changed" | "drifted" | "interrupted" | "running" => cell.fg(Color::Yellow),
        _ => cell,
    }
}

/// A table cell keeps to one short line; the full text is printed below the table.
const DETAIL_WIDTH: usize = 72;

fn table_detail(detail: &str) -> String {
    let first = detail.lines().next().unwrap_or_default();
    if first.chars().count() <= DETAIL_WIDTH && !detail.contains('\n') {
        return first.to_owned();
    }
    let cut: String = first.chars().take(DETAIL_WIDTH - 1).collect();
    format!("{cut}…")
}

/// The run's steps on real hardware: their projected critical path from the phase files'
/// estimates (docs/benchmarks.md, "The projected hardware clock").
fn projected_line(projected: &Projected) -> String {
    let path: Vec<String> = projected
        .critical_path
        .iter()
        .map(ToString::to_string)
        .collect();
    // A rehearsal's phases carry their estimates at its pace: back to hardware time.
    let ms = match super::rehearsal::rehearsal_pace() {
        Some(pace) => (projected.critical_path_ms as f64 / pace).round() as u64,
        None => projected.critical_path_ms,
    };
    let mut line = format!(
        "on hardware these steps would take about {} (projected from the phase files' estimates), critical path: {}",
        crate::plan::about_minutes(ms),
        path.join(" → ")
    );
    if !projected.unestimated.is_empty() {
        line.push_str(&format!(
            "; {} step(s) without an estimate counted as 0",
            projected.unestimated.len()
        ));
    }
    line.push('\n');
    line
}

/// The rows in order, with each run of skipped steps of one phase that share their reason
/// gathered into one group (every other row is a group of one).
fn skipped_together(rows: &[StepReport]) -> Vec<Vec<&StepReport>> {
    let mut groups: Vec<Vec<&StepReport>> = Vec::new();
    for row in rows {
        if let Some(last) = groups.last_mut()
            && row.result == StepResult::Skipped
            && last[0].result == StepResult::Skipped
            && last[0].phase == row.phase
            && last[0].detail == row.detail
        {
            last.push(row);
            continue;
        }
        groups.push(vec![row]);
    }
    groups
}

/// The table, the critical path and a one-line verdict; `color` colours the result column.
pub fn render(report: &Report, outcome: RunOutcome, color: bool) -> String {
    let mut table = table(color);
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(crate::ui::report::arrangement())
        .set_header(["step", "id", "result", "attempts", "duration", "detail"]);
    for group in skipped_together(&report.steps) {
        let row = group[0];
        if group.len() > 1 {
            // Steps of one phase skipped for the same reason: one row, not one per step.
            table.add_row([
                Cell::new(format!("phase {}", row.phase)),
                Cell::new(format!("{} steps", group.len())),
                state_cell(row.result.label()),
                Cell::new(""),
                Cell::new(""),
                Cell::new(
                    row.detail
                        .as_deref()
                        .map(|detail| super::term::line(&table_detail(detail)).into_owned())
                        .unwrap_or_default(),
                ),
            ]);
            continue;
        }
        table.add_row([
            Cell::new(super::term::line(&row.number)),
            Cell::new(super::term::line(row.step.as_str())),
            state_cell(row.result.label()),
            Cell::new(if row.attempts == 0 {
                String::new()
            } else {
                row.attempts.to_string()
            }),
            Cell::new(row.duration_ms.map(short_duration).unwrap_or_default()),
            Cell::new(
                row.detail
                    .as_deref()
                    .map(|detail| super::term::line(&table_detail(detail)).into_owned())
                    .unwrap_or_default(),
            ),
        ]);
    }
    let mut out = format!("{table}\n");
    // Failures in full below the table, where a long message does not stretch every row.
    for row in &report.steps {
        if row.result == StepResult::Failed
            && let Some(detail) = &row.detail
        {
            out.push_str(&format!(
                "✗ {} {}: {}\n",
                super::term::line(&row.number),
                super::term::line(row.step.as_str()),
                super::term::text(detail)
            ));
        }
    }
    if !report.critical_path.is_empty() {
        let path: Vec<String> = report
            .critical_path
            .iter()
            .map(ToString::to_string)
            .collect();
        out.push_str(&format!(
            "critical path ({} of {} wall): {}\n",
            short_duration(report.critical_path_ms),
            short_duration(report.wall_ms),
            path.join(" → ")
        ));
    }
    if let Some(projected) = &report.projected {
        out.push_str(&projected_line(projected));
    }
    let counts = format!(
        "{} succeeded, {} failed, {} skipped, {} interrupted",
        report.count(StepResult::Succeeded),
        report.count(StepResult::Failed),
        report.count(StepResult::Skipped),
        report.count(StepResult::Interrupted),
    );
    out.push_str(&match outcome {
        RunOutcome::Succeeded => format!("done: {counts}\n"),
        RunOutcome::Failed => {
            format!("failed: {counts}; fix the cause and run `genesis up` again to continue\n")
        }
        RunOutcome::Interrupted => {
            format!("interrupted: {counts}; run `genesis up` again to continue\n")
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use genesis_engine::StepId;

    #[test]
    fn shows_every_step_and_the_critical_path() {
        let report = Report {
            steps: vec![
                StepReport {
                    step: StepId::from("a"),
                    number: "1".into(),
                    name: "A".into(),
                    phase: 2,
                    result: StepResult::Succeeded,
                    attempts: 2,
                    duration_ms: Some(1500),
                    detail: None,
                },
                StepReport {
                    step: StepId::from("b"),
                    number: "2".into(),
                    name: "B".into(),
                    phase: 2,
                    result: StepResult::Skipped,
                    attempts: 0,
                    duration_ms: None,
                    detail: Some("needs `a`, which failed".into()),
                },
            ],
            critical_path: vec![StepId::from("a")],
            critical_path_ms: 1500,
            wall_ms: 1600,
            projected: Some(Projected {
                critical_path: vec![StepId::from("a")],
                critical_path_ms: 47 * 60 * 1000 + 20_000,
                estimated: 1,
                unestimated: vec![StepId::from("b")],
            }),
        };
        let text = render(&report, RunOutcome::Failed, false);
        assert!(text.contains("succeeded"), "{text}");
        assert!(text.contains("needs `a`, which failed"), "{text}");
        assert!(
            text.contains("critical path (1.5s of 1.6s wall): a"),
            "{text}"
        );
        assert!(
            text.contains("on hardware these steps would take about 47 min (projected from the phase files' estimates), critical path: a; 1 step(s) without an estimate counted as 0"),
            "{text}"
        );
        assert!(
            text.contains("failed: 1 succeeded, 0 failed, 1 skipped"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no colour asked: {text}");
        // `--color always` colours the result column even on a pipe.
        let colored = render(&report, RunOutcome::Failed, true);
        assert!(
            colored.contains("\u{1b}[38;5;10m succeeded \u{1b}[39m"),
            "{colored:?}"
        );
    }

    #[test]
    fn skipped_steps_of_a_phase_with_one_reason_are_one_row() {
        let row = |id: &str, phase: u32, result: StepResult, detail: Option<&str>| StepReport {
            step: StepId::from(id),
            number: id.to_owned(),
            name: id.to_owned(),
            phase,
            result,
            attempts: 0,
            duration_ms: None,
            detail: detail.map(str::to_owned),
        };
        let why = Some("phase 2 did not finish (`check` did not succeed)");
        let report = Report {
            steps: vec![
                row("check", 2, StepResult::Failed, Some("no answer")),
                row("bmc/m1", 3, StepResult::Skipped, why),
                row("bmc/m2", 3, StepResult::Skipped, why),
                row("bmc/m3", 3, StepResult::Skipped, why),
                row("vm", 4, StepResult::Skipped, why),
            ],
            critical_path: vec![],
            critical_path_ms: 0,
            wall_ms: 10,
            projected: None,
        };
        let text = render(&report, RunOutcome::Failed, false);
        assert!(text.contains("phase 3"), "{text}");
        assert!(text.contains("3 steps"), "{text}");
        assert!(!text.contains("bmc/m2"), "{text}");
        // A phase's lone skipped step keeps its own row.
        assert!(text.contains("vm "), "{text}");
        assert_eq!(text.matches("phase 2 did not finish").count(), 2, "{text}");
        // The verdict still counts every step.
        assert!(text.contains("0 succeeded, 1 failed, 4 skipped"), "{text}");
    }

    #[test]
    fn a_long_failure_is_cut_in_the_table_and_given_whole_below_it() {
        let long = format!(
            "the platform API server did not answer: {}",
            "x".repeat(200)
        );
        let report = Report {
            steps: vec![StepReport {
                step: StepId::from("platform-api"),
                number: "1".into(),
                name: "Platform API".into(),
                phase: 2,
                result: StepResult::Failed,
                attempts: 3,
                duration_ms: Some(10),
                detail: Some(long.clone()),
            }],
            critical_path: vec![],
            projected: None,
            critical_path_ms: 0,
            wall_ms: 10,
        };
        let text = render(&report, RunOutcome::Failed, false);
        let table_line = text
            .lines()
            .find(|line| line.contains("platform-api") && !line.starts_with('✗'))
            .expect("a table row");
        assert!(table_line.contains('…'), "{table_line}");
        assert!(!table_line.contains(&long), "{table_line}");
        assert!(
            text.contains(&format!("✗ 1 platform-api: {long}")),
            "{text}"
        );
    }
}
