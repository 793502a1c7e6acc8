//! Shared state in the Platform cluster: the journal in chunk Secrets, the lock in a Lease.
//!
//! Layout, in a namespace of genesis's own (`genesis-system` unless `GENESIS_STATE_NAMESPACE`
//! says otherwise), created on first write:
//!
//! - `Secret journal-0000`, `journal-0001`, …: the journal's byte stream cut into segments of at
//!   most [`CHUNK_BYTES`] (data key `records`), far below the 1 MiB object limit. Only the last
//!   chunk grows; a full chunk is never written again. A record may straddle two chunks: the
//!   journal is their concatenation in index order.
//! - `Lease genesis-lock` (`coordination.k8s.io/v1`): the lock. `holderIdentity` names host, pid
//!   and start time (the annotation `genesis.dev/holder` carries the same as JSON, with the
//!   command); the holder renews it every third of `leaseDurationSeconds`; another run takes
//!   it only once `renewTime + leaseDurationSeconds` has passed; a clean exit clears it.
//!
//! Every write is a create (new object, deterministic name) or an update that carries the
//! `resourceVersion` last seen: if another writer got there first the server answers 409 and
//! the write fails instead of overwriting. A run whose Lease was taken over therefore cannot
//! append another record (and it also stops itself when a renewal finds the Lease gone).
//!
//! kube-rs is async; the engine's journal is synchronous. [`Worker`] owns one thread with a
//! current-thread tokio runtime that holds the client and the renewal task; synchronous callers
//! (also from inside `genesis up`'s own runtime) send it futures and wait on a channel.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use genesis_engine::journal::{JournalError, now_ms};
use genesis_engine::lock::{LockError, LockHolder, Unlocked, format_time};
use genesis_engine::storage::{
    HeldLock, JournalStore, LockGuard, LockLoss, LockStatus, StateBackend,
};
use k8s_openapi::ByteString;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams, Preconditions};
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

