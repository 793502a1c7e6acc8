//! The world's control socket: one request line, one answer line (`ok …` or `error …`) per
//! connection. The client side is blocking (the foreground is a plain command).

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::Error;

/// A request to the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Is the world up?
    Ping,
    /// Lift every fault of the scenario (the operator mended the lab).
    Lift,
    /// Kill one API server and start it again on the same data and port.
    Restart(Cluster),
    /// Stop everything; answered once stopped.
    Down,
}

/// One of the world's two clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cluster {
    Platform,
    Harvester,
}

impl Cluster {
    pub fn name(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Harvester => "harvester",
        }
    }
}

impl Request {
    pub fn line(self) -> String {
        match self {
            Self::Ping => "ping".into(),
            Self::Lift => "lift".into(),
            Self::Restart(cluster) => format!("restart {}", cluster.name()),
            Self::Down => "down".into(),
        }
    }

    pub fn parse(line: &str) -> Option<Self> {
        match line.trim() {
            "ping" => Some(Self::Ping),
            "lift" => Some(Self::Lift),
            "restart platform" => Some(Self::Restart(Cluster::Platform)),
            "restart harvester" => Some(Self::Restart(Cluster::Harvester)),
            "down" => Some(Self::Down),
            _ => None,
        }
    }
}

/// Whether a world answers on `socket`.
pub fn is_up(socket: &Path) -> bool {
    request(socket, Request::Ping, Duration::from_secs(5)).is_ok()
}

/// Sends `request` and waits up to `timeout` for the answer; `Ok` holds the text after `ok`.
pub fn request(socket: &Path, request: Request, timeout: Duration) -> Result<String, Error> {
    let mut stream = UnixStream::connect(socket).map_err(|source| Error::Io {
        what: format!("connect to the rehearsal world at {}", socket.display()),
        source,
    })?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(Error::io("set the control socket's timeout"))?;
    writeln!(stream, "{}", request.line()).map_err(Error::io("write to the rehearsal world"))?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(Error::io(format!(
            "read the rehearsal world's answer to {}",
            request.line()
        )))?;
    let answer = answer.trim_end();
    match answer.split_once(' ').unwrap_or((answer, "")) {
        ("ok", rest) => Ok(rest.to_owned()),
        ("error", rest) => Err(Error::Control(rest.to_owned())),
        _ => Err(Error::Control(format!(
            "no answer to {} (the world process may have died; its log is world.log)",
            request.line()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_back() {
        for request in [
            Request::Ping,
            Request::Lift,
            Request::Restart(Cluster::Platform),
            Request::Restart(Cluster::Harvester),
            Request::Down,
        ] {
            assert_eq!(Request::parse(&request.line()), Some(request));
        }
        assert_eq!(Request::parse("restart etcd"), None);
    }
}
