//! Starting one of the test world's Go programs: stdin piped (the program exits when it
//! closes), stderr appended to a log file, and the one JSON "ready" line read from stdout
//! within a deadline; stdout is drained afterwards so the program never blocks on it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::Error;
use crate::apiserver::tail;

/// A program that said it is ready.
pub(crate) struct Started<T> {
    pub child: Child,
    /// Held open: the program exits when its stdin closes.
    pub stdin: ChildStdin,
    pub ready: T,
}

/// Spawns `command` (the program `bin`) with stderr appended to `log_path` (a restarted
/// program keeps the earlier log) and waits up to `timeout` for a stdout line that parses as
/// `T`. A program that exits or closes stdout first, or is not ready in time, fails as
/// `name`, with the end of its log.
pub(crate) async fn start_until_ready<T: DeserializeOwned>(
    mut command: Command,
    bin: &Path,
    log_path: &Path,
    name: &str,
    timeout: Duration,
) -> Result<Started<T>, Error> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|source| Error::Io {
            what: format!("create {}", log_path.display()),
            source,
        })?;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| Error::Io {
            what: format!("spawn {}", bin.display()),
            source,
        })?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::Setup("no stdin pipe".into()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Setup("no stdout pipe".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(timeout, async {
        while let Some(line) = lines.next_line().await? {
            if let Ok(ready) = serde_json::from_str::<T>(&line) {
                return Ok(Some(ready));
            }
        }
        Ok::<_, std::io::Error>(None)
    })
    .await;
    let ready = match ready {
        Ok(Ok(Some(ready))) => ready,
        Ok(Ok(None)) | Ok(Err(_)) => {
            let _ = child.wait().await;
            return Err(Error::ServerFailed {
                name: name.into(),
                log: tail(log_path, 40),
            });
        }
        Err(_) => {
            return Err(Error::ServerFailed {
                name: name.into(),
                log: format!("not ready within {timeout:?}\n{}", tail(log_path, 40)),
            });
        }
    };
    // Keep draining stdout so the program never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Started {
        child,
        stdin,
        ready,
    })
}
