//! `World`: everything a cluster test needs, up and down in one call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Error;
use crate::apiserver::{self, ApiServer};
use crate::redfish::{self, BmcSpec, RedfishBmc};
use crate::sshd::SshNode;
use crate::tinkerbell::{self, TinkerbellControllers};

/// What to bring up besides the two API servers.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// Start sshd for the first Harvester node.
    pub ssh: bool,
    /// Run the lab simulator with this scenario.
    pub scenario: Option<labsim::Scenario>,
    /// Install the CRDs from this directory (default: `apiserver::crds_dir()`).
    pub crds_dir: Option<PathBuf>,
    /// Run the real upstream Tinkerbell workflow controller and Rufio controllers
    /// (`tests/tinkerbell`) against the Platform API server, and one real Redfish BMC
    /// (sushy-tools) per entry. The simulator then plays only the machines, whose agents
    /// speak to the real tink server (`labsim::Simulator::start_machines_only`); a `bmc_unreachable` fault stops that
    /// machine's emulator from the moment its Rufio Machine is created, for the fault's time.
    pub real_tinkerbell: Option<Vec<BmcSpec>>,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            ssh: true,
            scenario: None,
            crds_dir: None,
            real_tinkerbell: None,
        }
    }
}

impl WorldOptions {
    /// Both API servers, sshd and the simulator running the reference scenario.
    pub fn with_simulator() -> Result<Self, Error> {
        Ok(Self {
            scenario: Some(labsim::Scenario::reference().map_err(Error::Simulator)?),
            ..Self::default()
        })
    }

    /// `with_simulator`, with the real Tinkerbell and Rufio controllers and these BMCs.
    pub fn with_real_tinkerbell(bmcs: Vec<BmcSpec>) -> Result<Self, Error> {
        Ok(Self {
            real_tinkerbell: Some(bmcs),
            ..Self::with_simulator()?
        })
    }
}

/// Where a test reaches one emulated BMC.
#[derive(Debug, Clone)]
pub struct BmcEndpoint {
    pub machine: String,
    pub host: std::net::Ipv4Addr,
    pub port: u16,
    pub username: String,
    /// `/redfish/v1/Systems/<system_id>`.
    pub system_id: String,
}

impl BmcEndpoint {
    pub fn url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }
}

type BmcProcesses = Arc<tokio::sync::Mutex<BTreeMap<String, RedfishBmc>>>;

/// One real cluster of the world.
pub struct Cluster {
    pub server: ApiServer,
    pub client: kube::Client,
}

impl Cluster {
    pub fn kubeconfig_path(&self) -> &Path {
        self.server.kubeconfig_path()
    }
    pub fn url(&self) -> &str {
        &self.server.ready.url
    }
}

/// The running test world. `shutdown` (or drop) kills every process and
/// removes the temp dir.
pub struct World {
    pub platform: Cluster,
    pub harvester: Cluster,
    pub ssh: Option<SshNode>,
    pub simulator: Option<labsim::Simulator>,
    /// The real Tinkerbell and Rufio controllers, when asked for.
    pub tinkerbell: Option<TinkerbellControllers>,
    /// The emulated BMCs, by machine name.
    pub bmcs: BTreeMap<String, BmcEndpoint>,
    bmc_processes: BmcProcesses,
    fault_tasks: AbortOnDrop,
    /// Wall time of `start`.
    pub startup: Duration,
    dir: tempfile::TempDir,
}

