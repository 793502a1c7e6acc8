//! `argocd.cluster-secret` (step 12): Harvester registered with Argo CD through its
//! declarative cluster Secret (UPSTREAM-APIS §5.1), minted from the Harvester kubeconfig, then
//! proven: a request to the cluster made with exactly the Secret's config, as read back.
//!
//! When an Argo CD API token (`argocd.api_token`) and `endpoints.argocd.api_url` are
//! configured, Argo CD's own view is read too (`info.connectionState.status`). With no
//! Application on the cluster that status stays `Unknown` (Argo CD only monitors clusters
//! that have applications), so it is reported, never waited for.

mod proof;
mod rotation;
pub(crate) use proof::reach_with_config;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use genesis_engine::{
    ActionError, Checked, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext,
    StepSpec,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Preconditions};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target, display};
use crate::actions::harvester::{
    ApiStep, kubeconfig_from_needs, no_kubeconfig, params, register_secrets,
};
use crate::actions::support::secret_resource;
use crate::clients::kube::apply::{self, Change, Object};
use crate::clients::kube::{LazyClient, classify};
use crate::secrets::Secrets;

/// The secrets-file entry holding an Argo CD API token (optional).
pub const API_TOKEN_SECRET: &str = "argocd.api_token";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterSecretParams {
    namespace: String,
    cluster_name: String,
    /// The Secret's name; absent: `cluster_name`.
    #[serde(default)]
    secret_name: Option<String>,
    /// Labels besides the two genesis sets (ApplicationSets select clusters by them).
    #[serde(default)]
    labels: BTreeMap<String, String>,
    server: String,
}

/// A cluster Secret under the former name (`cluster-<cluster_name>`).
struct FormerSecret {
    name: String,
    /// Made by genesis: labelled managed-by genesis and secret-type cluster.
    ours: bool,
    /// Its `server`.
    server: Option<String>,
    uid: Option<String>,
}

/// The label that makes a Secret a cluster for Argo CD (UPSTREAM-APIS §5.1).
const SECRET_TYPE: &str = "argocd.argoproj.io/secret-type";
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

impl ClusterSecretParams {
    fn name(&self) -> &str {
        self.secret_name.as_deref().unwrap_or(&self.cluster_name)
    }

    /// The name genesis gave the Secret before the name was a lab setting, when it differs.
    fn former_name(&self) -> Option<String> {
        let former = format!("cluster-{}", self.cluster_name);
        (former != self.name()).then_some(former)
    }

    fn check(&self) -> Result<(), ActionError> {
        let invalid = |message: String| ActionError::new(ErrorKind::InvalidParams, message);
        if !crate::inputs::lab::is_dns_subdomain(self.name()) {
            return Err(invalid(format!(
                "`{}` is not a valid Secret name: set endpoints.argocd.secret_name to lower-case letters, digits, `-` and `.`",
                self.name()
            )));
        }
        for (key, value) in &self.labels {
            if key == SECRET_TYPE || key == MANAGED_BY {
                return Err(invalid(format!(
                    "endpoints.argocd.labels sets `{key}`, which genesis sets itself: remove it"
                )));
            }
            if let Some(problem) = crate::inputs::lab::label_problem(key, value) {
                return Err(invalid(format!("endpoints.argocd.labels: {problem}")));
            }
        }
        Ok(())
    }
}

/// The `argocd.cluster-secret` action.
#[derive(Debug)]
pub struct ArgocdClusterSecret {
    platform: Arc<LazyClient>,
    secrets: Secrets,
    api_url: Option<String>,
    api_step: ApiStep,
}

/// The TLS credentials of the kubeconfig's current context: base64 of each PEM.
#[derive(Debug, Clone)]
struct TlsData {
    ca: String,
    cert: String,
    key: String,
}

