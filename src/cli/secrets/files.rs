//! Files the secrets commands write and read: atomically, private, never over an existing one.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroizing;

use crate::secrets::SecretsError;

use super::error::CommandError;

pub(crate) fn text_of(path: &Path, bytes: &[u8]) -> Result<Zeroizing<String>, CommandError> {
    std::str::from_utf8(bytes)
        .map(|text| Zeroizing::new(text.to_owned()))
        .map_err(|_| {
            SecretsError::NotText {
                path: path.to_owned(),
            }
            .into()
        })
}

/// Writes through a new file in the same directory and renames it over the target.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CommandError> {
    let failed = |source| SecretsError::Read {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".genesis-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(path).map_err(|error| failed(error.error))?;
    Ok(())
}

/// Creates a new file readable by its owner only.
pub(crate) fn write_private_new(path: &Path, bytes: &[u8]) -> Result<(), CommandError> {
    let failed = |source| SecretsError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    Ok(())
}
