//! Renderers of the engine's event stream: bars on a terminal, plain lines otherwise, NDJSON
//! for machines; the final table; the per-run JSON log.
//!
//! One consumer thread owns stderr (and, with `-o json`, stdout) for the whole run, so lines
//! never interleave; the engine only sends events.

pub mod json;
pub mod plain;
pub mod rehearsal;
pub mod render;
pub mod report;
pub mod runlog;
pub mod term;
pub mod tty;

use std::io::IsTerminal;
use std::thread::JoinHandle;

use genesis_engine::Event;
use tokio::sync::mpsc::UnboundedReceiver;

pub use rehearsal::{REHEARSAL_ENV, is_rehearsal, mark, rehearsal_pace};
pub use render::{Render, short_duration};

/// What the operator asked for with `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Progress and the final table on stderr.
    Text,
    /// One JSON event per line on stdout.
    Json,
}

/// How the run is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// indicatif bars: one line per running step and an overall bar.
    Bars,
    /// One line per state change, never `\r`.
    Plain,
    /// NDJSON events on stdout.
    Json,
}

/// The facts about the terminal that decide the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Terminal {
    pub stderr_is_tty: bool,
    /// `CI` is set (GitHub Actions, GitLab, … all set it).
    pub ci: bool,
    /// `TERM=dumb`.
    pub dumb: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        Self {
            stderr_is_tty: std::io::stderr().is_terminal(),
            ci: std::env::var_os("CI").is_some_and(|value| !value.is_empty() && value != "false"),
            dumb: std::env::var("TERM").is_ok_and(|term| term == "dumb"),
        }
    }
}

/// Bars only on an interactive, capable terminal outside CI. `NO_COLOR` and `--color never`
/// take the colour out of the bars, not the bars (no-color.org asks for no colour, nothing
/// more).
pub fn choose_mode(output: OutputFormat, terminal: Terminal) -> Mode {
    match output {
        OutputFormat::Json => Mode::Json,
        OutputFormat::Text => {
            if terminal.stderr_is_tty && !terminal.ci && !terminal.dumb {
                Mode::Bars
            } else {
                Mode::Plain
            }
        }
    }
}

/// Starts the consumer thread: every event goes to the run log, then to the renderer. `color`
/// is the stderr colour decision ([`crate::cli::Common::stderr_color`]).
pub fn spawn(
    mode: Mode,
    color: bool,
    mut receiver: UnboundedReceiver<Event>,
    run_log: Option<runlog::RunLog>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut renderer: Box<dyn Render> = match mode {
            Mode::Bars => Box::new(tty::Bars::new(color)),
            Mode::Plain => Box::new(plain::Lines::new(std::io::stderr()).colored(color)),
            Mode::Json => Box::new(json::Ndjson::new(std::io::stdout())),
        };
        let mut consume = || {
            while let Some(event) = receiver.blocking_recv() {
                runlog::record(&event);
                renderer.event(&event);
            }
            renderer.finish();
        };
        match run_log {
            Some(log) => tracing::subscriber::with_default(log.subscriber(), consume),
            None => consume(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_on_a_plain_interactive_terminal() {
        let tty = Terminal {
            stderr_is_tty: true,
            ..Terminal::default()
        };
        assert_eq!(choose_mode(OutputFormat::Text, tty), Mode::Bars);
        assert_eq!(
            choose_mode(OutputFormat::Text, Terminal::default()),
            Mode::Plain
        );
        for terminal in [Terminal { ci: true, ..tty }, Terminal { dumb: true, ..tty }] {
            assert_eq!(
                choose_mode(OutputFormat::Text, terminal),
                Mode::Plain,
                "{terminal:?}"
            );
        }
        assert_eq!(choose_mode(OutputFormat::Json, tty), Mode::Json);
    }
}
