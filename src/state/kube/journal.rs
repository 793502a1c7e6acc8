//! The journal's chunks, open for appending.

use std::future::Future;
use std::sync::Arc;

use genesis_engine::journal::JournalError;
use genesis_engine::storage::{JournalStore, LockLoss};

use super::base::{KubeStateError, Worker};
use super::chunks::{Chunk, delete_chunk, fetch_chunks, write_chunk};

/// The journal's chunks, open for appending.
pub struct KubeJournalStore {
    pub(crate) worker: Arc<Worker>,
    pub(crate) client: kube::Client,
    pub(crate) namespace: String,
    pub(crate) location: String,
    pub(crate) chunk_bytes: usize,
    pub(crate) lost: LockLoss,
    /// (index, length, resourceVersion) of every chunk, in order.
    pub(crate) chunks: Vec<(usize, usize, Option<String>)>,
    /// The bytes of the last chunk.
    pub(crate) tail: Vec<u8>,
    pub(crate) loaded: bool,
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

    pub(crate) fn call<T, F>(&self, future: F) -> Result<T, JournalError>
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

    /// What the store knows of the chunks in the cluster: each one's index, length and
    /// resourceVersion, and the bytes of the last (the one that grows).
    fn remember(&mut self, chunks: &[Chunk]) {
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
        self.remember(&chunks);
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
        self.remember(&chunks[..keep]);
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
