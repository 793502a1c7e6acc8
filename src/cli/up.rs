//! `genesis up`: run the phases to completion, resuming from the journal.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use genesis_engine::{Event, EventSender, LockLoss, RunOptions, RunOutcome, Scrubber};
use tokio_util::sync::CancellationToken;

use super::common::Common;
use super::error::{CliError, CliResult, exit};
use crate::errors::error_chain;
use crate::ui::{self, OutputFormat, Terminal, runlog::RunLog};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Show what would happen instead (same as `genesis plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Steps running at once.
    #[arg(long, short = 'j', default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    #[command(flatten)]
    pub select: super::select::SelectArgs,
    /// Ask each done step whether its result still holds; drifted steps run again.
    #[arg(long)]
    pub verify: bool,
    /// Deadline for the whole run, e.g. `90m`; step timeouts sit inside it.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// `text`: progress and a final table on stderr; `json`: one event per line on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub fn run(args: UpArgs, common: &Common) -> CliResult {
    if args.dry_run {
        let output = match args.output {
            OutputFormat::Text => super::plan::PlanFormat::Text,
            OutputFormat::Json => super::plan::PlanFormat::Json,
        };
        return super::plan::run(
            super::plan::PlanArgs::with_output(output, args.select),
            common,
        );
    }
    // Signals first, so that a Ctrl-C at any moment of the run is a clean interruption.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("could not start the async runtime: {error}")))?;
    let cancel = CancellationToken::new();
    match runtime.block_on(async { Interrupts::install() }) {
        Ok(interrupts) => {
            runtime.spawn(interrupts.watch(cancel.clone()));
        }
        Err(error) => crate::errln!("warning: Ctrl-C will not stop the run cleanly: {error}"),
    }
    let inputs = common.load_inputs()?;
    let resolved = args.select.resolve(&inputs.graph)?;
    let scrubber = Arc::new(Scrubber::new(
        inputs.secrets.values().map(|value| value.expose()),
    ));

    let state = super::state::backend(common)?;
    let acquired = state
        .acquire("genesis up")
        .map_err(|error| CliError::lock(&error))?;
    if let Some(previous) = &acquired.taken_over {
        crate::errln!("warning: taking over the lock left by a run that is gone: {previous}");
    }
    let (mut journal, prior) = state
        .open_journal(Arc::clone(&scrubber))
        .map_err(|error| CliError::journal(&error))?;
    if prior.torn_tail() {
        crate::errln!(
            "warning: the journal's last record was torn by a crash while writing; it was cut off"
        );
    }

    let mut options = RunOptions::new(&inputs.graph);
    options.parallelism = usize::from(args.parallelism);
    options.selection = resolved;
    options.run_timeout = args.timeout;
    options.verify = args.verify;
    let run_log = match RunLog::create(&common.state_dir, &options.run_id, Arc::clone(&scrubber)) {
        Ok(log) => Some(log),
        Err(error) => {
            crate::errln!("warning: no run log this time: {error}");
            None
        }
    };
    let registry = crate::actions::registry(&inputs, &common.cluster_options());
    let (events, receiver) = EventSender::channel(Arc::clone(&scrubber));
    let mode = ui::choose_mode(args.output, Terminal::detect());
    let renderer = ui::spawn(mode, receiver, run_log.clone());

    // A lost lock (a Lease another run took, or one not renewed in time) is an event, and
    // the run stops as if interrupted: it could not journal anything more.
    let watcher = acquired.loss.clone().map(|loss| {
        let events = events.clone();
        let cancel = cancel.clone();
        runtime.spawn(async move {
            let reason = loss.lost().await;
            events.emit(Event::LockLost { reason });
            cancel.cancel();
        })
    });
    let result = runtime.block_on(async {
        genesis_engine::run(
            &inputs.graph,
            &registry,
            &mut journal,
            &prior,
            &options,
            &events,
            &cancel,
        )
        .await
    });
    // The watcher holds an event sender: it must end before the renderer can.
    if let Some(watcher) = watcher {
        watcher.abort();
        let _ = runtime.block_on(watcher);
    }
    let lost = acquired.loss.as_ref().and_then(LockLoss::reason);
    drop(events);
    let _ = renderer.join();
    drop(journal);
    drop(acquired);
    if let Some(log) = &run_log
        && args.output == OutputFormat::Text
    {
        crate::errln!("run log: {}", log.path().display());
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Some(reason) = lost {
        return Err(CliError::failed(format!("the lock was lost: {reason}")).with_hint(
            "check who holds it with `genesis status`; run `genesis up` again to continue once no other run holds it",
        ));
    }
    match result {
        Ok(summary) => match summary.outcome {
            RunOutcome::Succeeded => Ok(()),
            RunOutcome::Failed => {
                Err(CliError::reported(exit::STEP_FAILED).with_hint(DIAGNOSE_HINT))
            }
            RunOutcome::Interrupted => Err(CliError::reported(exit::INTERRUPTED)),
        },
        Err(error) => Err(CliError::failed(error_chain(&error)).with_hint(DIAGNOSE_HINT)),
    }
}

/// After a failed run: where to look next.
const DIAGNOSE_HINT: &str = "`genesis diagnose` collects the journal, run logs, both clusters' objects and the first node's service logs into one bundle (secrets scrubbed)";

/// First Ctrl-C (or SIGTERM): cancel cleanly. Second: exit at once; every journal record is a
/// whole line written before its effect, so the journal stays valid.
struct Interrupts {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Installs the handlers now (not at the first poll), so no early signal is lost.
    #[cfg(unix)]
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }

    async fn watch(mut self, cancel: CancellationToken) {
        self.next().await;
        cancel.cancel();
        self.next().await;
        crate::actions::local::exec::kill_running();
        crate::errln!("interrupted again: exiting now; run `genesis up` to continue");
        std::process::exit(i32::from(exit::INTERRUPTED));
    }
}
