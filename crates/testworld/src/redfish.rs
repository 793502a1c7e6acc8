//! Real Redfish BMCs for the test world: OpenStack's sushy-tools emulator
//! (`sushy-emulator`, PyPI `sushy-tools`), one process per machine, with its
//! fake system driver (`SUSHY_EMULATOR_FAKE_DRIVER`, no libvirt: the system's
//! power state and boot override live in the emulator's own state file), HTTP
//! basic authentication against a bcrypt htpasswd file holding the machine's
//! BMC credentials, and TLS with a self-signed certificate, on the machine's
//! BMC address (a loopback address) and a free port.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::Error;
use crate::apiserver::tail;
use crate::gobuild::{cache_root, run_script};

/// The sushy-tools release `.ci/build-tinkerbell` installs.
pub const SUSHY_TOOLS_VERSION: &str = "2.2.0";
/// Environment variable naming a `sushy-emulator` executable to use instead.
pub const SUSHY_EMULATOR_ENV: &str = "GENESIS_SUSHY_EMULATOR";

/// How long an emulator may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where `.ci/build-tinkerbell` installs the emulator.
pub fn cached_emulator_path() -> PathBuf {
    cache_root()
        .join(format!("sushy-tools-{SUSHY_TOOLS_VERSION}"))
        .join("venv/bin/sushy-emulator")
}

/// Finds `sushy-emulator`: `$GENESIS_SUSHY_EMULATOR`, else the cache, else installs it.
pub async fn emulator() -> Result<PathBuf, Error> {
    if let Some(bin) = std::env::var_os(SUSHY_EMULATOR_ENV) {
        return Ok(PathBuf::from(bin));
    }
    let path = cached_emulator_path();
    let installed = path
        .parent()
        .and_then(Path::parent)
        .is_some_and(|venv| venv.join(".installed").exists());
    if path.is_file() && installed {
        return Ok(path);
    }
    run_script(".ci/build-tinkerbell", &["--sushy-only"], &path).await?;
    Ok(path)
}

/// One machine's BMC as the lab names it.
#[derive(Clone)]
pub struct BmcSpec {
    /// The Rufio Machine's name (the lab's hostname).
    pub machine: String,
    /// The BMC address (a loopback address in tests).
    pub host: Ipv4Addr,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BmcSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BmcSpec")
            .field("machine", &self.machine)
            .field("host", &self.host)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A running emulated BMC with one system. Killed on drop.
pub struct RedfishBmc {
    pub machine: String,
    pub host: Ipv4Addr,
    pub port: u16,
    pub username: String,
    password: String,
    /// The emulated system's id (`/redfish/v1/Systems/<id>`).
    pub system_id: String,
    pub log_path: PathBuf,
    config: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
}

impl std::fmt::Debug for RedfishBmc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedfishBmc")
            .field("machine", &self.machine)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("system_id", &self.system_id)
            .finish_non_exhaustive()
    }
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { what, source }
}

/// A port free on `host` right now (bound and let go).
fn free_port(host: Ipv4Addr) -> Result<u16, Error> {
    let listener = std::net::TcpListener::bind((host, 0))
        .map_err(io(format!("bind a free port on {host}")))?;
    let port = listener
        .local_addr()
        .map_err(io("read the bound address".into()))?
        .port();
    Ok(port)
}

