//! Renderers of the engine's event stream: bars on a terminal, plain lines otherwise, NDJSON
//! for machines; the final table; the per-run JSON log.
//!
//! One consumer thread owns stderr (and, with `-o json`, stdout) for the whole run, so lines
//! never interleave; the engine only sends events.

pub mod json;
pub mod plain;
pub mod render;
pub mod report;
pub mod runlog;
pub mod term;
pub mod tty;

use std::io::IsTerminal;
use std::thread::JoinHandle;

use genesis_engine::Event;
use tokio::sync::mpsc::UnboundedReceiver;

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

/// The variable `genesis rehearse` sets for the `genesis up` it runs (docs/rehearse.md): every
/// line of that run then says it is a rehearsal. Its value is the rehearsal's pace (rehearsal
/// seconds per lab second), by which its phases' estimates were scaled: the report's projected
/// hardware clock divides by it.
pub const REHEARSAL_ENV: &str = "GENESIS_REHEARSAL";

/// The pace of this rehearsal ([`REHEARSAL_ENV`]), when this run is one and the value is a
/// positive number.
pub fn rehearsal_pace() -> Option<f64> {
    std::env::var(REHEARSAL_ENV)
        .ok()?
        .parse::<f64>()
        .ok()
        .filter(|pace| *pace > 0.0 && pace.is_finite())
}

/// Whether this run is a rehearsal's ([`REHEARSAL_ENV`] set and not empty).
pub fn is_rehearsal() -> bool {
    static REHEARSAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REHEARSAL
        .get_or_init(|| std::env::var_os(REHEARSAL_ENV).is_some_and(|value| !value.is_empty()))
}

/// What starts every line of a rehearsal.
pub const REHEARSAL_MARK: &str = "rehearsal │ ";

/// `text` with every line marked as a rehearsal's when this run is one; else `text`.
pub fn mark(text: &str) -> std::borrow::Cow<'_, str> {
    if is_rehearsal() {
        mark_lines(text).into()
    } else {
        text.into()
    }
}

fn mark_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        out.push_str(REHEARSAL_MARK);
        out.push_str(line);
    }
    out
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
    fn a_rehearsal_marks_every_line() {
        assert_eq!(
            mark_lines("one\ntwo\n"),
            format!("{REHEARSAL_MARK}one\n{REHEARSAL_MARK}two\n")
        );
        assert_eq!(mark_lines("one"), format!("{REHEARSAL_MARK}one"));
    }

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
