//! `harvester.api` (step 9): the VIP answers TLS and HTTP, then the RKE2 admin kubeconfig is
//! read from the first node over SSH (host key pinned in the state directory), its server
//! pointed at the VIP, and written 0600 into the state directory; then an authenticated
//! `/readyz` with that kubeconfig decides that the Harvester API is ready.
//!
//! The first probe of `https://<vip>:<port>/readyz` is anonymous and cannot verify the server
//! certificate: the cluster's CA and credentials come with the kubeconfig. RKE2 runs the API
//! server with anonymous authentication off, so on Harvester it answers 401: that proves only
//! that something at the VIP speaks TLS and HTTP, and the step says no more than that. Readiness
//! is the second check, with the kubeconfig's CA and client certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use genesis_engine::events::Stream;
use genesis_engine::{
    ActionError, Checked, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext,
    StepSpec,
};
use serde::Deserialize;

mod kubeconfig;
mod verify;

use super::{HarvesterOutputs, KUBECONFIG_FILE, params};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::support::SecretRef;
use crate::clients::ssh::{self, HostKey, SshError, SshTarget};
use crate::secrets::Secrets;
pub use kubeconfig::KubeconfigExport;
pub use kubeconfig::RKE2_KUBECONFIG;
use kubeconfig::{rewrite_kubeconfig, write_private};

/// The probe's backoff: first pause, and the cap.
const PROBE_FIRST: Duration = Duration::from_millis(500);
const PROBE_CAP: Duration = Duration::from_secs(15);

/// How long one SSH session waits on the node for the kubeconfig before it gives up and genesis
/// opens the next one: below the SSH client's 60 s inactivity timeout (`clients::ssh`), since
/// the waiting session sends nothing.
const WAIT_PER_SESSION_SECONDS: u32 = 45;
/// The exit status of the waiting command when the file did not appear in time (EX_TEMPFAIL).
const NOT_YET: u32 = 75;

/// The remote command of step 9: wait on the node until RKE2 has written a non-empty
/// kubeconfig, checking twice a second (a local `test -s`, no network, one SSH session), then
/// print it; exit `NOT_YET` after `WAIT_PER_SESSION_SECONDS`. Only POSIX `sh`, `test`, `date`,
/// `sleep` and `cat`: Harvester's OS image is not known to ship inotify-tools (docs/actions.md,
/// `harvester.api`). `sleep 0.5` falls back to `sleep 1` where fractions are not accepted.
fn wait_and_read_command() -> String {
    format!(
        "sudo sh -c '{}'",
        wait_script(RKE2_KUBECONFIG, WAIT_PER_SESSION_SECONDS)
    )
}

