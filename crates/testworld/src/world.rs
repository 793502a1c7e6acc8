//! `World`: everything a cluster test needs, up and down in one call.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Error;
use crate::apiserver::{self, ApiServer};
use crate::sshd::SshNode;

/// What to bring up besides the two API servers.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// Start sshd for the first Harvester node.
    pub ssh: bool,
    /// Run the lab simulator with this scenario.
    pub scenario: Option<labsim::Scenario>,
    /// Install the CRDs from this directory (default: `apiserver::crds_dir()`).
    pub crds_dir: Option<PathBuf>,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            ssh: true,
            scenario: None,
            crds_dir: None,
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
}

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
                Some(
                    labsim::Simulator::start(world, scenario)
                        .await
                        .map_err(Error::Simulator)?,
                )
            }
            None => None,
        };
        Ok(Self {
            platform,
            harvester,
            ssh,
            simulator,
            startup: started.elapsed(),
            dir,
        })
    }

    /// The world's temp dir (logs: `platform/apiserver.log`, `harvester/apiserver.log`, `ssh-node/sshd.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the simulator and every process, removes the temp dir.
    pub async fn shutdown(mut self) {
        if let Some(simulator) = self.simulator.take() {
            simulator.shutdown().await;
        }
        if let Some(ssh) = self.ssh.as_mut() {
            ssh.stop().await;
        }
        self.platform.server.stop().await;
        self.harvester.server.stop().await;
        // Dropping `self` removes the temp dir.
    }
}
