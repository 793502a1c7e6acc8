//! `genesis up`: run the phases to completion, resuming from the journal.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use genesis_engine::{
    Event, EventSender, LockLoss, RunOptions, RunOutcome, Scrubber, Selection, StepState, select,
};
use tokio_util::sync::CancellationToken;

use super::common::Common;
use super::error::{CliError, CliResult, exit};
use crate::errors::error_chain;
use crate::plan::{Destruction, saved};
use crate::teardown::reinstall::Reinstall;
use crate::ui::{self, OutputFormat, Terminal, runlog::RunLog};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Show what would happen instead (same as `genesis plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Steps running at once.
    #[arg(long, short = 'j', default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// Ask each done step whether its result still holds; drifted steps run again.
    #[arg(long)]
    pub verify: bool,
    /// Deadline for the whole run, e.g. `90m`; step timeouts sit inside it.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    /// `text`: progress and a final table on stderr; `json`: one event per line on stdout.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Erase disks and power-cycle machines without asking (for scripts; GENESIS_YES=1 does
    /// the same; see docs/runbook.md).
    #[arg(
        long,
        short = 'y',
        env = "GENESIS_YES",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub yes: bool,
    /// Apply a plan saved by `genesis plan --out FILE`: exactly its steps; refused (exit 2) if
    /// its inputs or what it observed changed since.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Redo this machine or VM first (repeatable): a machine is taken out of Harvester and
    /// installed again, a VM deleted and created again; then the run goes on as usual
    /// (docs/runbook.md, "Redo a machine or a VM").
    #[arg(
        long,
        value_name = "NAME",
        add = clap_complete::engine::ArgValueCandidates::new(super::candidates::machines)
    )]
    pub reinstall: Vec<String>,
    /// Last: its heading ("Selection") would otherwise hold the options declared after it.
    #[command(flatten)]
    pub select: super::select::SelectArgs,
}

pub fn run(args: UpArgs, common: &Common) -> CliResult {
    if args.plan.is_some() && (args.dry_run || args.verify) {
        return Err(CliError::input(
            "--plan applies a saved plan as it is; it cannot be combined with --dry-run or --verify",
        ));
    }
    if args.plan.is_some() && !args.reinstall.is_empty() {
        return Err(CliError::input(
            "--plan applies a saved plan as it is; it cannot be combined with --reinstall",
        ));
    }
    if args.dry_run {
        if !args.reinstall.is_empty() {
            let inputs = common.load_inputs()?;
            let reinstall = Reinstall::resolve(&inputs.graph, &args.reinstall)?;
            crate::errln!("--reinstall would first:");
            for line in reinstall.actions(&inputs.graph) {
                crate::errln!("  - {line}");
            }
            crate::errln!(
                "and then run the steps it forgot; the plan below shows the journal as it is now"
            );
        }
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
    let mut inputs = common.load_inputs()?;
    if args.plan.is_some() && !args.select.is_everything() {
        return Err(CliError::input(
            "--plan runs exactly the saved plan's steps; it cannot be combined with --from, --only, --skip or --machine",
        ));
    }
    let saved = match &args.plan {
        Some(path) => Some(check_saved_plan(path, common, &inputs)?),
        None => None,
    };
    // A saved plan is its own selection: exactly the steps it said would run (none of them is
    // done: the journal was just compared with the plan's). When those are all the steps not
    // done, that is the default selection, whose report says "done in an earlier run" of the
    // others rather than "excluded".
    let selection = match &saved {
        Some((saved, _)) if saved.run.is_empty() => {
            crate::errln!("the saved plan has no step to run; nothing to do");
            return Ok(());
        }
        Some((_, true)) => Selection::default(),
        Some((saved, false)) => Selection {
            only: saved.run.clone(),
            ..Selection::default()
        },
        None => args.select.selection(),
    };
    let saved = saved.map(|(saved, _)| saved);
    let resolved = match &saved {
        Some(_) => select::resolve(&inputs.graph, &selection)
            .map_err(|error| CliError::input(error.to_string()))?,
        // The operator's own selection: unknown names with the nearest ones.
        None => args.select.resolve(&inputs.graph)?,
    };
    let reinstall = Reinstall::resolve(&inputs.graph, &args.reinstall)?;
    // Before the lock and before anything is written: what the run would destroy, confirmed.
    let confirmed = if has_effects(&inputs) || !reinstall.is_empty() {
        let journal = super::state::backend(common)?
            .load_journal()
            .map_err(|error| CliError::journal(&error))?;
        let destruction = destruction(&inputs, &resolved, &journal, args.verify, &reinstall);
        if reinstall.is_empty() {
            super::confirm::confirm(
                &destruction,
                &inputs.lab.name,
                args.yes,
                common.stderr_color(),
            )?;
        } else {
            super::down::confirm_removal(
                &super::down::Removal {
                    command: "genesis up --reinstall",
                    heading: "Before the run, --reinstall will:",
                    lines: reinstall.actions(&inputs.graph),
                    destruction: &destruction,
                },
                &inputs.lab.name,
                args.yes,
                common.stderr_color(),
            )?;
        }
        Some(destruction)
    } else {
        None
    };
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
    // The state directory exists now: the fingerprints cover the secrets (docs/secrets.md).
    inputs
        .digest_secrets(&common.state_dir)
        .map_err(|error| CliError::from_error(&error))?;
    let (mut journal, mut prior) = state
        .open_journal(Arc::clone(&scrubber))
        .map_err(|error| CliError::journal(&error))?;
    if prior.torn_tail() {
        crate::errln!(
            "warning: the journal's last record was torn by a crash while writing; it was cut off"
        );
    }
    // Another run may have changed the journal between the question and the lock.
    if let Some(confirmed) = &confirmed {
        let now = destruction(&inputs, &resolved, &prior, args.verify, &reinstall);
        if let Some(step) = now
            .steps
            .iter()
            .find(|step| !confirmed.steps.contains(step))
        {
            return Err(CliError::input(format!(
                "the journal changed while genesis asked: step {} ({}) would now run too; nothing was done",
                step.number, step.id
            ))
            .with_hint("run `genesis up` again to see and confirm what it would do now"));
        }
    }
    if let (Some(path), Some(saved)) = (&args.plan, &saved) {
        let states = prior.states(&inputs.graph);
        for (position, state) in states.iter().enumerate() {
            let id = inputs.graph.step(position).id.to_string();
            let now = state.label().replace(' ', "-");
            if saved.states.get(&id).is_some_and(|before| *before != now) {
                return Err(CliError::input(format!(
                    "the saved plan {} no longer holds: step `{id}` is `{now}` in the journal now; nothing was done",
                    path.display()
                ))
                .with_hint(format!(
                    "make and review a new plan: `genesis plan --out {}`",
                    path.display()
                )));
            }
        }
    }

    if !reinstall.is_empty() {
        let done = runtime.block_on(reinstall.execute(
            &inputs,
            &common.cluster_options(),
            &mut journal,
            &prior,
        ));
        if let Err(error) = done {
            return Err(CliError::failed(error_chain(&error)).with_hint(
                "run the same `genesis up --reinstall` again: each part looks first and skips what is already done",
            ));
        }
        // The run starts from the journal as the reinstall left it.
        drop(journal);
        (journal, prior) = state
            .open_journal(Arc::clone(&scrubber))
            .map_err(|error| CliError::journal(&error))?;
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
    let renderer = ui::spawn(mode, common.stderr_color(), receiver, run_log.clone());

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
    // `genesis diagnose` has something to collect once a step got somewhere: one succeeded in
    // this run or an earlier one. A run that failed at its first checks said all there is.
    let got_somewhere = |summary: &genesis_engine::RunSummary| {
        summary
            .report
            .count(genesis_engine::report::StepResult::Succeeded)
            > 0
            || prior.states(&inputs.graph).contains(&StepState::Done)
    };
    match result {
        Ok(summary) => match summary.outcome {
            RunOutcome::Succeeded => Ok(()),
            RunOutcome::Failed if got_somewhere(&summary) => {
                Err(CliError::reported(exit::STEP_FAILED).with_hint(DIAGNOSE_HINT))
            }
            RunOutcome::Failed => Err(CliError::reported(exit::STEP_FAILED)),
            RunOutcome::Interrupted => Err(CliError::reported(exit::INTERRUPTED)),
        },
        Err(error) => Err(CliError::failed(error_chain(&error)).with_hint(DIAGNOSE_HINT)),
    }
}

/// Whether any step of the run is of a kind with effects on machines (else nothing to confirm
/// and no journal to read before the lock).
fn has_effects(inputs: &crate::inputs::Inputs) -> bool {
    inputs.graph.steps().iter().any(|step| {
        crate::actions::catalog::find(&step.kind).is_some_and(|kind| !kind.effects.is_empty())
    })
}

/// The destructive steps this run would start: selected, and not done (or forced by the
/// selection; or done but re-checked by `--verify`, which may run them again; or forgotten by
/// `--reinstall`).
fn destruction(
    inputs: &crate::inputs::Inputs,
    resolved: &select::Resolved,
    journal: &genesis_engine::JournalState,
    verify: bool,
    reinstall: &Reinstall,
) -> Destruction {
    let states = journal.states(&inputs.graph);
    Destruction::of(inputs, &|position| {
        resolved.excluded[position].is_none()
            && (resolved.forced[position]
                || verify
                || reinstall.resets(position)
                || states[position] != StepState::Done)
    })
}

/// Reads a saved plan and checks it against the inputs, the journal and (for a live plan) the
/// Platform cluster now; every difference is named. With the plan, whether its steps are all
/// the steps that are not done.
fn check_saved_plan(
    path: &std::path::Path,
    common: &Common,
    inputs: &crate::inputs::Inputs,
) -> Result<(saved::Fingerprints, bool), CliError> {
    let error = |error: saved::SavedPlanError| super::plan::saved_error(&error);
    let saved = saved::read(path).map_err(error)?;
    let offline = saved.mode != "live";
    // The saved plan's own selection (the steps it would run), so that a plan saved with
    // `--only`/`--machine` compares with the same steps now.
    let only = Selection {
        only: saved.run.clone(),
        ..Selection::default()
    };
    let resolved = select::resolve(&inputs.graph, &only)
        .map_err(|error| CliError::input(error.to_string()))?;
    let selecting = (!saved.run.is_empty()).then_some((&resolved, only));
    let plan = super::plan::make(common, inputs, selecting, offline, Duration::from_secs(10))?;
    let key = saved::PlanKey::load(&common.state_dir).map_err(|key| error(key.into()))?;
    let now = saved::Fingerprints::of(inputs, &plan, super::plan::steps_to_run(&plan), &key)
        .map_err(error)?;
    let differences = saved::differences(&saved, &now);
    if differences.is_empty() {
        let not_done: Vec<&str> = plan
            .phases
            .iter()
            .flat_map(|phase| &phase.steps)
            .filter(|step| step.state != "done")
            .map(|step| step.id.as_str())
            .collect();
        let everything = saved.run.iter().map(String::as_str).eq(not_done);
        return Ok((saved, everything));
    }
    let mut refused = CliError::input(format!(
        "the saved plan {} no longer holds ({} since it was made); nothing was done",
        path.display(),
        crate::plan::count(differences.len(), "change")
    ));
    for difference in &differences {
        refused = refused.with_note(difference);
    }
    Err(refused.with_hint(format!(
        "make and review a new plan: `genesis plan --out {}`",
        path.display()
    )))
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
