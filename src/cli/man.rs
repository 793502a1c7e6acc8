//! `genesis man`: the manual, generated from the clap definitions.
//!
//! One roff page per command, as git does (`genesis.1`, `genesis-up.1`, and for nested
//! commands `genesis-secrets-edit.1`), made by clap_mangen; `genesis man` prints `genesis.1`,
//! `genesis man --out-dir DIR` writes them all. `genesis man --markdown` prints the Markdown
//! command reference (docs/reference/cli.md): every command, argument, flag, default,
//! environment variable and exit code. The checked-in copies under docs/reference/ are
//! compared with these by tests/it/cli_reference.rs.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, CommandFactory};

use super::args::{Cli, ManArgs};
use super::error::{CliError, CliResult, exit};

/// The exit codes and what they mean, for the reference.
pub const EXIT_CODES: [(u8, &str); 5] = [
    (
        exit::OK,
        "done: every step finished (or nothing was left to do)",
    ),
    (
        exit::STEP_FAILED,
        "a step failed; the journal says which and why",
    ),
    (
        exit::BAD_INPUT,
        "bad input or usage: an input file, a flag or a secret is wrong; nothing was written",
    ),
    (
        exit::LOCK_HELD,
        "another run holds the lock of this state; the message names the holder",
    ),
    (
        exit::INTERRUPTED,
        "interrupted (Ctrl-C); run `genesis up` again to continue",
    ),
];

/// Environment variables genesis reads that are not a flag's.
pub const OTHER_ENVIRONMENT: [(&str, &str); 4] = [
    (
        "KUBECONFIG",
        "kubeconfig files (`:`-separated), merged as kubectl does, when neither --kubeconfig nor the lab file names one",
    ),
    ("NO_COLOR", "set and non-empty: no colour on stderr"),
    ("TERM", "`dumb`: no colour and no progress bars"),
    ("CI", "set (and not `false`): plain progress lines, no bars"),
];

fn built() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// Every man page: (file name, roff text), the main page first.
pub fn pages() -> Vec<(String, Vec<u8>)> {
    fn collect(command: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
        let man = clap_mangen::Man::new(command.clone());
        let mut text = Vec::new();
        // Rendering into memory cannot fail.
        let _ = man.render(&mut text);
        pages.push((man.get_filename(), text));
        for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            collect(sub, pages);
        }
    }
    let mut pages = Vec::new();
    collect(&built(), &mut pages);
    pages
}

