//! The phase-2 preflight kinds: `tinkerbell.stack`, `argocd.present` and `http.artifacts`.
//!
//! All three only read, so their plan half runs the same checks as their run half and answers
//! [`PlanOutcome::NoChange`] (except that the plan of `http.artifacts` does not download the
//! artifacts to hash them; the run does). Each check collects every problem it finds and
//! reports them together, each saying what is missing and how to fix it.

use std::sync::Arc;
use std::time::Duration;

use genesis_engine::{
    ActionError, BoxFuture, ErrorClass, ErrorKind, Outputs, PlanContext, PlanOutcome, RunContext,
    StepSpec,
};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::platform::reachable::classify;
use crate::actions::support::params;
use crate::clients::kube::LazyClient;

/// Like `support::platform_client`, naming the cluster and context to check.
async fn connect(lazy: &LazyClient) -> Result<kube::Client, ActionError> {
    let target = lazy.target();
    lazy.get().await.map_err(|error| {
        ActionError::with_source(
            ErrorKind::NotFound,
            format!(
                "no usable kubeconfig for the {} cluster; check --kubeconfig/KUBECONFIG and that context `{}` exists (`kubectl config get-contexts`)",
                target.cluster,
                target.context.as_deref().unwrap_or("(current)")
            ),
            error,
        )
    })
}

/// One missing or broken thing, with what kind of failure it is.
struct Problem {
    kind: ErrorKind,
    message: String,
}

impl Problem {
    fn missing(message: String) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            message,
        }
    }
}

/// Every problem as one error. A permanent problem makes the whole error permanent: retrying
/// cannot fix it, whatever else is also wrong.
fn report(what: &str, problems: Vec<Problem>) -> ActionError {
    let kind = problems
        .iter()
        .map(|problem| problem.kind)
        .find(|kind| kind.class() == ErrorClass::Permanent)
        .or_else(|| problems.first().map(|problem| problem.kind))
        .unwrap_or(ErrorKind::NotFound);
    let message = if let [only] = problems.as_slice() {
        only.message.clone()
    } else {
        let mut text = format!("{} problems with {what}:", problems.len());
        for problem in &problems {
            text.push_str("\n  - ");
            text.push_str(&problem.message);
        }
        text
    };
    ActionError::new(kind, message)
}

async fn namespace_exists(
    client: &kube::Client,
    namespace: &str,
    cluster: &str,
) -> Result<bool, ActionError> {
    Api::<Namespace>::all(client.clone())
        .get_opt(namespace)
        .await
        .map(|found| found.is_some())
        .map_err(|error| {
            classify(
                error,
                format!("cannot read namespace {namespace} on the {cluster} cluster"),
            )
        })
}

