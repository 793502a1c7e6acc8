//! The question before genesis removes what it made (`up --reinstall`, `down`): the same rule
//! as `up`'s before it erases disks (see [`super::confirm`]): shown and asked on a terminal,
//! `--yes` for scripts, refused (exit 2) without a terminal and without `--yes`, before
//! anything is written.

use std::io::{BufRead as _, IsTerminal as _};

use super::confirm::{Decision, confirms, decide};
use super::error::CliError;
use crate::plan::Destruction;

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

fn show(removal: &Removal<'_>, color: bool) {
    let rendered = removal.render();
    let text = crate::ui::term::text(&rendered);
    if color {
        crate::ui::term::write_err(crate::plan::colorize(&text).as_bytes(), false);
    } else {
        crate::ui::term::write_err(text.as_bytes(), false);
    }
}

/// Shows what will be removed and asks, proceeds (`--yes`) or refuses, as [`decide`] says.
pub fn confirm_removal(
    removal: &Removal<'_>,
    lab: &str,
    yes: bool,
    color: bool,
) -> Result<(), CliError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    match decide(!removal.is_empty(), yes, interactive) {
        Decision::Proceed => {
            if !removal.is_empty() {
                show(removal, color);
                crate::errln!("confirmed by --yes (or GENESIS_YES)");
            }
            Ok(())
        }
        Decision::Refuse => {
            show(removal, color);
            Err(CliError::input(format!(
                "`{}` would do the above, and there is no terminal to confirm on; nothing was done",
                removal.command
            ))
            .with_hint(format!(
                "review it, then run `{} --yes` (or set GENESIS_YES=1) to confirm without a terminal",
                removal.command
            )))
        }
        Decision::Ask => {
            show(removal, color);
            crate::errout!(
                "Type the lab's name ({}) to go on, anything else to stop: ",
                crate::ui::term::line(lab)
            );
            let mut answer = String::new();
            match std::io::stdin().lock().read_line(&mut answer) {
                Ok(_) if confirms(&answer, lab) => Ok(()),
                Ok(0) => Err(CliError::input(
                    "no answer (end of input); nothing was done",
                )),
                Ok(_) => Err(CliError::input(format!(
                    "not confirmed (the answer was not `{}`); nothing was done",
                    crate::ui::term::line(lab)
                ))),
                Err(error) => Err(CliError::input(format!(
                    "cannot read the answer: {error}; nothing was done"
                ))),
            }
        }
    }
}
