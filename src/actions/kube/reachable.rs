//! `kube.reachable`: the cluster's API answers with the configured credentials and says it is
//! ready. Read-only, so its plan half runs the same checks.

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};

use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::clients::kube::{LazyClient, classify};

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
        let client = self.client.for_step().await?;
        let version = client.apiserver_version().await.map_err(|error| {
            let foreign = matches!(&error, kube::Error::Api(_));
            let error = classify(
                error,
                format!(
                    "the {cluster} API server at {} did not answer as a Kubernetes API server",
                    target.describe_server()
                ),
            );
            if foreign {
                error
            } else {
                error.with_hint("is the cluster up, and is that its address?")
            }
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

impl genesis_engine::Action for Reachable {
    fn plan<'a>(&'a self, _step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
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

    fn run<'a>(&'a self, _step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            context.set_substate(format!(
                "asking the {} API server",
                self.client.target().cluster
            ));
            self.check().await
        })
    }
}

/// `kube.reachable`: a cluster answers.
pub(crate) const KIND: Definition = Definition {
    name: "kube.reachable",
    summary: "a cluster's API answers and is healthy",
    target: Target::Platform,
    preview: Preview::Check,
    effects: &[],
    owns: None,
    params: ParamType::of::<ReachableParams>(),
    names: &[],
    describe: |p| {
        vec![
            format!(
                "connect to the {} API with kubeconfig context `{}`",
                p.text("cluster"),
                p.text("context")
            ),
            "check /readyz and that the credentials may read namespaces".to_owned(),
        ]
    },
    build: Build::Remote(|clusters| Arc::new(Reachable::new(Arc::clone(&clusters.platform)))),
};

/// The parameters of `kube.reachable`. Its action reaches the cluster through the client it is
/// built with and reads no parameter; the step names the cluster and context for the operator.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ReachableParams {
    cluster: String,
    context: String,
}
