//! The command line: clap definitions and dispatch. Each subcommand lives in its own file.

pub mod completions;
pub mod diagnose;
pub mod graph;
pub mod man;
pub mod plan;
pub mod reset;
pub mod secrets;
pub mod state;
pub mod status;
pub mod unlock;
pub mod up;
pub mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::inputs::{self, InputPaths, Inputs};

/// Documented exit codes.
pub mod exit {
    pub const OK: u8 = 0;
    pub const STEP_FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const LOCK_HELD: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "genesis",
    version,
    about = "Bootstrap a bare-metal lab: Tinkerbell PXE-boots Harvester, Argo CD registers it, and two VMs make the Platform cluster HA",
    long_about = None,
    after_help = "Exit codes: 0 done, 1 a step failed, 2 bad input or usage, 3 lock held, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The lab inventory: networks, endpoints, machines, VMs.
    #[arg(
        long,
        global = true,
        env = "GENESIS_LAB",
        default_value = "hardware/lab.yaml"
    )]
    pub lab: PathBuf,
    /// Directory of phase files (phase-2.yaml, phase-3.yaml, …).
    #[arg(long, global = true, env = "GENESIS_PHASES", default_value = "phases")]
    pub phases: PathBuf,
    /// The secrets file (see secrets.example); never printed.
    #[arg(
        long,
        global = true,
        env = "GENESIS_SECRETS",
        default_value = "secrets.yaml"
    )]
    pub secrets: PathBuf,
    /// The age identity that decrypts an encrypted secrets file (default:
    /// GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md).
    #[arg(long, global = true, value_name = "FILE")]
    pub age_identity: Option<PathBuf>,
    /// Where the journal, lock and run logs live.
    #[arg(
        long,
        global = true,
        env = "GENESIS_STATE_DIR",
        default_value = ".genesis"
    )]
    pub state_dir: PathBuf,
    /// Where the journal and lock live: `local` (the state directory) or `kubernetes` (the
    /// Platform cluster; see docs/state.md). Default: the lab file's `state:`, else local.
    #[arg(long, global = true, env = "GENESIS_STATE", value_enum)]
    pub state: Option<crate::state::StateKind>,
    /// Kubeconfig for the Platform cluster (default: the lab file's, else KUBECONFIG or
    /// ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context of the Platform cluster (default: the lab file's).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context;
    /// used instead of the kubeconfig step 9 fetches over SSH.
    #[arg(
        long,
        global = true,
        env = "GENESIS_HARVESTER_CONTEXT",
        value_name = "CONTEXT"
    )]
    pub harvester_context: Option<String>,
    /// Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context
    /// `harvester-<lab name>`, mode 0600 (other entries of FILE are kept).
    #[arg(long, global = true, value_name = "FILE")]
    pub write_harvester_kubeconfig: Option<PathBuf>,
    /// When to use colour on stderr.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl Common {
    pub fn input_paths(&self) -> InputPaths {
        InputPaths {
            lab: self.lab.clone(),
            phases: self.phases.clone(),
            secrets: self.secrets.clone(),
        }
    }

    pub fn cluster_options(&self) -> crate::actions::ClusterOptions {
        crate::actions::ClusterOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            harvester_context: self.harvester_context.clone(),
            write_harvester_kubeconfig: self.write_harvester_kubeconfig.clone(),
            state_dir: self.state_dir.clone(),
        }
    }

    /// Whether stderr gets colour: never with `NO_COLOR`, `TERM=dumb` or when not a terminal.
    pub fn stderr_color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none()
                    && std::env::var("TERM").map_or(true, |term| term != "dumb")
                    && std::io::stderr().is_terminal()
            }
        }
    }

    /// How the secrets are read (the age identity).
    pub fn load_options(&self) -> inputs::LoadOptions {
        inputs::LoadOptions {
            age_identity: self.age_identity.clone(),
        }
    }

    /// Loads and checks the inputs; on failure prints every problem to stderr.
    pub fn load_inputs(&self) -> Result<Inputs, ExitCode> {
        inputs::load_with(&self.input_paths(), &self.load_options()).map_err(|diagnostics| {
            crate::ui::term::write_err(diagnostics.render(self.stderr_color()).as_bytes(), false);
            ExitCode::from(exit::BAD_INPUT)
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the lab, phase and secrets files offline; exit 2 naming file, line and field.
    Validate(validate::ValidateArgs),
    /// Show what `genesis up` would do, step by step, without changing anything.
    Plan(plan::PlanArgs),
    /// Print the step DAG as Graphviz dot or Mermaid.
    Graph(graph::GraphArgs),
    /// Run the phases to completion, continuing from the journal.
    Up(up::UpArgs),
    /// Show the journal as a table: what is done, failed, pending or changed.
    Status(status::StatusArgs),
    /// Forget steps in the journal so that the next `genesis up` runs them again.
    Reset(reset::ResetArgs),
    /// Release the lock of a run that is gone (for a holder on another host).
    Unlock(unlock::UnlockArgs),
    /// The secrets file: encrypt it with age, edit the encrypted file, check every reference.
    Secrets(secrets::SecretsArgs),
    /// Collect a bundle for a failed run: journal, logs, status, objects of both clusters and
    /// the first Harvester node's service logs, secrets scrubbed (see docs/diagnose.md).
    Diagnose(diagnose::DiagnoseArgs),
    /// Move the journal between the state directory and the Platform cluster (push|pull).
    State(state::StateArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (or write one per command with --out-dir, or the Markdown reference).
    Man(man::ManArgs),
}

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::run(args, &cli.common),
        Command::Plan(args) => plan::run(args, &cli.common),
        Command::Graph(args) => graph::run(args, &cli.common),
        Command::Up(args) => up::run(args, &cli.common),
        Command::Status(args) => status::run(args, &cli.common),
        Command::Reset(args) => reset::run(args, &cli.common),
        Command::Unlock(args) => unlock::run(args, &cli.common),
        Command::Secrets(args) => secrets::run(args, &cli.common),
        Command::Diagnose(args) => diagnose::run(args, &cli.common),
        Command::State(args) => state::run(args, &cli.common),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}
