//! `genesis rehearse`: the whole bootstrap of the operator's lab on this machine, on a private
//! world, before touching hardware (see [`crate::rehearse`] and docs/rehearse.md).

use std::path::PathBuf;

use clap::Args;
use genesis_rehearse::Layout;
use genesis_rehearse::control::Request;

use super::common::{ColorChoice, Common, runtime};
use super::error::{CliError, CliResult, exit};
use crate::rehearse::faults::{self, RehearsalFault};
use crate::rehearse::{self, RehearseError, UpEnd, UpRun, clocks, world};

#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// Scenario file: how long each thing takes in the real lab, and faults (default: the
    /// reference scenario; docs/rehearse.md).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Inject a fault (repeatable): bmc-unreachable:MACHINE, workflow-fails-once:MACHINE,
    /// node-never-ready:MACHINE, vm-never-joins:VM, image-import-fails[:IMAGE],
    /// apiserver-restart:platform|harvester, sigkill:random.
    #[arg(long = "fault", value_name = "NAME[:TARGET]")]
    pub faults: Vec<String>,
    /// Run this many times faster than the scenario's pace (0.5: half as fast).
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub speed: f64,
    /// Let the lab simulator play Tinkerbell and Rufio too, instead of running their real
    /// upstream controllers against Redfish BMC emulators (no Go build of the controllers, no
    /// Python; a faster start).
    #[arg(long)]
    pub simulated_controllers: bool,
    /// Leave the world running afterwards, with the KUBECONFIG to explore it; `genesis rehearse
    /// --down` removes it.
    #[arg(long)]
    pub keep: bool,
    /// Continue the kept rehearsal: lift its faults (the lab mended) and run `genesis up` again.
    #[arg(long, conflicts_with_all = ["scenario", "faults", "down", "simulated_controllers"])]
    pub resume: bool,
    /// Stop the kept rehearsal world and remove its directory.
    #[arg(long, conflicts_with_all = ["scenario", "faults", "keep"])]
    pub down: bool,
    /// The rehearsal directory (default: $TMPDIR/genesis-rehearsal-<uid>): everything a
    /// rehearsal writes is below it.
    #[arg(long, env = "GENESIS_REHEARSAL_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The world process itself (started by `genesis rehearse`).
    #[arg(long, hide = true, value_name = "DIR")]
    pub serve_world: Option<PathBuf>,
    /// Arguments for the `genesis up` of the rehearsal, after `--` (e.g. `-- --reinstall
    /// ms-02-3`).
    #[arg(last = true, value_name = "UP ARGS")]
    pub up_args: Vec<String>,
}

fn cli_error(error: RehearseError) -> CliError {
    match error {
        RehearseError::Input(_) | RehearseError::Missing { .. } => {
            CliError::input(error.to_string())
        }
        RehearseError::Interrupted => CliError::new(exit::INTERRUPTED, error.to_string()),
        other => CliError::from_error(&other),
    }
}

/// The rehearsal's own lines.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::errln!("rehearsal: {}", format_args!($($arg)*))
    };
}

