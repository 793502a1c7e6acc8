//! Where the journal and the lock live: the storage abstraction.
//!
//! The engine writes its journal through [`JournalStore`] (durable append of whole batches of
//! records, plus the read and cut that opening needs) and takes its lock through
//! [`StateBackend`]. The state directory ([`LocalState`], the default) implements both here;
//! other backends (genesis keeps shared state in the Platform cluster) live outside the engine,
//! which stays free of any particular storage system.
//!
//! Both traits are synchronous: the journal's contract is "returns once durable", which an
//! fsync gives directly and a remote backend gives by waiting for the server's answer.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::journal::JournalStore;
use crate::journal::{self, Journal, JournalError, JournalState};
use crate::lock::{self, LockError, LockHolder, Unlocked};
use crate::redact::Scrubber;
use crate::state_dir;

/// A held lock of some backend; released when dropped.
pub trait LockGuard: Send + std::fmt::Debug {
    fn holder(&self) -> &LockHolder;
}

/// What acquiring a backend's lock gave.
#[derive(Debug)]
pub struct HeldLock {
    pub guard: Box<dyn LockGuard>,
    /// The holder of a lock that was taken over (its run is gone), to warn about.
    pub taken_over: Option<LockHolder>,
    /// Says when the lock is lost while held (a lease that could not be renewed, or that
    /// another run took); `None` for a lock that cannot be lost (the state directory's).
    pub loss: Option<LockLoss>,
}

/// The news that a held lock was lost. The backend signals it once, with why; the command
/// that holds the lock waits for it, reports it as an event and cancels its run. Cheap to
/// clone: every clone sees the same news.
#[derive(Clone, Debug)]
pub struct LockLoss {
    reason: Arc<tokio::sync::watch::Sender<Option<String>>>,
}

impl Default for LockLoss {
    fn default() -> Self {
        Self::new()
    }
}

impl LockLoss {
    /// Not lost (yet).
    pub fn new() -> Self {
        Self {
            reason: Arc::new(tokio::sync::watch::Sender::new(None)),
        }
    }

    /// The lock is lost, because of `reason`; the first reason is kept.
    pub fn signal(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.reason.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some(reason);
            true
        });
    }

    /// The lock is held again (a new acquisition by the same backend).
    pub fn clear(&self) {
        self.reason.send_replace(None);
    }

    pub fn is_lost(&self) -> bool {
        self.reason.borrow().is_some()
    }

    /// Why the lock was lost, if it was.
    pub fn reason(&self) -> Option<String> {
        self.reason.borrow().clone()
    }

    /// Why the lock was lost, once it is.
    pub async fn lost(&self) -> String {
        let mut receiver = self.reason.subscribe();
        let reason = match receiver.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            Err(_) => None,
        };
        match reason {
            Some(reason) => reason,
            // The sender lives as long as `self`: not reached.
            None => std::future::pending().await,
        }
    }
}

/// Who holds the lock and whether that holder still counts as alive.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LockStatus {
    pub holder: LockHolder,
    pub alive: bool,
}

/// Where a whole state lives: the journal and the lock that guards it.
pub trait StateBackend: Send + Sync {
    /// For messages: "the state directory .genesis", "namespace genesis-system of …".
    fn describe(&self) -> String;
    /// Takes the lock for `command`, or says who holds it.
    fn acquire(&self, command: &str) -> Result<HeldLock, LockError>;
    /// Who the lock names, without taking it.
    fn probe(&self) -> Result<Option<LockStatus>, LockError>;
    /// Releases a lock whose holder is gone; `force` also releases one that may be alive
    /// where the backend cannot tell (a Lease that has not expired yet).
    fn unlock(&self, force: bool) -> Result<Unlocked, LockError>;
    /// The journal open for appending; call it while holding the lock.
    fn journal_store(&self) -> Result<Box<dyn JournalStore>, JournalError>;
    /// The journal's bytes without changing anything (empty when there is none).
    fn read_journal(&self) -> Result<Vec<u8>, JournalError>;
    /// Replaces the whole journal with `bytes` (for `genesis state push|pull`); call it while
    /// holding the lock.
    fn replace_journal(&self, bytes: &[u8]) -> Result<(), JournalError>;