fn available_replicas(deployment: &Deployment) -> i32 {
    deployment
        .status
        .as_ref()
        .and_then(|status| status.available_replicas)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// tinkerbell.stack

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StackParams {
    namespace: String,
    crds: Vec<String>,
}

/// `tinkerbell.stack`: the Tinkerbell and Rufio CRDs are established, the namespace exists and
/// at least one controller Deployment in it is available.
#[derive(Debug)]
pub struct TinkerbellStack {
    client: Arc<LazyClient>,
}

impl TinkerbellStack {
    pub fn new(client: Arc<LazyClient>) -> Self {
        Self { client }
    }

    async fn check(&self, params: &StackParams) -> Result<Outputs, ActionError> {
        let cluster = self.client.target().cluster.clone();
        let client = connect(&self.client).await?;
        let namespace = &params.namespace;
        let mut problems = Vec::new();

        let crds = Api::<CustomResourceDefinition>::all(client.clone());
        for name in &params.crds {
            let crd = crds.get_opt(name).await.map_err(|error| {
                classify(
                    error,
                    format!("cannot read CRD {name} on the {cluster} cluster"),
                )
            })?;
            let Some(crd) = crd else {
                problems.push(Problem::missing(format!(
                    "CRD {name} is not installed: install the Tinkerbell stack (its Helm chart installs the CRDs)"
                )));
                continue;
            };
            let established = crd
                .status
                .as_ref()
                .and_then(|status| status.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|condition| condition.type_ == "Established" && condition.status == "True");
            if !established {
                problems.push(Problem::missing(format!(
                    "CRD {name} is installed but not Established: check its conditions with `kubectl get crd {name} -o yaml`"
                )));
            }
        }

        let mut controllers = Vec::new();
        if namespace_exists(&client, namespace, &cluster).await? {
            let deployments = Api::<Deployment>::namespaced(client.clone(), namespace)
                .list(&ListParams::default())
                .await
                .map_err(|error| {
                    classify(
                        error,
                        format!("cannot list Deployments in {namespace} on the {cluster} cluster"),
                    )
                })?;
            controllers = deployments
                .items
                .iter()
                .filter(|deployment| available_replicas(deployment) >= 1)
                .filter_map(|deployment| deployment.metadata.name.clone())
                .collect();
            controllers.sort();
            if controllers.is_empty() {
                problems.push(Problem::missing(format!(
                    "no available Deployment in {namespace}: are the Tinkerbell controllers running? kubectl -n {namespace} get deploy"
                )));
            }
        } else {
            problems.push(Problem::missing(format!(
                "namespace {namespace} does not exist: install the Tinkerbell stack into it, or set endpoints.tinkerbell.namespace in the lab file to where it is installed"
            )));
        }

        if !problems.is_empty() {
            return Err(report("the Tinkerbell stack", problems));
        }
        let mut outputs = Outputs::new();
        outputs.insert("crds".to_owned(), json!(params.crds));
        outputs.insert("controllers".to_owned(), json!(controllers));
        Ok(outputs)
    }
}

impl genesis_engine::Action for TinkerbellStack {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: StackParams = params(step)?;
            let outputs = self.check(&params).await?;
            Ok(PlanOutcome::NoChange {
                summary: format!(
                    "{} CRDs established; controllers available in {}: {}",
                    params.crds.len(),
                    params.namespace,
                    list(outputs.get("controllers"))
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
            let params: StackParams = params(step)?;
            context.set_substate(format!(
                "checking the Tinkerbell CRDs and controllers in {}",
                params.namespace
            ));
            self.check(&params).await
        })
    }
}

fn list(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// argocd.present

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgocdParams {
    namespace: String,
}

const ARGOCD_SERVER: &str = "argocd-server";
const ARGOCD_CONTROLLER: &str = "argocd-application-controller";

/// `argocd.present`: the standard Argo CD install is running — the namespace exists, the
/// `argocd-server` Deployment is available and the `argocd-application-controller` StatefulSet
/// has a ready replica.
#[derive(Debug)]
pub struct ArgocdPresent {
    client: Arc<LazyClient>,
}

impl ArgocdPresent {
    pub fn new(client: Arc<LazyClient>) -> Self {
        Self { client }
    }

    async fn check(&self, params: &ArgocdParams) -> Result<Outputs, ActionError> {
        let cluster = self.client.target().cluster.clone();
        let client = connect(&self.client).await?;
        let namespace = &params.namespace;
        if !namespace_exists(&client, namespace, &cluster).await? {
            return Err(ActionError::new(
                ErrorKind::NotFound,
                format!(
                    "namespace {namespace} does not exist: install Argo CD into it, or set endpoints.argocd.namespace in the lab file to where it is installed"
                ),
            ));
        }
        let mut problems = Vec::new();
        let server = Api::<Deployment>::namespaced(client.clone(), namespace)
            .get_opt(ARGOCD_SERVER)
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("cannot read Deployment {namespace}/{ARGOCD_SERVER}"),
                )
            })?;
        let server_available = match &server {
            None => {
                problems.push(Problem::missing(format!(
                    "Deployment {ARGOCD_SERVER} not found in {namespace}: install Argo CD (the standard install manifest or Helm chart creates it)"
                )));
                0
            }
            Some(deployment) => {
                let available = available_replicas(deployment);
                if available < 1 {
                    problems.push(Problem::missing(format!(
                        "Deployment {ARGOCD_SERVER} in {namespace} has no available replica: kubectl -n {namespace} describe deploy {ARGOCD_SERVER}"
                    )));
                }
                available
            }
        };
        let controller = Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .get_opt(ARGOCD_CONTROLLER)
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("cannot read StatefulSet {namespace}/{ARGOCD_CONTROLLER}"),
                )
            })?;
        let controller_ready = match &controller {
            None => {
                problems.push(Problem::missing(format!(
                    "StatefulSet {ARGOCD_CONTROLLER} not found in {namespace}: install Argo CD (the standard install manifest or Helm chart creates it)"
                )));
                0
            }
            Some(statefulset) => {
                let ready = statefulset
                    .status
                    .as_ref()
                    .and_then(|status| status.ready_replicas)
                    .unwrap_or(0);
                if ready < 1 {
                    problems.push(Problem::missing(format!(
                        "StatefulSet {ARGOCD_CONTROLLER} in {namespace} has no ready replica: kubectl -n {namespace} describe sts {ARGOCD_CONTROLLER}"
                    )));
                }
                ready
            }
        };
        if !problems.is_empty() {
            return Err(report("Argo CD", problems));
        }
        let mut outputs = Outputs::new();
        outputs.insert("server_available".to_owned(), json!(server_available));
        outputs.insert("controller_ready".to_owned(), json!(controller_ready));
        Ok(outputs)
    }
}