pub fn run(args: RehearseArgs, common: &Common) -> CliResult {
    if let Some(dir) = args.serve_world {
        let layout = Layout::new(dir);
        return runtime()?
            .block_on(genesis_rehearse::world::serve(&layout))
            .map_err(|error| CliError::from_error(&error));
    }
    let layout = rehearse::layout(args.dir.clone());
    if args.down {
        let was_up = world::is_up(&layout);
        world::down(&layout).map_err(cli_error)?;
        if was_up {
            say!(
                "the world in {} is stopped and removed",
                layout.path().display()
            );
        } else {
            say!("no rehearsal world is kept in {}", layout.path().display());
        }
        return Ok(());
    }
    let runtime = runtime()?;
    let color = match common.color {
        ColorChoice::Auto => "auto",
        ColorChoice::Always => "always",
        ColorChoice::Never => "never",
    };
    if args.resume {
        if !world::is_up(&layout) {
            return Err(CliError::input(format!(
                "no rehearsal world is kept in {}",
                layout.path().display()
            ))
            .with_hint("run `genesis rehearse` first (a failed or --keep rehearsal keeps it)"));
        }
        let info = world::info(&layout).map_err(cli_error)?;
        world::request(&layout, Request::Lift).map_err(cli_error)?;
        say!(
            "resuming the rehearsal kept in {}: its faults are lifted, as if the lab were mended",
            layout.path().display()
        );
        let run = UpRun {
            layout: &layout,
            info: &info,
            color,
            extra: &args.up_args,
            faults: &[],
            time_scale: pace(&layout),
        };
        return finish(&runtime, &run, args.keep);
    }
    if world::is_up(&layout) {
        return Err(CliError::input(format!(
            "a rehearsal world is kept in {}",
            layout.path().display()
        ))
        .with_hint(
            "`genesis rehearse --resume` continues it; `genesis rehearse --down` removes it",
        ));
    }
    // What a world that died left behind.
    world::remove(layout.path()).map_err(cli_error)?;

    let inputs = common.load_inputs()?;
    let check = crate::inputs::check_secrets(&common.input_paths(), &common.load_options());
    let mut faults: Vec<RehearsalFault> = Vec::new();
    for spec in &args.faults {
        faults.extend(faults::parse(spec, &inputs.lab).map_err(CliError::input)?);
    }
    let scenario =
        rehearse::scenario(args.scenario.as_deref(), args.speed, &faults).map_err(cli_error)?;
    let real = !args.simulated_controllers;
    world::prerequisites(real).map_err(cli_error)?;
    world::ensure_built(&runtime, real).map_err(cli_error)?;

    let lab_text = std::fs::read_to_string(&inputs.paths.lab)
        .map_err(|error| CliError::input(format!("{}: {error}", inputs.paths.lab.display())))?;
    let lab_json: serde_json::Value = serde_saphyr::from_str(&lab_text)
        .map_err(|error| CliError::input(format!("{}: {error}", inputs.paths.lab.display())))?;
    rehearse::create_dir(layout.path()).map_err(cli_error)?;
    let written = std::fs::write(
        layout.scenario(),
        serde_json::to_string(&scenario).unwrap_or_default(),
    )
    .and_then(|()| std::fs::write(layout.source_lab(), lab_json.to_string()))
    .and_then(|()| {
        if real {
            let bmcs =
                crate::rehearse::standins::bmc_credentials(&inputs.secrets, inputs.graph.steps());
            std::fs::write(
                layout.bmcs(),
                serde_json::to_string(&bmcs).unwrap_or_default(),
            )
        } else {
            Ok(())
        }
    });
    if let Err(error) = written {
        let _ = world::remove(layout.path());
        return Err(CliError::failed(format!(
            "write the rehearsal's files in {}: {error}",
            layout.path().display()
        )));
    }
    say!(
        "lab {} on this machine, in {}: two real kube-apiservers with the upstream CRDs, {}, a real sshd as the first node, the lab simulator as the hardware (scenario {}, {}× its pace)",
        inputs.lab.name,
        layout.path().display(),
        if real {
            "the real Tinkerbell and Rufio controllers with a Redfish BMC emulator per machine"
        } else {
            "Tinkerbell and Rufio played by the simulator (--simulated-controllers)"
        },
        scenario.name,
        args.speed
    );
    let info = match world::spawn(&layout, &runtime) {
        Ok(info) => info,
        Err(error) => {
            let _ = world::remove(layout.path());
            return Err(cli_error(error));
        }
    };
    if let Err(error) = rehearse::write_inputs(
        &layout,
        &info,
        &inputs,
        &check.uses,
        scenario.time_scale,
        real,
    ) {
        let _ = world::down(&layout);
        return Err(cli_error(error));
    }
    let named: Vec<String> = faults.iter().map(RehearsalFault::spec).collect();
    say!(
        "world up in {:.1} s; genesis up runs now with stand-in secrets (none of yours is written){}",
        info.startup_ms as f64 / 1000.0,
        if named.is_empty() {
            String::new()
        } else {
            format!("; faults: {}", named.join(", "))
        }
    );
    let run = UpRun {
        layout: &layout,
        info: &info,
        color,
        extra: &args.up_args,
        faults: &faults,
        time_scale: scenario.time_scale,
    };
    finish(&runtime, &run, args.keep)
}

/// The pace of the rehearsal kept in `layout` (its scenario file's).
fn pace(layout: &Layout) -> f64 {
    genesis_rehearse::Scenario::from_file(&layout.scenario())
        .map_or(1.0, |scenario| scenario.time_scale)
}

/// Runs `up`, prints the clocks, and stops the world or keeps it.
fn finish(runtime: &tokio::runtime::Runtime, run: &UpRun, keep: bool) -> CliResult {
    let (end, took) = match rehearse::run_up(runtime, run) {
        Ok(ended) => ended,
        Err(error) => {
            let _ = world::down(run.layout);
            return Err(cli_error(error));
        }
    };
    let projected = clocks::projected(&run.layout.state(), run.time_scale);
    let code = match end {
        UpEnd::Exited(code) => code,
        UpEnd::Killed(at) => {
            say!(
                "fault sigkill:random: killed genesis up with SIGKILL after {:.1} s, as a crash would; the journal keeps what was done",
                at.as_secs_f64()
            );
            i32::from(exit::STEP_FAILED)
        }
    };
    let outcome = match (end, code) {
        (UpEnd::Killed(_), _) => "killed",
        (_, 0) => "done",
        (_, 130) => "interrupted",
        _ => "failed",
    };
    say!("{outcome} in {}", clocks::line(took, projected));
    if code == 0 && !keep {
        world::down(run.layout).map_err(cli_error)?;
        say!(
            "the world is stopped and {} removed, its journal and run log with it (--keep keeps them)",
            run.layout.path().display()
        );
        return Ok(());
    }
    for line in rehearse::kept_lines(run.layout, run.info) {
        say!("{line}");
    }
    if code == 0 {
        Ok(())
    } else {
        Err(CliError::reported(
            u8::try_from(code).unwrap_or(exit::STEP_FAILED),
        ))
    }
}