fn one_line(text: impl ToString) -> String {
    text.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn is_builtin(arg: &Arg) -> bool {
    matches!(arg.get_id().as_str(), "help" | "version")
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// `--lab <LAB>`, `-o, --output <OUTPUT>`, `<STEP>...`.
fn spelling(arg: &Arg) -> String {
    let values = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|name| format!("<{name}>"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    if arg.is_positional() {
        let many = arg
            .get_num_args()
            .is_some_and(|range| range.max_values() > 1);
        return format!("`{values}{}`", if many { "..." } else { "" });
    }
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    let mut text = names.join(", ");
    if takes_value(arg) {
        text.push(' ');
        text.push_str(&values);
    }
    format!("`{text}`")
}

fn details(arg: &Arg) -> String {
    let mut parts = Vec::new();
    if arg.is_required_set() {
        parts.push("required".to_owned());
    }
    if matches!(arg.get_action(), ArgAction::Append) {
        parts.push("repeatable".to_owned());
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .into_iter()
        .filter(|value| !value.is_hide_set())
        .map(|value| format!("`{}`", value.get_name()))
        .collect();
    if takes_value(arg) && !possible.is_empty() {
        parts.push(format!("one of {}", possible.join(", ")));
    }
    if takes_value(arg) && !arg.get_default_values().is_empty() {
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|value| format!("`{}`", value.to_string_lossy()))
            .collect();
        parts.push(format!("default {}", defaults.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        parts.push(format!("env `{}`", env.to_string_lossy()));
    }
    parts.join("; ")
}

fn table(out: &mut String, args: &[&Arg]) {
    if args.is_empty() {
        return;
    }
    out.push_str("| argument | description | default, env, values |\n|---|---|---|\n");
    for arg in args {
        let help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(one_line)
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            spelling(arg),
            help,
            one_line(details(arg))
        );
    }
    out.push('\n');
}

fn usage(command: &clap::Command) -> String {
    let usage = command.clone().render_usage().to_string();
    one_line(usage.trim_start_matches("Usage:").trim())
}

fn command_section(command: &clap::Command, path: &str, out: &mut String) {
    let _ = writeln!(out, "### `{path}`\n");
    if let Some(about) = command.get_long_about().or_else(|| command.get_about()) {
        let _ = writeln!(out, "{}\n", one_line(about));
    }
    let _ = writeln!(out, "Usage: `{}`\n", usage(command));
    let own: Vec<&Arg> = command
        .get_arguments()
        .filter(|arg| !arg.is_global_set() && !arg.is_hide_set() && !is_builtin(arg))
        .collect();
    table(out, &own);
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        command_section(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

/// The Markdown command reference.
pub fn markdown() -> String {
    let command = built();
    let mut out = String::new();
    out.push_str("# genesis command reference\n\n");
    out.push_str(
        "<!-- Generated from the clap definitions by `genesis man --markdown`; do not edit.\n     Regenerate with `bash docs/reference/regen.sh`; tests/it/cli_reference.rs checks it. -->\n\n",
    );
    if let Some(about) = command.get_about() {
        let _ = writeln!(out, "{}\n", one_line(about));
    }
    let _ = writeln!(out, "Usage: `{}`\n", usage(&command));
    out.push_str(
        "Every command also takes `-h`/`--help`; `genesis --version` prints the version.\n\n",
    );
    out.push_str("## Global options\n\nAccepted by every command, before or after its name.\n\n");
    let globals: Vec<&Arg> = command
        .get_arguments()
        .filter(|arg| arg.is_global_set() && !arg.is_hide_set() && !is_builtin(arg))
        .collect();
    table(&mut out, &globals);
    out.push_str("## Exit codes\n\n| code | meaning |\n|---|---|\n");
    for (code, meaning) in EXIT_CODES {
        let _ = writeln!(out, "| {code} | {meaning} |");
    }
    out.push_str("\n## Environment\n\n| variable | meaning |\n|---|---|\n");
    let mut flag_env: Vec<(String, String)> = Vec::new();
    fn gather(command: &clap::Command, found: &mut Vec<(String, String)>) {
        for arg in command.get_arguments() {
            if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
                let entry = (
                    env.to_string_lossy().into_owned(),
                    format!("same as `--{long}`"),
                );
                if !found.contains(&entry) {
                    found.push(entry);
                }
            }
        }
        for sub in command.get_subcommands() {
            gather(sub, found);
        }
    }
    gather(&command, &mut flag_env);
    flag_env.sort();
    for (name, meaning) in &flag_env {
        let _ = writeln!(out, "| `{name}` | {meaning} |");
    }
    for (name, meaning) in OTHER_ENVIRONMENT {
        let _ = writeln!(out, "| `{name}` | {meaning} |");
    }
    out.push_str("\n## Commands\n\n");
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let about = sub.get_about().map(one_line).unwrap_or_default();
        let _ = writeln!(out, "- `genesis {}`: {about}", sub.get_name());
    }
    out.push('\n');
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        command_section(sub, &format!("genesis {}", sub.get_name()), &mut out);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

pub fn run(args: ManArgs) -> CliResult {
    if let Some(dir) = &args.out_dir {
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            for (name, text) in pages() {
                std::fs::write(dir.join(name), text)?;
            }
            Ok(())
        });
        return written.map_err(|error| {
            CliError::input(format!(
                "cannot write the man pages into {}: {error}",
                dir.display()
            ))
        });
    }
    let text = if args.markdown {
        markdown().into_bytes()
    } else {
        pages()
            .into_iter()
            .next()
            .map(|(_, text)| text)
            .unwrap_or_default()
    };
    // A closed pipe (`genesis man | head`) ends quietly (see ui::term).
    crate::ui::term::write_out(&text, false);
    Ok(())
}