    /// The journal, read-only (for `plan` and `status`).
    fn load_journal(&self) -> Result<JournalState, JournalError> {
        let bytes = self.read_journal()?;
        journal::parse(&bytes, Path::new(&self.describe()))
    }

    /// Opens the journal for appending, returning what it already says.
    fn open_journal(
        &self,
        scrubber: Arc<Scrubber>,
    ) -> Result<(Journal, JournalState), JournalError> {
        Journal::open_store(self.journal_store()?, scrubber)
    }
}

/// The state directory: `journal.ndjson` and `lock` (see [`crate::journal`], [`crate::lock`]).
#[derive(Clone, Debug)]
pub struct LocalState {
    dir: PathBuf,
}

impl LocalState {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl LockGuard for lock::RunLock {
    fn holder(&self) -> &LockHolder {
        lock::RunLock::holder(self)
    }
}

impl StateBackend for LocalState {
    fn describe(&self) -> String {
        format!("the state directory {}", self.dir.display())
    }

    fn acquire(&self, command: &str) -> Result<HeldLock, LockError> {
        let acquired = lock::acquire(&self.dir, command)?;
        Ok(HeldLock {
            loss: None,
            guard: Box::new(acquired.lock),
            taken_over: acquired.taken_over,
        })
    }

    fn probe(&self) -> Result<Option<LockStatus>, LockError> {
        Ok(lock::probe(&self.dir)?.map(|(holder, alive)| LockStatus { holder, alive }))
    }

    /// A holder alive on this host is never released, `force` or not: the OS lock is its own.
    fn unlock(&self, _force: bool) -> Result<Unlocked, LockError> {
        lock::unlock(&self.dir)
    }

    fn journal_store(&self) -> Result<Box<dyn JournalStore>, JournalError> {
        Ok(Box::new(FileStore::open(&self.dir)?))
    }

    fn read_journal(&self) -> Result<Vec<u8>, JournalError> {
        Ok(journal::read_file(&self.dir)?.unwrap_or_default())
    }

