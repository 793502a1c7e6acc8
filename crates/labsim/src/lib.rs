//! The genesis lab simulator (DESIGN.md §6). It plays the controllers and the
//! hardware of the reference lab against real Kubernetes API servers:
//!
//! - Rufio: Machines become `Contactable`, power Jobs run task by task.
//! - Tinkerbell: Workflows go PREPARING (netboot Job) → PENDING → RUNNING →
//!   SUCCESS action by action, with the monorepo's state spellings.
//! - Or, with [`Simulator::start_machines_only`] (a world running the real
//!   upstream Tinkerbell and Rufio controllers and tink server), neither of
//!   those: only the machine, which, once the real controller made its
//!   Workflow PENDING after the real Rufio powered it on into PXE, runs an
//!   agent speaking the real tink server's gRPC protocol and decides each
//!   action's outcome and timing.
//! - Harvester: after an install the node registers on the Harvester API and
//!   turns Ready; the first node writes its rke2 kubeconfig; at three Ready
//!   nodes the others are promoted (labels and promote-status annotation).
//! - Harvester's image controller: a downloaded VirtualMachineImage reports
//!   progress, its StorageClass and `Imported=True`.
//! - KubeVirt: VirtualMachines with a running strategy get a VMI and report
//!   `printableStatus: Running`.
//! - The Platform join: each running VM's Node registers Ready with the
//!   control-plane role on the Platform API.
//!
//! Everything reacts to `kube::runtime::watcher` streams; the only sleeps are
//! the scenario's (scaled) durations. Every change is recorded as a
//! timestamped [`SimEvent`]. Product code never imports this crate.

/// Awaits the kube call `$call` (re-evaluated on each try), trying again with
/// backoff while it fails transiently (an API server restart), up to
/// `util::RETRY_FOR`.
macro_rules! retry_transient {
    ($call:expr) => {{
        let deadline = crate::util::retry_deadline();
        let mut delay = std::time::Duration::from_millis(50);
        loop {
            match $call.await {
                Err(error) if crate::util::is_transient(&error) => match crate::util::next_delay(deadline, delay) {
                    Some(next) => {
                        tracing::debug!(%error, ?delay, "labsim retrying");
                        tokio::time::sleep(delay).await;
                        delay = next;
                    }
                    None => break Err(error),
                },
                other => break other,
            }
        }
    }};
}

mod events;
mod harvester;
mod images;
mod kubevirt;
mod resources;
mod rke2_cert;
mod rke2_rotate;
mod rufio;
pub mod scenario;
mod tinkerbell;
mod util;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::task::JoinSet;

pub use events::{EventLog, SimEvent};
pub use scenario::{Fault, Scenario, SimDuration};

/// What went wrong in the simulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("kubernetes api: {context}")]
    Kube {
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error("write node file {path}")]
    NodeFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

/// Where the simulated nodes' files live on this machine.
#[derive(Debug, Clone, Default)]
pub struct NodeFiles {
    /// The root of the first Harvester node's filesystem (the one sshd serves).
    pub first_node_root: Option<PathBuf>,
    /// Owner (user name) to give written files, when running as root.
    pub owner: Option<String>,
    /// The Harvester API server's serving-SANs file: the first node's install writes the
    /// names RKE2 would put on its certificate there (see `rke2_cert`). `None`: left alone.
    pub harvester_serving_sans: Option<PathBuf>,
}

/// The clusters the simulator plays against.
#[derive(Clone)]
pub struct WorldRefs {
    pub platform: kube::Client,
    pub harvester: kube::Client,
    /// The Harvester cluster's admin kubeconfig: what rke2 writes on the first node.
    pub harvester_kubeconfig: String,
    pub node_files: NodeFiles,
}

/// The real tink server a world runs, and the program a simulated machine runs as its agent
/// (`genesis-tinkerbell agent`, a client of the server's WorkflowService).
#[derive(Debug, Clone)]
pub struct TinkServer {
    /// The `genesis-tinkerbell` binary (its `agent` subcommand).
    pub agent_program: PathBuf,
    /// The server's plaintext gRPC address, `HOST:PORT`.
    pub address: String,
}

