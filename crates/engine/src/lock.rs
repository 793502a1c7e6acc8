//! One run per state directory.
//!
//! The lock is an OS advisory lock (`flock`, through `std::fs::File::try_lock`) on
//! `<state>/lock`, plus the holder's identity written inside it. The OS lock dies with its
//! process, so a lock file whose OS lock is free but which still names a holder on this host is
//! the leftover of a dead run: it is taken over with a warning. A holder on *another* host
//! cannot be checked from here (advisory locks do not cross network file systems reliably), so
//! it is only released by `genesis unlock`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::record::now_ms;
use crate::state_dir;

pub const FILE_NAME: &str = "lock";

/// Who holds (or held) the lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub host: String,
    pub pid: u32,
    /// Milliseconds since the Unix epoch.
    pub started_at: u64,
    /// What the holder is doing, e.g. "genesis up".
    pub command: String,
}

impl LockHolder {
    /// This holder ran on this host and its process no longer exists (Linux: no
    /// `/proc/<pid>`; elsewhere never said, so the lock is simply held).
    fn is_gone_from_this_host(&self) -> bool {
        self.host == this_host()
            && cfg!(target_os = "linux")
            && Path::new("/proc").exists()
            && !Path::new("/proc").join(self.pid.to_string()).exists()
    }

    pub fn current(command: impl Into<String>) -> Self {
        Self {
            host: this_host(),
            pid: std::process::id(),
            started_at: now_ms(),
            command: command.into(),
        }
    }

