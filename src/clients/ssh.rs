//! SSH to the Harvester nodes (russh), with host keys verified against a known_hosts file in
//! the state directory: a host seen for the first time is recorded (and the caller announces
//! it), a host whose key changed is refused.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::ChannelMsg;
use russh::client::{self, AuthResult};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate, known_hosts};
use thiserror::Error;

/// How long the TCP connection and the SSH handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and as whom to log in.
#[derive(Debug, Clone)]
pub struct SshTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The known_hosts file (OpenSSH format) that holds the hosts' keys.
    pub known_hosts: PathBuf,
}

/// How the server's host key was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKey {
    /// It was already in the known_hosts file.
    Known { fingerprint: String },
    /// First contact: it was recorded now.
    Learned { fingerprint: String },
}

impl HostKey {
    pub fn fingerprint(&self) -> &str {
        match self {
            Self::Known { fingerprint } | Self::Learned { fingerprint } => fingerprint,
        }
    }
}

/// What a remote command produced.
#[derive(Debug)]
pub struct CommandOutput {
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// `None` when the server closed the channel without an exit status.
    pub exit_status: Option<u32>,
    pub host_key: HostKey,
}

#[derive(Debug, Error)]
pub enum SshError {
    #[error(
        "the SSH private key cannot be read (is it an OpenSSH or PEM private key without a passphrase?)"
    )]
    BadKey(#[source] russh::keys::Error),
    #[error("cannot connect to {host}:{port} over SSH")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: russh::Error,
    },
    #[error(
        "the SSH host key of {host}:{port} CHANGED: it now presents {fingerprint}, but {file} (line {lines}) records another key for it. \
         This is either a reinstalled node or someone in the middle. If the node was reinstalled, delete that line from {file} and run again"
    )]
    HostKeyChanged {
        host: String,
        port: u16,
        fingerprint: String,
        file: String,
        lines: String,
    },
    #[error("cannot read or update the known_hosts file {file}")]
    KnownHosts {
        file: String,
        #[source]
        source: russh::keys::Error,
    },
    #[error(
        "{host}:{port} presented an SSH certificate instead of a plain host key; genesis only pins plain host keys"
    )]
    Certificate { host: String, port: u16 },
    #[error("{host}:{port} refused the SSH key for user `{user}`")]
    AuthRejected {
        host: String,
        port: u16,
        user: String,
    },
    #[error("the SSH session with {host}:{port} failed")]
    Session {
        host: String,
        port: u16,
        #[source]
        source: russh::Error,
    },
}

/// What the host key check decided, kept for the error message after the handshake fails.
#[derive(Debug)]
enum Verdict {
    Accepted(HostKey),
    Changed {
        fingerprint: String,
        lines: Vec<usize>,
    },
    Certificate,
    KnownHostsFailed(russh::keys::Error),
}

struct Verifier {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    verdict: Arc<Mutex<Option<Verdict>>>,
}

impl Verifier {
    fn decide(&self, key: &PublicKeyOrCertificate) -> Verdict {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Verdict::Certificate;
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        // The file is read and appended to by path: first make sure it is not a link (to a
        // file of the operator's that would be appended to), a FIFO or another user's file.
        if let Err(error) = genesis_engine::state_dir::open_existing(&self.known_hosts) {
            return Verdict::KnownHostsFailed(russh::keys::Error::IO(error));
        }
        let recorded =
            match known_hosts::known_host_keys_path(&self.host, self.port, &self.known_hosts) {
                Ok(recorded) => recorded,
                Err(error) => return Verdict::KnownHostsFailed(error),
            };
        if recorded.iter().any(|(_, known)| known == key) {
            return Verdict::Accepted(HostKey::Known { fingerprint });
        }
        if !recorded.is_empty() {
            return Verdict::Changed {
                fingerprint,
                lines: recorded.iter().map(|(line, _)| *line).collect(),
            };
        }
        match known_hosts::learn_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(()) => Verdict::Accepted(HostKey::Learned { fingerprint }),
            Err(error) => Verdict::KnownHostsFailed(error),
        }
    }
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = self.decide(server_public_key);
        let accepted = matches!(verdict, Verdict::Accepted(_));
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        Ok(accepted)
    }
}

