//! indicatif bars: one line per running step (elapsed time, current sub-state) and an overall
//! bar. Finished steps scroll above the bars as plain lines.

use std::collections::HashMap;
use std::time::Duration;

use genesis_engine::{Event, SkipReason, StepId};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::render::Render;
use super::{plain, report};

pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    running: HashMap<StepId, ProgressBar>,
    step_style: ProgressStyle,
    done_earlier: usize,
    /// Steps of the run that will not run here (done earlier, left out): the bar counts only
    /// the others.
    not_running: usize,
    total: usize,
    /// Skipped steps not yet said (one line per phase, see [`plain::skipped_lines`]).
    skipped: Vec<plain::Skip>,
    color: bool,
}

impl Bars {
    /// Bars on stderr; `color` false draws them without colour or bold (`--color never`,
    /// `NO_COLOR`).
    pub fn new(color: bool) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        let (bar, spinner) = if color {
            (
                "{bar:30.cyan/blue} {pos}/{len} steps  {elapsed_precise}  {msg}",
                "{spinner:.green} {prefix:.bold} [{elapsed}] {wide_msg}",
            )
        } else {
            (
                "{bar:30} {pos}/{len} steps  {elapsed_precise}  {msg}",
                "{spinner} {prefix} [{elapsed}] {wide_msg}",
            )
        };
        // A rehearsal's bar says so too (every line of a rehearsal does).
        let bar = if super::rehearsal::is_rehearsal() {
            format!("{}{bar}", super::rehearsal::REHEARSAL_MARK)
        } else {
            bar.to_owned()
        };
        overall.set_style(
            ProgressStyle::with_template(&bar).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        let spinner = if super::rehearsal::is_rehearsal() {
            format!("{}{spinner}", super::rehearsal::REHEARSAL_MARK)
        } else {
            spinner.to_owned()
        };
        let step_style = ProgressStyle::with_template(&spinner)
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        Self {
            multi,
            overall,
            running: HashMap::new(),
            step_style,
            done_earlier: 0,
            not_running: 0,
            total: 0,
            skipped: Vec::new(),
            color,
        }
    }

    fn println(&self, text: &str) {
        let _ = self
            .multi
            .println(super::rehearsal::mark(&super::term::text(text)));
    }

    fn flush_skipped(&mut self) {
        for text in plain::skipped_lines(&std::mem::take(&mut self.skipped)) {
            self.println(&text);
        }
    }

    /// Steps that ran to an end: succeeded or failed, never skipped.
    fn set_position(&self, stats: &genesis_engine::Stats) {
        self.overall
            .set_position((stats.succeeded + stats.failed) as u64);
    }
}

impl Render for Bars {
    fn event(&mut self, event: &Event) {
        if !matches!(
            event,
            Event::StepSkipped { .. } | Event::StepProgress { .. }
        ) {
            self.flush_skipped();
        }
        match event {
            Event::RunStarted { total, .. } => {
                self.total = *total;
                self.overall.set_length(*total as u64);
            }
            Event::StepStarted {
                step,
                number,
                name,
                stats,
                ..
            } => {
                if let Some(text) = plain::line(event)
                    && (event_attempt(event) > 1 || event_unknown(event))
                {
                    self.println(&text);
                }
                let bar = self.running.entry(step.clone()).or_insert_with(|| {
                    let bar = self
                        .multi
                        .insert_before(&self.overall, ProgressBar::new_spinner());
                    bar.set_style(self.step_style.clone());
                    bar.set_prefix(format!(
                        "[{}] {}",
                        super::term::line(number),
                        super::term::line(name)
                    ));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message("started");
                self.set_position(stats);
            }
            Event::StepProgress { step, substate } => {
                if let Some(bar) = self.running.get(step) {
                    bar.set_message(super::term::line(substate).into_owned());
                }
            }
            Event::StepOutput { .. } => {}
            Event::StepRetrying { step, .. } => {
                if let Some(text) = plain::line(event) {
                    self.println(&text);
                }
                if let Some(bar) = self.running.get(step) {
                    bar.set_message("waiting to retry");
                }
            }
            Event::StepFinished { step, stats, .. } => {
                if let Some(bar) = self.running.remove(step) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if let Some(text) = plain::line(event) {
                    self.println(&text);
                }
                self.set_position(stats);
            }
            Event::StepSkipped { reason, stats, .. } => {
                match reason {
                    SkipReason::DoneEarlier => {
                        self.done_earlier += 1;
                        self.not_running += 1;
                        self.overall
                            .set_message(format!("{} done in earlier runs", self.done_earlier));
                    }
                    SkipReason::Excluded { .. } => {
                        self.not_running += 1;
                        self.skipped.extend(plain::Skip::of(event));
                    }
                    _ => self.skipped.extend(plain::Skip::of(event)),
                }
                self.overall
                    .set_length(self.total.saturating_sub(self.not_running) as u64);
                self.set_position(stats);
            }
            Event::UndoRan { .. }
            | Event::RunCancelling { .. }
            | Event::StepDrifted { .. }
            | Event::StepUnverified { .. }
            | Event::LockLost { .. } => {
                if let Some(text) = plain::line(event) {
                    self.println(&text);
                }
            }
            Event::RunFinished {
                outcome, report, ..
            } => {
                for (_, bar) in self.running.drain() {
                    bar.finish_and_clear();
                }
                self.overall.finish_and_clear();
                let _ = self.multi.clear();
                crate::errout!("{}", report::render(report, *outcome, self.color));
            }
        }
    }

    fn finish(&mut self) {
        self.flush_skipped();
        for (_, bar) in self.running.drain() {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }
}

fn event_attempt(event: &Event) -> u32 {
    match event {
        Event::StepStarted { attempt, .. } => *attempt,
        _ => 1,
    }
}

fn event_unknown(event: &Event) -> bool {
    matches!(
        event,
        Event::StepStarted {
            outcome_unknown: true,
            ..
        }
    )
}
