//! `tinkerbell.stack` (phase 2): the Tinkerbell and Rufio CRDs are established and their
//! controllers available. Read-only: the plan half runs the same checks.

use std::sync::Arc;

use genesis_engine::{
    ActionError, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::checks::{Problem, available_replicas, namespace_exists, report};
use crate::actions::support::params;
use crate::clients::kube::{LazyClient, classify};

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
        let client = self.client.for_step().await?;
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
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
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

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
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

/// `tinkerbell.stack`: the Tinkerbell stack runs.
pub(crate) const KIND: Definition = Definition {
    name: "tinkerbell.stack",
    summary: "Tinkerbell and Rufio CRDs established and controllers available",
    target: Target::Platform,
    preview: Preview::Check,
    effects: &[],
    owns: None,
    params: ParamType::of::<StackParams>(),
    names: &[("namespace", NameRule::Namespace)],
    describe: |p| {
        vec![
            format!("check CRDs established: {}", p.text("crds")),
            format!(
                "check the Tinkerbell and Rufio controllers are available in `{}`",
                p.text("namespace")
            ),
        ]
    },
    build: Build::Remote(|clusters| Arc::new(TinkerbellStack::new(Arc::clone(&clusters.platform)))),
};