/// Reads the `*-data` values of the current context of a kubeconfig.
fn tls_data(path: &Path) -> Result<TlsData, ActionError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ActionError::with_source(ErrorKind::NotFound, format!("cannot read {shown}"), error)
    })?;
    let kubeconfig: Value = serde_saphyr::from_str(&text).map_err(|error| {
        ActionError::new(
            ErrorKind::InvalidParams,
            format!("{shown} is not a kubeconfig: {error}"),
        )
    })?;
    // This run may not be the one that fetched it: scrub its credentials here too.
    register_secrets(&kubeconfig);
    let named = |list: &str, name: Option<&str>, field: &str| -> Option<Value> {
        let items = kubeconfig.get(list)?.as_array()?;
        let item = match name {
            Some(name) => items
                .iter()
                .find(|item| item.get("name").and_then(Value::as_str) == Some(name))?,
            None => items.first()?,
        };
        item.get(field).cloned()
    };
    let current = kubeconfig.get("current-context").and_then(Value::as_str);
    let context = named("contexts", current, "context");
    let cluster_name = context
        .as_ref()
        .and_then(|context| context.get("cluster"))
        .and_then(Value::as_str);
    let user_name = context
        .as_ref()
        .and_then(|context| context.get("user"))
        .and_then(Value::as_str);
    let cluster = named("clusters", cluster_name, "cluster").unwrap_or(Value::Null);
    let user = named("users", user_name, "user").unwrap_or(Value::Null);
    let field = |value: &Value, key: &str| -> Result<String, ActionError> {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(|data| data.trim().to_owned())
            .filter(|data| !data.is_empty())
            .ok_or_else(|| {
                ActionError::new(
                    ErrorKind::InvalidParams,
                    format!("{shown} has no `{key}` in its current context; Argo CD needs the certificate data inline"),
                )
            })
    };
    Ok(TlsData {
        ca: field(&cluster, "certificate-authority-data")?,
        cert: field(&user, "client-certificate-data")?,
        key: field(&user, "client-key-data")?,
    })
}

fn encode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

impl ArgocdClusterSecret {
    pub fn new(platform: Arc<LazyClient>, secrets: Secrets, api_url: Option<String>) -> Self {
        Self {
            platform,
            secrets,
            api_url,
            api_step: ApiStep::default(),
        }
    }

    /// Naming the graph's `harvester.api` step in messages.
    pub(crate) fn naming(mut self, api_step: ApiStep) -> Self {
        self.api_step = api_step;
        self
    }

    fn secret_name(params: &ClusterSecretParams) -> String {
        params.name().to_owned()
    }

    /// A Secret under the name an earlier genesis gave the registration, if one is there.
    async fn former_secret(
        client: &kube::Client,
        params: &ClusterSecretParams,
    ) -> Result<Option<FormerSecret>, ActionError> {
        let Some(former) = params.former_name() else {
            return Ok(None);
        };
        let secret = Api::<Secret>::namespaced(client.clone(), &params.namespace)
            .get_opt(&former)
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("cannot read Secret {}/{former}", params.namespace),
                )
            })?;
        Ok(secret.map(|secret| {
            let labels = secret.metadata.labels.clone().unwrap_or_default();
            let ours = labels.get(MANAGED_BY).map(String::as_str) == Some("genesis")
                && labels.get(SECRET_TYPE).map(String::as_str) == Some("cluster");
            let server = secret
                .data
                .as_ref()
                .and_then(|data| data.get("server"))
                .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned());
            FormerSecret {
                name: former,
                ours,
                server,
                uid: secret.metadata.uid.clone(),
            }
        }))
    }

    /// What happens to a former registration: genesis's own for the same server is removed
    /// (two Secrets for one server would be two registrations); anything else is only named.
    /// Whether it is removed, and the line that says so.
    fn former_line(params: &ClusterSecretParams, former: &FormerSecret) -> (bool, String) {
        let shown = format!("Secret {}/{}", params.namespace, former.name);
        if former.ours && former.server.as_deref() == Some(params.server.as_str()) {
            (
                true,
                format!(
                    "{shown}: delete (an earlier genesis registered {} under that name; {} replaces it)",
                    params.server,
                    params.name()
                ),
            )
        } else {
            (
                false,
                format!(
                    "warning: {shown} is also an Argo CD cluster Secret, left as it is (genesis did not make it for {}); if it registers the same cluster, delete it: kubectl -n {} delete secret {}",
                    params.server, params.namespace, former.name
                ),
            )
        }
    }

    /// The declarative cluster Secret, per UPSTREAM-APIS §5.1.
    /// The cluster Secret; its config holds the credentials, so the plan says per key whether
    /// it changes, never a value.
    fn secret(params: &ClusterSecretParams, tls: &TlsData) -> Object {
        Object::namespaced(
            secret_resource(),
            &params.namespace,
            &Self::secret_name(params),
            Self::secret_body(params, tls),
            "Secret",
        )
        .hiding(&["/data", "/stringData"])
    }

    fn secret_body(params: &ClusterSecretParams, tls: &TlsData) -> Value {
        let config = json!({
            "tlsClientConfig": {
                "insecure": false,
                "caData": tls.ca,
                "certData": tls.cert,
                "keyData": tls.key,
            },
        });
        let config = encode(&config.to_string());
        // The Secret's `config` carries the client key, base64 once more.
        genesis_engine::register_runtime_secrets([config.as_str()]);
        let mut labels = params.labels.clone();
        labels.insert(SECRET_TYPE.to_owned(), "cluster".to_owned());
        labels.insert(MANAGED_BY.to_owned(), "genesis".to_owned());
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": Self::secret_name(params),
                "namespace": params.namespace,
                "labels": labels,
            },
            "type": "Opaque",
            "data": {
                "name": encode(&params.cluster_name),
                "server": encode(&params.server),
                "config": config,
            },
        })
    }
}

