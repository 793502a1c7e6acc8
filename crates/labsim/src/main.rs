//! `labsim`: run the lab simulator against two clusters until Ctrl-C,
//! printing every event as a JSON line on stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Simulate the genesis reference lab against real Kubernetes API servers")]
struct Args {
    /// Kubeconfig of the Platform cluster (Tinkerbell, Rufio, the cp-2/cp-3 join).
    #[arg(long)]
    platform_kubeconfig: PathBuf,
    /// Kubeconfig of the Harvester cluster (Nodes, KubeVirt).
    #[arg(long)]
    harvester_kubeconfig: PathBuf,
    /// Scenario file (durations, time scale, faults); default: the reference scenario.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Root of the first Harvester node's files (rke2.yaml goes to ROOT/etc/rancher/rke2/).
    #[arg(long)]
    node_root: Option<PathBuf>,
    /// Owner to give node files (when running as root for an sshd login user).
    #[arg(long)]
    node_owner: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("labsim: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Sim(#[from] labsim::Error),
    #[error("kubeconfig {path}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

async fn client(path: &PathBuf) -> Result<(kube::Client, String), CliError> {
    let wrap = |source: Box<dyn std::error::Error + Send + Sync>| CliError::Kubeconfig {
        path: path.clone(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(|e| wrap(e.into()))?;
    let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| wrap(e.into()))?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .map_err(|e| wrap(e.into()))?;
    let client = kube::Client::try_from(config).map_err(|e| wrap(e.into()))?;
    Ok((client, text))
}

async fn run(args: Args) -> Result<(), CliError> {
    let scenario = match &args.scenario {
        Some(path) => labsim::Scenario::from_file(path)?,
        None => labsim::Scenario::reference()?,
    };
    let (platform, _) = client(&args.platform_kubeconfig).await?;
    let (harvester, harvester_kubeconfig) = client(&args.harvester_kubeconfig).await?;
    let world = labsim::WorldRefs {
        platform,
        harvester,
        harvester_kubeconfig,
        node_files: labsim::NodeFiles {
            first_node_root: args.node_root,
            owner: args.node_owner,
            harvester_serving_sans: None,
        },
    };
    let simulator = labsim::Simulator::start(world, scenario).await?;
    let mut printed = 0;
    let mut changes = simulator.event_log().subscribe();
    loop {
        for event in simulator.events().into_iter().skip(printed) {
            printed += 1;
            if let Ok(line) = serde_json::to_string(&event) {
                println!("{line}");
            }
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            changed = changes.changed() => if changed.is_err() { break },
        }
    }
    simulator.shutdown().await;
    Ok(())
}