/// State shared by the simulated controllers.
pub(crate) struct Shared {
    pub scenario: Scenario,
    pub world: WorldRefs,
    /// With the real Tinkerbell: where the machines' agents connect.
    pub tink_server: Option<TinkServer>,
    pub events: EventLog,
    pub started: Instant,
    /// Machine name → until when its BMC does not answer.
    pub unreachable_until: Mutex<HashMap<String, Instant>>,
    /// Workflows (namespace/name) whose injected failure already happened.
    pub failed_once: Mutex<HashSet<String>>,
    /// The scenario's faults were lifted ([`Simulator::lift_faults`]): none applies any more.
    pub lifted: tokio::sync::watch::Sender<bool>,
    /// Objects (by uid) a simulated controller has taken on.
    pub claimed: Mutex<HashSet<String>>,
    /// The Harvester cluster exists (the first node registered).
    pub cluster_up: tokio::sync::watch::Sender<Option<String>>,
    /// Harvester nodes, for the promotion controller.
    pub harvester_nodes: tokio::sync::Mutex<harvester::Nodes>,
    /// Per-object work, aborted on shutdown.
    pub tasks: Mutex<JoinSet<()>>,
}

impl Shared {
    /// Claims an object for one simulated controller: true the first time.
    pub fn claim(&self, kind: &str, uid: &str) -> bool {
        self.claimed
            .lock()
            .map(|mut set| set.insert(format!("{kind}/{uid}")))
            .unwrap_or(false)
    }

    pub fn record(&self, actor: &str, kind: &str, object: &str, detail: impl Into<String>) {
        self.events
            .record(self.started, actor, kind, object, detail.into());
    }

    /// Runs per-object work until it ends or the simulator stops.
    pub fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Ok(mut tasks) = self.tasks.lock() {
            // Reap finished tasks so the set does not grow without bound.
            while tasks.try_join_next().is_some() {}
            tasks.spawn(work);
        }
    }

    /// The faults that apply now: the scenario's, none once lifted.
    pub fn faults(&self) -> &[Fault] {
        if *self.lifted.borrow() {
            &[]
        } else {
            &self.scenario.faults
        }
    }

    pub fn has_fault(&self, predicate: impl Fn(&Fault) -> bool) -> bool {
        self.faults().iter().any(predicate)
    }

    /// Waits until the faults are lifted (forever when they never are): a node or VM held back
    /// by a fault goes on from there, as if the operator had mended it.
    pub async fn faults_lifted(&self) {
        let mut lifted = self.lifted.subscribe();
        let _ = lifted.wait_for(|lifted| *lifted).await;
    }
}

/// The cluster a simulated node belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeCluster {
    Platform,
    Harvester,
}

impl NodeCluster {
    fn label(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Harvester => "harvester",
        }
    }
}

/// The running simulator.
pub struct Simulator {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
}

impl Simulator {
    /// Starts every simulated controller (each lists, then watches, its objects:
    /// objects written before or after this call are all seen).
    pub async fn start(world: WorldRefs, scenario: Scenario) -> Result<Self, Error> {
        Self::start_inner(world, scenario, None).await
    }

    /// Starts the simulator for a world that runs the real upstream Tinkerbell and Rufio
    /// controllers, the real tink server and real Redfish BMCs: it plays no controller of
    /// theirs, only the machines (a machine the real Rufio powered on into PXE runs
    /// `genesis-tinkerbell agent` against `tink_server`, which serves the actions and writes
    /// the Workflow's status) and the rest of the lab.
    pub async fn start_machines_only(
        world: WorldRefs,
        scenario: Scenario,
        tink_server: TinkServer,
    ) -> Result<Self, Error> {
        Self::start_inner(world, scenario, Some(tink_server)).await
    }