const MANAGER: &str = "genesis";

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
struct Worker {
    handle: tokio::runtime::Handle,
    shutdown: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Worker {
    fn start() -> std::io::Result<Self> {
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
    fn call<T, F>(&self, future: F) -> Result<T, KubeStateError>
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

/// The state in the Platform cluster.
pub struct KubeState {
    worker: Arc<Worker>,
    client: kube::Client,
    options: KubeStateOptions,
    /// Set by the renewal task when the Lease is lost; checked before every append.
    lost: LockLoss,
}

impl std::fmt::Debug for KubeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeState")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> KubeStateError {
    let what = what.into();
    move |source| match &source {
        kube::Error::Api(status) if status.code == 409 => KubeStateError::Conflict { what },
        _ => KubeStateError::Api { what, source },
    }
}

fn is_code(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

fn post_params() -> PostParams {
    PostParams {
        dry_run: false,
        field_manager: Some(MANAGER.to_owned()),
    }
}

/// One chunk Secret as read.
#[derive(Clone, Debug)]
struct Chunk {
    index: usize,
    data: Vec<u8>,
    resource_version: Option<String>,
}

fn chunk_name(index: usize) -> String {
    format!("{CHUNK_PREFIX}{index:04}")
}

fn chunk_index(name: &str) -> Option<usize> {
    name.strip_prefix(CHUNK_PREFIX)?.parse().ok()
}

fn chunk_object(namespace: &str, index: usize, data: &[u8], rv: Option<String>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(chunk_name(index)),
            namespace: Some(namespace.to_owned()),
            resource_version: rv,
            labels: Some(BTreeMap::from([
                (
                    "app.kubernetes.io/managed-by".to_owned(),
                    MANAGER.to_owned(),
                ),
                (STATE_LABEL.to_owned(), "journal".to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([(
            CHUNK_KEY.to_owned(),
            ByteString(data.to_vec()),
        )])),
        ..Secret::default()
    }
}

/// Every chunk in index order; a gap in the indices is damage.
async fn fetch_chunks(
    client: kube::Client,
    namespace: String,
) -> Result<Vec<Chunk>, KubeStateError> {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let list = api
        .list(&ListParams::default().labels(&format!("{STATE_LABEL}=journal")))
        .await
        .map_err(api_error(format!(
            "cannot list the journal's Secrets in namespace {namespace}"
        )))?;
    let mut chunks: Vec<Chunk> = list
        .items
        .into_iter()
        .filter_map(|secret| {
            let index = chunk_index(secret.metadata.name.as_deref()?)?;
            let data = secret
                .data
                .and_then(|mut data| data.remove(CHUNK_KEY))
                .map(|bytes| bytes.0)
                .unwrap_or_default();
            Some(Chunk {
                index,
                data,
                resource_version: secret.metadata.resource_version,
            })
        })
        .collect();
    chunks.sort_by_key(|chunk| chunk.index);
    for (expected, chunk) in chunks.iter().enumerate() {
        if chunk.index != expected {
            return Err(KubeStateError::Damaged {
                namespace,
                problem: format!(
                    "Secret {} is missing (found {} after it)",
                    chunk_name(expected),
                    chunk_name(chunk.index)
                ),
            });
        }
    }
    Ok(chunks)
}

async fn ensure_namespace(client: kube::Client, namespace: String) -> Result<(), KubeStateError> {
    let api: Api<Namespace> = Api::all(client);
    let object = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                MANAGER.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    // Read first: an operator may grant genesis its namespace without the right to create one.
    if let Ok(Some(_)) = api.get_opt(&namespace).await {
        return Ok(());
    }
    match api.create(&post_params(), &object).await {
        Ok(_) => Ok(()),
        Err(error) if is_code(&error, 409) => Ok(()),
        Err(source) => Err(KubeStateError::Api {
            what: format!("cannot create the namespace {namespace} for genesis's state"),
            source,
        }),
    }
}

/// Writes chunk `index` with `data`: a create when `rv` is `None`, else an update that fails
/// if the chunk changed since `rv`. Returns the new resourceVersion.
async fn write_chunk(
    client: kube::Client,
    namespace: String,
    index: usize,
    data: Vec<u8>,
    rv: Option<String>,
) -> Result<Option<String>, KubeStateError> {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let name = chunk_name(index);
    let what = format!("cannot write the journal's Secret {namespace}/{name}");
    let written = match rv {
        None => {
            api.create(
                &post_params(),
                &chunk_object(&namespace, index, &data, None),
            )
            .await
        }
        Some(rv) => {
            api.replace(
                &name,
                &post_params(),
                &chunk_object(&namespace, index, &data, Some(rv)),
            )
            .await
        }
    }
    .map_err(api_error(what))?;
    Ok(written.metadata.resource_version)
}

/// Deletes chunk `index` if it is still at resourceVersion `rv` (a 409 otherwise, as for writes).
async fn delete_chunk(
    client: kube::Client,
    namespace: String,
    index: usize,
    rv: Option<String>,
) -> Result<(), KubeStateError> {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let name = chunk_name(index);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: rv,
            uid: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(error) if is_code(&error, 404) => Ok(()),
        Err(source) => Err(api_error(format!(
            "cannot delete the journal's Secret {namespace}/{name}"
        ))(source)),
    }
}

impl KubeState {
    /// Builds the client (nothing is contacted yet).
    pub fn connect(options: KubeStateOptions) -> Result<Self, KubeStateError> {
        let worker = Arc::new(Worker::start().map_err(|_| KubeStateError::WorkerGone)?);
        let target = options.target.clone();
        let client = worker.call(async move { target.connect().await })??;
        Ok(Self {
            worker,
            client,
            options,
            lost: LockLoss::new(),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.options.namespace
    }

    fn location(&self) -> String {
        format!(
            "namespace {} of the {} cluster",
            self.options.namespace, self.options.target.cluster
        )
    }

    fn journal_error(&self, source: KubeStateError) -> JournalError {
        JournalError::Store {
            location: self.location(),
            source: Box::new(source),
        }
    }

    fn lock_error(&self, source: KubeStateError) -> LockError {
        LockError::Backend {
            location: self.location(),
            source: Box::new(source),
        }
    }

    fn run<T, F>(&self, future: F) -> Result<T, KubeStateError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, KubeStateError>> + Send + 'static,
    {
        self.worker.call(future)?
    }

    fn fetch(&self) -> Result<Vec<Chunk>, KubeStateError> {
        let client = self.client.clone();
        let namespace = self.options.namespace.clone();
        self.run(fetch_chunks(client, namespace))
    }

    fn get_lease(&self) -> Result<Option<Lease>, KubeStateError> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), &self.options.namespace);
        let what = format!("cannot read Lease {}/{LEASE_NAME}", self.options.namespace);
        self.run(async move { api.get_opt(LEASE_NAME).await.map_err(api_error(what)) })
    }

    fn lease_location(&self) -> String {
        format!(
            "Lease {}/{LEASE_NAME} in the {} cluster",
            self.options.namespace, self.options.target.cluster
        )
    }

    /// Writes `lease` back (update with its resourceVersion, or create when it has none).
    fn put_lease(&self, lease: Lease) -> Result<Lease, KubeStateError> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), &self.options.namespace);
        let what = format!("cannot write Lease {}/{LEASE_NAME}", self.options.namespace);
        self.run(async move {
            if lease.metadata.resource_version.is_some() {
                api.replace(LEASE_NAME, &post_params(), &lease).await
            } else {
                api.create(&post_params(), &lease).await
            }
            .map_err(api_error(what))
        })
    }

