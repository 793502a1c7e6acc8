//! What the read-only preflight kinds share (`tinkerbell.stack`, `argocd.present`,
//! `http.artifacts`): each collects every problem it finds and reports them together, each
//! saying what is missing and how to fix it. All three only read, so their plan half runs the
//! same checks as their run half and answers `PlanOutcome::NoChange` (except that the plan of
//! `http.artifacts` does not download the artifacts to hash them; the run does).

use genesis_engine::{ActionError, ErrorClass, ErrorKind};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;

use crate::clients::kube::classify;

/// One missing or broken thing, with what kind of failure it is.
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub message: String,
}

impl Problem {
    pub(crate) fn missing(message: String) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            message,
        }
    }
}

/// Every problem as one error. A permanent problem makes the whole error permanent: retrying
/// cannot fix it, whatever else is also wrong.
pub(crate) fn report(what: &str, problems: Vec<Problem>) -> ActionError {
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

pub(crate) async fn namespace_exists(
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

pub(crate) fn available_replicas(deployment: &Deployment) -> i32 {
    deployment
        .status
        .as_ref()
        .and_then(|status| status.available_replicas)
        .unwrap_or(0)
}
