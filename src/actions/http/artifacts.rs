//! `http.artifacts` (phase 2): the install's disk image and the VM images answer over
//! HTTP(S) with the expected size and checksum. Read-only: the plan half checks that each
//! answers without downloading it; the run downloads and hashes.

use std::sync::Arc;
use std::time::Duration;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target, display};
use crate::actions::checks::{Problem, report};
use crate::actions::support::params;

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
        response = get(client, url, role).await?;
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
        response = get(client, url, role).await?;
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
/// `GET url`, its transport failure said as a problem of the artifact.
async fn get(
    client: &reqwest::Client,
    url: &str,
    role: &str,
) -> Result<reqwest::Response, Problem> {
    client
        .get(url)
        .send()
        .await
        .map_err(|error| transport(url, role, &error))
}

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
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
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

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
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

/// `http.artifacts`: the artifacts answer over HTTP(S).
pub(crate) const KIND: Definition = Definition {
    name: "http.artifacts",
    summary: "the install's disk image and the VM images answer over HTTP(S) with the expected size and checksum",
    target: Target::Http,
    preview: Preview::Check,
    effects: &[],
    owns: None,
    params: ParamType::of::<ArtifactsParams>(),
    names: &[],
    describe: |p| {
        let base = p.text("base_url");
        let artifacts = p.0.get("artifacts").and_then(Value::as_array);
        let vm_images = p.0.get("vm_images").and_then(Value::as_array);
        let images = vm_images.into_iter().flatten().map(|image| {
            format!(
                "fetch {} (VM image {}): expect 200",
                image.get("url").map(display).unwrap_or_default(),
                image.get("name").map(display).unwrap_or_default()
            )
        });
        artifacts
            .into_iter()
            .flatten()
            .map(|artifact| {
                let file = artifact.get("file").map(display).unwrap_or_default();
                let mut line = format!("fetch {}/{file}: expect 200", base.trim_end_matches('/'));
                if let Some(size) = artifact.get("size").filter(|size| !size.is_null()) {
                    line.push_str(&format!(", {size} bytes"));
                }
                if artifact.get("sha256").is_some_and(|sum| !sum.is_null()) {
                    line.push_str(", matching SHA-256");
                }
                line
            })
            .chain(images)
            .collect()
    },
    build: Build::Remote(|_| Arc::new(HttpArtifacts)),
};

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