    fn ensure_namespace(&self) -> Result<(), KubeStateError> {
        self.run(ensure_namespace(
            self.client.clone(),
            self.options.namespace.clone(),
        ))
    }

    fn lease_held_error(&self, view: &LeaseView) -> LockError {
        LockError::LeaseHeld {
            location: self.lease_location(),
            holder: Box::new(view.holder.clone()),
            expires: format_time(view.expires_at_ms),
        }
    }
}

/// What a Lease says about its holder.
#[derive(Clone, Debug)]
struct LeaseView {
    holder: LockHolder,
    expires_at_ms: u64,
}

impl LeaseView {
    fn of(lease: &Lease) -> Option<Self> {
        let spec = lease.spec.as_ref()?;
        let identity = spec
            .holder_identity
            .as_deref()
            .filter(|id| !id.is_empty())?;
        let holder = lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(HOLDER_ANNOTATION))
            .and_then(|json| serde_json::from_str::<LockHolder>(json).ok())
            .unwrap_or_else(|| LockHolder {
                host: identity.to_owned(),
                pid: 0,
                started_at: 0,
                command: "unknown command".to_owned(),
            });
        let renewed_ms = spec
            .renew_time
            .as_ref()
            .or(spec.acquire_time.as_ref())
            .map_or(0, |time| {
                u64::try_from(time.0.as_millisecond()).unwrap_or(0)
            });
        let duration_ms =
            u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0) * 1000;
        Some(Self {
            holder,
            expires_at_ms: renewed_ms + duration_ms,
        })
    }

    fn expired(&self) -> bool {
        now_ms() >= self.expires_at_ms
    }
}

/// `holderIdentity`: host, pid and start time, readable by `kubectl get lease`.
fn identity(holder: &LockHolder) -> String {
    format!(
        "{} pid {} started {}",
        holder.host,
        holder.pid,
        holder.started_at_text()
    )
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

/// The Lease taken by `holder`, keeping `lease`'s metadata (resourceVersion) and transitions.
fn held_lease(
    namespace: &str,
    previous: Option<&Lease>,
    holder: &LockHolder,
    lease_seconds: u32,
) -> Lease {
    let mut lease = previous.cloned().unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(LEASE_NAME.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                MANAGER.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: None,
    });
    let previously_held = previous.and_then(LeaseView::of).is_some();
    let transitions = lease
        .spec
        .as_ref()
        .and_then(|spec| spec.lease_transitions)
        .unwrap_or(0);
    lease
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            HOLDER_ANNOTATION.to_owned(),
            serde_json::to_string(holder).unwrap_or_default(),
        );
    lease.spec = Some(LeaseSpec {
        holder_identity: Some(identity(holder)),
        acquire_time: Some(micro_now()),
        renew_time: Some(micro_now()),
        lease_duration_seconds: Some(i32::try_from(lease_seconds).unwrap_or(i32::MAX)),
        lease_transitions: Some(transitions + i32::from(previously_held)),
        ..LeaseSpec::default()
    });
    lease
}

/// The Lease with nobody holding it.
fn released_lease(mut lease: Lease) -> Lease {
    if let Some(annotations) = lease.metadata.annotations.as_mut() {
        annotations.remove(HOLDER_ANNOTATION);
    }
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
        spec.acquire_time = None;
        spec.renew_time = None;
    }
    lease
}

