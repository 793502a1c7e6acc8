//! The options every command understands (`--lab`, `--phases`, `--secrets`, `--state-dir`,
//! the clusters' kubeconfig and contexts, `--color`) and what they give: input paths, cluster
//! options, the loaded inputs.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::error::{CliError, exit};
use crate::inputs::{self, InputPaths, Inputs};

/// Options every subcommand understands. They are listed under their own heading, in `--help`
/// only: `-h` shows a command's own options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct Common {
    /// The lab inventory: networks, endpoints, machines, VMs.
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        env = "GENESIS_LAB",
        default_value = "hardware/lab.yaml"
    )]
    pub lab: PathBuf,
    /// Directory of phase files (phase-2.yaml, phase-3.yaml, …).
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        env = "GENESIS_PHASES",
        default_value = "phases"
    )]
    pub phases: PathBuf,
    /// The secrets file (see secrets.example); never printed.
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        env = "GENESIS_SECRETS",
        default_value = "secrets.yaml"
    )]
    pub secrets: PathBuf,
    /// The age identity that decrypts an encrypted secrets file (default:
    /// GENESIS_AGE_IDENTITY, else ~/.config/genesis/age.txt; see docs/secrets.md).
    #[arg(long, global = true, hide_short_help = true, value_name = "FILE")]
    pub age_identity: Option<PathBuf>,
    /// Where the journal, lock and run logs live.
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        env = "GENESIS_STATE_DIR",
        default_value = ".genesis"
    )]
    pub state_dir: PathBuf,
    /// Where the journal and lock live: `local` (the state directory) or `kubernetes` (the
    /// Platform cluster; see docs/state.md). Default: the lab file's `state:`, else local.
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        env = "GENESIS_STATE",
        value_enum
    )]
    pub state: Option<crate::state::StateKind>,
    /// Kubeconfig for the Platform cluster (default: the lab file's, else KUBECONFIG or
    /// ~/.kube/config).
    #[arg(long, global = true, hide_short_help = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context of the Platform cluster (default: the lab file's).
    #[arg(long, global = true, hide_short_help = true)]
    pub context: Option<String>,
    /// Kubeconfig context of the Harvester cluster, from the same kubeconfig as --context;
    /// used instead of the kubeconfig step 9 fetches over SSH.
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        env = "GENESIS_HARVESTER_CONTEXT",
        value_name = "CONTEXT"
    )]
    pub harvester_context: Option<String>,
    /// Step 9 also writes the Harvester kubeconfig it fetches into FILE, as the context
    /// `harvester-<lab name>`, mode 0600 (other entries of FILE are kept).
    #[arg(long, global = true, hide_short_help = true, value_name = "FILE")]
    pub write_harvester_kubeconfig: Option<PathBuf>,
    /// When to use colour, on stdout and stderr alike (`auto`: on a terminal, unless
    /// NO_COLOR is set or TERM=dumb).
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        value_enum,
        default_value_t = ColorChoice::Auto
    )]
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
        self.color_on(std::io::stderr().is_terminal())
    }

    /// Whether stdout gets colour, by the same rules.
    pub fn stdout_color(&self) -> bool {
        self.color_on(std::io::stdout().is_terminal())
    }

    /// `--color`; with `auto`, colour only on a terminal, without `NO_COLOR` (set and not
    /// empty, as no-color.org defines it) and without `TERM=dumb`.
    fn color_on(&self, terminal: bool) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                    && std::env::var("TERM").map_or(true, |term| term != "dumb")
                    && terminal
            }
        }
    }

    /// How the secrets are read (the age identity).
    pub fn load_options(&self) -> inputs::LoadOptions {
        inputs::LoadOptions {
            age_identity: self.age_identity.clone(),
            state_dir: Some(self.state_dir.clone()),
        }
    }

    /// Loads and checks the inputs; on failure prints every problem to stderr.
    pub fn load_inputs(&self) -> Result<Inputs, CliError> {
        inputs::load_with(&self.input_paths(), &self.load_options()).map_err(|diagnostics| {
            crate::ui::term::write_err(diagnostics.render(self.stderr_color()).as_bytes(), false);
            CliError::reported(exit::BAD_INPUT)
        })
    }
}

/// The async runtime of a command that reads the clusters (`plan`, `health`, `describe`,
/// `rehearse`): two worker threads.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("cannot start the async runtime: {error}")))
}
