//! The command line's definition: the top-level parser, its subcommands, and the arguments of
//! the two commands that print the definition itself (`man`, `completions`): their code reads
//! the whole definition, so their arguments live here rather than the definition reading them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

use super::common::Common;
use super::examples;
use super::{
    describe, diagnose, down, graph, health, plan, rehearse, reset, secrets, state, status, unlock,
    up, validate,
};

#[derive(Debug, Parser)]
#[command(
    name = "genesis",
    version,
    about = "Bootstrap a bare-metal lab: Tinkerbell PXE-boots Harvester, Argo CD registers it, and two VMs make the Platform cluster HA",
    long_about = None,
    after_help = "Exit codes: 0 done, 1 a step failed, 2 bad input or usage, 3 lock held, 130 interrupted.\nGlobal options and examples: --help; a command's own: genesis COMMAND -h."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the lab, phase and secrets files offline; exit 2 naming file, line and field.
    #[command(after_help = examples::MORE, after_long_help = examples::VALIDATE)]
    Validate(validate::ValidateArgs),
    /// Show what `genesis up` would do, step by step, without changing anything.
    #[command(after_help = examples::MORE, after_long_help = examples::PLAN)]
    Plan(plan::PlanArgs),
    /// Print the step DAG as Graphviz dot or Mermaid.
    #[command(after_help = examples::MORE, after_long_help = examples::GRAPH)]
    Graph(graph::GraphArgs),
    /// Run the phases to completion, continuing from the journal.
    #[command(after_help = examples::MORE, after_long_help = examples::UP)]
    Up(up::UpArgs),
    /// Rehearse the whole bootstrap of your lab on this machine: a private world of real API
    /// servers, sshd and the lab simulator, your inputs with stand-in secrets, the same `up`.
    #[command(after_help = examples::MORE, after_long_help = examples::REHEARSE)]
    Rehearse(rehearse::RehearseArgs),
    /// Delete what genesis made (reverse order, only objects with its label) and power the
    /// machines off; `up` makes it all again.
    #[command(after_help = examples::MORE, after_long_help = examples::DOWN)]
    Down(down::DownArgs),
    /// Show the journal as a table: what is done, failed, pending or changed.
    #[command(after_help = examples::MORE, after_long_help = examples::STATUS)]
    Status(status::StatusArgs),
    /// Forget steps in the journal so that the next `genesis up` runs them again.
    #[command(after_help = examples::MORE, after_long_help = examples::RESET)]
    Reset(reset::ResetArgs),
    /// Release the lock of a run that is gone (for a holder on another host).
    #[command(after_help = examples::MORE, after_long_help = examples::UNLOCK)]
    Unlock(unlock::UnlockArgs),
    /// The secrets file: encrypt it with age, edit the encrypted file, check every reference.
    #[command(after_help = examples::MORE, after_long_help = examples::SECRETS)]
    Secrets(secrets::SecretsArgs),
    /// Collect a bundle for a failed run: journal, logs, status, objects of both clusters and
    /// the first Harvester node's service logs, secrets scrubbed (see docs/diagnose.md).
    #[command(after_help = examples::MORE, after_long_help = examples::DIAGNOSE)]
    Diagnose(diagnose::DiagnoseArgs),
    /// Check the lab as it stands: Platform nodes, Harvester quorum, the Argo CD Secret's
    /// credentials, the VMs; read-only, seconds (exit 1 when a check is red).
    #[command(after_help = examples::MORE, after_long_help = examples::HEALTH)]
    Health(health::HealthArgs),
    /// Show the objects a step (or a machine's branch) owns, read live, as a tree with their
    /// conditions.
    #[command(after_help = examples::MORE, after_long_help = examples::DESCRIBE)]
    Describe(describe::DescribeArgs),
    /// Move the journal between the state directory and the Platform cluster (push|pull).
    #[command(after_help = examples::MORE, after_long_help = examples::STATE)]
    State(state::StateArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = examples::MORE, after_long_help = examples::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the man page (or write one per command with --out-dir, or the Markdown reference).
    #[command(after_help = examples::MORE, after_long_help = examples::MAN)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (genesis.1, genesis-up.1, …) into DIR instead of printing
    /// genesis.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Print the Markdown command reference (docs/reference/cli.md) instead.
    #[arg(long, conflicts_with = "out_dir")]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;
    use super::examples::*;

    /// Every `genesis …` command of every example, up to its first pipe, `&&` or redirection
    /// and without its description.
    fn commands() -> Vec<Vec<String>> {
        let all = [
            VALIDATE,
            PLAN,
            GRAPH,
            UP,
            REHEARSE,
            STATUS,
            RESET,
            UNLOCK,
            SECRETS,
            DIAGNOSE,
            STATE,
            COMPLETIONS,
            MAN,
        ];
        let mut found = Vec::new();
        for text in all {
            for line in text.lines().skip(1) {
                let command = line.trim_start().split("  ").next().unwrap_or_default();
                for part in command.split("&&") {
                    let part = part.split(['|', '>']).next().unwrap_or_default().trim();
                    if part.starts_with("genesis ") {
                        found.push(shlex::split(part).expect("shell words"));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_example_parses() {
        let commands = commands();
        assert!(commands.len() >= 25, "{}", commands.len());
        for words in commands {
            if let Err(error) = Cli::try_parse_from(&words) {
                panic!("`{}` does not parse: {error}", words.join(" "));
            }
        }
    }

    #[test]
    fn every_command_has_examples_in_long_help_only() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        cli.build();
        for sub in cli.get_subcommands_mut() {
            let name = sub.get_name().to_owned();
            if name == "help" {
                continue;
            }
            let long = sub.render_long_help().to_string();
            let short = sub.render_help().to_string();
            assert!(long.contains("Examples:"), "{name} --help has no examples");
            assert!(!short.contains("Examples:"), "{name} -h has examples");
            assert!(long.contains("Global options:"), "{name} --help");
            assert!(
                !short.contains("--state-dir <"),
                "{name} -h lists global options"
            );
        }
    }
}