/// A bcrypt htpasswd line for sushy-tools' basic auth, made by the emulator's own Python
/// (its `bcrypt` dependency). The password goes through stdin, never the command line.
async fn htpasswd_line(bin: &Path, username: &str, password: &str) -> Result<String, Error> {
    let python = bin
        .parent()
        .map(|dir| dir.join("python3"))
        .filter(|python| python.exists())
        .unwrap_or_else(|| PathBuf::from("python3"));
    let mut child = Command::new(&python)
        .args([
            "-c",
            "import bcrypt, sys; sys.stdout.write(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(4)).decode())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io(format!("run {}", python.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(password.as_bytes())
            .await
            .map_err(io("write the password to bcrypt".into()))?;
    }
    let output = child
        .wait_with_output()
        .await
        .map_err(io("hash the BMC password".into()))?;
    if !output.status.success() {
        return Err(Error::Setup(format!(
            "bcrypt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(format!(
        "{username}:{}\n",
        String::from_utf8_lossy(&output.stdout)
    ))
}

/// A deterministic UUID-shaped system id per machine name.
fn system_uuid(machine: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest: Vec<u8> = Sha256::digest(machine.as_bytes()).to_vec();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl RedfishBmc {
    /// Writes the emulator's files under `dir` and starts it on `spec.host` and a free port.
    pub async fn start(bin: &Path, dir: &Path, spec: &BmcSpec) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
        let key = rcgen::KeyPair::generate()
            .map_err(|error| Error::Setup(format!("BMC key: {error}")))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|error| Error::Setup(format!("BMC certificate: {error}")))?;
        params.subject_alt_names = vec![rcgen::SanType::IpAddress(spec.host.into())];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("bmc-{}", spec.machine));
        let cert = params
            .self_signed(&key)
            .map_err(|error| Error::Setup(format!("BMC certificate: {error}")))?;
        let (cert_path, key_path) = (dir.join("bmc.crt"), dir.join("bmc.key"));
        std::fs::write(&cert_path, cert.pem())
            .map_err(io(format!("write {}", cert_path.display())))?;
        std::fs::write(&key_path, key.serialize_pem())
            .map_err(io(format!("write {}", key_path.display())))?;
        let auth_path = dir.join("htpasswd");
        std::fs::write(
            &auth_path,
            htpasswd_line(bin, &spec.username, &spec.password).await?,
        )
        .map_err(io(format!("write {}", auth_path.display())))?;
        let system_id = system_uuid(&spec.machine);
        let mut attempt = 1;
        loop {
            let port = free_port(spec.host)?;
            let systems = serde_json::json!([{
                "uuid": system_id,
                "name": spec.machine,
                "power_state": "Off",
                "nics": [],
            }]);
            // sushy-tools reads its configuration as a Python file (Flask's from_pyfile).
            let config = format!(
                "SUSHY_EMULATOR_LISTEN_IP = {host:?}\n\
                 SUSHY_EMULATOR_LISTEN_PORT = {port}\n\
                 SUSHY_EMULATOR_SSL_CERT = {cert:?}\n\
                 SUSHY_EMULATOR_SSL_KEY = {key:?}\n\
                 SUSHY_EMULATOR_AUTH_FILE = {auth:?}\n\
                 SUSHY_EMULATOR_FAKE_DRIVER = True\n\
                 SUSHY_EMULATOR_STATE_DIR = {state:?}\n\
                 SUSHY_EMULATOR_FAKE_SYSTEMS = {systems}\n",
                host = spec.host.to_string(),
                cert = cert_path.display().to_string(),
                key = key_path.display().to_string(),
                auth = auth_path.display().to_string(),
                state = dir.join("state").display().to_string(),
            );
            let config_path = dir.join("emulator.conf");
            std::fs::write(&config_path, config)
                .map_err(io(format!("write {}", config_path.display())))?;
            let mut bmc = Self {
                machine: spec.machine.clone(),
                host: spec.host,
                port,
                username: spec.username.clone(),
                password: spec.password.clone(),
                system_id: system_id.clone(),
                log_path: dir.join("emulator.log"),
                config: config_path,
                bin: bin.into(),
                child: None,
            };
            match bmc.resume().await {
                Err(Error::ServerFailed { log, .. })
                    if attempt < 3 && log.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                Err(error) => return Err(error),
                Ok(()) => return Ok(bmc),
            }
        }
    }

    /// `https://<host>:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}:{}", self.host, self.port)
    }

    /// The BMC password (for the lab's secrets file).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Whether the emulator process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops answering: kills the emulator (its state file stays).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the emulator (again) on the same address, port and state.
    pub async fn resume(&mut self) -> Result<(), Error> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io(format!("create {}", self.log_path.display())))?;
        let mut child = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                log.try_clone()
                    .map_err(io("clone the emulator log".into()))?,
            ))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("spawn {}", self.bin.display())))?;
        let name = format!("Redfish BMC of {}", self.machine);
        let started = Instant::now();
        // Waiting for a process to listen (not an API): connect until it accepts.
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return Err(Error::ServerFailed {
                    name,
                    log: tail(&self.log_path, 30),
                });
            }
            if tokio::net::TcpStream::connect((self.host, self.port))
                .await
                .is_ok()
            {
                break;
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = child.kill().await;
                return Err(Error::ServerFailed {
                    name,
                    log: format!(
                        "not listening within {READY_TIMEOUT:?}\n{}",
                        tail(&self.log_path, 30)
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.child = Some(child);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_ids_are_uuid_shaped_and_stable() {
        let id = system_uuid("ms-02-1");
        assert_eq!(id, system_uuid("ms-02-1"));
        assert_ne!(id, system_uuid("ms-02-2"));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }
}
