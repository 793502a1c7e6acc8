//! Plain lines: one per state change, for logs, CI and dumb terminals.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use genesis_engine::{Event, SkipReason, StepId};

use super::render::{Render, short_duration};
use super::report;

/// Sub-states change with every output line of a command; in plain mode a step shows at most
/// one per this interval (the run log has them all).
const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);

pub struct Lines<W: Write> {
    out: W,
    last_progress: HashMap<StepId, Instant>,
}

impl<W: Write> Lines<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            last_progress: HashMap::new(),
        }
    }

    /// Whether a sub-state line of `step` is due now.
    fn progress_due(&mut self, step: &StepId) -> bool {
        let now = Instant::now();
        match self.last_progress.get(step) {
            Some(last) if now.duration_since(*last) < PROGRESS_INTERVAL => false,
            _ => {
                self.last_progress.insert(step.clone(), now);
                true
            }
        }
    }
}

/// The line for an event, if it gets one, sanitized for the terminal (names from the phase
/// files and messages from children and servers can carry control characters; see
/// [`super::term`]).
pub fn line(event: &Event) -> Option<String> {
    raw_line(event).map(|text| super::term::text(&text).into_owned())
}

fn raw_line(event: &Event) -> Option<String> {
    let name_of = |name: &str| super::term::line(name).into_owned();
    Some(match event {
        Event::RunStarted {
            run,
            total,
            parallelism,
            ..
        } => format!("run {run}: {total} steps, up to {parallelism} at a time"),
        Event::StepStarted {
            number,
            name,
            attempt,
            outcome_unknown,
            ..
        } => {
            let mut text = format!("[{}] {}: started", name_of(number), name_of(name));
            if *attempt > 1 {
                text.push_str(&format!(" (attempt {attempt})"));
            }
            if *outcome_unknown {
                text.push_str(" (an earlier run did not record how it ended; observing first)");
            }
            text
        }
        Event::StepProgress { step, substate } => {
            format!("[{step}] {}", name_of(substate))
        }
        Event::StepOutput { .. } => return None,
        Event::StepRetrying {
            step,
            attempt,
            error,
            delay_ms,
        } => format!(
            "[{step}] attempt {attempt} failed: {error}; retrying in {}",
            short_duration(*delay_ms)
        ),
        Event::StepFinished {
            number,
            name,
            result,
            attempts,
            duration_ms,
            error,
            ..
        } => {
            let mut text = format!(
                "[{}] {}: {} in {}",
                name_of(number),
                name_of(name),
                result.label(),
                short_duration(*duration_ms)
            );
            if *attempts > 1 {
                text.push_str(&format!(" after {attempts} attempts"));
            }
            if let Some(error) = error {
                text.push_str(&format!(": {error}"));
            }
            text
        }
        Event::StepSkipped {
            number,
            name,
            reason,
            ..
        } => match reason {
            SkipReason::DoneEarlier => format!(
                "[{}] {}: done in an earlier run",
                name_of(number),
                name_of(name)
            ),
            other => format!("[{}] {}: skipped: {other}", name_of(number), name_of(name)),
        },
        Event::StepDrifted { step, what } => {
            format!("[{step}] drifted since it finished ({what}); running it again")
        }
        Event::StepUnverified { step, why } => {
            format!("[{step}] warning: could not check that it still holds ({why}); left as done")
        }
        Event::UndoRan { step, what, error } => match error {
            None => format!("[{step}] undone: {what}"),
            Some(error) => format!("[{step}] could not undo {what}: {error}"),
        },
        Event::RunCancelling { stats } => format!(
            "interrupted: starting no more steps, cancelling {} running; press Ctrl-C again to exit at once",
            stats.running
        ),
        Event::LockLost { reason } => {
            format!("lock lost: {reason}; starting no more steps, cancelling the running ones")
        }
        Event::RunFinished { .. } => return None,
    })
}

impl<W: Write> Render for Lines<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::StepProgress { step, .. } if !self.progress_due(step) => return,
            Event::StepFinished { step, .. } => {
                self.last_progress.remove(step);
            }
            _ => {}
        }
        if let Some(text) = line(event) {
            let _ = writeln!(self.out, "{text}");
        }
        if let Event::RunFinished {
            outcome, report, ..
        } = event
        {
            let _ = write!(
                self.out,
                "{}",
                super::term::text(&report::render(report, *outcome))
            );
        }
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_states_are_throttled_per_step() {
        let mut lines = Lines::new(Vec::new());
        for substate in ["one", "two", "three"] {
            lines.event(&Event::StepProgress {
                step: StepId::from("a"),
                substate: substate.into(),
            });
        }
        lines.event(&Event::StepProgress {
            step: StepId::from("b"),
            substate: "other".into(),
        });
        let text = String::from_utf8(lines.out).expect("utf-8");
        assert_eq!(text, "[a] one\n[b] other\n");
    }
}
