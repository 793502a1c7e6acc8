//! `argocd.cluster-secret`'s proof: the Secret read back and its server reached with exactly
//! its config, and (when the lab names Argo CD's API) Argo CD's own view of the cluster.

use genesis_engine::{ActionError, ErrorKind};
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use super::{API_TOKEN_SECRET, ArgocdClusterSecret, ClusterSecretParams};
use crate::clients::kube::classify;

impl ArgocdClusterSecret {
    /// Reads the Secret back and talks to its server with exactly its config.
    pub(super) async fn prove(
        &self,
        client: &kube::Client,
        params: &ClusterSecretParams,
    ) -> Result<String, ActionError> {
        let name = Self::secret_name(params);
        let secret = Api::<Secret>::namespaced(client.clone(), &params.namespace)
            .get(&name)
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("cannot read back Secret {}/{name}", params.namespace),
                )
            })?;
        let data = secret.data.unwrap_or_default();
        let text = |key: &str| -> Result<String, ActionError> {
            data.get(key)
                .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
                .ok_or_else(|| {
                    ActionError::new(
                        ErrorKind::Conflict,
                        format!(
                            "Secret {}/{name} has no `{key}` after the apply",
                            params.namespace
                        ),
                    )
                })
        };
        let server = text("server")?;
        let config: Value = serde_json::from_str(&text("config")?).map_err(|error| {
            ActionError::with_source(
                ErrorKind::Conflict,
                format!(
                    "the `config` of Secret {}/{name} is not JSON",
                    params.namespace
                ),
                error,
            )
        })?;
        reach_with_config(
            &server,
            &config,
            &format!("Secret {}/{name}", params.namespace),
        )
        .await
    }

    /// Argo CD's own view of the cluster, when its API and a token are configured.
    pub(super) async fn argocd_view(&self, server: &str) -> Result<String, ActionError> {
        let (Some(api_url), Some(token)) = (
            self.api_url.as_deref(),
            self.secrets
                .get(API_TOKEN_SECRET)
                .map(|value| value.expose()),
        ) else {
            return Ok(format!(
                "skipped: reading Argo CD's view needs both endpoints.argocd.api_url in the lab file and `{API_TOKEN_SECRET}` in the secrets file"
            ));
        };
        let uri: http::Uri = api_url.parse().map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                format!("endpoints.argocd.api_url `{api_url}` is not a URL"),
                error,
            )
        })?;
        let mut config = kube::Config::new(uri);
        config.auth_info.token = Some(token.to_owned().into());
        let client = kube::Client::try_from(config).map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                "cannot build the Argo CD API client",
                error,
            )
        })?;
        let id = url::form_urlencoded::byte_serialize(server.as_bytes()).collect::<String>();
        let request = http::Request::get(format!("/api/v1/clusters/{id}"))
            .body(Vec::new())
            .map_err(|error| {
                ActionError::with_source(
                    ErrorKind::InvalidParams,
                    "cannot build the Argo CD request",
                    error,
                )
            })?;
        let text = client.request_text(request).await.map_err(|error| {
            classify(
                error,
                format!("Argo CD at {api_url} did not answer GET /api/v1/clusters/{id}"),
            )
        })?;
        let cluster: Value = serde_json::from_str(&text).map_err(|error| {
            ActionError::with_source(
                ErrorKind::Unreachable,
                format!("Argo CD at {api_url} answered something that is not JSON"),
                error,
            )
        })?;
        let state = &cluster["info"]["connectionState"];
        let status = state["status"].as_str().unwrap_or("(none)");
        let message = state["message"].as_str().unwrap_or_default();
        Ok(match status {
            "Unknown" => format!(
                "Argo CD knows the cluster; connection state Unknown, as expected while no Application targets it ({message})"
            ),
            _ => format!("Argo CD connection state {status} {message}")
                .trim()
                .to_owned(),
        })
    }
}

/// A request to `server` made with exactly an Argo CD cluster `config` (its TLS client
/// config): `GET /version` and a Node list. `what` names the config in messages (`Secret
/// argocd/harvester`). Step 12's proof and `genesis health` both ask this.
pub(crate) async fn reach_with_config(
    server: &str,
    config: &Value,
    what: &str,
) -> Result<String, ActionError> {
    let tls = &config["tlsClientConfig"];
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "argocd", "cluster": {
            "server": server,
            "certificate-authority-data": tls["caData"],
            "insecure-skip-tls-verify": tls["insecure"],
        }}],
        "users": [{"name": "argocd", "user": {
            "client-certificate-data": tls["certData"],
            "client-key-data": tls["keyData"],
        }}],
        "contexts": [{"name": "argocd", "context": {"cluster": "argocd", "user": "argocd"}}],
        "current-context": "argocd",
    });
    let unusable = |error: &dyn std::fmt::Display| {
        ActionError::new(
            ErrorKind::InvalidParams,
            format!("the config of {what} is not usable: {error}"),
        )
    };
    let kubeconfig: Kubeconfig =
        serde_json::from_value(kubeconfig).map_err(|error| unusable(&error))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|error| unusable(&error))?;
    let cluster = kube::Client::try_from(config).map_err(|error| unusable(&error))?;
    let version = cluster.apiserver_version().await.map_err(|error| {
        classify(
            error,
            format!("{server} refused the credentials of {what} (GET /version)"),
        )
    })?;
    let nodes = Api::<Node>::all(cluster)
        .list(&ListParams::default())
        .await
        .map_err(|error| {
            classify(
                error,
                format!(
                    "the credentials of {what} cannot list Nodes on {server}; Argo CD needs cluster-admin there"
                ),
            )
        })?;
    Ok(format!(
        "GET {server}/version and /api/v1/nodes with the Secret's TLS client config: Kubernetes {}, {} nodes",
        version.git_version,
        nodes.items.len()
    ))
}
