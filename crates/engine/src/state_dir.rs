//! The state directory: private to its owner (0700), its files 0600.
//!
//! Everything genesis keeps there (journal, lock, run logs, known_hosts, diagnose bundles) is
//! opened through this module, which refuses what another user could have planted:
//! - the directory must belong to the user running genesis;
//! - a file is opened with `O_NOFOLLOW` (a symbolic link is refused, never followed: a link
//!   named `lock` pointing at `~/.bashrc` would otherwise be truncated and chmod-ed) and
//!   `O_NONBLOCK` (a FIFO planted in its place cannot block the open), then checked with
//!   `fstat` to be a regular file of the same owner;
//! - a file read whole is read up to a size cap, never without bound.
//!
//! A refusal is an [`Unsafe`] error inside the `io::Error` (see [`unsafe_reason`]); the CLI
//! turns it into exit 2 with the reason and what to do.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest state file read whole (the journal): 256 MiB. A journal holds one line per
/// step event; a real one is a few hundred kilobytes.
pub const MAX_READ: u64 = 256 * 1024 * 1024;

/// Why a state path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing {}: {reason}", .path.display())]
pub struct Unsafe {
    pub path: PathBuf,
    pub reason: String,
}

impl Unsafe {
    fn error(path: &Path, reason: impl Into<String>) -> io::Error {
        io::Error::other(Self {
            path: path.to_owned(),
            reason: reason.into(),
        })
    }
}

/// The refusal inside an `io::Error`, if that is what it is.
pub fn unsafe_reason(error: &io::Error) -> Option<&Unsafe> {
    error.get_ref().and_then(|inner| inner.downcast_ref())
}

/// The refusal anywhere in an error's chain of causes.
pub fn find_unsafe<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Unsafe> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<Unsafe>() {
            return Some(found);
        }
        if let Some(io) = current.downcast_ref::<io::Error>()
            && let Some(found) = unsafe_reason(io)
        {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

#[cfg(unix)]
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Checks that an existing state directory belongs to the user running genesis.
pub fn check_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let metadata = fs::metadata(path)?;
        if !metadata.is_dir() {
            return Err(Unsafe::error(
                path,
                "the state directory is not a directory; pass --state-dir DIR naming a directory of your own",
            ));
        }
        let me = euid();
        if metadata.uid() != me {
            return Err(Unsafe::error(
                path,
                format!(
                    "the state directory is owned by uid {}, not by you (uid {me}); its owner could change the journal or read the run logs. Use a state directory of your own (--state-dir DIR or GENESIS_STATE_DIR), or have its owner hand it over with chown",
                    metadata.uid()
                ),
            ));
        }
    }
    Ok(())
}

/// Creates the state directory if needed and makes it private. An existing directory with
/// wider permissions is tightened, because the journal holds outputs of a bootstrap; one owned
/// by another user is refused.
pub fn prepare(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !path.is_dir() {
            // Every directory it creates is private; an existing one keeps its mode. A regular
            // file in the way fails here with AlreadyExists and is told by `check_dir`.
            match fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(path)
            {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error),
            }
        }
    }
    #[cfg(not(unix))]
    fs::create_dir_all(path)?;
    check_dir(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Checks an open file: a regular file of the user running genesis.
fn check_file(file: &File, path: &Path) -> io::Result<()> {
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(Unsafe::error(path, NOT_REGULAR));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = euid();
        if metadata.uid() != me {
            return Err(Unsafe::error(
                path,
                format!(
                    "it is owned by uid {}, not by you (uid {me}); another user could change or read it. Remove it, or use a state directory of your own (--state-dir DIR)",
                    metadata.uid()
                ),
            ));
        }
    }
    Ok(())
}

/// What an open that failed found: a symbolic link (`O_NOFOLLOW` says ELOOP), a directory
/// (EISDIR, opening for writing) or a socket (ENXIO) where a file belongs.
fn refuse_link(error: io::Error, path: &Path) -> io::Error {
    #[cfg(unix)]
    match error.raw_os_error() {
        Some(libc::ELOOP) => {
            return Unsafe::error(
                path,
                "it is a symbolic link; state files are never followed through links (the link could point at any file of yours). Remove the link and run again",
            );
        }
        Some(libc::EISDIR) | Some(libc::ENXIO) => {
            return Unsafe::error(path, NOT_REGULAR);
        }
        _ => {}
    }
    let _ = path;
    error
}

const NOT_REGULAR: &str = "it is not a regular file (a FIFO, a device or a directory sits where a state file belongs); remove it and run again";

fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// Clears `O_NONBLOCK` again once the file is known to be regular (it means nothing for a
/// regular file, but the descriptor may be handed on).
fn blocking(file: &File) {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function borrows; failures are harmless here.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Opens (creating if needed) a private file for reading and writing, without truncating it:
/// never through a symbolic link, only a regular file of this user, made 0600.
pub fn open_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    no_follow(&mut options);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .map_err(|error| refuse_link(error, path))?;
    check_file(&file, path)?;
    blocking(&file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode != 0o600 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// Creates a new private file (0600), failing if anything already has its name (a link
/// included): for files written once, such as a diagnose bundle.
pub fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    no_follow(&mut options);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(path)
        .map_err(|error| refuse_link(error, path))?;
    blocking(&file);
    Ok(file)
}

/// Opens an existing state file for reading: never through a link, only a regular file of
/// this user. `Ok(None)` when there is none.
pub fn open_existing(path: &Path) -> io::Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    no_follow(&mut options);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(refuse_link(error, path)),
    };
    check_file(&file, path)?;
    blocking(&file);
    Ok(Some(file))
}

/// Reads a whole state file (at most [`MAX_READ`] bytes) with the checks of
/// [`open_existing`]; `Ok(None)` when there is none.
pub fn read_existing(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let Some(file) = open_existing(path)? else {
        return Ok(None);
    };
    read_capped(file, path, MAX_READ).map(Some)
}

/// Reads at most `cap` bytes; more is an error naming the file and the cap.
pub fn read_capped(file: File, path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let too_large = || {
        Unsafe::error(
            path,
            format!("it is larger than {cap} bytes, far more than genesis ever writes there"),
        )
    };
    if file.metadata()?.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Makes a new directory entry durable (the file itself is synced by its writer).
pub fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(path)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn directory_0700_and_files_0600() {
        let root = tempfile::tempdir().expect("tempdir");
        let state = root.path().join("state");
        fs::create_dir(&state).expect("mkdir");
        fs::set_permissions(&state, fs::Permissions::from_mode(0o755)).expect("chmod");
        prepare(&state).expect("prepare");
        let mode = fs::metadata(&state).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let file = open_private(&state.join("f")).expect("open");
        assert_eq!(
            file.metadata().expect("meta").permissions().mode() & 0o777,
            0o600
        );
        let fresh = root.path().join("fresh/nested");
        prepare(&fresh).expect("prepare");
        assert_eq!(
            fs::metadata(&fresh).expect("meta").permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn links_fifos_and_oversized_files_are_refused_and_left_alone() {
        let root = tempfile::tempdir().expect("tempdir");
        let target = root.path().join("precious");
        fs::write(&target, "keep me").expect("write");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).expect("chmod");
        let link = root.path().join("lock");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let error = open_private(&link).expect_err("a link is refused");
        let reason = unsafe_reason(&error).expect("a refusal");
        assert!(reason.reason.contains("symbolic link"), "{reason}");
        assert!(read_existing(&link).is_err());
        assert_eq!(fs::read_to_string(&target).expect("read"), "keep me");
        assert_eq!(
            fs::metadata(&target).expect("meta").permissions().mode() & 0o777,
            0o644
        );

        let fifo = root.path().join("journal.ndjson");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("c");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let error = read_existing(&fifo).expect_err("a FIFO is refused");
        assert!(unsafe_reason(&error).is_some(), "{error}");
        assert!(open_private(&fifo).is_err());

        let big = root.path().join("big");
        fs::write(&big, vec![b'x'; 11]).expect("write");
        let file = open_existing(&big).expect("opens").expect("exists");
        let error = read_capped(file, &big, 10).expect_err("too big");
        assert!(
            error.to_string().contains("larger than 10 bytes"),
            "{error}"
        );
    }

    #[test]
    fn another_users_directory_or_file_is_refused() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: giving a file to another user needs root");
            return;
        }
        let chown = |path: &Path| {
            let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("c");
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::lchown(name.as_ptr(), 65534, u32::MAX) }, 0);
        };
        let root = tempfile::tempdir().expect("tempdir");
        let state = root.path().join("state");
        prepare(&state).expect("prepare");
        let file = state.join("journal.ndjson");
        fs::write(&file, "").expect("write");
        chown(&file);
        let error = open_private(&file).expect_err("another user's file");
        assert!(
            unsafe_reason(&error).is_some_and(|reason| reason.reason.contains("uid 65534")),
            "{error}"
        );
        assert!(read_existing(&file).is_err());
        chown(&state);
        let error = prepare(&state).expect_err("another user's directory");
        assert!(error.to_string().contains("--state-dir"), "{error}");
        assert!(check_dir(&state).is_err());
    }
}