/// The held Lease: renewed in the background, released on drop.
pub struct LeaseGuard {
    state: Arc<KubeStateShared>,
    holder: LockHolder,
    renewal: Option<tokio::task::JoinHandle<()>>,
}

/// What the guard needs of [`KubeState`] after `acquire` returns.
struct KubeStateShared {
    worker: Arc<Worker>,
    client: kube::Client,
    namespace: String,
    lost: LockLoss,
}

impl std::fmt::Debug for LeaseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseGuard")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl LockGuard for LeaseGuard {
    fn holder(&self) -> &LockHolder {
        &self.holder
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        if self.state.lost.is_lost() {
            return;
        }
        let api: Api<Lease> = Api::namespaced(self.state.client.clone(), &self.state.namespace);
        let holder = self.holder.clone();
        let result = self.state.worker.call(release(api, holder));
        if !matches!(result, Ok(Ok(()))) {
            crate::errln!(
                "warning: could not release Lease {}/{LEASE_NAME}; it expires by itself",
                self.state.namespace
            );
        }
    }
}

/// Clears the Lease if `holder` still holds it. Reads it first (an aborted renewal may have
/// written a newer version) and tries again when a concurrent write wins.
async fn release(api: Api<Lease>, holder: LockHolder) -> Result<(), kube::Error> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let Some(lease) = api.get_opt(LEASE_NAME).await? else {
            return Ok(());
        };
        if LeaseView::of(&lease).map(|view| view.holder) != Some(holder.clone()) {
            return Ok(());
        }
        match api
            .replace(LEASE_NAME, &post_params(), &released_lease(lease))
            .await
        {
            Ok(_) => return Ok(()),
            Err(error) if is_code(&error, 409) && attempts < 3 => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Renews the Lease every third of its duration. Gives up (and marks the lock lost) when
/// another writer changed the Lease or when no renewal succeeded for a whole duration.
async fn renew(
    client: kube::Client,
    namespace: String,
    mut lease: Lease,
    lease_seconds: u32,
    lost: LockLoss,
) {
    let api: Api<Lease> = Api::namespaced(client, &namespace);
    let period = Duration::from_millis(u64::from(lease_seconds) * 1000 / 3);
    let mut last_renewed = std::time::Instant::now();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticks.tick().await;
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(micro_now());
        }
        match api.replace(LEASE_NAME, &post_params(), &lease).await {
            Ok(written) => {
                last_renewed = std::time::Instant::now();
                lease = written;
            }
            Err(error) if is_code(&error, 409) || is_code(&error, 404) => {
                lost.signal(format!(
                    "Lease {namespace}/{LEASE_NAME} was changed by another run; this run can no longer write the journal"
                ));
                return;
            }
            Err(error) => {
                if last_renewed.elapsed() >= Duration::from_secs(u64::from(lease_seconds)) {
                    lost.signal(format!(
                        "Lease {namespace}/{LEASE_NAME} could not be renewed for {lease_seconds}s ({error}); this run can no longer write the journal"
                    ));
                    return;
                }
            }
        }
    }
}

impl StateBackend for KubeState {
    fn describe(&self) -> String {
        self.location()
    }

    fn acquire(&self, command: &str) -> Result<HeldLock, LockError> {
        self.ensure_namespace()
            .map_err(|error| self.lock_error(error))?;
        let me = LockHolder::current(command);
        let current = self.get_lease().map_err(|error| self.lock_error(error))?;
        let previous = current.as_ref().and_then(LeaseView::of);
        if let Some(view) = &previous
            && !view.expired()
        {
            return Err(self.lease_held_error(view));
        }
        let wanted = held_lease(
            &self.options.namespace,
            current.as_ref(),
            &me,
            self.options.lease_seconds,
        );
        let written = match self.put_lease(wanted) {
            Ok(written) => written,
            Err(KubeStateError::Conflict { .. }) => {
                // Another run got there between our read and our write: name it.
                let now = self.get_lease().map_err(|error| self.lock_error(error))?;
                return Err(match now.as_ref().and_then(LeaseView::of) {
                    Some(view) => self.lease_held_error(&view),
                    None => LockError::HeldByUnknown {
                        state_dir: self.lease_location().into(),
                    },
                });
            }
            Err(error) => return Err(self.lock_error(error)),
        };
        self.lost.clear();
        let renewal = self.worker.handle.spawn(renew(
            self.client.clone(),
            self.options.namespace.clone(),
            written,
            self.options.lease_seconds,
            self.lost.clone(),
        ));
        Ok(HeldLock {
            guard: Box::new(LeaseGuard {
                state: Arc::new(KubeStateShared {
                    worker: Arc::clone(&self.worker),
                    client: self.client.clone(),
                    namespace: self.options.namespace.clone(),
                    lost: self.lost.clone(),
                }),
                holder: me,
                renewal: Some(renewal),
            }),
            taken_over: previous.map(|view| view.holder),
            loss: Some(self.lost.clone()),
        })
    }

