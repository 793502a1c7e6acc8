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
    /// Skipped steps not yet said: the engine skips a failed step's dependents one event at a
    /// time; they are said as one line per phase when anything else happens.
    skipped: Vec<Skip>,
    /// Colour in the final table (`--color always` on a pipe).
    color: bool,
}

/// One skipped step, waiting to be said with the others of its phase.
#[derive(Debug, Clone)]
pub struct Skip {
    pub step: StepId,
    pub number: String,
    pub name: String,
    pub phase: u32,
    pub reason: SkipReason,
}

impl Skip {
    /// The skip an event reports, if it is one.
    pub fn of(event: &Event) -> Option<Self> {
        match event {
            Event::StepSkipped {
                step,
                number,
                name,
                phase,
                reason,
                ..
            } => Some(Self {
                step: step.clone(),
                number: super::term::line(number).into_owned(),
                name: super::term::line(name).into_owned(),
                phase: *phase,
                reason: reason.clone(),
            }),
            _ => None,
        }
    }
}

impl<W: Write> Lines<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            last_progress: HashMap::new(),
            skipped: Vec::new(),
            color: false,
        }
    }

    /// With colour in the final table.
    pub fn colored(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    fn flush_skipped(&mut self) {
        for text in skipped_lines(&std::mem::take(&mut self.skipped)) {
            let _ = writeln!(
                self.out,
                "{}",
                super::rehearsal::mark(&super::term::text(&text))
            );
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

/// The skipped steps as one line per phase and reason, steps in their numbers' order. A step
/// skipped because a step it needs was skipped in turn is said under that step's own reason,
/// so a failure reads as one cause, not as a chain.
pub fn skipped_lines(skipped: &[Skip]) -> Vec<String> {
    let by_step: HashMap<&StepId, &SkipReason> = skipped
        .iter()
        .map(|skip| (&skip.step, &skip.reason))
        .collect();
    let root = |reason: &SkipReason| -> String {
        let mut reason = reason;
        let mut hops = 0;
        while let SkipReason::DependencySkipped { step } = reason
            && let Some(next) = by_step.get(step)
            && hops < by_step.len()
        {
            reason = next;
            hops += 1;
        }
        match reason {
            SkipReason::DoneEarlier => "done in an earlier run".to_owned(),
            SkipReason::Excluded { by } => format!("left out by {by}"),
            other => format!("skipped: {other}"),
        }
    };
    // (phase, reason) in the order first met; the steps of each.
    let mut groups: Vec<((u32, String), Vec<&Skip>)> = Vec::new();
    for skip in skipped {
        let key = (skip.phase, root(&skip.reason));
        match groups.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, steps)) => steps.push(skip),
            None => groups.push((key, vec![skip])),
        }
    }
    groups.sort_by_key(|((phase, _), _)| *phase);
    groups
        .into_iter()
        .map(|((phase, reason), mut steps)| {
            steps.sort_by(|left, right| number_order(&left.number, &right.number));
            let numbers: Vec<&str> = steps.iter().map(|skip| skip.number.as_str()).collect();
            match steps.as_slice() {
                [one] => format!("[{}] {}: {reason}", one.number, one.name),
                _ => format!(
                    "phase {phase}: {} steps [{}]: {reason}",
                    steps.len(),
                    numbers.join(", ")
                ),
            }
        })
        .collect()
}

/// Step numbers (`7`, `7.2`) in numeric order.
fn number_order(left: &str, right: &str) -> std::cmp::Ordering {
    let parts = |text: &str| -> Vec<u64> {
        text.split(['.', '/'])
            .map(|part| part.parse().unwrap_or(u64::MAX))
            .collect()
    };
    parts(left).cmp(&parts(right)).then_with(|| left.cmp(right))
}

impl<W: Write> Render for Lines<W> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::StepProgress { step, .. } if !self.progress_due(step) => return,
            Event::StepSkipped { .. } => {
                self.skipped.extend(Skip::of(event));
                return;
            }
            Event::StepFinished { step, .. } => {
                self.last_progress.remove(step);
            }
            _ => {}
        }
        self.flush_skipped();
        if let Some(text) = line(event) {
            let _ = writeln!(self.out, "{}", super::rehearsal::mark(&text));
        }
        if let Event::RunFinished {
            outcome, report, ..
        } = event
        {
            let _ = write!(
                self.out,
                "{}",
                super::rehearsal::mark(&super::term::text(&report::render(
                    report, *outcome, self.color
                )))
            );
        }
        let _ = self.out.flush();
    }

    fn finish(&mut self) {
        self.flush_skipped();
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

    fn skip(id: &str, number: &str, phase: u32, reason: SkipReason) -> Event {
        Event::StepSkipped {
            step: StepId::from(id),
            number: number.into(),
            name: id.into(),
            phase,
            reason,
            stats: genesis_engine::Stats::default(),
        }
    }

    #[test]
    fn skipped_steps_are_one_line_per_phase_in_number_order() {
        let mut lines = Lines::new(Vec::new());
        let failed = StepId::from("create-cluster");
        // The engine skips dependents in its own order; a chain names its first cause.
        lines.event(&skip(
            "quorum",
            "11",
            3,
            SkipReason::DependencySkipped {
                step: StepId::from("harvester-api"),
            },
        ));
        lines.event(&skip(
            "harvester-api",
            "9",
            3,
            SkipReason::DependencyFailed {
                step: failed.clone(),
            },
        ));
        lines.event(&skip(
            "vm/cp-2",
            "16/cp-2",
            4,
            SkipReason::EarlierPhaseIncomplete {
                phase: 3,
                step: failed.clone(),
            },
        ));
        lines.event(&skip(
            "vm-image",
            "14",
            4,
            SkipReason::EarlierPhaseIncomplete {
                phase: 3,
                step: failed,
            },
        ));
        lines.event(&skip("bmc", "6", 3, SkipReason::DoneEarlier));
        assert!(lines.out.is_empty(), "said before anything else happened");
        lines.finish();
        let text = String::from_utf8(lines.out).expect("utf-8");
        assert_eq!(
            text,
            "phase 3: 2 steps [9, 11]: skipped: needs `create-cluster`, which failed\n\
             [6] bmc: done in an earlier run\n\
             phase 4: 2 steps [14, 16/cp-2]: skipped: phase 3 did not finish (`create-cluster` did not succeed)\n"
        );
    }
}
