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

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use genesis_engine::events::Stream;
use genesis_engine::{
    ActionError, BoxFuture, ErrorKind, Outputs, PlanContext, PlanOutcome, RunContext, StepSpec,
};
use serde::Deserialize;
use serde_json::Value;

use super::{KUBECONFIG_FILE, params, register_secrets};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::support::SecretRef;
use crate::clients::ssh::{self, HostKey, SshError, SshTarget};
use crate::secrets::Secrets;

/// Where RKE2 writes the admin kubeconfig on a server node.
pub const RKE2_KUBECONFIG: &str = "/etc/rancher/rke2/rke2.yaml";

/// The probe's backoff: first pause, and the cap.
const PROBE_FIRST: Duration = Duration::from_millis(500);
const PROBE_CAP: Duration = Duration::from_secs(15);

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

/// A copy of the fetched kubeconfig for the operator: `--write-harvester-kubeconfig FILE`
/// adds it to FILE as the context `context` (one cluster, user and context of that name).
#[derive(Debug, Clone)]
pub struct KubeconfigExport {
    pub file: PathBuf,
    pub context: String,
}

impl KubeconfigExport {
    /// The context name for a lab: `harvester-<lab name>`.
    pub fn for_lab(file: PathBuf, lab_name: &str) -> Self {
        Self {
            file,
            context: format!("harvester-{lab_name}"),
        }
    }