    fn probe(&self) -> Result<Option<LockStatus>, LockError> {
        let lease = self.get_lease().map_err(|error| self.lock_error(error))?;
        Ok(lease
            .as_ref()
            .and_then(LeaseView::of)
            .map(|view| LockStatus {
                alive: !view.expired(),
                holder: view.holder,
            }))
    }

    fn unlock(&self, force: bool) -> Result<Unlocked, LockError> {
        let Some(lease) = self.get_lease().map_err(|error| self.lock_error(error))? else {
            return Ok(Unlocked::WasFree);
        };
        let Some(view) = LeaseView::of(&lease) else {
            return Ok(Unlocked::WasFree);
        };
        if !view.expired() && !force {
            return Err(self.lease_held_error(&view));
        }
        self.put_lease(released_lease(lease))
            .map_err(|error| self.lock_error(error))?;
        Ok(Unlocked::Released(view.holder))
    }

    fn journal_store(&self) -> Result<Box<dyn JournalStore>, JournalError> {
        self.ensure_namespace()
            .map_err(|error| self.journal_error(error))?;
        Ok(Box::new(KubeJournalStore {
            worker: Arc::clone(&self.worker),
            client: self.client.clone(),
            namespace: self.options.namespace.clone(),
            location: self.location(),
            chunk_bytes: self.options.chunk_bytes,
            lost: self.lost.clone(),
            chunks: Vec::new(),
            tail: Vec::new(),
            loaded: false,
        }))
    }

    fn read_journal(&self) -> Result<Vec<u8>, JournalError> {
        let chunks = self.fetch().map_err(|error| self.journal_error(error))?;
        Ok(chunks.into_iter().flat_map(|chunk| chunk.data).collect())
    }

    /// Deletes every chunk (highest first), then writes `bytes` as new chunks.
    fn replace_journal(&self, bytes: &[u8]) -> Result<(), JournalError> {
        self.ensure_namespace()
            .map_err(|error| self.journal_error(error))?;
        let chunks = self.fetch().map_err(|error| self.journal_error(error))?;
        let client = self.client.clone();
        let namespace = self.options.namespace.clone();
        let pieces: Vec<Vec<u8>> = bytes
            .chunks(self.options.chunk_bytes.max(1))
            .map(<[u8]>::to_vec)
            .collect();
        self.run(async move {
            for chunk in chunks.iter().rev() {
                delete_chunk(
                    client.clone(),
                    namespace.clone(),
                    chunk.index,
                    chunk.resource_version.clone(),
                )
                .await?;
            }
            for (index, piece) in pieces.into_iter().enumerate() {
                write_chunk(client.clone(), namespace.clone(), index, piece, None).await?;
            }
            Ok(())
        })
        .map_err(|error| self.journal_error(error))
    }
}

/// The journal's chunks, open for appending.
pub struct KubeJournalStore {
    worker: Arc<Worker>,
    client: kube::Client,
    namespace: String,
    location: String,
    chunk_bytes: usize,
    lost: LockLoss,
    /// (index, length, resourceVersion) of every chunk, in order.
    chunks: Vec<(usize, usize, Option<String>)>,
    /// The bytes of the last chunk.
    tail: Vec<u8>,
    loaded: bool,
}

impl std::fmt::Debug for KubeJournalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeJournalStore")
            .field("namespace", &self.namespace)
            .field("chunks", &self.chunks.len())
            .finish_non_exhaustive()
    }
}

