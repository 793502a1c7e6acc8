//! The question `genesis up` asks before it erases disks or power-cycles machines.
//!
//! With destructive steps among those it will run, `up` shows which machines lose which disks
//! and which are power-cycled, then asks for the lab's name on a terminal. `--yes` (or
//! `GENESIS_YES=1`) answers for scripts. Without a terminal and without `--yes` it refuses
//! (exit 2) before anything is written: a pipeline or a CI job must say so explicitly.
//!
//! Why the lab's name and not `yes`: `yes` is typed from habit; the name makes the operator
//! read which lab's machines are about to be erased, and catches a run against the wrong lab
//! file or context (the name is in the lab file, next to the machines it describes).

use std::io::{BufRead as _, IsTerminal as _};

use super::error::CliError;
use crate::plan::Destruction;

/// What `up` does about destructive steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing destructive, or `--yes`: go on.
    Proceed,
    /// Ask on the terminal.
    Ask,
    /// No terminal to ask on and no `--yes`: refuse.
    Refuse,
}

/// The decision, from whether anything is destructive, `--yes`, and whether both stdin and
/// stderr are terminals (the question goes to stderr, the answer comes from stdin).
pub fn decide(destructive: bool, yes: bool, interactive: bool) -> Decision {
    match (destructive, yes, interactive) {
        (false, _, _) | (true, true, _) => Decision::Proceed,
        (true, false, true) => Decision::Ask,
        (true, false, false) => Decision::Refuse,
    }
}

/// Whether an answer confirms: the lab's name, surrounding blanks ignored, case kept.
pub fn confirms(answer: &str, lab: &str) -> bool {
    answer.trim() == lab
}

/// `ms-02-1, ms-02-2`, or `none`.
fn names(machines: &[String]) -> String {
    if machines.is_empty() {
        "none".to_owned()
    } else {
        machines.join(", ")
    }
}

/// What the run would do, in one clause: "erase the disks of 3 machines (…) and power-cycle
/// 3 (…)".
fn what(destruction: &Destruction) -> String {
    let erased = destruction.machines_erased();
    let cycled = destruction.machines_power_cycled();
    let mut parts = Vec::new();
    if !erased.is_empty() {
        parts.push(format!(
            "erase the disks of {} ({})",
            crate::plan::count(erased.len(), "machine"),
            names(&erased)
        ));
    }
    if !cycled.is_empty() {
        parts.push(format!(
            "power-cycle {} ({})",
            crate::plan::count(cycled.len(), "machine"),
            names(&cycled)
        ));
    }
    parts.join(" and ")
}

/// One destructive command's question: what it shows, and what it says when it must refuse.
pub(crate) struct Question {
    /// What will happen, as shown on stderr (`!!` lines coloured when colour is on).
    pub shown: String,
    /// Nothing to confirm: the command goes on without a word.
    pub empty: bool,
    /// The refusal without a terminal, e.g. "`genesis up` would erase …".
    pub refusal: String,
    /// What to do instead.
    pub hint: String,
    /// A line said before the question, if any.
    pub warning: Option<&'static str>,
}

/// Shows what will be destroyed on stderr, coloured when `color`.
fn show(shown: &str, color: bool) {
    let text = crate::ui::term::text(shown);
    if color {
        crate::ui::term::write_err(crate::plan::colorize(&text).as_bytes(), false);
    } else {
        crate::ui::term::write_err(text.as_bytes(), false);
    }
}

/// Asks, shows or refuses as [`decide`] says: the one rule of every destructive command
/// (`up`, `up --reinstall`, `down`). `Ok` means go on.
pub(crate) fn ask(question: &Question, lab: &str, yes: bool, color: bool) -> Result<(), CliError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    match decide(!question.empty, yes, interactive) {
        Decision::Proceed => {
            if !question.empty {
                // --yes: no question, but the log still says what was agreed to.
                show(&question.shown, color);
                crate::errln!("confirmed by --yes (or GENESIS_YES)");
            }
            Ok(())
        }
        Decision::Refuse => {
            show(&question.shown, color);
            Err(CliError::input(question.refusal.clone()).with_hint(question.hint.clone()))
        }
        Decision::Ask => {
            show(&question.shown, color);
            if let Some(warning) = question.warning {
                crate::errln!("{warning}");
            }
            crate::errout!(
                "Type the lab's name ({}) to go on, anything else to stop: ",
                crate::ui::term::line(lab)
            );
            let mut answer = String::new();
            let read = std::io::stdin().lock().read_line(&mut answer);
            match read {
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

/// `up`'s question before it erases disks or power-cycles machines. `Ok` means go on.
pub fn confirm(
    destruction: &Destruction,
    lab: &str,
    yes: bool,
    color: bool,
) -> Result<(), CliError> {
    let question = Question {
        shown: destruction.render(),
        empty: destruction.is_empty(),
        refusal: format!(
            "`genesis up` would {}, and there is no terminal to confirm on; nothing was done",
            what(destruction)
        ),
        hint: "review the plan with `genesis plan`, then run `genesis up --yes` (or set GENESIS_YES=1) to confirm without a terminal".to_owned(),
        warning: Some("Everything on those disks is lost. `genesis plan` shows every step."),
    };
    ask(&question, lab, yes, color)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_destructive_runs_without_yes_ask_or_refuse() {
        assert_eq!(decide(false, false, false), Decision::Proceed);
        assert_eq!(decide(false, false, true), Decision::Proceed);
        assert_eq!(decide(true, true, false), Decision::Proceed);
        assert_eq!(decide(true, true, true), Decision::Proceed);
        assert_eq!(decide(true, false, true), Decision::Ask);
        assert_eq!(decide(true, false, false), Decision::Refuse);
    }

    #[test]
    fn only_the_labs_name_confirms() {
        assert!(confirms("reference-lab\n", "reference-lab"));
        assert!(confirms("  reference-lab  \r\n", "reference-lab"));
        for answer in [
            "yes\n",
            "y\n",
            "\n",
            "",
            "Reference-Lab\n",
            "reference-lab2\n",
        ] {
            assert!(!confirms(answer, "reference-lab"), "{answer:?}");
        }
    }
}