    /// Adds the kubeconfig to the file as the named context, keeping the file's other
    /// entries, and writes it 0600.
    fn write(&self, kubeconfig: &Value) -> Result<(), ActionError> {
        let shown = self.file.display().to_string();
        let existing = match std::fs::read_to_string(&self.file) {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(serde_saphyr::from_str::<Value>(&text).map_err(|error| {
                ActionError::new(
                    ErrorKind::InvalidParams,
                    format!("{shown} (--write-harvester-kubeconfig) is not a kubeconfig (YAML: {error}); name a kubeconfig file or a new file"),
                )
            })?),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                return Err(ActionError::with_source(
                    ErrorKind::Io,
                    format!("cannot read {shown} (--write-harvester-kubeconfig)"),
                    error,
                ));
            }
        };
        // The operator's file may hold other credentials: keep them out of any output.
        if let Some(existing) = &existing {
            register_secrets(existing);
        }
        let merged =
            crate::clients::kube::with_named_context(existing, kubeconfig, &self.context, &shown)
                .map_err(|error| {
                ActionError::with_source(
                    ErrorKind::InvalidParams,
                    format!("cannot add context `{}` to {shown}", self.context),
                    error,
                )
            })?;
        let yaml = serde_saphyr::to_string(&merged).map_err(|error| {
            ActionError::new(
                ErrorKind::Io,
                format!("cannot write {shown} as YAML: {error}"),
            )
        })?;
        write_private(&self.file, &yaml)
    }
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
        context
            .wait(&what, None, async {
                let mut pause = PROBE_FIRST;
                let mut tries = 0_u32;
                loop {
                    tries += 1;
                    let request = crate::actions::support::readyz_request()?;
                    let note = match client.request_text(request).await {
                        Ok(text) if text.trim() == "ok" => {
                            return Ok("answers TLS and HTTP (anonymous /readyz: ok)".to_owned());
                        }
                        Ok(text) => format!("/readyz said `{}`", text.trim()),
                        // RKE2 refuses anonymous requests: that shows TLS and HTTP answer, no more.
                        Err(kube::Error::Api(status))
                            if status.code == 401 || status.code == 403 =>
                        {
                            return Ok(format!(
                                "answers TLS and HTTP (HTTP {} to an anonymous /readyz)",
                                status.code
                            ));
                        }
                        Err(error) => error.to_string(),
                    };
                    context.set_substate(format!(
                        "{server} not answering yet (try {tries}: {note}); next try in {}",
                        humantime::format_duration(pause)
                    ));
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(PROBE_CAP);
                }
            })
            .await
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
        context
            .wait(&what, None, async {
                let mut pause = PROBE_FIRST;
                let mut tries = 0_u32;
                loop {
                    tries += 1;
                    let request = crate::actions::support::readyz_request()?;
                    let note = match client.request_text(request).await {
                        Ok(text) if text.trim() == "ok" => {
                            return Ok("ready (authenticated /readyz: ok)".to_owned());
                        }
                        Ok(text) => format!("/readyz said `{}`", text.trim()),
                        Err(kube::Error::Api(status))
                            if status.code == 401 || status.code == 403 =>
                        {
                            return Err(ActionError::new(
                                ErrorKind::PermissionDenied,
                                format!(
                                    "{server} refused the kubeconfig read from the first node (HTTP {} to an authenticated /readyz): {}. Check that {RKE2_KUBECONFIG} belongs to this cluster, then run the step again",
                                    status.code, status.message
                                ),
                            ));
                        }
                        Err(error) => {
                            let chain = crate::cli::up::error_chain(&error);
                            if chain.contains("certificate") {
                                return Err(ActionError::new(
                                    ErrorKind::Conflict,
                                    format!(
                                        "{server} does not present a certificate the kubeconfig's CA accepts for that address: {chain}"
                                    ),
                                ));
                            }
                            chain
                        }
                    };
                    context.set_substate(format!(
                        "{server} not ready yet (try {tries}: {note}); next try in {}",
                        humantime::format_duration(pause)
                    ));
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(PROBE_CAP);
                }
            })
            .await
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
        let command = format!("sudo cat {RKE2_KUBECONFIG}");
        let key = params.ssh_key.value(&self.secrets)?;
        context.set_substate(format!(
            "reading {RKE2_KUBECONFIG} on {} ({}@{}:{})",
            params.first_node, params.ssh_user, params.first_node_ip, params.ssh_port
        ));
        let output = target
            .run(key, &command)
            .await
            .map_err(|error| classify_ssh(error, &params.first_node))?;
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
        match output.exit_status {
            Some(0) => {}
            status => {
                return Err(ActionError::new(
                    ErrorKind::CommandFailed,
                    format!(
                        "`{command}` on {} ended with {}: {} (RKE2 writes the file once the cluster is initialised)",
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

/// The kubeconfig with every cluster's server set to `server`, and the secret values in it
/// (client keys, tokens, passwords) registered with the scrubber before anything else.
pub(crate) fn rewrite_kubeconfig(text: &str, server: &str) -> Result<Value, ActionError> {
    let mut kubeconfig: Value = serde_saphyr::from_str(text).map_err(|error| {
        ActionError::new(
            ErrorKind::CommandFailed,
            format!("{RKE2_KUBECONFIG} is not a kubeconfig (YAML: {error})"),
        )
    })?;
    register_secrets(&kubeconfig);
    let clusters = kubeconfig
        .get_mut("clusters")
        .and_then(Value::as_array_mut)
        .filter(|clusters| !clusters.is_empty())
        .ok_or_else(|| {
            ActionError::new(
                ErrorKind::CommandFailed,
                format!("{RKE2_KUBECONFIG} has no clusters"),
            )
        })?;
    for cluster in clusters {
        if let Some(cluster) = cluster.get_mut("cluster").and_then(Value::as_object_mut) {
            cluster.insert("server".to_owned(), Value::String(server.to_owned()));
        }
    }
    Ok(kubeconfig)
}

/// Writes `contents` to `path` with mode 0600, atomically (a private temporary file, renamed).
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<(), ActionError> {
    let io = |what: String| {
        move |error: std::io::Error| ActionError::with_source(ErrorKind::Io, what, error)
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(io(format!("cannot create {}", parent.display())))?;
    }
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temporary)
        .map_err(io(format!("cannot write {}", temporary.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io(format!("cannot make {} private", temporary.display())))?;
    }
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(format!("cannot write {}", temporary.display())))?;
    std::fs::rename(&temporary, path).map_err(io(format!("cannot write {}", path.display())))
}

impl genesis_engine::Action for HarvesterApi {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: ApiParams = params(step)?;
            Ok(PlanOutcome::DependsOnEarlier {
                what: format!(
                    "the Harvester cluster that step 8 creates: probe {}/readyz anonymously (TLS and HTTP answer), read {RKE2_KUBECONFIG} as {}@{}:{} into {}{}, then wait for /readyz with it",
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

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
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
            outputs.insert("kubeconfig".to_owned(), path.display().to_string().into());
            outputs.insert("server".to_owned(), server.into());
            outputs.insert("first_node".to_owned(), params.first_node.clone().into());
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
            HarvesterApi::new(
                clusters.inputs.secrets.clone(),
                clusters.options.state_dir.clone(),
            )
            .exporting(
                clusters
                    .options
                    .write_harvester_kubeconfig
                    .clone()
                    .map(|file| KubeconfigExport::for_lab(file, &clusters.inputs.lab.name)),
            )
            .with_operator_context(clusters.options.harvester_context.clone()),
        )
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn the_server_points_at_the_vip_and_the_client_key_is_scrubbed() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIUnitTestOnlyKeyMaterialLine1xxxxxxxxxxxxx\nAwEHoUQDQgAEUnitTestOnlyKeyMaterialLine2yyyyyyyyyy\n-----END EC PRIVATE KEY-----\n";
        let key_data = base64::engine::general_purpose::STANDARD.encode(pem);
        let text = format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0E=\n    server: https://127.0.0.1:6443\n  name: default\ncontexts:\n- context: {{cluster: default, user: default}}\n  name: default\ncurrent-context: default\nkind: Config\nusers:\n- name: default\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: {key_data}\n"
        );
        let rewritten =
            rewrite_kubeconfig(&text, "https://10.10.10.20:6443").expect("a kubeconfig");
        assert_eq!(
            rewritten["clusters"][0]["cluster"]["server"],
            "https://10.10.10.20:6443"
        );
        assert_eq!(rewritten["users"][0]["user"]["client-key-data"], key_data);
        let scrubber = genesis_engine::Scrubber::empty();
        for leak in [
            key_data.as_str(),
            pem,
            "MHcCAQEEIUnitTestOnlyKeyMaterialLine1xxxxxxxxxxxxx",
        ] {
            assert_eq!(scrubber.scrub(&format!("x {leak} y")), "x [redacted] y");
        }
        assert!(rewrite_kubeconfig("clusters: []", "https://x").is_err());
    }

    #[test]
    fn the_export_adds_a_named_context_to_the_operators_file_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("kube/config");
        std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Config\ncurrent-context: platform\nclusters:\n- name: platform\n  cluster: {server: 'https://p:6443'}\nusers:\n- name: platform\n  user: {token: operator-token-value}\ncontexts:\n- name: platform\n  context: {cluster: platform, user: platform}\n",
        )
        .expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let fetched = rewrite_kubeconfig(
            "clusters:\n- name: default\n  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: Q0E=}\nusers:\n- name: default\n  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}\ncontexts:\n- name: default\n  context: {cluster: default, user: default}\ncurrent-context: default\n",
            "https://10.10.10.20:6443",
        )
        .expect("kubeconfig");
        let export = KubeconfigExport::for_lab(file.clone(), "reference-lab");
        assert_eq!(export.context, "harvester-reference-lab");
        export.write(&fetched).expect("written");
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let written: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&file).expect("read")).expect("YAML");
        assert_eq!(written["current-context"], "platform");
        assert_eq!(written["users"][0]["user"]["token"], "operator-token-value");
        let kubeconfig: kube::config::Kubeconfig =
            serde_json::from_value(written.clone()).expect("a kubeconfig");
        let names: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["platform", "harvester-reference-lab"]);
        assert_eq!(
            written["clusters"][1]["cluster"]["server"],
            "https://10.10.10.20:6443"
        );
        // The operator's other credentials are scrubbed from output too.
        assert_eq!(
            genesis_engine::Scrubber::empty().scrub("operator-token-value"),
            "[redacted]"
        );
        // Not a kubeconfig: refused, the file left alone.
        let other = dir.path().join("notes.yaml");
        std::fs::write(&other, "- a\n- list\n").expect("write");
        let error = KubeconfigExport::for_lab(other.clone(), "lab")
            .write(&fetched)
            .expect_err("not a kubeconfig");
        assert!(error.to_string().contains("notes.yaml"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&other).expect("read"),
            "- a\n- list\n"
        );
    }
}