impl KubeJournalStore {
    fn error(&self, source: KubeStateError) -> JournalError {
        JournalError::Store {
            location: self.location.clone(),
            source: Box::new(source),
        }
    }

    fn call<T, F>(&self, future: F) -> Result<T, JournalError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, KubeStateError>> + Send + 'static,
    {
        self.worker
            .call(future)
            .and_then(|result| result)
            .map_err(|error| self.error(error))
    }

    fn ensure_loaded(&mut self) -> Result<(), JournalError> {
        if !self.loaded {
            self.read_all()?;
        }
        Ok(())
    }

    fn check_lease(&self) -> Result<(), JournalError> {
        if self.lost.is_lost() {
            return Err(self.error(KubeStateError::LeaseLost {
                namespace: self.namespace.clone(),
            }));
        }
        Ok(())
    }

    /// Writes the last chunk as `tail` now says.
    /// Writes `tail` as chunk `index` (the last one); only once the server has it does the
    /// store's view change, so a failed write leaves nothing half-remembered.
    fn write_tail(
        &mut self,
        index: usize,
        rv: Option<String>,
        tail: Vec<u8>,
    ) -> Result<(), JournalError> {
        let written = self.call(write_chunk(
            self.client.clone(),
            self.namespace.clone(),
            index,
            tail.clone(),
            rv,
        ))?;
        let entry = (index, tail.len(), written);
        match self.chunks.last_mut() {
            Some(last) if last.0 == index => *last = entry,
            _ => self.chunks.push(entry),
        }
        self.tail = tail;
        Ok(())
    }
}

impl JournalStore for KubeJournalStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn read_all(&mut self) -> Result<Vec<u8>, JournalError> {
        let chunks = self.call(fetch_chunks(self.client.clone(), self.namespace.clone()))?;
        self.chunks = chunks
            .iter()
            .map(|chunk| {
                (
                    chunk.index,
                    chunk.data.len(),
                    chunk.resource_version.clone(),
                )
            })
            .collect();
        self.tail = chunks
            .last()
            .map(|chunk| chunk.data.clone())
            .unwrap_or_default();
        self.loaded = true;
        Ok(chunks.into_iter().flat_map(|chunk| chunk.data).collect())
    }

    /// Deletes the chunks wholly past `len` (highest first) and rewrites the one it ends in.
    fn truncate(&mut self, len: u64) -> Result<(), JournalError> {
        self.check_lease()?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let chunks = self.call(fetch_chunks(self.client.clone(), self.namespace.clone()))?;
        let mut end = 0usize;
        let mut keep = 0usize;
        for chunk in &chunks {
            if end >= len {
                break;
            }
            keep += 1;
            end += chunk.data.len();
        }
        for chunk in chunks[keep..].iter().rev() {
            self.call(delete_chunk(
                self.client.clone(),
                self.namespace.clone(),
                chunk.index,
                chunk.resource_version.clone(),
            ))?;
        }
        self.chunks = chunks[..keep]
            .iter()
            .map(|chunk| {
                (
                    chunk.index,
                    chunk.data.len(),
                    chunk.resource_version.clone(),
                )
            })
            .collect();
        self.tail = chunks[..keep]
            .last()
            .map(|chunk| chunk.data.clone())
            .unwrap_or_default();
        self.loaded = true;
        if end > len
            && let Some(last) = chunks[..keep].last()
        {
            let mut tail = last.data.clone();
            tail.truncate(tail.len() - (end - len));
            self.write_tail(last.index, last.resource_version.clone(), tail)?;
        }
        Ok(())
    }

    /// Fills the last chunk up to the cap and continues in new chunks; returns once the
    /// server has stored every piece.
    fn append(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        self.check_lease()?;
        self.ensure_loaded()?;
        let mut rest = bytes;
        while !rest.is_empty() {
            let (index, rv, mut tail) = match self.chunks.last() {
                Some((index, len, rv)) if *len < self.chunk_bytes => {
                    (*index, rv.clone(), self.tail.clone())
                }
                Some((index, _, _)) => (index + 1, None, Vec::new()),
                None => (0, None, Vec::new()),
            };
            let take = (self.chunk_bytes - tail.len()).min(rest.len());
            tail.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            self.write_tail(index, rv, tail)?;
        }
        Ok(())
    }
}