/// The waiting shell script for `path` (no single quotes, as the caller quotes it).
fn wait_script(path: &str, seconds: u32) -> String {
    format!(
        "f={path}; end=$(( $(date +%s) + {seconds} )); \
         while [ ! -s \"$f\" ]; do \
         if [ \"$(date +%s)\" -ge \"$end\" ]; then echo \"$f not written yet\" >&2; exit {NOT_YET}; fi; \
         sleep 0.5 2>/dev/null || sleep 1; done; cat \"$f\""
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiParams {
    vip: String,
    api_port: u16,
    first_node: String,
    first_node_ip: String,
    /// Required, as `genesis validate` has always required it (the lab's
    /// `endpoints.harvester.ssh_port` fills it in).
    ssh_port: u16,
    ssh_user: String,
    ssh_key: SecretRef,
}

/// The `harvester.api` action.
#[derive(Debug)]
pub struct HarvesterApi {
    secrets: Secrets,
    state_dir: PathBuf,
    export: Option<KubeconfigExport>,
    /// The operator's own Harvester context (`--harvester-context`), for messages: later steps
    /// use it instead of the fetched kubeconfig.
    operator_context: Option<String>,
}

impl HarvesterApi {
    pub fn new(secrets: Secrets, state_dir: PathBuf) -> Self {
        Self {
            secrets,
            state_dir,
            export: None,
            operator_context: None,
        }
    }

    /// Also writes the fetched kubeconfig into the operator's file.
    pub fn exporting(mut self, export: Option<KubeconfigExport>) -> Self {
        self.export = export;
        self
    }

    /// Says in plan and run output that later steps use this context instead.
    pub fn with_operator_context(mut self, context: Option<String>) -> Self {
        self.operator_context = context;
        self
    }

    /// What the plan and the run say besides the state-directory copy.
    fn also(&self) -> String {
        let mut also = String::new();
        if let Some(export) = &self.export {
            also.push_str(&format!(
                "; also as context `{}` in {} (0600, --write-harvester-kubeconfig)",
                export.context,
                export.file.display()
            ));
        }
        if let Some(context) = &self.operator_context {
            also.push_str(&format!(
                "; later steps reach Harvester through context `{context}` (--harvester-context) instead"
            ));
        }
        also
    }

    fn server(params: &ApiParams) -> String {
        format!("https://{}:{}", params.vip, params.api_port)
    }

    /// Polls `/readyz` at the VIP with a capped backoff until the server answers.
    async fn probe(&self, params: &ApiParams, context: &RunContext) -> Result<String, ActionError> {
        let server = Self::server(params);
        let uri: http::Uri = server.parse().map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                format!("`{server}` is not a URL"),
                error,
            )
        })?;
        let mut config = kube::Config::new(uri);
        // The CA is not known before the kubeconfig is fetched: this probe only shows that
        // the VIP answers TLS and HTTP.
        config.accept_invalid_certs = true;
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(Duration::from_secs(10));
        let client = kube::Client::try_from(config).map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                "cannot build the /readyz probe",
                error,
            )
        })?;
        let what = format!("the Harvester API at {server}/readyz");
        let polling = poll_readyz(&client, &server, "not answering yet", context, |answer| {
            match answer {
                Ok(text) if text.trim() == "ok" => {
                    Readyz::Done("answers TLS and HTTP (anonymous /readyz: ok)".to_owned())
                }
                Ok(text) => Readyz::Again(format!("/readyz said `{}`", text.trim())),
                // RKE2 refuses anonymous requests: that shows TLS and HTTP answer, no more.
                Err(kube::Error::Api(status)) if status.code == 401 || status.code == 403 => {
                    Readyz::Done(format!(
                        "answers TLS and HTTP (HTTP {} to an anonymous /readyz)",
                        status.code
                    ))
                }
                Err(error) => Readyz::Again(error.to_string()),
            }
        });
        context.wait(&what, None, polling).await
    }

    /// With the fetched kubeconfig (its CA, its client certificate): `/readyz` must say `ok`.
    /// A refusal of those credentials, or a certificate that does not match, fails at once.
    async fn ready(
        &self,
        kubeconfig: &Path,
        server: &str,
        context: &RunContext,
    ) -> Result<String, ActionError> {
        let client = super::harvester_client(kubeconfig.to_owned()).await?;
        let what = format!("the Harvester API at {server} to be ready (authenticated /readyz)");
        let polling = poll_readyz(
            &client,
            server,
            "not ready yet",
            context,
            |answer| match answer {
                Ok(text) if text.trim() == "ok" => {
                    Readyz::Done("ready (authenticated /readyz: ok)".to_owned())
                }
                Ok(text) => Readyz::Again(format!("/readyz said `{}`", text.trim())),
                Err(kube::Error::Api(status)) if status.code == 401 || status.code == 403 => {
                    Readyz::Failed(ActionError::new(
                        ErrorKind::PermissionDenied,
                        format!(
                            "{server} refused the kubeconfig read from the first node (HTTP {} to an authenticated /readyz): {}. Check that {RKE2_KUBECONFIG} belongs to this cluster, then run the step again",
                            status.code, status.message
                        ),
                    ))
                }
                Err(error) => {
                    let chain = crate::errors::error_chain(&error);
                    if chain.contains("certificate") {
                        Readyz::Failed(ActionError::new(
                            ErrorKind::Conflict,
                            format!(
                                "{server} does not present a certificate the kubeconfig's CA accepts for that address: {chain}"
                            ),
                        ))
                    } else {
                        Readyz::Again(chain)
                    }
                }
            },
        );
        context.wait(&what, None, polling).await
    }

    /// Reads the kubeconfig over SSH.
    async fn fetch(
        &self,
        params: &ApiParams,
        context: &RunContext,
    ) -> Result<(String, HostKey), ActionError> {
        let target = SshTarget {
            host: params.first_node_ip.clone(),
            port: params.ssh_port,
            user: params.ssh_user.clone(),
            known_hosts: ssh::known_hosts_path(&self.state_dir),
        };
        let command = wait_and_read_command();
        let key = params.ssh_key.value(&self.secrets)?;
        let mut sessions = 0_u32;
        let output = loop {
            sessions += 1;
            context.set_substate(format!(
                "waiting on {} ({}@{}:{}) for RKE2 to write {RKE2_KUBECONFIG}{}",
                params.first_node,
                params.ssh_user,
                params.first_node_ip,
                params.ssh_port,
                if sessions > 1 {
                    format!(
                        " (SSH session {sessions}, {} s each)",
                        WAIT_PER_SESSION_SECONDS
                    )
                } else {
                    String::new()
                }
            ));
            let output = target
                .run(key, &command)
                .await
                .map_err(|error| classify_ssh(error, &params.first_node))?;
            // The first session records the host key; say so whatever the command found.
            if let HostKey::Learned { fingerprint } = &output.host_key {
                let line = format!(
                    "first SSH contact with {} ({}:{}): host key {fingerprint} recorded in {}",
                    params.first_node,
                    params.first_node_ip,
                    params.ssh_port,
                    target.known_hosts.display()
                );
                context.set_substate(line.clone());
                context.output(Stream::Stderr, line.clone());
                tracing::info!("{line}");
            }
            // Not written within this session's wait: the next session waits on.
            if output.exit_status != Some(NOT_YET) {
                break output;
            }
        };
        match output.exit_status {
            Some(0) => {}
            status => {
                return Err(ActionError::new(
                    ErrorKind::CommandFailed,
                    format!(
                        "reading {RKE2_KUBECONFIG} (`{command}`) on {} ended with {}: {}",
                        params.first_node,
                        status.map_or("no exit status".to_owned(), |code| format!(
                            "exit status {code}"
                        )),
                        output.stderr.trim()
                    ),
                ));
            }
        }
        let text = String::from_utf8(output.stdout).map_err(|error| {
            ActionError::with_source(
                ErrorKind::CommandFailed,
                format!("{RKE2_KUBECONFIG} on {} is not UTF-8", params.first_node),
                error,
            )
        })?;
        Ok((text, output.host_key))
    }
}

