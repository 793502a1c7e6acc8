//! Reading an operator's input file safely: a regular file only, never a FIFO, device, socket
//! or directory (each of which can block or never end), and never more than a cap.
//!
//! The file's type is checked before it is opened and again on the opened descriptor (the path
//! may change in between); the open itself uses `O_NONBLOCK`, so that a FIFO swapped in after
//! the first check cannot block. Reads stop one byte past the cap, so a file that grows while it
//! is read (or a special file that slipped through) cannot make genesis read without end.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest lab, phase, template or secrets file genesis reads: 4 MiB. The reference lab is
/// a few kilobytes; a file this large is a mistake (or `/dev/zero`).
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is {what}, not a regular file", path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{} is larger than the {max}-byte limit for an input file", path.display())]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{} is not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },
}

impl ReadError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. }
            | Self::NotRegular { path, .. }
            | Self::TooLarge { path, .. }
            | Self::NotUtf8 { path } => path,
        }
    }

    /// What went wrong, without the path (for a diagnostic that names the file already).
    pub fn detail(&self) -> String {
        match self {
            Self::Io { source, .. } => format!("cannot read: {source}"),
            Self::NotRegular { what, .. } => format!("this is {what}, not a regular file"),
            Self::TooLarge { max, .. } => {
                format!("larger than the {max}-byte limit for an input file")
            }
            Self::NotUtf8 { .. } => "not UTF-8 text".to_owned(),
        }
    }

    /// What the operator can do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Self::Io { .. } => "check the path (see --lab, --phases and --secrets)",
            Self::NotRegular { .. } => {
                "name a regular file; genesis does not read FIFOs, devices, sockets or directories"
            }
            Self::TooLarge { .. } => {
                "an input file is a few kilobytes; check that the path names the right file"
            }
            Self::NotUtf8 { .. } => "save the file as UTF-8 text",
        }
    }
}

/// What a non-regular file is, in words.
fn kind_of(metadata: &Metadata) -> Option<&'static str> {
    let kind = metadata.file_type();
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

/// Reads the regular file at `path` (symbolic links are followed to their target, which must be
/// a regular file), at most `max` bytes.
pub fn read_input_bytes(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source: std::io::Error| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let not_regular = |what| ReadError::NotRegular {
        path: path.to_owned(),
        what,
    };
    let too_large = || ReadError::TooLarge {
        path: path.to_owned(),
        max,
    };
    // Before opening: opening a device or a FIFO can itself have effects or block.
    let before = std::fs::metadata(path).map_err(io)?;
    if let Some(what) = kind_of(&before) {
        return Err(not_regular(what));
    }
    if before.len() > max {
        return Err(too_large());
    }
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    // The path may name something else by now: check what was opened.
    let opened = file.metadata().map_err(io)?;
    if let Some(what) = kind_of(&opened) {
        return Err(not_regular(what));
    }
    if opened.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_input_bytes`] as UTF-8 text.
pub fn read_input_file(path: &Path, max: u64) -> Result<String, ReadError> {
    let bytes = read_input_bytes(path, max)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: path.to_owned(),
    })
}

/// Why a file named by a phase file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ContainedError {
    #[error("`{0}` is absolute; name a file below the phases directory")]
    Absolute(String),
    #[error("`{0}` leaves the phases directory (`..`)")]
    ParentComponent(String),
    #[error("`{relative}` resolves to {}, outside the phases directory {}", target.display(), root.display())]
    Escapes {
        relative: String,
        target: PathBuf,
        root: PathBuf,
    },
    #[error("`{relative}` is empty")]
    Empty { relative: String },
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Reads `relative` below `root` as [`read_input_file`] does, refusing a path that leaves
/// `root`: an absolute path, a `..` component, or a symbolic link (anywhere on the way) whose
/// target lies outside `root`.
pub fn read_contained_file(
    root: &Path,
    relative: &str,
    max: u64,
) -> Result<String, ContainedError> {
    use std::path::Component;
    let written = Path::new(relative);
    if relative.trim().is_empty() {
        return Err(ContainedError::Empty {
            relative: relative.to_owned(),
        });
    }
    for component in written.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => {
                return Err(ContainedError::Absolute(relative.to_owned()));
            }
            Component::ParentDir => {
                return Err(ContainedError::ParentComponent(relative.to_owned()));
            }
            Component::CurDir | Component::Normal(_) => {}
        }
    }
    let joined = root.join(written);
    let io = |path: &Path, source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let root_real = std::fs::canonicalize(root).map_err(|error| io(root, error))?;
    let target = std::fs::canonicalize(&joined).map_err(|error| io(&joined, error))?;
    if !target.starts_with(&root_real) {
        return Err(ContainedError::Escapes {
            relative: relative.to_owned(),
            target,
            root: root_real,
        });
    }
    Ok(read_input_file(&target, max)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_and_the_cap_holds() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("lab.yaml");
        std::fs::write(&path, "schema: 1\n").expect("write");
        assert_eq!(read_input_file(&path, 100).expect("read"), "schema: 1\n");
        assert!(matches!(
            read_input_file(&path, 4),
            Err(ReadError::TooLarge { max: 4, .. })
        ));
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_at_once() {
        let dir = tempfile::tempdir().expect("dir");
        for (path, what) in [
            (Path::new("/dev/zero"), "a character device"),
            (dir.path(), "a directory"),
        ] {
            match read_input_file(path, MAX_INPUT_BYTES) {
                Err(ReadError::NotRegular { what: found, .. }) => assert_eq!(found, what),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        let fifo = dir.path().join("fifo.yaml");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("c path");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_input_file(&fifo, MAX_INPUT_BYTES),
            Err(ReadError::NotRegular {
                what: "a FIFO (named pipe)",
                ..
            })
        ));
    }

    #[test]
    fn contained_paths_stay_below_the_root() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path().join("phases");
        std::fs::create_dir_all(root.join("templates")).expect("dirs");
        std::fs::write(root.join("templates/t.yaml"), "t").expect("write");
        std::fs::write(dir.path().join("outside.txt"), "secret").expect("write");
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("link.txt"))
            .expect("symlink");
        assert_eq!(
            read_contained_file(&root, "templates/t.yaml", 100).expect("read"),
            "t"
        );
        assert!(matches!(
            read_contained_file(&root, "../outside.txt", 100),
            Err(ContainedError::ParentComponent(_))
        ));
        assert!(matches!(
            read_contained_file(&root, "/etc/hostname", 100),
            Err(ContainedError::Absolute(_))
        ));
        assert!(matches!(
            read_contained_file(&root, "link.txt", 100),
            Err(ContainedError::Escapes { .. })
        ));
    }
}