    async fn start_inner(
        world: WorldRefs,
        scenario: Scenario,
        tink_server: Option<TinkServer>,
    ) -> Result<Self, Error> {
        let tinkerbell_controllers = tink_server.is_none();
        let (cluster_up, _) = tokio::sync::watch::channel(None);
        let shared = Arc::new(Shared {
            scenario,
            world,
            tink_server,
            events: EventLog::default(),
            started: Instant::now(),
            unreachable_until: Mutex::new(HashMap::new()),
            failed_once: Mutex::new(HashSet::new()),
            lifted: tokio::sync::watch::channel(false).0,
            claimed: Mutex::new(HashSet::new()),
            cluster_up,
            harvester_nodes: tokio::sync::Mutex::new(harvester::Nodes::default()),
            tasks: Mutex::new(JoinSet::new()),
        });
        let mut tasks = JoinSet::new();
        if tinkerbell_controllers {
            tasks.spawn(rufio::run_machines(shared.clone()));
            tasks.spawn(rufio::run_jobs(shared.clone()));
            tasks.spawn(tinkerbell::run_workflows(shared.clone()));
        } else {
            tasks.spawn(tinkerbell::run_agents(shared.clone()));
        }
        tasks.spawn(kubevirt::run_virtual_machines(shared.clone()));
        tasks.spawn(images::run_images(shared.clone()));
        shared.record(
            "labsim",
            "simulator.started",
            "-",
            shared.scenario.name.clone(),
        );
        Ok(Self { shared, tasks })
    }

    /// Everything the simulator did so far, in order.
    pub fn events(&self) -> Vec<SimEvent> {
        self.shared.events.snapshot()
    }

    /// The event log (to wait for events).
    pub fn event_log(&self) -> &EventLog {
        &self.shared.events
    }

    pub fn scenario(&self) -> &Scenario {
        &self.shared.scenario
    }

    /// Plays RKE2 rotating the admin client certificate on the first node: a new certificate,
    /// valid for `valid_for` and issued by the CA in `ca_dir` (the Harvester API server's
    /// `pki` directory), replaces the credentials of its `rke2.yaml`. Returns the certificate's
    /// PEM.
    pub async fn rotate_rke2_client_certificate(
        &self,
        ca_dir: &std::path::Path,
        valid_for: std::time::Duration,
    ) -> Result<String, Error> {
        rke2_rotate::rotate_admin_certificate(&self.shared, ca_dir, valid_for).await
    }

    /// Posts `node`'s `Ready` condition on `cluster` as its kubelet would: `ready: false` plays
    /// a node that stopped being ready (nothing else changes it back but another call).
    pub async fn set_node_ready(
        &self,
        cluster: NodeCluster,
        node: &str,
        ready: bool,
    ) -> Result<(), Error> {
        let client = match cluster {
            NodeCluster::Platform => self.shared.world.platform.clone(),
            NodeCluster::Harvester => self.shared.world.harvester.clone(),
        };
        let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client);
        harvester::set_node_readiness(&nodes, node, ready).await?;
        self.shared.record(
            cluster.label(),
            if ready {
                "node.ready"
            } else {
                "node.not_ready"
            },
            node,
            "set by the test",
        );
        Ok(())
    }

    /// Registers the Platform cluster's own node (the lab's `platform_node`, the UM760 that
    /// runs the single-node Platform before phase 4) as a Ready control-plane Node, as it is
    /// in a real lab; the test world's Platform API server starts without it.
    pub async fn add_platform_node(&self, hostname: &str) -> Result<(), Error> {
        kubevirt::register_platform_node(&self.shared, hostname).await
    }

    /// Lifts every fault of the scenario from now on, as if the operator had mended the lab: an
    /// unreachable BMC answers again, a node that never came up and a VM that never joined go
    /// on now, a Workflow or an image download runs normally the next time it is made.
    pub fn lift_faults(&self) {
        self.shared.lifted.send_replace(true);
        if let Ok(mut until) = self.shared.unreachable_until.lock() {
            until.clear();
        }
        self.shared.record("labsim", "faults.lifted", "-", "");
    }

    /// Stops every simulated controller.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown().await;
        let work = self
            .shared
            .tasks
            .lock()
            .map(|mut tasks| std::mem::take(&mut *tasks));
        if let Ok(mut work) = work {
            work.shutdown().await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.tasks.abort_all();
        if let Ok(mut tasks) = self.shared.tasks.lock() {
            tasks.abort_all();
        }
    }
}