impl genesis_engine::Action for ArgocdClusterSecret {
    /// Every `genesis up` reads the Secret (one GET): credentials that are no longer the kept
    /// kubeconfig's, or that expire within 30 days, mint it again ([`rotation`]).
    fn verify_every_run(&self) -> bool {
        true
    }

    fn verify<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Checked<'a> {
        Box::pin(self.check(step, context))
    }

    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: ClusterSecretParams = params(step)?;
            params.check()?;
            let Some(kubeconfig) =
                kubeconfig_from_needs(context.needs.values().map(|outputs| outputs.as_ref()))
            else {
                return Ok(PlanOutcome::DependsOnEarlier {
                    what: format!("the Harvester kubeconfig that {} fetches", self.api_step),
                });
            };
            let tls = match tls_data(&kubeconfig) {
                Ok(tls) => tls,
                Err(error) => {
                    return Ok(PlanOutcome::CannotPreview {
                        why: format!("{error}; {} writes it again", self.api_step),
                    });
                }
            };
            let client = self.platform.for_step().await?;
            let secret = Self::secret(&params, &tls);
            let outcome = apply::plan_objects(&client, &[secret]).await?;
            let Some(former) = Self::former_secret(&client, &params).await? else {
                return Ok(outcome);
            };
            let (remove, line) = Self::former_line(&params, &former);
            Ok(match outcome {
                genesis_engine::PlanOutcome::WillChange { summary, diff } => {
                    genesis_engine::PlanOutcome::WillChange {
                        summary: format!("{summary}; {line}"),
                        diff,
                    }
                }
                genesis_engine::PlanOutcome::NoChange { summary } if remove => {
                    genesis_engine::PlanOutcome::WillChange {
                        summary: format!("{summary}; {line}"),
                        diff: None,
                    }
                }
                genesis_engine::PlanOutcome::NoChange { summary } => {
                    genesis_engine::PlanOutcome::NoChange {
                        summary: format!("{summary}; {line}"),
                    }
                }
                other => other,
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: ClusterSecretParams = params(step)?;
            params.check()?;
            let kubeconfig =
                kubeconfig_from_needs(context.needs().values().map(|outputs| outputs.as_ref()))
                    .ok_or_else(|| no_kubeconfig(step, &self.api_step))?;
            let tls = tls_data(&kubeconfig)?;
            let client = self.platform.for_step().await?;
            let name = Self::secret_name(&params);
            let renewal = self.renewal_note(&client, &params, &tls, context).await?;
            let secret = Self::secret(&params, &tls);
            let change = match secret.preview(&client).await?.change {
                Change::Create => "created",
                Change::Update => "updated",
                Change::Unchanged => "unchanged",
            };
            secret.apply(&client, context).await?;
            context.set_substate(format!(
                "Secret {}/{name} {change}; proving its credentials against {}",
                params.namespace, params.server
            ));
            let proof = self.prove(&client, &params).await?;
            let mut former_note = None;
            if let Some(found) = Self::former_secret(&client, &params).await? {
                let (remove, line) = Self::former_line(&params, &found);
                let former = &found.name;
                if remove {
                    context
                        .intent(format!(
                            "delete Secret {}/{former} (superseded by {name})",
                            params.namespace
                        ))
                        .await?;
                    // Only the object that was read: not one made again under that name since.
                    let delete = DeleteParams {
                        preconditions: Some(Preconditions {
                            uid: found.uid.clone(),
                            resource_version: None,
                        }),
                        ..DeleteParams::default()
                    };
                    match Api::<Secret>::namespaced(client.clone(), &params.namespace)
                        .delete(former, &delete)
                        .await
                    {
                        Ok(_) => {}
                        Err(kube::Error::Api(status)) if status.code == 404 => {}
                        Err(error) => {
                            return Err(classify(
                                error,
                                format!(
                                    "cannot delete the superseded Secret {}/{former}",
                                    params.namespace
                                ),
                            ));
                        }
                    }
                    former_note = Some(format!(
                        "deleted Secret {}/{former}, the earlier registration of the same server",
                        params.namespace
                    ));
                } else {
                    context.output(genesis_engine::events::Stream::Stderr, line.clone());
                    former_note = Some(line);
                }
            }
            context.set_substate(format!("asking Argo CD about {}", params.server));
            let argocd = self.argocd_view(&params.server).await?;
            let mut outputs = Outputs::new();
            outputs.insert(
                "secret".to_owned(),
                format!("{}/{name}", params.namespace).into(),
            );
            outputs.insert("server".to_owned(), params.server.clone().into());
            outputs.insert("change".to_owned(), change.into());
            outputs.insert("proof".to_owned(), proof.into());
            outputs.insert("argocd".to_owned(), argocd.into());
            if let Some(note) = former_note {
                outputs.insert("former".to_owned(), note.into());
            }
            outputs.insert("certificate".to_owned(), renewal.into());
            Ok(outputs)
        })
    }
}

