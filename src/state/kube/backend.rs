//! [`KubeState`]: the journal and the lock of a whole state in the Platform cluster.

use std::future::Future;
use std::sync::Arc;

use genesis_engine::journal::JournalError;
use genesis_engine::lock::{LockError, LockHolder, Unlocked, format_time};
use genesis_engine::storage::{HeldLock, JournalStore, LockLoss, LockStatus, StateBackend};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use super::base::{KubeStateError, KubeStateOptions, LEASE_NAME, Worker, api_error, post_params};
use super::chunks::{Chunk, delete_chunk, ensure_namespace, fetch_chunks, write_chunk};
use super::journal::KubeJournalStore;
use super::lease::{KubeStateShared, LeaseGuard, LeaseView, held_lease, released_lease, renew};

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