impl genesis_engine::Action for ArgocdPresent {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: ArgocdParams = params(step)?;
            self.check(&params).await?;
            Ok(PlanOutcome::NoChange {
                summary: format!(
                    "Argo CD runs in {}: {ARGOCD_SERVER} available, {ARGOCD_CONTROLLER} ready",
                    params.namespace
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
            let params: ArgocdParams = params(step)?;
            context.set_substate(format!("checking Argo CD in {}", params.namespace));
            self.check(&params).await
        })
    }
}

// ---------------------------------------------------------------------------------------------
// http.artifacts

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArtifactsParams {
    base_url: String,
    artifacts: Vec<ArtifactParam>,
    /// `endpoints.pxe.ca_file`: CA certificates (PEM) trusted besides the system's.
    #[serde(default)]
    ca_file: Option<String>,
    /// The lab's `vm_images`: Harvester downloads each `url` in phase 4.
    #[serde(default)]
    vm_images: Vec<VmImageParam>,
}

/// One `vm_images` entry of the lab, as far as preflight needs it (its other fields are the
/// VirtualMachineImage's and are ignored here).
#[derive(Debug, Deserialize)]
struct VmImageParam {
    name: String,
    url: String,
}

impl ArtifactsParams {
    /// Every download the install and the VMs will make: the artifacts below `base_url` (what
    /// the install Template streams) and each VM image's URL, with what the lab expects of it.
    fn downloads(&self) -> Vec<(String, ArtifactParam)> {
        let base = self.base_url.trim_end_matches('/');
        let artifacts = self.artifacts.iter().map(|artifact| {
            (
                format!("{base}/{}", artifact.file.trim_start_matches('/')),
                ArtifactParam {
                    role: artifact.role.clone(),
                    file: artifact.file.clone(),
                    size: artifact.size,
                    sha256: artifact.sha256.clone(),
                },
            )
        });
        let images = self.vm_images.iter().map(|image| {
            (
                image.url.clone(),
                ArtifactParam {
                    role: format!("VM image {}", image.name),
                    file: image
                        .url
                        .rsplit('/')
                        .next()
                        .unwrap_or(&image.url)
                        .to_owned(),
                    size: None,
                    sha256: None,
                },
            )
        });
        artifacts.chain(images).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArtifactParam {
    role: String,
    file: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    sha256: Option<String>,
}

/// What one artifact turned out to be.
struct Found {
    size: Option<u64>,
    sha256: Option<String>,
}

/// `http.artifacts`: every PXE artifact answers 200 at `<base_url>/<file>`, with the expected
/// size and SHA-256 when the lab file gives them. TLS certificates are verified.
///
/// The HTTP client is built per check (cheap next to the downloads), so that a TLS set-up
/// failure is a step error rather than a failure to start genesis.
#[derive(Debug, Default)]
pub struct HttpArtifacts;

/// How long to wait for a connection, and for any single read of a response.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

impl HttpArtifacts {
    /// A client with rustls on the `ring` provider and the platform's certificate verifier (the
    /// same crypto the Kubernetes client uses; no aws-lc C build). On Linux the verifier trusts
    /// the system's CA store, which `SSL_CERT_FILE` / `SSL_CERT_DIR` replace when set; a
    /// `ca_file` adds its CAs to whichever store that is.
    fn client(ca_file: Option<&str>) -> Result<reqwest::Client, ActionError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls_error = |error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                "cannot set up TLS certificate verification for the artifact server",
                error,
            )
        };
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?;
        let tls = match ca_file {
            None => {
                use rustls_platform_verifier::BuilderVerifierExt;
                builder.with_platform_verifier().map_err(tls_error)?
            }
            Some(path) => {
                let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
                    read_ca_file(path)?,
                    provider,
                )
                .map_err(tls_error)?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
            }
        }
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("genesis/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                ActionError::with_source(
                    ErrorKind::InvalidParams,
                    "cannot build the HTTP client",
                    error,
                )
            })?;
        Ok(client)
    }

    async fn check(&self, params: &ArtifactsParams, hash: bool) -> Result<Outputs, ActionError> {
        let client = &Self::client(params.ca_file.as_deref())?;
        let downloads = params.downloads();
        let checks = downloads.iter().map(|(url, artifact)| async move {
            let result = check_one(client, url, artifact, hash).await;
            (url, artifact, result)
        });
        let results = futures::future::join_all(checks).await;
        let mut problems = Vec::new();
        let mut found = Vec::new();
        let mut images = Vec::new();
        for (index, (url, artifact, result)) in results.into_iter().enumerate() {
            match result {
                Ok(seen) => {
                    let seen = json!({
                        "role": artifact.role,
                        "url": url,
                        "size": seen.size,
                        "sha256": seen.sha256,
                    });
                    // The artifacts first, in their order, then the VM images.
                    if index < params.artifacts.len() {
                        found.push(seen);
                    } else {
                        images.push(seen);
                    }
                }
                Err(problem) => problems.push(problem),
            }
        }
        if !problems.is_empty() {
            return Err(report("the install's and the VMs' downloads", problems));
        }
        let mut outputs = Outputs::new();
        outputs.insert("artifacts".to_owned(), Value::Array(found));
        outputs.insert("vm_images".to_owned(), Value::Array(images));
        Ok(outputs)
    }
}

