//! The genesis test world (DESIGN.md §6): two real kube-apiservers (Platform
//! and Harvester, each with embedded etcd and the upstream CRDs installed), a
//! real OpenSSH sshd playing the first Harvester node, and optionally the lab
//! simulator driving them. One call brings it all up:
//!
//! ```no_run
//! # async fn demo() -> Result<(), genesis_testworld::Error> {
//! let world = genesis_testworld::World::start().await?;
//! let pods: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(world.platform.client.clone());
//! # let _ = pods;
//! world.shutdown().await;
//! # Ok(()) }
//! ```

pub mod apiserver;
pub mod gobuild;
pub mod lab;
mod process;
pub mod redfish;
pub mod sshd;
pub mod talos;
pub mod tinkerbell;
pub mod upstream;
mod world;

pub use apiserver::{ApiServer, ReadyLine};
pub use redfish::{BmcSpec, RedfishBmc};
pub use sshd::{SshEndpoint, SshNode};
pub use tinkerbell::TinkerbellControllers;
pub use world::{BmcEndpoint, Cluster, World, WorldOptions};

/// What went wrong while bringing the test world up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("test world setup: {0}")]
    Setup(String),
    #[error("{name} did not start; last log lines:\n{log}")]
    ServerFailed { name: String, log: String },
    #[error("read kubeconfig")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("build kube client")]
    Client(#[source] kube::Error),
    #[error("ssh: {0}")]
    Ssh(String),
    #[error("start the lab simulator")]
    Simulator(#[source] labsim::Error),
}
