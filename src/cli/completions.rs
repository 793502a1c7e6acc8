//! Shell completion, two ways.
//!
//! - `genesis completions SHELL`: a static script generated from the clap definitions
//!   (clap_complete), printed on stdout; also checked in under `docs/reference/completions/`
//!   (see docs/reference/README.md), and a test regenerates them. It completes commands and
//!   flags, not step ids.
//! - Dynamic: `source <(COMPLETE=bash genesis)` registers genesis itself as the completer
//!   (clap_complete's `CompleteEnv`). On each TAB the shell runs genesis with `COMPLETE` set;
//!   [`steps`] and [`machines`] then read the lab and phase files (`--lab`/`--phases` from the
//!   command line being completed, else `GENESIS_LAB`/`GENESIS_PHASES`, else the defaults) and
//!   offer the step ids after `--only`/`--from`/`--skip` and the machine and VM names after
//!   `--machine`. The secrets are never read for this.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;
use clap::builder::StyledStr;
use clap_complete::{CompletionCandidate, Generator, Shell};
use genesis_engine::Graph;
use genesis_engine::select;

use super::args::{Cli, CompletionsArgs};
use super::error::CliResult;
use crate::inputs::InputPaths;

/// Every shell clap_complete supports, in a fixed order.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "genesis", &mut out);
    out
}

/// The conventional file name of the script (`genesis.bash`, `_genesis`, `genesis.fish`, …).
pub fn file_name(shell: Shell) -> String {
    shell.file_name("genesis")
}

pub fn run(args: CompletionsArgs) -> CliResult {
    // A closed pipe (`genesis completions bash | head`) ends quietly (see ui::term).
    crate::ui::term::write_out(&script(args.shell), false);
    Ok(())
}

/// Answers a dynamic completion request (`COMPLETE=SHELL genesis …`) and exits; returns at
/// once when `COMPLETE` is not set. Call before anything is written to stdout.
pub fn complete_from_env() {
    clap_complete::CompleteEnv::with_factory(Cli::command).complete();
}

/// Step ids for `--only`, `--from`, `--skip`: each fan-out template (all its instances), then
/// every step, in run order.
pub fn steps() -> Vec<CompletionCandidate> {
    let Some(graph) = completion_graph() else {
        return Vec::new();
    };
    let help = |text: String| Some(StyledStr::from(text));
    let mut candidates = Vec::new();
    for template in select::templates(&graph) {
        let instances = select::matches(&graph, &template);
        if let Some(&first) = instances.first()
            && graph.step(first).item.is_some()
        {
            candidates.push(CompletionCandidate::new(&template).help(help(format!(
                "{} ({} steps)",
                graph.step(first).name,
                instances.len()
            ))));
        }
    }
    for &position in graph.order() {
        let step = graph.step(position);
        candidates.push(
            CompletionCandidate::new(step.id.as_str())
                .help(help(format!("step {}: {}", step.number, step.name))),
        );
    }
    candidates
}

/// Machine and VM names for `--machine`.
pub fn machines() -> Vec<CompletionCandidate> {
    let Some(graph) = completion_graph() else {
        return Vec::new();
    };
    select::machines(&graph)
        .into_iter()
        .map(|machine| {
            let count = graph
                .steps()
                .iter()
                .filter(|step| step.item.as_deref() == Some(machine.as_str()))
                .count();
            CompletionCandidate::new(&machine)
                .help(Some(StyledStr::from(format!("{count} steps fanned out"))))
        })
        .collect()
}

/// The steps of the lab and phases of the command line being completed.
fn completion_graph() -> Option<Graph> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let paths = InputPaths {
        lab: flag_value(&args, "--lab", "GENESIS_LAB", "hardware/lab.yaml"),
        phases: flag_value(&args, "--phases", "GENESIS_PHASES", "phases"),
        secrets: PathBuf::new(),
    };
    crate::inputs::load_graph(&paths)
}

/// The value of `--flag VALUE` or `--flag=VALUE` (the last one given), else the variable,
/// else the default: the way clap would read it for the real command.
pub fn flag_value(args: &[OsString], flag: &str, variable: &str, default: &str) -> PathBuf {
    let mut found = None;
    let with_equals = format!("{flag}=");
    for (index, arg) in args.iter().enumerate() {
        let Some(text) = arg.to_str() else {
            continue;
        };
        if text == flag {
            if let Some(value) = args.get(index + 1) {
                found = Some(PathBuf::from(value));
            }
        } else if let Some(value) = text.strip_prefix(&with_equals) {
            found = Some(PathBuf::from(value));
        }
    }
    found
        .or_else(|| {
            std::env::var_os(variable)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_in_either_form_the_last_one_counts() {
        let args: Vec<OsString> = [
            "genesis",
            "--",
            "genesis",
            "--lab",
            "a.yaml",
            "plan",
            "--lab=b.yaml",
            "--only",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(
            flag_value(
                &args,
                "--lab",
                "GENESIS_TEST_UNSET_VARIABLE",
                "hardware/lab.yaml"
            ),
            PathBuf::from("b.yaml")
        );
        assert_eq!(
            flag_value(&args, "--phases", "GENESIS_TEST_UNSET_VARIABLE", "phases"),
            PathBuf::from("phases")
        );
    }
}