/// `argocd.cluster-secret`: registers Harvester with Argo CD.
pub(crate) const KIND: Definition = Definition {
    name: "argocd.cluster-secret",
    summary: "the Argo CD cluster Secret for Harvester, and proof that its credentials work",
    target: Target::Platform,
    preview: Preview::DependsOnEarlier,
    effects: &[],
    owns: Some(crate::actions::owned::cluster_secret),
    params: ParamType::of::<ClusterSecretParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("cluster_name", NameRule::ArgocdCluster),
    ],
    describe: |p| {
        let server = p.text("server");
        let name =
            p.0.get("secret_name")
                .and_then(Value::as_str)
                .map_or_else(|| p.text("cluster_name"), str::to_owned);
        let mut labels = vec!["argocd.argoproj.io/secret-type=cluster".to_owned()];
        if let Some(extra) = p.0.get("labels").and_then(Value::as_object) {
            labels.extend(
                extra
                    .iter()
                    .map(|(key, value)| format!("{key}={}", display(value))),
            );
        }
        vec![
            format!(
                "apply Secret {}/{name}: labels {}, server {server}, TLS client credentials from the Harvester kubeconfig (never shown)",
                p.text("namespace"),
                labels.join(", ")
            ),
            format!(
                "prove the credentials: an authenticated request to {server} with exactly the Secret's config"
            ),
        ]
    },
    build: Build::Remote(|clusters| {
        Arc::new(
            ArgocdClusterSecret::new(
                Arc::clone(&clusters.platform),
                clusters.secrets.clone(),
                clusters
                    .lab
                    .endpoints
                    .argocd
                    .api_url
                    .as_ref()
                    .map(|url| url.value.clone()),
            )
            .naming(clusters.api_step.clone()),
        )
    }),
};