impl SshTarget {
    fn session_error(&self, source: russh::Error) -> SshError {
        SshError::Session {
            host: self.host.clone(),
            port: self.port,
            source,
        }
    }

    /// Logs in with `private_key` (OpenSSH/PEM text) and runs `command`, collecting its output.
    pub async fn run(&self, private_key: &str, command: &str) -> Result<CommandOutput, SshError> {
        let key = russh::keys::decode_secret_key(private_key, None).map_err(SshError::BadKey)?;
        let verdict = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            host: self.host.clone(),
            port: self.port,
            known_hosts: self.known_hosts.clone(),
            verdict: Arc::clone(&verdict),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(60)),
            ..client::Config::default()
        });
        let connected = match tokio::time::timeout(
            CONNECT_TIMEOUT,
            client::connect(config, (self.host.as_str(), self.port), verifier),
        )
        .await
        {
            Ok(connected) => connected,
            Err(_) => {
                return Err(SshError::Connect {
                    host: self.host.clone(),
                    port: self.port,
                    source: russh::Error::ConnectionTimeout,
                });
            }
        };
        let taken = verdict.lock().ok().and_then(|mut slot| slot.take());
        let host_key = match (connected.as_ref(), taken) {
            (_, Some(Verdict::Changed { fingerprint, lines })) => {
                return Err(SshError::HostKeyChanged {
                    host: self.host.clone(),
                    port: self.port,
                    fingerprint,
                    file: self.known_hosts.display().to_string(),
                    lines: lines
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            (_, Some(Verdict::Certificate)) => {
                return Err(SshError::Certificate {
                    host: self.host.clone(),
                    port: self.port,
                });
            }
            (_, Some(Verdict::KnownHostsFailed(source))) => {
                return Err(SshError::KnownHosts {
                    file: self.known_hosts.display().to_string(),
                    source,
                });
            }
            (Ok(_), Some(Verdict::Accepted(host_key))) => host_key,
            (Ok(_), None) | (Err(_), _) => {
                return Err(SshError::Connect {
                    host: self.host.clone(),
                    port: self.port,
                    source: match connected {
                        Err(source) => source,
                        Ok(_) => russh::Error::UnknownKey,
                    },
                });
            }
        };
        let mut handle = connected.map_err(|source| self.session_error(source))?;

        let hash = if key.algorithm().is_rsa() {
            handle
                .best_supported_rsa_hash()
                .await
                .map_err(|source| self.session_error(source))?
                .flatten()
        } else {
            None
        };
        let auth = handle
            .authenticate_publickey(
                self.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(|source| self.session_error(source))?;
        if !matches!(auth, AuthResult::Success) {
            return Err(SshError::AuthRejected {
                host: self.host.clone(),
                port: self.port,
                user: self.user.clone(),
            });
        }
        let output = self.exec(&mut handle, command, host_key).await;
        let _ = handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
        output
    }

    async fn exec(
        &self,
        handle: &mut client::Handle<Verifier>,
        command: &str,
        host_key: HostKey,
    ) -> Result<CommandOutput, SshError> {
        let mut channel = handle
            .channel_open_session()
            .await
            .map_err(|source| self.session_error(source))?;
        channel
            .exec(true, command)
            .await
            .map_err(|source| self.session_error(source))?;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut exit_status = None;
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, .. } => stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status: code } => exit_status = Some(code),
                _ => {}
            }
        }
        Ok(CommandOutput {
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            exit_status,
            host_key,
        })
    }
}

/// The known_hosts file genesis keeps in its state directory.
pub fn known_hosts_path(state_dir: &Path) -> PathBuf {
    state_dir.join("known_hosts")
}
