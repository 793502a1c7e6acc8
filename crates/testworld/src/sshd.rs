//! A real OpenSSH `sshd` (Debian's openssh-server) on a free loopback port,
//! playing the first Harvester node.
//!
//! Design (see docs/testworld.md): sshd runs as the test process' user with
//! its own config, host key and authorized key. When that user is root (CI),
//! the login user is the dedicated local account `rancher` (created on first
//! use, password field `*`: no password login, key only); otherwise it is the
//! current user. Every session runs the `ForceCommand` wrapper `node-shell`,
//! which runs the client's command with `/bin/sh -c` after mapping the node's
//! absolute paths (`/etc/rancher/...`, `/var/lib/rancher/...`) into this
//! node's directory and putting a `sudo` shim first on PATH. So the product's
//! real `sudo cat /etc/rancher/rke2/rke2.yaml` over a real SSH connection
//! returns the file the simulator wrote for this node.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::Error;

/// Where OpenSSH's server is (Debian's `openssh-server`).
pub const SSHD: &str = "/usr/sbin/sshd";
/// The account Harvester nodes log in with.
pub const NODE_USER: &str = "rancher";
/// Absolute path prefixes of the node that live under the node's directory.
const NODE_PREFIXES: [&str; 2] = ["/etc/rancher/", "/var/lib/rancher/"];

/// How to reach a node over SSH: what the product is given.
#[derive(Debug, Clone)]
pub struct SshEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The private key the product should use (OpenSSH format, ed25519).
    pub private_key_path: PathBuf,
    /// The host public key line (`ssh-ed25519 AAAA...`), for known_hosts checks.
    pub host_public_key: String,
}

/// A running sshd for one simulated node. Killed on drop.
#[derive(Debug)]
pub struct SshNode {
    pub endpoint: SshEndpoint,
    /// The node's filesystem root: `/etc/rancher/rke2/rke2.yaml` on the node
    /// is `root.join("etc/rancher/rke2/rke2.yaml")` here.
    pub root: PathBuf,
    pub log_path: PathBuf,
    child: Child,
}

impl SshNode {
    /// Starts sshd with all its files under `dir`.
    pub async fn start(dir: &Path) -> Result<Self, Error> {
        if !Path::new(SSHD).is_file() {
            return Err(Error::Setup(format!(
                "{SSHD} is missing: install Debian's openssh-server (.ci/testworld-setup does)"
            )));
        }
        let io = |what: String| move |source| Error::Io { what, source };
        std::fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
        let user = login_user().await?;
        let root = dir.join("node");
        let bin = root.join(".genesis-bin");
        for sub in ["etc/rancher/rke2", "var/lib/rancher"] {
            let path = root.join(sub);
            std::fs::create_dir_all(&path).map_err(io(format!("create {}", path.display())))?;
        }
        std::fs::create_dir_all(&bin).map_err(io(format!("create {}", bin.display())))?;

        keygen(&dir.join("host_ed25519"), "genesis-testworld-host").await?;
        keygen(&dir.join("client_ed25519"), "genesis-testworld-client").await?;
        let host_public_key = read_trimmed(&dir.join("host_ed25519.pub"))?;
        let client_public_key = read_trimmed(&dir.join("client_ed25519.pub"))?;
        write(
            &dir.join("authorized_keys"),
            &format!("{client_public_key}\n"),
            0o644,
        )?;
        write(&bin.join("sudo"), SUDO_SHIM, 0o755)?;
        write(&dir.join("node-shell"), &node_shell(&root), 0o755)?;

        if running_as_root() {
            // sshd's privilege separation directory.
            std::fs::create_dir_all("/run/sshd").map_err(io("create /run/sshd".into()))?;
            chown_recursive(&root, &user).await?;
            // The login user must reach node-shell and the node dir.
            let mut path = dir.to_path_buf();
            loop {
                if path.starts_with(std::env::temp_dir()) && path != std::env::temp_dir() {
                    let mode = std::fs::metadata(&path)
                        .map(|m| m.permissions().mode())
                        .unwrap_or(0o700);
                    let _ = std::fs::set_permissions(
                        &path,
                        std::fs::Permissions::from_mode(mode | 0o711),
                    );
                }
                if !path.pop() {
                    break;
                }
            }
        }
        // The port is free when picked, but another process may take it before sshd binds it:
        // then sshd exits with "Address already in use" and another port is tried (3 times).
        let mut attempt = 1;
        loop {
            match Self::spawn(dir, &root, &user, &host_public_key).await {
                Err(Error::ServerFailed { log, .. })
                    if attempt < 3 && log.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn spawn(
        dir: &Path,
        root: &Path,
        user: &str,
        host_public_key: &str,
    ) -> Result<Self, Error> {
        let io = |what: String| move |source| Error::Io { what, source };
        let port = free_port()?;
        let config = sshd_config(dir, port, user);
        write(&dir.join("sshd_config"), &config, 0o644)?;
        let log_path = dir.join("sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(&log_path)
                    .map_err(io(format!("create {}", log_path.display())))?,
            ))
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("spawn {SSHD}")))?;
        let mut node = Self {
            endpoint: SshEndpoint {
                host: "127.0.0.1".into(),
                port,
                user: user.to_owned(),
                private_key_path: dir.join("client_ed25519"),
                host_public_key: host_public_key.to_owned(),
            },
            root: root.to_path_buf(),
            log_path,
            child,
        };
        node.wait_listening().await?;
        Ok(node)
    }

