//! `kube.node-joined` (step 17): a watch on one Node of a cluster (the Platform cluster for the
//! control-plane VMs) until it exists, is `Ready=True` and carries the role label
//! `node-role.kubernetes.io/<role>`. Talos sets that label with an empty value, rke2 with
//! `true`: its presence is what counts. Read-only, so the plan half checks the same.

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use serde::Deserialize;

use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::harvester::HarvesterAccess;
use crate::actions::support::params;
use crate::actions::watch::conditions::node_ready;
use crate::actions::watch::{self, Check};
use crate::clients::kube::{LazyClient, classify};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoinParams {
    /// `platform` or `harvester`.
    cluster: String,
    node: String,
    role: String,
}

/// What is still missing before `node` counts as joined; empty when it has.
pub(crate) fn missing(node: Option<&Node>, role: &str) -> Vec<String> {
    let Some(node) = node else {
        return vec!["not registered yet".to_owned()];
    };
    let mut missing = Vec::new();
    match node_ready(node) {
        Some(condition) if condition.status == "True" => {}
        Some(condition) => missing.push(match condition.reason.as_deref() {
            Some(reason) if !reason.is_empty() => format!("NotReady ({reason})"),
            _ => "NotReady".to_owned(),
        }),
        None => missing.push("no Ready condition yet".to_owned()),
    }
    let label = format!("node-role.kubernetes.io/{role}");
    let has_role = node
        .metadata
        .labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key(&label));
    if !has_role {
        missing.push(format!("no {role} role label ({label})"));
    }
    missing
}

/// The `kube.node-joined` action.
#[derive(Debug)]
pub struct NodeJoined {
    platform: Arc<LazyClient>,
    harvester: Arc<HarvesterAccess>,
}

impl NodeJoined {
    pub fn new(platform: Arc<LazyClient>, harvester: Arc<HarvesterAccess>) -> Self {
        Self {
            platform,
            harvester,
        }
    }

    fn unknown_cluster(step: &StepSpec, cluster: &str) -> ActionError {
        ActionError::new(
            ErrorKind::InvalidParams,
            format!(
                "step `{}`: unknown cluster `{cluster}` (use `platform` or `harvester`)",
                step.id
            ),
        )
    }
}

impl genesis_engine::Action for NodeJoined {
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: JoinParams = params(step)?;
            let client = match params.cluster.as_str() {
                "platform" => self.platform.for_step().await?,
                "harvester" => match self.harvester.plan_client(&context.needs).await? {
                    Some(client) => client,
                    None => {
                        return Ok(self
                            .harvester
                            .needs_kubeconfig(&format!("watch for node {} to join", params.node)));
                    }
                },
                other => return Err(Self::unknown_cluster(step, other)),
            };
            let node = Api::<Node>::all(client)
                .get_opt(&params.node)
                .await
                .map_err(|error| {
                    classify(
                        error,
                        format!(
                            "cannot read Node {} of the {} cluster",
                            params.node, params.cluster
                        ),
                    )
                })?;
            let missing = missing(node.as_ref(), &params.role);
            Ok(if missing.is_empty() {
                PlanOutcome::NoChange {
                    summary: format!(
                        "{} is a Ready {} node of the {} cluster",
                        params.node, params.role, params.cluster
                    ),
                }
            } else {
                PlanOutcome::WillChange {
                    summary: format!(
                        "wait for {} to join the {} cluster ({}: {})",
                        params.node,
                        params.cluster,
                        params.node,
                        missing.join(", ")
                    ),
                    diff: None,
                }
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: JoinParams = params(step)?;
            let client = match params.cluster.as_str() {
                "platform" => self.platform.for_step().await?,
                "harvester" => self.harvester.client(step, context.needs()).await?,
                other => return Err(Self::unknown_cluster(step, other)),
            };
            let what = format!(
                "{} to join the {} cluster as a Ready {} node",
                params.node, params.cluster, params.role
            );
            context
                .wait(
                    &what,
                    None,
                    watch::until(Api::<Node>::all(client), &params.node, context, |node| {
                        let missing = missing(node, &params.role);
                        Ok(if missing.is_empty() {
                            Check::Done(())
                        } else {
                            Check::Waiting(format!("{}: {}", params.node, missing.join(", ")))
                        })
                    }),
                )
                .await?;
            let mut outputs = Outputs::new();
            outputs.insert("node".to_owned(), params.node.clone().into());
            outputs.insert("cluster".to_owned(), params.cluster.clone().into());
            outputs.insert("role".to_owned(), params.role.clone().into());
            Ok(outputs)
        })
    }
}