impl World {
    /// Both API servers with CRDs, sshd, no simulator.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(WorldOptions::default()).await
    }

    pub async fn start_with(options: WorldOptions) -> Result<Self, Error> {
        let started = Instant::now();
        let bin = apiserver::binary().await?;
        let crds = options.crds_dir.clone().unwrap_or_else(apiserver::crds_dir);
        if !crds.is_dir() {
            return Err(Error::Setup(format!(
                "CRD directory {} is missing: set GENESIS_CRDS_DIR (docs/testworld.md says where to get them)",
                crds.display()
            )));
        }
        let dir = tempfile::Builder::new()
            .prefix("genesis-world-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "create the world's temp dir".into(),
                source,
            })?;
        // The two servers start concurrently: each is one process with its own etcd.
        let (platform_dir, harvester_dir) =
            (dir.path().join("platform"), dir.path().join("harvester"));
        let (platform, harvester) = tokio::join!(
            ApiServer::start("platform", &bin, &platform_dir, Some(&crds)),
            ApiServer::start("harvester", &bin, &harvester_dir, Some(&crds)),
        );
        let (platform, harvester) = (platform?, harvester?);
        let platform = Cluster {
            client: platform.client().await?,
            server: platform,
        };
        let harvester = Cluster {
            client: harvester.client().await?,
            server: harvester,
        };
        let ssh = if options.ssh {
            Some(SshNode::start(&dir.path().join("ssh-node")).await?)
        } else {
            None
        };
        let (tinkerbell, bmcs, bmc_processes) = match &options.real_tinkerbell {
            Some(specs) => {
                let (bin, emulator) = tokio::join!(tinkerbell::binary(), redfish::emulator());
                let (bin, emulator) = (bin?, emulator?);
                let mut processes = BTreeMap::new();
                let mut endpoints = BTreeMap::new();
                // The emulators (one Python process each) and the controllers start together.
                let starts = specs.iter().map(|spec| {
                    let bmc_dir = dir.path().join("bmc").join(&spec.machine);
                    let emulator = emulator.clone();
                    async move { RedfishBmc::start(&emulator, &bmc_dir, spec).await }
                });
                let controllers_dir = dir.path().join("tinkerbell");
                let (started, controllers) = tokio::join!(
                    futures::future::try_join_all(starts),
                    TinkerbellControllers::start(
                        &bin,
                        platform.kubeconfig_path(),
                        &controllers_dir
                    )
                );
                let controllers = controllers?;
                for (spec, bmc) in specs.iter().zip(started?) {
                    endpoints.insert(
                        spec.machine.clone(),
                        BmcEndpoint {
                            machine: spec.machine.clone(),
                            host: bmc.host,
                            port: bmc.port,
                            username: bmc.username.clone(),
                            system_id: bmc.system_id.clone(),
                        },
                    );
                    processes.insert(spec.machine.clone(), bmc);
                }
                (Some(controllers), endpoints, processes)
            }
            None => (None, BTreeMap::new(), BTreeMap::new()),
        };
        let bmc_processes: BmcProcesses = Arc::new(tokio::sync::Mutex::new(bmc_processes));
        let mut fault_tasks = Vec::new();
        if let (Some(_), Some(scenario)) = (&tinkerbell, &options.scenario) {
            for fault in &scenario.faults {
                if let labsim::Fault::BmcUnreachable { machine, duration } = fault {
                    let outage = scenario.scaled(*duration);
                    if let Some(bmc) = bmc_processes.lock().await.get_mut(machine) {
                        bmc.stop().await;
                    }
                    fault_tasks.push(tokio::spawn(bmc_outage(
                        platform.client.clone(),
                        bmc_processes.clone(),
                        machine.clone(),
                        outage,
                    )));
                }
            }
        }
        let tink_server = tinkerbell.as_ref().map(|controllers| labsim::TinkServer {
            agent_program: controllers.program.clone(),
            address: controllers.ready.tink_server.clone(),
        });
        let simulator = match options.scenario {
            Some(scenario) => {
                let node_files = labsim::NodeFiles {
                    first_node_root: ssh.as_ref().map(|node| node.root.clone()),
                    owner: ssh.as_ref().map(|node| node.endpoint.user.clone()),
                    harvester_serving_sans: Some(harvester.server.serving_sans_file()),
                };
                let world = labsim::WorldRefs {
                    platform: platform.client.clone(),
                    harvester: harvester.client.clone(),
                    harvester_kubeconfig: std::fs::read_to_string(harvester.kubeconfig_path())
                        .map_err(|source| Error::Io {
                            what: "read the harvester kubeconfig".into(),
                            source,
                        })?,
                    node_files,
                };
                let simulator = if let Some(tink_server) = tink_server {
                    labsim::Simulator::start_machines_only(world, scenario, tink_server).await
                } else {
                    labsim::Simulator::start(world, scenario).await
                };
                Some(simulator.map_err(Error::Simulator)?)
            }
            None => None,
        };
        Ok(Self {
            platform,
            harvester,
            ssh,
            simulator,
            tinkerbell,
            bmcs,
            bmc_processes,
            fault_tasks: AbortOnDrop(fault_tasks),
            startup: started.elapsed(),
            dir,
        })
    }

    /// Makes a machine's BMC stop answering (its emulator killed; its state kept).
    pub async fn stop_bmc(&self, machine: &str) {
        if let Some(bmc) = self.bmc_processes.lock().await.get_mut(machine) {
            bmc.stop().await;
        }
    }

    /// Starts a stopped BMC again on the same address and port.
    pub async fn resume_bmc(&self, machine: &str) -> Result<(), Error> {
        match self.bmc_processes.lock().await.get_mut(machine) {
            Some(bmc) => bmc.resume().await,
            None => Err(Error::Setup(format!("no emulated BMC for {machine}"))),
        }
    }

    /// The password of a machine's emulated BMC (to write into a lab's secrets file).
    pub async fn bmc_password(&self, machine: &str) -> Option<String> {
        self.bmc_processes
            .lock()
            .await
            .get(machine)
            .map(|bmc| bmc.password().to_owned())
    }

    /// The world's temp dir (logs: `platform/apiserver.log`, `harvester/apiserver.log`, `ssh-node/sshd.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the simulator and every process, removes the temp dir.
    pub async fn shutdown(mut self) {
        for task in &self.fault_tasks.0 {
            task.abort();
        }
        if let Some(simulator) = self.simulator.take() {
            simulator.shutdown().await;
        }
        if let Some(controllers) = self.tinkerbell.as_mut() {
            controllers.stop().await;
        }
        for bmc in self.bmc_processes.lock().await.values_mut() {
            bmc.stop().await;
        }
        if let Some(ssh) = self.ssh.as_mut() {
            ssh.stop().await;
        }
        self.platform.server.stop().await;
        self.harvester.server.stop().await;
        // Dropping `self` removes the temp dir.
    }
}

/// Background tasks of the world, aborted when it goes.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A `bmc_unreachable` fault on a real BMC: from the moment the Rufio Machine `machine`
/// exists (watched), its emulator stays down for `outage`, then starts again.
async fn bmc_outage(client: kube::Client, bmcs: BmcProcesses, machine: String, outage: Duration) {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let resource = kube::api::ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("bmc.tinkerbell.org", "v1alpha1", "Machine"),
        "machines",
    );
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::all_with(client, &resource);
    let config = watcher::Config::default().fields(&format!("metadata.name={machine}"));
    let stream = watcher(api, config).default_backoff().applied_objects();
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        if item.is_ok() {
            break;
        }
    }
    tokio::time::sleep(outage).await;
    if let Some(bmc) = bmcs.lock().await.get_mut(&machine)
        && let Err(error) = bmc.resume().await
    {
        tracing::warn!(%machine, %error, "the emulated BMC did not start again");
    }
}