    async fn wait_listening(&mut self) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::ServerFailed {
                    name: "sshd".into(),
                    log: format!(
                        "exited with {status}\n{}",
                        crate::apiserver::tail(&self.log_path, 20)
                    ),
                });
            }
            if tokio::net::TcpStream::connect((self.endpoint.host.as_str(), self.endpoint.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::ServerFailed {
                    name: "sshd".into(),
                    log: crate::apiserver::tail(&self.log_path, 20),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The node path `node_path` (absolute, e.g. `/etc/rancher/rke2/rke2.yaml`) on this machine.
    pub fn host_path(&self, node_path: &str) -> PathBuf {
        self.root.join(node_path.trim_start_matches('/'))
    }

    /// Writes a file on the node (as its owner would see it, mode 0600).
    pub async fn write_file(&self, node_path: &str, contents: &str) -> Result<(), Error> {
        let path = self.host_path(node_path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                what: format!("create {}", parent.display()),
                source,
            })?;
        }
        write(&path, contents, 0o600)?;
        if running_as_root() {
            chown_recursive(&path, &self.endpoint.user).await?;
        }
        Ok(())
    }

    /// Runs `command` on the node over SSH (see [`SshEndpoint::exec`]).
    pub async fn exec(&self, command: &str) -> Result<String, Error> {
        self.endpoint.exec(command).await
    }

    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

impl SshEndpoint {
    /// A `known_hosts` line for this node.
    pub fn known_hosts_line(&self) -> String {
        format!("[{}]:{} {}", self.host, self.port, self.host_public_key)
    }

    /// Runs `command` on the node through the system `ssh` client, verifying
    /// the host key. Returns stdout; a non-zero exit is an error.
    pub async fn exec(&self, command: &str) -> Result<String, Error> {
        static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let known_hosts = self
            .private_key_path
            .with_file_name(format!("known_hosts.{}.{call}", std::process::id()));
        write(
            &known_hosts,
            &format!("{}\n", self.known_hosts_line()),
            0o644,
        )?;
        let output = Command::new("ssh")
            .args(["-F", "/dev/null", "-i"])
            .arg(&self.private_key_path)
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
            .args([
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
            ])
            .args(["-p", &self.port.to_string()])
            .arg(format!("{}@{}", self.user, self.host))
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| Error::Io {
                what: "run ssh".into(),
                source,
            });
        let _ = std::fs::remove_file(&known_hosts);
        let output = output?;
        if !output.status.success() {
            return Err(Error::Ssh(format!(
                "`{command}` exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

const SUDO_SHIM: &str = "#!/bin/sh\n\
# The simulated node's sudo: the login user already owns the node's files.\n\
while [ $# -gt 0 ]; do case \"$1\" in -n|-E|-H|-S) shift ;; --) shift; break ;; *) break ;; esac; done\n\
exec \"$@\"\n";

fn node_shell(root: &Path) -> String {
    let mut sed = String::new();
    for prefix in NODE_PREFIXES {
        sed.push_str(&format!(" -e 's#{prefix}#{}{prefix}#g'", root.display()));
    }
    format!(
        "#!/bin/sh\n\
         # ForceCommand of the simulated Harvester node: run the client's command\n\
         # with the node's absolute paths mapped into its directory.\n\
         PATH='{bin}':/usr/local/bin:/usr/bin:/bin\n\
         export PATH\n\
         if [ -z \"$SSH_ORIGINAL_COMMAND\" ]; then echo 'genesis test node: interactive shells are not offered' >&2; exit 1; fi\n\
         command=$(printf '%s' \"$SSH_ORIGINAL_COMMAND\" | sed{sed})\n\
         exec /bin/sh -c \"$command\"\n",
        bin = root.join(".genesis-bin").display(),
    )
}

fn sshd_config(dir: &Path, port: u16, user: &str) -> String {
    format!(
        "ListenAddress 127.0.0.1:{port}\n\
         HostKey {dir}/host_ed25519\n\
         PidFile {dir}/sshd.pid\n\
         AuthorizedKeysFile {dir}/authorized_keys\n\
         AllowUsers {user}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PermitRootLogin no\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitUserEnvironment no\n\
         AllowTcpForwarding no\n\
         X11Forwarding no\n\
         ForceCommand {dir}/node-shell\n\
         LogLevel VERBOSE\n",
        dir = dir.display()
    )
}

fn running_as_root() -> bool {
    // The effective uid without libc: /proc/self/status "Uid: real effective ...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

async fn login_user() -> Result<String, Error> {
    if !running_as_root() {
        if let Ok(user) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")) {
            return Ok(user);
        }
        let output = Command::new("id")
            .arg("-un")
            .output()
            .await
            .map_err(|source| Error::Io {
                what: "run id -un".into(),
                source,
            })?;
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_string());
    }
    // Worlds started side by side (in this process or another) may race to
    // create the account: serialize here, and accept the other's success.
    static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = SETUP.lock().await;
    if !user_exists().await {
        let created = run(
            "useradd",
            &["--create-home", "--shell", "/bin/sh", NODE_USER],
        )
        .await;
        if let Err(error) = created
            && !user_exists().await
        {
            return Err(error);
        }
    }
    // `*`: no password can match, and unlike `!` OpenSSH does not treat it as locked.
    if shadow_password(NODE_USER).as_deref() != Some("*") {
        let set = run("usermod", &["--password", "*", NODE_USER]).await;
        if let Err(error) = set
            && shadow_password(NODE_USER).as_deref() != Some("*")
        {
            return Err(error);
        }
    }
    Ok(NODE_USER.into())
}

async fn user_exists() -> bool {
    let status = Command::new("id")
        .arg(NODE_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    matches!(status, Ok(status) if status.success())
}

fn shadow_password(user: &str) -> Option<String> {
    let shadow = std::fs::read_to_string("/etc/shadow").ok()?;
    shadow.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next() == Some(user)).then(|| fields.next().unwrap_or_default().to_string())
    })
}

async fn keygen(path: &Path, comment: &str) -> Result<(), Error> {
    let path_str = path.to_string_lossy();
    run(
        "ssh-keygen",
        &[
            "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", &path_str,
        ],
    )
    .await
}

async fn chown_recursive(path: &Path, user: &str) -> Result<(), Error> {
    run(
        "chown",
        &["-R", &format!("{user}:"), &path.to_string_lossy()],
    )
    .await
}

async fn run(program: &str, args: &[&str]) -> Result<(), Error> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| Error::Io {
            what: format!("run {program}"),
            source,
        })?;
    if !output.status.success() {
        return Err(Error::Setup(format!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

fn read_trimmed(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| Error::Io {
            what: format!("read {}", path.display()),
            source,
        })
}

fn write(path: &Path, contents: &str, mode: u32) -> Result<(), Error> {
    std::fs::write(path, contents)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|source| Error::Io {
            what: format!("write {}", path.display()),
            source,
        })
}

pub(crate) fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| Error::Io {
        what: "bind a free loopback port".into(),
        source,
    })?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|source| Error::Io {
            what: "read the bound port".into(),
            source,
        })
}