/// `kube.node-joined`: a node joined a cluster.
/// The Node the step waits for, on its `cluster` (the Platform cluster for a VM): brought
/// about by the machine or VM, not written by genesis.
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    let cluster = match text(p, "cluster") {
        Some("harvester") => Cluster::Harvester,
        _ => Cluster::Platform,
    };
    text(p, "node")
        .map(|node| vec![OwnedObject::node(cluster, node)])
        .unwrap_or_default()
}

pub(crate) const KIND: Definition = Definition {
    name: "kube.node-joined",
    summary: "a node joined a cluster, Ready, with a role",
    target: Target::Platform,
    preview: Preview::Check,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<JoinParams>(),
    names: &[("node", NameRule::Object)],
    describe: |p| {
        vec![format!(
            "watch {} Nodes until `{}` is Ready with the {} role",
            p.text("cluster"),
            p.text("node"),
            p.text("role")
        )]
    },
    build: Build::Remote(|clusters| {
        Arc::new(NodeJoined::new(
            Arc::clone(&clusters.platform),
            Arc::clone(&clusters.harvester),
        ))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};

    fn node(ready: Option<&str>, label: Option<&str>) -> Node {
        let mut node = Node::default();
        node.metadata.name = Some("cp-2".into());
        if let Some(value) = label {
            node.metadata.labels = Some(
                [(
                    "node-role.kubernetes.io/control-plane".to_owned(),
                    value.to_owned(),
                )]
                .into(),
            );
        }
        node.status = Some(NodeStatus {
            conditions: ready.map(|status| {
                vec![NodeCondition {
                    type_: "Ready".into(),
                    status: status.into(),
                    reason: Some("KubeletNotReady".into()),
                    ..NodeCondition::default()
                }]
            }),
            ..NodeStatus::default()
        });
        node
    }

    #[test]
    fn joined_means_registered_ready_and_labelled() {
        assert_eq!(missing(None, "control-plane"), vec!["not registered yet"]);
        assert_eq!(
            missing(Some(&node(Some("False"), None)), "control-plane"),
            vec![
                "NotReady (KubeletNotReady)".to_owned(),
                "no control-plane role label (node-role.kubernetes.io/control-plane)".to_owned()
            ]
        );
        assert_eq!(
            missing(Some(&node(None, Some(""))), "control-plane"),
            vec!["no Ready condition yet"]
        );
        // Talos's empty label value counts, like rke2's "true".
        assert!(missing(Some(&node(Some("True"), Some(""))), "control-plane").is_empty());
        assert!(missing(Some(&node(Some("True"), Some("true"))), "control-plane").is_empty());
        assert!(!missing(Some(&node(Some("True"), Some("true"))), "etcd").is_empty());
    }

    #[test]
    fn the_node_is_owned_on_the_cluster_it_joins_and_not_written() {
        use crate::actions::owned::Cluster;
        let platform = owns(&serde_json::json!({"cluster": "platform", "node": "cp-2"}));
        assert_eq!(platform[0].cluster, Cluster::Platform);
        assert!(!platform[0].is_written(), "the VM brings its Node about");
        let harvester = owns(&serde_json::json!({"cluster": "harvester", "node": "ms-02-2"}));
        assert_eq!(harvester[0].cluster, Cluster::Harvester);
        assert_eq!(harvester[0].describe(), "Node ms-02-2");
    }
}