    /// Writes a new file next to the journal, fsyncs it and renames it over the journal, so a
    /// crash leaves either the old journal or the new one.
    fn replace_journal(&self, bytes: &[u8]) -> Result<(), JournalError> {
        state_dir::prepare(&self.dir).map_err(|source| JournalError::StateDir {
            path: self.dir.clone(),
            source,
        })?;
        let path = self.dir.join(journal::FILE_NAME);
        let staging = self.dir.join(format!("{}.new", journal::FILE_NAME));
        let write_error = |source| JournalError::Write {
            path: staging.clone(),
            source,
        };
        let _ = std::fs::remove_file(&staging);
        let mut file = state_dir::open_private(&staging).map_err(write_error)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(write_error)?;
        drop(file);
        std::fs::rename(&staging, &path).map_err(|source| JournalError::Write {
            path: path.clone(),
            source,
        })?;
        state_dir::sync_dir(&self.dir).map_err(|source| JournalError::Write { path, source })
    }
}

impl Journal {
    /// Opens (creating) the journal of `state_dir`, returning what it already says. A torn last
    /// line is cut off so that the next record starts on its own line.
    pub fn open(
        state_dir: &Path,
        scrubber: Arc<Scrubber>,
    ) -> Result<(Self, JournalState), JournalError> {
        Self::open_store(Box::new(FileStore::open(state_dir)?), scrubber)
    }
}

/// `<state-dir>/journal.ndjson`: append with `write` + `fdatasync`.
#[derive(Debug)]
pub struct FileStore {
    file: File,
    path: PathBuf,
}

impl FileStore {
    /// Opens (creating) the journal file of `state_dir`, making the directory private.
    pub fn open(state_dir: &Path) -> Result<Self, JournalError> {
        state_dir::prepare(state_dir).map_err(|source| JournalError::StateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        let path = state_dir.join(journal::FILE_NAME);
        let existed = path.symlink_metadata().is_ok();
        let file = state_dir::open_private(&path).map_err(|source| JournalError::Write {
            path: path.clone(),
            source,
        })?;
        if !existed {
            state_dir::sync_dir(state_dir).map_err(|source| JournalError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(Self { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_error(&self, source: std::io::Error) -> JournalError {
        JournalError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

impl JournalStore for FileStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn read_all(&mut self) -> Result<Vec<u8>, JournalError> {
        let mut bytes = Vec::new();
        self.file
            .metadata()
            .and_then(|metadata| {
                if metadata.len() > state_dir::MAX_READ {
                    Err(std::io::Error::other(state_dir::Unsafe {
                        path: self.path.clone(),
                        reason: format!(
                            "it is larger than {} bytes, far more than genesis ever writes there",
                            state_dir::MAX_READ
                        ),
                    }))
                } else {
                    Ok(())
                }
            })
            .and_then(|()| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| {
                (&mut self.file)
                    .take(state_dir::MAX_READ + 1)
                    .read_to_end(&mut bytes)
            })
            .and_then(|_| {
                if bytes.len() as u64 > state_dir::MAX_READ {
                    Err(std::io::Error::other(state_dir::Unsafe {
                        path: self.path.clone(),
                        reason: format!(
                            "it is larger than {} bytes, far more than genesis ever writes there",
                            state_dir::MAX_READ
                        ),
                    }))
                } else {
                    Ok(())
                }
            })
            .map_err(|source| JournalError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok(bytes)
    }

    fn truncate(&mut self, len: u64) -> Result<(), JournalError> {
        self.file
            .set_len(len)
            .and_then(|()| self.file.seek(SeekFrom::Start(len)).map(|_| ()))
            .and_then(|()| self.file.sync_data())
            .map_err(|source| self.write_error(source))
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        self.file
            .seek(SeekFrom::End(0))
            .map(|_| ())
            .and_then(|()| self.file.write_all(bytes))
            .and_then(|()| self.file.sync_data())
            .map_err(|source| self.write_error(source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RecordKind;
    use crate::step::StepId;

    #[tokio::test]
    async fn a_lost_lock_is_news_to_every_clone_with_the_first_reason() {
        let loss = LockLoss::new();
        let watcher = loss.clone();
        let waiting = tokio::spawn(async move { watcher.lost().await });
        assert!(!loss.is_lost());
        loss.signal("Lease taken by another run");
        loss.signal("a later reason");
        let reason = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the watcher hears of the loss")
            .expect("joined");
        assert_eq!(reason, "Lease taken by another run");
        assert!(loss.is_lost());
        loss.clear();
        assert!(!loss.is_lost());
    }

    #[test]
    fn the_local_lock_cannot_be_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = LocalState::new(dir.path().join("s"));
        let held = state.acquire("test").expect("acquire");
        assert!(held.loss.is_none());
    }

    #[test]
    fn local_replace_then_open_appends_after_the_new_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = LocalState::new(dir.path().join("s"));
        assert!(state.read_journal().expect("reads").is_empty());
        let line = b"{\"at\":1,\"record\":\"step_reset\",\"step\":\"a\"}\n";
        state.replace_journal(line).expect("replaces");
        assert_eq!(state.read_journal().expect("reads"), line);
        let (mut journal, prior) = state
            .open_journal(Arc::new(Scrubber::empty()))
            .expect("opens");
        assert_eq!(prior.records(), 1);
        journal
            .append(RecordKind::StepReset {
                step: StepId::from("b"),
            })
            .expect("appends");
        assert_eq!(state.load_journal().expect("loads").records(), 2);
    }

    #[test]
    fn the_local_backend_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = LocalState::new(dir.path());
        let held = state.acquire("genesis up").expect("free");
        assert_eq!(held.guard.holder().pid, std::process::id());
        let error = state.acquire("genesis up").expect_err("held");
        assert!(error.is_held());
        let status = state.probe().expect("probes").expect("named");
        assert!(status.alive);
        drop(held);
        assert!(state.acquire("genesis up").is_ok());
    }
}
