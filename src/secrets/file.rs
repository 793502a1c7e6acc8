//! Reading files that hold secrets: regular, owned by the user running genesis, private, bounded.

use std::path::Path;
use zeroize::Zeroizing;

use super::error::{SecretsError, shell_quote, too_open};

/// The largest secrets, age or identity file read: 4 MiB (a secrets file with a few keys and
/// machine configs is a few tens of kilobytes).
pub const MAX_FILE: u64 = 4 * 1024 * 1024;

/// Opens a file that holds secrets: without blocking on a FIFO (`O_NONBLOCK`), then checked on
/// the open descriptor to be a regular file owned by the user running genesis (its owner could
/// otherwise swap the values: age recipients are public keys, so anyone can encrypt a file to
/// you) and at most [`MAX_FILE`] bytes.
pub fn open_owned(
    path: &Path,
    what: &'static str,
) -> Result<(std::fs::File, std::fs::Metadata), std::io::Error> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let metadata = file.metadata()?;
    let refuse = |reason: String, fix: String| {
        std::io::Error::other(SecretsError::Unsafe {
            path: path.to_owned(),
            what,
            reason,
            fix,
        })
    };
    if !metadata.is_file() {
        return Err(refuse(
            format!("{what} is not a regular file (a FIFO, a device or a directory)"),
            "point --secrets (or --age-identity) at a regular file".to_owned(),
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() != me {
        return Err(refuse(
            format!(
                "{what} is owned by uid {}, not by you (uid {me}); its owner could change the values genesis uses",
                metadata.uid()
            ),
            format!(
                "use a copy of your own (`install -m 600 {} secrets.yaml`), or have it chown-ed to you",
                shell_quote(path)
            ),
        ));
    }
    if metadata.len() > MAX_FILE {
        return Err(refuse(
            format!(
                "{what} is {} bytes, more than the {MAX_FILE} bytes genesis reads",
                metadata.len()
            ),
            "check that --secrets names the secrets file".to_owned(),
        ));
    }
    // Back to blocking reads for a regular file.
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor owned by `file`.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    Ok((file, metadata))
}

/// An [`open_owned`] refusal as a [`SecretsError`], other I/O errors through `read_error`.
pub(crate) fn owned_error(
    error: std::io::Error,
    read_error: impl FnOnce(std::io::Error) -> SecretsError,
) -> SecretsError {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<SecretsError>())
    {
        match error
            .into_inner()
            .map(|inner| inner.downcast::<SecretsError>())
        {
            Some(Ok(refusal)) => *refusal,
            _ => read_error(std::io::Error::other("unreadable")),
        }
    } else {
        read_error(error)
    }
}

/// Reads a file that must be accessible by its owner only (mode checked on the open file, so
/// what is checked is what is read), into memory that is wiped when dropped.
pub fn read_private(path: &Path) -> Result<Zeroizing<Vec<u8>>, SecretsError> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;

    let read_error = |source| SecretsError::Read {
        path: path.to_owned(),
        source,
    };
    let (mut file, metadata) =
        open_owned(path, "the secrets file").map_err(|error| owned_error(error, read_error))?;
    if too_open(metadata.mode()).is_some() {
        return Err(SecretsError::Permissions {
            path: path.to_owned(),
            mode: metadata.mode(),
            what: "a plaintext secrets file",
        });
    }
    // Sized up front so that the buffer is not reallocated (and copies left behind) while
    // reading.
    let capacity = usize::try_from(metadata.len())
        .unwrap_or(0)
        .saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    (&mut file)
        .take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(bytes)
}

/// Reads a plaintext secrets file as UTF-8 text (see [`read_private`]).
pub(crate) fn read_private_text(path: &Path) -> Result<Zeroizing<String>, SecretsError> {
    let mut bytes = read_private(path)?;
    into_text(path, &mut bytes)
}

/// Moves bytes into wiped-on-drop text, wiping them too when they are not UTF-8.
pub(crate) fn into_text(
    path: &Path,
    bytes: &mut Vec<u8>,
) -> Result<Zeroizing<String>, SecretsError> {
    String::from_utf8(std::mem::take(bytes))
        .map(Zeroizing::new)
        .map_err(|error| {
            drop(Zeroizing::new(error.into_bytes()));
            SecretsError::NotText {
                path: path.to_owned(),
            }
        })
}