    pub fn started_at_text(&self) -> String {
        format_time(self.started_at)
    }
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` on host {}, pid {}, started {}",
            self.command,
            self.host,
            self.pid,
            self.started_at_text()
        )
    }
}

/// RFC 3339 in UTC, to the second.
pub fn format_time(epoch_ms: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(epoch_ms);
    humantime::format_rfc3339_seconds(time).to_string()
}

pub fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

#[derive(Debug, Error)]
pub enum LockError {
    #[error("another run holds the state directory {state_dir}: {holder}")]
    Held {
        state_dir: PathBuf,
        holder: Box<LockHolder>,
    },
    #[error(
        "the state directory {state_dir} is locked by a run on another host: {holder}; if that run is gone, release it with `genesis unlock`"
    )]
    HeldElsewhere {
        state_dir: PathBuf,
        holder: Box<LockHolder>,
    },
    #[error("another process holds the state directory {state_dir} but has not said who it is")]
    HeldByUnknown { state_dir: PathBuf },
    #[error("could not use the lock file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A lease-style lock (shared state) that its holder renews and that has not expired.
    #[error(
        "another run holds the lock of {location}: {holder}; its lease expires at {expires} unless renewed; if that run is gone, wait until then or release it with `genesis unlock --force`"
    )]
    LeaseHeld {
        location: String,
        holder: Box<LockHolder>,
        expires: String,
    },
    /// The lock could not be read or written in a backend other than the state directory.
    #[error("could not use the lock of {location}")]
    Backend {
        location: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl LockError {
    /// The holder named by the error, if any.
    pub fn holder(&self) -> Option<&LockHolder> {
        match self {
            Self::Held { holder, .. }
            | Self::HeldElsewhere { holder, .. }
            | Self::LeaseHeld { holder, .. } => Some(holder),
            Self::HeldByUnknown { .. } | Self::Io { .. } | Self::Backend { .. } => None,
        }
    }

    /// The state directory or lock file was refused (a link, another user's, not a regular
    /// file): exit 2, the operator must fix it.
    pub fn refusal(&self) -> Option<&state_dir::Unsafe> {
        match self {
            Self::Io { source, .. } => state_dir::unsafe_reason(source),
            _ => None,
        }
    }

    /// Whether someone else holds the lock (exit 3), as opposed to a failure to use it.
    pub fn is_held(&self) -> bool {
        match self {
            Self::Held { .. }
            | Self::HeldElsewhere { .. }
            | Self::HeldByUnknown { .. }
            | Self::LeaseHeld { .. } => true,
            Self::Io { .. } | Self::Backend { .. } => false,
        }
    }
}

/// The held lock; released (and its file emptied) on drop.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    holder: LockHolder,
}

impl RunLock {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // An empty lock file means "free"; the OS lock goes with the file handle.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_data();
        let _ = self.file.unlock();
    }
}

/// What acquiring found.
#[derive(Debug)]
pub struct Acquired {
    pub lock: RunLock,
    /// A dead run on this host that held the lock before, taken over.
    pub taken_over: Option<LockHolder>,
}

/// Takes the OS lock on the open lock file at `path`; when another process holds it, the
/// error names that holder.
///
/// A holder on this host whose process is gone can still hold the OS lock for a moment: a
/// child it was starting when it died keeps a copy of the lock's file descriptor between
/// `fork` and `exec` (close-on-exec closes it only at `exec`). That lasts micro- to
/// milliseconds, longer on a loaded machine, so such a lock is tried again for up to
/// [`DEAD_HOLDER_GRACE`] before it counts as held.
fn try_lock(file: &mut File, path: &Path, state_dir: &Path) -> Result<(), LockError> {
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Err(std::fs::TryLockError::WouldBlock)
                if started.elapsed() < DEAD_HOLDER_GRACE
                    && read_holder_from(file)
                        .is_some_and(|holder| holder.is_gone_from_this_host()) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return lock_outcome(other, file, path, state_dir),
        }
    }
}

/// How long a lock whose holder's process is gone may stay busy before it counts as held.
pub const DEAD_HOLDER_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

fn lock_outcome(
    outcome: Result<(), std::fs::TryLockError>,
    file: &mut File,
    path: &Path,
    state_dir: &Path,
) -> Result<(), LockError> {
    match outcome {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(match read_holder_from(file) {
            Some(holder) => LockError::Held {
                state_dir: state_dir.to_owned(),
                holder: Box::new(holder),
            },
            None => LockError::HeldByUnknown {
                state_dir: state_dir.to_owned(),
            },
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(LockError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Takes the lock of `state_dir` for `command`.
pub fn acquire(state_dir: &Path, command: &str) -> Result<Acquired, LockError> {
    let path = state_dir.join(FILE_NAME);
    let io_error = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    state_dir::prepare(state_dir).map_err(io_error)?;
    let mut file = state_dir::open_private(&path).map_err(io_error)?;
    try_lock(&mut file, &path, state_dir)?;
    let previous = read_holder_from(&mut file);
    let me = LockHolder::current(command);
    if let Some(previous) = &previous
        && previous.host != me.host
    {
        let _ = file.unlock();
        return Err(LockError::HeldElsewhere {
            state_dir: state_dir.to_owned(),
            holder: Box::new(previous.clone()),
        });
    }
    write_holder(&mut file, &me).map_err(io_error)?;
    Ok(Acquired {
        lock: RunLock {
            file,
            path,
            holder: me,
        },
        taken_over: previous,
    })
}

/// Who the lock file names, whether or not that holder is alive.
pub fn read_holder(state_dir: &Path) -> Result<Option<LockHolder>, LockError> {
    let path = state_dir.join(FILE_NAME);
    check_dir_for(state_dir, &path)?;
    match state_dir::open_existing(&path) {
        Ok(Some(mut file)) => Ok(read_holder_from(&mut file)),
        Ok(None) => Ok(None),
        Err(source) => Err(LockError::Io { path, source }),
    }
}

/// Who the lock names and whether a live process on this host holds it, without taking it.
pub fn probe(state_dir: &Path) -> Result<Option<(LockHolder, bool)>, LockError> {
    let path = state_dir.join(FILE_NAME);
    check_dir_for(state_dir, &path)?;
    let mut file = match state_dir::open_existing(&path) {
        Ok(Some(file)) => file,
        Ok(None) => return Ok(None),
        Err(source) => return Err(LockError::Io { path, source }),
    };
    let Some(holder) = read_holder_from(&mut file) else {
        return Ok(None);
    };
    let alive = match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(source)) => return Err(LockError::Io { path, source }),
    };
    Ok(Some((holder, alive)))
}

/// An existing state directory must be this user's (a missing one is simply empty).
fn check_dir_for(state_dir: &Path, path: &Path) -> Result<(), LockError> {
    match state_dir::check_dir(state_dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(LockError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// What `genesis unlock` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Unlocked {
    /// The lock named this holder, which is gone (or on another host); it is released.
    Released(LockHolder),
    /// Nobody held it.
    WasFree,
}

/// Releases a lock whose holder is gone. A holder alive on this host is never released:
/// stop that run instead.
pub fn unlock(state_dir: &Path) -> Result<Unlocked, LockError> {
    let path = state_dir.join(FILE_NAME);
    let io_error = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    check_dir_for(state_dir, &path)?;
    if state_dir::open_existing(&path).map_err(io_error)?.is_none() {
        return Ok(Unlocked::WasFree);
    }
    let mut file = state_dir::open_private(&path).map_err(io_error)?;
    try_lock(&mut file, &path, state_dir)?;
    let previous = read_holder_from(&mut file);
    file.set_len(0).map_err(io_error)?;
    file.sync_data().map_err(io_error)?;
    let _ = file.unlock();
    Ok(match previous {
        Some(holder) => Unlocked::Released(holder),
        None => Unlocked::WasFree,
    })
}

fn read_holder_from(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn write_holder(file: &mut File, holder: &LockHolder) -> std::io::Result<()> {
    let text = serde_json::to_string(holder).map_err(std::io::Error::other)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_acquire_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = acquire(dir.path(), "genesis up").expect("free");
        assert!(first.taken_over.is_none());
        let error = acquire(dir.path(), "genesis up").expect_err("held");
        let holder = error.holder().expect("named");
        assert_eq!(holder.pid, std::process::id());
        assert!(
            error
                .to_string()
                .contains(&format!("pid {}", std::process::id()))
        );
        assert!(matches!(probe(dir.path()), Ok(Some((_, true)))));
        // A live holder on this host is never unlocked.
        assert!(matches!(unlock(dir.path()), Err(LockError::Held { .. })));
        drop(first);
        let again = acquire(dir.path(), "genesis up").expect("released on drop");
        assert!(
            again.taken_over.is_none(),
            "a clean release leaves nothing to take over"
        );
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dead = LockHolder {
            host: this_host(),
            pid: 999_999,
            started_at: 0,
            command: "genesis up".into(),
        };
        std::fs::write(
            dir.path().join(FILE_NAME),
            serde_json::to_string(&dead).expect("json"),
        )
        .expect("write");
        let acquired = acquire(dir.path(), "genesis up").expect("taken over");
        assert_eq!(acquired.taken_over, Some(dead));
    }

    #[test]
    fn a_dead_holders_lock_still_open_for_a_moment_is_waited_for() {
        // The lock file names a process that is gone, but another open file description
        // (as a child between fork and exec would have) still holds the OS lock briefly.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        let mut straggler = state_dir::open_private(&path).expect("open");
        straggler.try_lock().expect("lock");
        let dead = LockHolder {
            host: this_host(),
            pid: 999_999,
            started_at: 0,
            command: "genesis up".into(),
        };
        write_holder(&mut straggler, &dead).expect("holder");
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(straggler);
        });
        let started = std::time::Instant::now();
        let acquired = acquire(dir.path(), "genesis up").expect("taken once the straggler lets go");
        assert!(started.elapsed() >= std::time::Duration::from_millis(150));
        assert_eq!(acquired.taken_over.map(|holder| holder.pid), Some(999_999));
        release.join().expect("thread");
    }

    #[test]
    fn a_live_holders_lock_is_held_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = acquire(dir.path(), "genesis up").expect("free");
        let started = std::time::Instant::now();
        acquire(dir.path(), "genesis up").expect_err("held");
        assert!(started.elapsed() < DEAD_HOLDER_GRACE);
    }

    #[test]
    fn a_holder_on_another_host_needs_unlock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let remote = LockHolder {
            host: "elsewhere.example".into(),
            pid: 42,
            started_at: 0,
            command: "genesis up".into(),
        };
        std::fs::write(
            dir.path().join(FILE_NAME),
            serde_json::to_string(&remote).expect("json"),
        )
        .expect("write");
        let error = acquire(dir.path(), "genesis up").expect_err("remote");
        assert!(matches!(error, LockError::HeldElsewhere { .. }));
        assert!(error.to_string().contains("genesis unlock"));
        assert_eq!(
            unlock(dir.path()).expect("unlocks"),
            Unlocked::Released(remote)
        );
        assert!(
            acquire(dir.path(), "genesis up")
                .expect("free")
                .taken_over
                .is_none()
        );
    }
}