/// SSH failures onto the engine's error kinds.
fn classify_ssh(error: SshError, node: &str) -> ActionError {
    let kind = match &error {
        SshError::BadKey(_) => ErrorKind::InvalidParams,
        SshError::HostKeyChanged { .. } | SshError::Certificate { .. } => ErrorKind::Conflict,
        SshError::AuthRejected { .. } => ErrorKind::PermissionDenied,
        SshError::KnownHosts { .. } => ErrorKind::Io,
        SshError::Connect { .. } | SshError::Session { .. } => ErrorKind::Unreachable,
    };
    let message = format!("SSH to {node}: {error}");
    ActionError::with_source(kind, message, error)
}

impl genesis_engine::Action for HarvesterApi {
    /// Every `genesis up` reads the node's kubeconfig again (one SSH session): a rotated
    /// client certificate re-runs this step and what needs it ([`verify`]).
    fn verify_every_run(&self) -> bool {
        true
    }

    fn verify<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Checked<'a> {
        Box::pin(self.check(step))
    }

    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: ApiParams = params(step)?;
            Ok(PlanOutcome::DependsOnEarlier {
                what: format!(
                    "the Harvester cluster the first node's install creates: probe {}/readyz anonymously (TLS and HTTP answer), read {RKE2_KUBECONFIG} as {}@{}:{} into {}{}, then wait for /readyz with it",
                    Self::server(&params),
                    params.ssh_user,
                    params.first_node_ip,
                    params.ssh_port,
                    self.state_dir.join(KUBECONFIG_FILE).display(),
                    self.also()
                ),
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: ApiParams = params(step)?;
            let server = Self::server(&params);
            let answers = self.probe(&params, context).await?;
            context.set_substate(format!(
                "{server} {answers}; not yet known ready: the CA and credentials come with the kubeconfig"
            ));
            let path = self.state_dir.join(KUBECONFIG_FILE);
            context
                .intent(format!(
                    "read {RKE2_KUBECONFIG} from {} over SSH into {} (0600){}",
                    params.first_node,
                    path.display(),
                    self.also()
                ))
                .await?;
            let (text, host_key) = self.fetch(&params, context).await?;
            let kubeconfig = rewrite_kubeconfig(&text, &server)?;
            let yaml = serde_saphyr::to_string(&kubeconfig).map_err(|error| {
                ActionError::new(
                    ErrorKind::Io,
                    format!("cannot write the Harvester kubeconfig as YAML: {error}"),
                )
            })?;
            write_private(&path, &yaml)?;
            let readiness = self.ready(&path, &server, context).await?;
            let mut outputs = Outputs::new();
            if let Some(export) = &self.export {
                export.write(&kubeconfig)?;
                let line = format!(
                    "Harvester kubeconfig written as context `{}` into {} (0600)",
                    export.context,
                    export.file.display()
                );
                context.output(Stream::Stderr, line.clone());
                tracing::info!("{line}");
                outputs.insert(
                    "exported_to".to_owned(),
                    format!("{} (context {})", export.file.display(), export.context).into(),
                );
            }
            if let Some(operator) = &self.operator_context {
                let line = format!(
                    "later Harvester steps use context `{operator}` (--harvester-context), not {}",
                    path.display()
                );
                context.output(Stream::Stderr, line.clone());
                tracing::info!("{line}");
            }
            // What later steps read (typed); the rest is for the operator.
            HarvesterOutputs {
                kubeconfig: Some(path.clone()),
                first_node: Some(params.first_node.clone()),
            }
            .write(&mut outputs);
            outputs.insert("server".to_owned(), server.into());
            outputs.insert(
                "host_key_fingerprint".to_owned(),
                host_key.fingerprint().to_owned().into(),
            );
            outputs.insert("api".to_owned(), readiness.into());
            outputs.insert("vip_probe".to_owned(), answers.into());
            Ok(outputs)
        })
    }
}

