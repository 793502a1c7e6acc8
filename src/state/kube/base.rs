//! What every part of the Kubernetes state backend shares: names, limits, errors, options, and
//! the worker thread that runs kube-rs's futures for synchronous callers.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use kube::api::PostParams;
use thiserror::Error;

use crate::clients::kube::{KubeClientError, KubeTarget};

/// The namespace genesis keeps its state in.
pub const DEFAULT_NAMESPACE: &str = "genesis-system";
/// Overrides the namespace (tests run several states in one cluster).
pub const NAMESPACE_ENV: &str = "GENESIS_STATE_NAMESPACE";
/// The Lease that is the lock.
pub const LEASE_NAME: &str = "genesis-lock";
/// Name prefix of the journal's chunk Secrets.
pub const CHUNK_PREFIX: &str = "journal-";
/// Most bytes of journal in one chunk Secret (the API server refuses Secrets above 1 MiB).
pub const CHUNK_BYTES: usize = 256 * 1024;
const _: () = assert!(CHUNK_BYTES < 1024 * 1024, "a chunk must fit in one Secret");
/// Data key of a chunk's bytes.
pub const CHUNK_KEY: &str = "records";
/// Label on every chunk, with the value `journal`.
pub const STATE_LABEL: &str = "genesis.dev/state";
/// Annotation on the Lease with the holder as JSON.
pub const HOLDER_ANNOTATION: &str = "genesis.dev/holder";
/// Default `leaseDurationSeconds`.
pub const DEFAULT_LEASE_SECONDS: u32 = 15;
/// Overrides the lease duration in seconds (tests use a few seconds).
pub const LEASE_SECONDS_ENV: &str = "GENESIS_STATE_LEASE_SECONDS";

pub(crate) const MANAGER: &str = "genesis";

/// What goes wrong talking to the cluster about state.
#[derive(Debug, Error)]
pub enum KubeStateError {
    #[error(transparent)]
    Client(#[from] KubeClientError),
    #[error("{what}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "{what}: another writer changed it first (was the lock taken over?); run `genesis status --state kubernetes`"
    )]
    Conflict { what: String },
    #[error(
        "the lock (Lease {namespace}/{LEASE_NAME}) was lost: it was not renewed in time or another run took it over; stopping"
    )]
    LeaseLost { namespace: String },
    #[error("the journal in namespace {namespace} is damaged: {problem}")]
    Damaged { namespace: String, problem: String },
    #[error("the state worker thread is gone")]
    WorkerGone,
    #[error("{0} is not a valid lease duration in seconds (1 to 3600)")]
    LeaseSeconds(String),
}

/// Where and how the state lives in the cluster.
#[derive(Clone, Debug)]
pub struct KubeStateOptions {
    pub target: KubeTarget,
    pub namespace: String,
    pub lease_seconds: u32,
    pub chunk_bytes: usize,
}

impl KubeStateOptions {
    /// Defaults, with `GENESIS_STATE_NAMESPACE` and `GENESIS_STATE_LEASE_SECONDS` applied.
    pub fn from_env(target: KubeTarget) -> Result<Self, KubeStateError> {
        let namespace = std::env::var(NAMESPACE_ENV)
            .ok()
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let lease_seconds = match std::env::var(LEASE_SECONDS_ENV) {
            Ok(text) => text
                .parse::<u32>()
                .ok()
                .filter(|seconds| (1..=3600).contains(seconds))
                .ok_or(KubeStateError::LeaseSeconds(text))?,
            Err(_) => DEFAULT_LEASE_SECONDS,
        };
        Ok(Self {
            target,
            namespace,
            lease_seconds,
            chunk_bytes: CHUNK_BYTES,
        })
    }
}

/// One thread with a current-thread runtime; runs futures for synchronous callers.
pub(crate) struct Worker {
    pub(crate) handle: tokio::runtime::Handle,
    shutdown: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Worker {
    pub(crate) fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("genesis-state".to_owned())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stop.await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Self {
            handle,
            shutdown: Mutex::new(Some(shutdown)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `future` on the worker and waits for its result (callable from any thread,
    /// including one inside another runtime).
    pub(crate) fn call<T, F>(&self, future: F) -> Result<T, KubeStateError>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = sender.send(future.await);
        });
        receiver.recv().map_err(|_| KubeStateError::WorkerGone)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(mut shutdown) = self.shutdown.lock()
            && let Some(shutdown) = shutdown.take()
        {
            let _ = shutdown.send(());
        }
        if let Ok(mut thread) = self.thread.lock()
            && let Some(thread) = thread.take()
        {
            let _ = thread.join();
        }
    }
}

pub(crate) fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> KubeStateError {
    let what = what.into();
    move |source| match &source {
        kube::Error::Api(status) if status.code == 409 => KubeStateError::Conflict { what },
        _ => KubeStateError::Api { what, source },
    }
}

pub(crate) fn is_code(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

pub(crate) fn post_params() -> PostParams {
    PostParams {
        dry_run: false,
        field_manager: Some(MANAGER.to_owned()),
    }
}