async fn check_one(
    client: &reqwest::Client,
    url: &str,
    artifact: &ArtifactParam,
    hash: bool,
) -> Result<Found, Problem> {
    let role = &artifact.role;
    let file = &artifact.file;
    let mut response = client
        .head(url)
        .send()
        .await
        .map_err(|error| transport(url, role, &error))?;
    let head_refused = matches!(
        response.status(),
        reqwest::StatusCode::METHOD_NOT_ALLOWED | reqwest::StatusCode::NOT_IMPLEMENTED
    );
    if head_refused {
        // The server refuses HEAD: ask with GET and read the headers (and the body only if it
        // is to be hashed or counted, below).
        response = client
            .get(url)
            .send()
            .await
            .map_err(|error| transport(url, role, &error))?;
    }
    status_ok(url, role, file, response.status())?;
    // From the header: on a HEAD response the body is empty, whatever its length says.
    let length = response
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let (Some(expected), Some(actual)) = (artifact.size, length)
        && expected != actual
    {
        return Err(Problem::missing(format!(
            "{url} ({role}) is {actual} bytes, the lab file expects {expected}: serve the right file, or fix endpoints.pxe.artifacts size for {file}"
        )));
    }
    let must_count = artifact.size.is_some() && length.is_none();
    // The plan only asks for headers: without Content-Length, the size is checked by the run.
    if !hash || !(artifact.sha256.is_some() || must_count) {
        return Ok(Found {
            size: length,
            sha256: None,
        });
    }

    // Stream the body: count it and hash it, chunk by chunk.
    if !head_refused {
        response = client
            .get(url)
            .send()
            .await
            .map_err(|error| transport(url, role, &error))?;
        status_ok(url, role, file, response.status())?;
    }
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut total: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport(url, role, &error))?
    {
        digest.update(&chunk);
        total = total.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
    }
    if let Some(expected) = artifact.size
        && expected != total
    {
        return Err(Problem::missing(format!(
            "{url} ({role}) is {total} bytes, the lab file expects {expected}: serve the right file, or fix endpoints.pxe.artifacts size for {file}"
        )));
    }
    let actual = hex(digest.finish().as_ref());
    if let Some(expected) = &artifact.sha256
        && !expected.trim().eq_ignore_ascii_case(&actual)
    {
        return Err(Problem::missing(format!(
            "{file} ({role}) at {url} has SHA-256 {actual}, the lab file expects {}: serve the right file, or fix endpoints.pxe.artifacts sha256 for {file}",
            expected.trim()
        )));
    }
    Ok(Found {
        size: Some(total),
        sha256: Some(actual),
    })
}

