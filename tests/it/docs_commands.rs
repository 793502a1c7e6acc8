//! Every `genesis …` command the operator docs show exists: its subcommand and flags parse with
//! the real clap definitions (`Cli::try_parse_from`), nothing is run.
//!
//! What counts as a command shown:
//! - in a code block (fenced or indented), a line starting with `$ ` whose command (or a
//!   part of a pipeline, `&&` or `;` list) starts with `genesis` (after `VAR=value`
//!   assignments); redirections are dropped. Lines without `$ ` are output, not commands;
//! - in prose, an inline code span starting with `genesis `.
//!
//! Placeholders such as `STEP` or `FILE` are ordinary values to clap, so
//! `genesis reset STEP` checks that `reset` takes a step argument.

use std::path::Path;

use clap::Parser as _;
use genesis::cli::Cli;

const DOCS: [&str; 3] = [
    "docs/runbook.md",
    "docs/troubleshooting.md",
    "docs/rehearse.md",
];

/// A command found in a document: its line and its words.
#[derive(Debug)]
struct Shown {
    line: usize,
    text: String,
    words: Vec<String>,
}

/// The `genesis` commands of one shell line (a pipeline or list may hold several).
fn commands_in_shell(line: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for part in line.split(['|', ';']).flat_map(|part| part.split("&&")) {
        let Some(words) = shlex::split(part.trim()) else {
            continue;
        };
        let mut words = words
            .into_iter()
            .skip_while(|word| {
                word.split_once('=')
                    .is_some_and(|(name, _)| !name.is_empty() && !name.starts_with('-'))
            })
            .peekable();
        if words.peek().map(String::as_str) != Some("genesis") {
            continue;
        }
        let mut command = Vec::new();
        let mut skip_target = false;
        for word in words {
            if skip_target {
                skip_target = false;
                continue;
            }
            if matches!(word.as_str(), ">" | ">>" | "<" | "2>" | "2>>") {
                skip_target = true;
                continue;
            }
            if word.starts_with('>') || word.starts_with("2>") || word.starts_with('<') {
                continue;
            }
            command.push(word);
        }
        found.push(command);
    }
    found
}

/// Every command a Markdown document shows.
fn shown(markdown: &str) -> Vec<Shown> {
    let mut found = Vec::new();
    let mut fenced = false;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let indented = line.starts_with("    ") || line.starts_with('\t');
        if fenced || indented {
            if let Some(shell) = trimmed.strip_prefix("$ ") {
                for words in commands_in_shell(shell) {
                    found.push(Shown {
                        line: index + 1,
                        text: shell.to_owned(),
                        words,
                    });
                }
            }
            continue;
        }
        // Inline code spans in prose, opened and closed by runs of the same number of
        // backticks (``a `b` c`` holds backticks).
        let mut rest = line;
        while let Some(start) = rest.find('`') {
            let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
            let fence = "`".repeat(ticks);
            let after = &rest[start + ticks..];
            let Some(end) = after.find(&fence) else {
                break;
            };
            let span = after[..end].trim();
            rest = &after[end + ticks..];
            if span.starts_with("genesis ") || span == "genesis" {
                for words in commands_in_shell(span) {
                    found.push(Shown {
                        line: index + 1,
                        text: span.to_owned(),
                        words,
                    });
                }
            }
        }
    }
    found
}

fn check(path: &str) -> usize {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let markdown = std::fs::read_to_string(&file).unwrap_or_else(|error| panic!("{path}: {error}"));
    let commands = shown(&markdown);
    let mut wrong = Vec::new();
    for command in &commands {
        match Cli::try_parse_from(&command.words) {
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) => {}
            Err(error) => wrong.push(format!(
                "{path}:{}: `{}`: {}",
                command.line,
                command.text,
                error
                    .render()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "commands in the docs that genesis does not accept (fix the doc or the CLI):\n{}",
        wrong.join("\n")
    );
    commands.len()
}

#[test]
fn every_command_in_the_runbook_and_troubleshooting_parses() {
    for path in DOCS {
        let count = check(path);
        // The docs are built around commands: finding few means the extraction broke.
        assert!(count >= 10, "{path}: only {count} commands found");
    }
}

#[test]
fn the_extraction_finds_commands_and_the_check_catches_wrong_ones() {
    let sample = "Run `genesis plan -o json` or `kubectl get nodes`; ``say `genesis x` `` is text.\n\n    $ KUBECONFIG=a:b genesis up --only quorum 2>&1 | tee up.log\n    genesis plan for lab `x` (output, not a command)\n\n```\n$ genesis completions bash > genesis.bash && genesis man --out-dir man\n$ genesis up --no-such-flag\n```\n";
    let found = shown(sample);
    let words: Vec<String> = found.iter().map(|shown| shown.words.join(" ")).collect();
    assert_eq!(
        words,
        [
            "genesis plan -o json",
            "genesis up --only quorum",
            "genesis completions bash",
            "genesis man --out-dir man",
            "genesis up --no-such-flag",
        ]
    );
    let parsed: Vec<bool> = found
        .iter()
        .map(|shown| Cli::try_parse_from(&shown.words).is_ok())
        .collect();
    assert_eq!(parsed, [true, true, true, true, false]);
}
