//! `kube.reachable`: the cluster's API answers with the configured credentials and says it is
//! ready. Read-only, so its plan half runs the same checks.

use std::sync::Arc;

use genesis_engine::{
    ActionError, BoxFuture, ErrorKind, Outputs, PlanContext, PlanOutcome, RunContext, StepSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

use crate::clients::kube::LazyClient;

/// The `kube.reachable` action for one cluster.
#[derive(Debug)]
pub struct Reachable {
    client: Arc<LazyClient>,
}

impl Reachable {
    pub fn new(client: Arc<LazyClient>) -> Self {
        Self { client }
    }

    /// Version, `/readyz` and a namespace list: what every later step relies on.
    async fn check(&self) -> Result<Outputs, ActionError> {
        let target = self.client.target();
        let cluster = &target.cluster;
        let client = self.client.get().await.map_err(|error| {
            ActionError::with_source(
                ErrorKind::NotFound,
                format!(
                    "no usable kubeconfig for the {cluster} cluster; check --kubeconfig/KUBECONFIG and that context `{}` exists (`kubectl config get-contexts`)",
                    target.context.as_deref().unwrap_or("(current)")
                ),
                error,
            )
        })?;
        let version = client.apiserver_version().await.map_err(|error| {
            classify(
                error,
                format!("the {cluster} API server did not answer; is the cluster up and the kubeconfig's server address right?"),
            )
        })?;
        let request = crate::actions::support::readyz_request()?;
        let ready = client.request_text(request).await.map_err(|error| {
            classify(
                error,
                format!("the {cluster} API server is not ready (/readyz)"),
            )
        })?;
        if ready.trim() != "ok" {
            return Err(ActionError::new(
                ErrorKind::Unreachable,
                format!(
                    "the {cluster} API server is not ready: /readyz said `{}`",
                    ready.trim()
                ),
            ));
        }
        Api::<Namespace>::all(client)
            .list(&ListParams::default().limit(1))
            .await
            .map_err(|error| {
                classify(
                    error,
                    format!("the {cluster} credentials cannot list namespaces; genesis needs cluster-admin on this cluster"),
                )
            })?;
        let mut outputs = Outputs::new();
        outputs.insert(
            "server_version".to_owned(),
            version.git_version.clone().into(),
        );
        Ok(outputs)
    }
}

/// The one place that maps Kubernetes client errors onto the engine's error kinds.
pub fn classify(error: kube::Error, message: String) -> ActionError {
    let kind = match &error {
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => {
            ErrorKind::PermissionDenied
        }
        kube::Error::Api(status) if status.code == 404 => ErrorKind::NotFound,
        kube::Error::Api(status) if status.code == 409 => ErrorKind::Conflict,
        kube::Error::Api(status) if status.code == 400 || status.code == 422 => {
            ErrorKind::InvalidParams
        }
        kube::Error::Api(_) => ErrorKind::Unreachable,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::HttpError(_) => {
            ErrorKind::Unreachable
        }
        _ => ErrorKind::Unreachable,
    };
    ActionError::with_source(kind, message, error)
}

impl genesis_engine::Action for Reachable {
    fn plan<'a>(
        &'a self,
        _step: &'a StepSpec,
        _context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let outputs = self.check().await?;
            let version = outputs
                .get("server_version")
                .and_then(|value| value.as_str())
                .unwrap_or("?");
            Ok(PlanOutcome::NoChange {
                summary: format!(
                    "the {} API answers (Kubernetes {version}) and is ready",
                    self.client.target().cluster
                ),
            })
        })
    }

    fn run<'a>(
        &'a self,
        _step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            context.set_substate(format!(
                "asking the {} API server",
                self.client.target().cluster
            ));
            self.check().await
        })
    }
}
