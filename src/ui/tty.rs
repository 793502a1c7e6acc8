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
}

impl Bars {
    pub fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} steps  {elapsed_precise}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        let step_style =
            ProgressStyle::with_template("{spinner:.green} {prefix:.bold} [{elapsed}] {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
        Self {
            multi,
            overall,
            running: HashMap::new(),
            step_style,
            done_earlier: 0,
        }
    }

    fn println(&self, text: &str) {
        let _ = self.multi.println(super::term::text(text));
    }
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl Render for Bars {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted { total, .. } => {
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
                self.overall.set_position(stats.settled() as u64);
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
                self.overall.set_position(stats.settled() as u64);
            }
            Event::StepSkipped { reason, stats, .. } => {
                if *reason == SkipReason::DoneEarlier {
                    self.done_earlier += 1;
                    self.overall
                        .set_message(format!("{} done in earlier runs", self.done_earlier));
                } else if let Some(text) = plain::line(event) {
                    self.println(&text);
                }
                self.overall.set_position(stats.settled() as u64);
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
                crate::errout!("{}", report::render(report, *outcome));
            }
        }
    }

    fn finish(&mut self) {
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