/// `harvester.api`: the Harvester API and its kubeconfig.
pub(crate) const KIND: Definition = Definition {
    name: "harvester.api",
    summary: "the Harvester API answers at the VIP; its kubeconfig fetched over SSH",
    target: Target::Harvester,
    preview: Preview::Check,
    effects: &[],
    owns: None,
    params: ParamType::of::<ApiParams>(),
    names: &[("first_node", NameRule::Object)],
    describe: |p| {
        vec![
            format!(
                "wait until https://{}:{}/readyz answers TLS and HTTP (anonymously: RKE2 answers 401)",
                p.text("vip"),
                p.text("api_port")
            ),
            format!(
                "read /etc/rancher/rke2/rke2.yaml as {}@{} ({}) over SSH with key {}; host key checked against the state dir",
                p.text("ssh_user"),
                p.text("first_node"),
                p.text("first_node_ip"),
                p.text("ssh_key")
            ),
            format!(
                "point its server at https://{}:{} and keep it (0600) in the state dir",
                p.text("vip"),
                p.text("api_port")
            ),
            "wait until /readyz says ok with that kubeconfig's CA and credentials".to_owned(),
        ]
    },
    build: Build::Remote(|clusters| {
        Arc::new(
            HarvesterApi::new(clusters.secrets.clone(), clusters.options.state_dir.clone())
                .exporting(
                    clusters
                        .options
                        .write_harvester_kubeconfig
                        .clone()
                        .map(|file| KubeconfigExport::for_lab(file, &clusters.lab.name)),
                )
                .with_operator_context(clusters.options.harvester_context.clone()),
        )
    }),
};

/// What one `/readyz` answer means to a probe.
enum Readyz {
    /// Done: what to report.
    Done(String),
    /// Failed for good.
    Failed(ActionError),
    /// Not yet: why, for the sub-state.
    Again(String),
}

/// Asks `server`'s `/readyz` through `client` with a capped backoff until `judge` says done or
/// failed; each try that is not is said in the step's sub-state (`{server} {pending} (try N:
/// …); next try in …`). A probe, not a watch: `/readyz` is not an object to watch.
async fn poll_readyz(
    client: &kube::Client,
    server: &str,
    pending: &str,
    context: &RunContext,
    judge: impl Fn(Result<String, kube::Error>) -> Readyz,
) -> Result<String, ActionError> {
    let mut pause = PROBE_FIRST;
    let mut tries = 0_u32;
    loop {
        tries += 1;
        let request = crate::actions::support::readyz_request()?;
        match judge(client.request_text(request).await) {
            Readyz::Done(text) => return Ok(text),
            Readyz::Failed(error) => return Err(error),
            Readyz::Again(note) => {
                context.set_substate(format!(
                    "{server} {pending} (try {tries}: {note}); next try in {}",
                    humantime::format_duration(pause)
                ));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(PROBE_CAP);
            }
        }
    }
}

#[cfg(test)]
mod wait_tests {
    use std::process::Command;
    use std::time::Instant;

    use super::*;

    fn run(script: &str) -> (std::process::Output, Duration) {
        let started = Instant::now();
        let output = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("run sh");
        (output, started.elapsed())
    }

    // The file appears while the command waits: it is printed within about half a second.
    #[test]
    fn the_waiting_command_prints_the_file_soon_after_it_appears() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rke2.yaml");
        let writer_path = path.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(800));
            std::fs::write(writer_path, "apiVersion: v1\n").expect("write");
        });
        let (output, took) = run(&wait_script(&path.display().to_string(), 20));
        writer.join().expect("writer");
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "apiVersion: v1\n");
        assert!(took >= Duration::from_millis(800), "{took:?}");
        assert!(took < Duration::from_millis(2500), "{took:?}");
    }

    // Not written within the session's wait: the NOT_YET status, so genesis opens another.
    #[test]
    fn the_waiting_command_gives_up_with_its_own_status() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("never.yaml");
        let (output, took) = run(&wait_script(&path.display().to_string(), 1));
        assert_eq!(output.status.code(), Some(NOT_YET as i32), "{output:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("not written yet"),
            "{output:?}"
        );
        assert!(took < Duration::from_secs(4), "{took:?}");
        // An empty file is not a kubeconfig yet either.
        std::fs::write(&path, "").expect("write");
        let (output, _) = run(&wait_script(&path.display().to_string(), 1));
        assert_eq!(output.status.code(), Some(NOT_YET as i32), "{output:?}");
        assert!(wait_and_read_command().starts_with("sudo sh -c 'f=/etc/rancher/rke2/rke2.yaml;"));
    }
}
