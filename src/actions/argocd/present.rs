//! `argocd.present` (phase 2): Argo CD is installed and running. Read-only: the plan half
//! runs the same checks.

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::Api;
use serde::Deserialize;
use serde_json::json;

use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::checks::{Problem, available_replicas, namespace_exists, report};
use crate::actions::support::params;
use crate::clients::kube::{LazyClient, classify};

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
        let client = self.client.for_step().await?;
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
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
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

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: ArgocdParams = params(step)?;
            context.set_substate(format!("checking Argo CD in {}", params.namespace));
            self.check(&params).await
        })
    }
}

/// `argocd.present`: Argo CD runs.
pub(crate) const KIND: Definition = Definition {
    name: "argocd.present",
    summary: "Argo CD installed and running",
    target: Target::Platform,
    preview: Preview::Check,
    effects: &[],
    owns: None,
    params: ParamType::of::<ArgocdParams>(),
    names: &[("namespace", NameRule::Namespace)],
    describe: |p| {
        vec![format!(
            "check that Deployment argocd-server and StatefulSet argocd-application-controller are available in `{}`",
            p.text("namespace")
        )]
    },
    build: Build::Remote(|clusters| Arc::new(ArgocdPresent::new(Arc::clone(&clusters.platform)))),
};