fn status_ok(
    url: &str,
    role: &str,
    file: &str,
    status: reqwest::StatusCode,
) -> Result<(), Problem> {
    if status == reqwest::StatusCode::OK {
        return Ok(());
    }
    let kind = if status.is_server_error() {
        ErrorKind::Unreachable
    } else if status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
    {
        ErrorKind::PermissionDenied
    } else {
        ErrorKind::NotFound
    };
    let hint = if status == reqwest::StatusCode::NOT_FOUND && role.starts_with("VM image") {
        format!("serve {file} at that URL, or fix its `url` in the lab file's vm_images")
    } else if status == reqwest::StatusCode::NOT_FOUND {
        format!(
            "put {file} in the directory the server serves for endpoints.pxe.base_url, or fix the file name in the lab file"
        )
    } else {
        "the artifact server must answer 200 for it".to_owned()
    };
    Err(Problem {
        kind,
        message: format!("{url} ({role}) answered {status}: {hint}"),
    })
}

/// The CA certificates of `endpoints.pxe.ca_file`.
fn read_ca_file(
    path: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ActionError> {
    use rustls::pki_types::pem::PemObject as _;
    let problem = |what: String| {
        ActionError::new(
            ErrorKind::InvalidParams,
            format!(
                "endpoints.pxe.ca_file `{path}`: {what}; it must be a PEM file of the CA certificates that signed the artifact server's certificate"
            ),
        )
    };
    let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|error| problem(format!("cannot read it ({error})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| problem(format!("not valid PEM ({error})")))?;
    if certificates.is_empty() {
        return Err(problem("no CERTIFICATE block in it".to_owned()));
    }
    Ok(certificates)
}

/// The certificate problem behind a failed request, if that is what it was.
fn certificate_problem(error: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        // rustls errors travel inside io::Errors, whose `source` skips the error they carry.
        let inner = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map_or(cause, |inner| inner as &(dyn std::error::Error + 'static));
        if let Some(rustls::Error::InvalidCertificate(problem)) =
            inner.downcast_ref::<rustls::Error>()
        {
            return Some(format!("{problem:?}"));
        }
        // Some layers box the error on the way (its type is then out of reach): rustls's own
        // wording of an invalid certificate.
        if let Some(problem) = cause.to_string().strip_prefix("invalid peer certificate: ") {
            return Some(problem.to_owned());
        }
        source = cause.source();
    }
    None
}

/// A request that did not get an answer: worth retrying. An untrusted certificate is not: it
/// says what to trust instead.
fn transport(url: &str, role: &str, error: &reqwest::Error) -> Problem {
    if let Some(problem) = certificate_problem(error) {
        return Problem {
            kind: ErrorKind::PermissionDenied,
            message: format!(
                "{url} ({role}): the server's TLS certificate is not trusted ({problem}). If it comes from a private CA, name that CA's PEM file as endpoints.pxe.ca_file in the lab file (trusted in addition to the system's CAs), or add the CA to the system trust store (SSL_CERT_FILE / SSL_CERT_DIR replace that store when set)"
            ),
        };
    }
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let mut message = format!(
        "{url} ({role}): the request {what}: is the PXE artifact server up and endpoints.pxe.base_url right?"
    );
    // The underlying cause (connection refused, certificate not trusted), one line.
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(&format!(" ({cause})"));
        source = cause.source();
    }
    Problem {
        kind: ErrorKind::Unreachable,
        message,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

impl genesis_engine::Action for HttpArtifacts {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: ArtifactsParams = params(step)?;
            self.check(&params, false).await?;
            let hashed = params
                .artifacts
                .iter()
                .filter(|artifact| artifact.sha256.is_some())
                .count();
            let mut summary = format!(
                "{} artifacts answer 200 at {}",
                params.artifacts.len(),
                params.base_url
            );
            if !params.vm_images.is_empty() {
                summary.push_str(&format!(
                    "; {} VM images answer 200",
                    params.vm_images.len()
                ));
            }
            if hashed > 0 {
                summary.push_str(&format!(
                    "; {hashed} SHA-256 checksums are checked when the step runs"
                ));
            }
            Ok(PlanOutcome::NoChange { summary })
        })
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let params: ArtifactsParams = params(step)?;
            context.set_substate(format!(
                "fetching {} artifacts from {} and {} VM images",
                params.artifacts.len(),
                params.base_url,
                params.vm_images.len()
            ));
            self.check(&params, true).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: ErrorKind, message: &str) -> Problem {
        Problem {
            kind,
            message: message.to_owned(),
        }
    }

    #[test]
    fn one_permanent_problem_makes_the_report_permanent() {
        let error = report(
            "the PXE artifacts",
            vec![
                problem(ErrorKind::Unreachable, "a: could not connect"),
                problem(ErrorKind::NotFound, "b: 404"),
            ],
        );
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert_eq!(
            error.to_string(),
            "2 problems with the PXE artifacts:\n  - a: could not connect\n  - b: 404"
        );
    }

    #[test]
    fn only_transient_problems_are_retried() {
        let error = report("x", vec![problem(ErrorKind::Unreachable, "refused")]);
        assert_eq!(error.kind(), ErrorKind::Unreachable);
        assert_eq!(error.to_string(), "refused");
    }

    #[test]
    fn digests_are_lower_case_hex() {
        let digest = ring::digest::digest(&ring::digest::SHA256, b"");
        assert_eq!(
            hex(digest.as_ref()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn server_errors_are_transient_and_404_is_not() {
        let not_found = status_ok("u", "iso", "f", reqwest::StatusCode::NOT_FOUND)
            .err()
            .map(|problem| problem.kind);
        assert_eq!(not_found, Some(ErrorKind::NotFound));
        let busy = status_ok("u", "iso", "f", reqwest::StatusCode::SERVICE_UNAVAILABLE)
            .err()
            .map(|problem| problem.kind);
        assert_eq!(busy, Some(ErrorKind::Unreachable));
        assert!(status_ok("u", "iso", "f", reqwest::StatusCode::OK).is_ok());
    }
}
