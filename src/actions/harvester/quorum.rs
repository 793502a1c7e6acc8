//! `harvester.quorum` (step 11): a watch on the Harvester Nodes until enough of them are Ready
//! control-plane nodes, every one but the cluster-init node promoted by Harvester
//! (`harvesterhci.io/promote-status: complete`). A failed promotion stops the step: genesis
//! never repairs etcd.

use std::collections::BTreeMap;

use futures::StreamExt;
use genesis_engine::{
    ActionError, BoxFuture, ErrorKind, Outputs, PlanContext, PlanOutcome, RunContext, StepSpec,
};
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use serde::Deserialize;

use crate::actions::platform::node_joined::ready_condition;

use super::{OperatorContext, harvester_client, kubeconfig_from_needs, no_kubeconfig, params};

pub const CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
pub const PROMOTE_STATUS: &str = "harvesterhci.io/promote-status";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuorumParams {
    nodes: usize,
}

/// The `harvester.quorum` action.
#[derive(Debug, Default)]
pub struct HarvesterQuorum {
    operator: OperatorContext,
}

impl HarvesterQuorum {
    /// With `--harvester-context`, the Nodes are watched through the operator's context.
    pub fn new(operator: OperatorContext) -> Self {
        Self { operator }
    }

    /// The client: the operator's context when given, else step 9's kubeconfig (`None` when
    /// there is none), and how it was reached, for output.
    async fn client(
        &self,
        kubeconfig: Option<&std::path::Path>,
    ) -> Result<Option<(kube::Client, String)>, ActionError> {
        if let Some(client) = self.operator.client().await {
            let how = self.operator.describe().unwrap_or_default();
            return client.map(|client| Some((client, how)));
        }
        match kubeconfig {
            Some(path) => {
                let client = harvester_client(path.to_owned()).await?;
                Ok(Some((
                    client,
                    format!("the kubeconfig step 9 fetched ({})", path.display()),
                )))
            }
            None => Ok(None),
        }
    }
}

/// Where one Node stands.
#[derive(Debug, PartialEq, Eq)]
enum NodeState {
    Member,
    Waiting(String),
    PromoteFailed,
}

fn node_state(node: &Node, cluster_init: Option<&str>) -> NodeState {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let annotations = node.metadata.annotations.clone().unwrap_or_default();
    let promote = annotations.get(PROMOTE_STATUS).map(String::as_str);
    if promote == Some("failed") {
        return NodeState::PromoteFailed;
    }
    let ready = ready_condition(node).map(|condition| condition.status.as_str());
    if ready != Some("True") {
        return NodeState::Waiting("NotReady".to_owned());
    }
    let control_plane = node
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(CONTROL_PLANE))
        .map(String::as_str)
        == Some("true");
    let is_init = cluster_init == Some(name);
    if !is_init && promote != Some("complete") {
        return NodeState::Waiting(match promote {
            Some(status) => format!("promotion {status}"),
            None => "not promoted yet".to_owned(),
        });
    }
    if !control_plane {
        return NodeState::Waiting("no control-plane role yet".to_owned());
    }
    NodeState::Member
}

/// Whether the quorum stands; otherwise the sub-state to show.
fn assess(
    nodes: &BTreeMap<String, Node>,
    wanted: usize,
    cluster_init: Option<&str>,
) -> Result<Result<Vec<String>, String>, ActionError> {
    let mut members = Vec::new();
    let mut waiting = Vec::new();
    let mut ready = 0;
    for (name, node) in nodes {
        match node_state(node, cluster_init) {
            NodeState::PromoteFailed => {
                return Err(ActionError::new(
                    ErrorKind::Conflict,
                    format!(
                        "Harvester failed to promote node {name} to the control plane ({PROMOTE_STATUS}=failed). \
                         genesis never repairs etcd: look at the promote job in namespace harvester-system \
                         (`kubectl -n harvester-system get jobs | grep promote`) and the node's rke2-server logs, \
                         fix or reinstall the node, then run `genesis up --from quorum`"
                    ),
                ));
            }
            NodeState::Member => {
                ready += 1;
                members.push(name.clone());
            }
            NodeState::Waiting(reason) => {
                if reason != "NotReady" {
                    ready += 1;
                }
                waiting.push(format!("{name} {reason}"));
            }
        }
    }
    if members.len() >= wanted {
        return Ok(Ok(members));
    }
    let mut note = format!(
        "{ready}/{wanted} nodes Ready, {}/{wanted} control-plane members",
        members.len()
    );
    if !waiting.is_empty() {
        note.push_str(": ");
        note.push_str(&waiting.join(", "));
    }
    let missing = wanted.saturating_sub(nodes.len());
    if missing > 0 {
        note.push_str(&format!("; {missing} not registered yet"));
    }
    Ok(Err(note))
}

impl genesis_engine::Action for HarvesterQuorum {
    fn plan<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a PlanContext,
    ) -> BoxFuture<'a, Result<PlanOutcome, ActionError>> {
        Box::pin(async move {
            let params: QuorumParams = params(step)?;
            let kubeconfig =
                kubeconfig_from_needs(context.needs.values().map(|outputs| outputs.as_ref()));
            let Some((client, how)) = self.client(kubeconfig.as_deref()).await? else {
                return Ok(PlanOutcome::DependsOnEarlier {
                    what: "the Harvester kubeconfig that step 9 fetches".to_owned(),
                });
            };
            let list = Api::<Node>::all(client)
                .list(&Default::default())
                .await
                .map_err(|error| {
                    crate::actions::platform::reachable::classify(
                        error,
                        "cannot list the Harvester Nodes".to_owned(),
                    )
                })?;
            let cluster_init = context
                .needs
                .values()
                .find_map(|outputs| outputs.get("first_node").and_then(|v| v.as_str()));
            let nodes: BTreeMap<String, Node> = list
                .items
                .into_iter()
                .filter_map(|node| node.metadata.name.clone().map(|name| (name, node)))
                .collect();
            Ok(match assess(&nodes, params.nodes, cluster_init)? {
                Ok(members) => PlanOutcome::NoChange {
                    summary: format!("quorum holds: {} (through {how})", members.join(", ")),
                },
                Err(note) => PlanOutcome::WillChange {
                    summary: format!("wait for the quorum ({note}; through {how})"),
                    diff: None,
                },
            })
        })
    }

    fn run<'a>(
        &'a self,
        step: &'a StepSpec,
        context: &'a RunContext,
    ) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let params: QuorumParams = params(step)?;
            let kubeconfig =
                kubeconfig_from_needs(context.needs().values().map(|outputs| outputs.as_ref()));
            let cluster_init = context
                .needs()
                .values()
                .find_map(|outputs| outputs.get("first_node").and_then(|v| v.as_str()))
                .map(str::to_owned);
            let (client, how) = self
                .client(kubeconfig.as_deref())
                .await?
                .ok_or_else(|| no_kubeconfig(step))?;
            if self.operator.is_set() {
                let line = format!("reaching Harvester through {how}, not step 9's kubeconfig");
                context.set_substate(line.clone());
                context.output(genesis_engine::events::Stream::Stderr, line);
            }
            let api = Api::<Node>::all(client);
            let what = format!(
                "{} Harvester nodes to be Ready control-plane members",
                params.nodes
            );
            let members = context
                .wait(&what, None, async {
                    let mut stream =
                        std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
                    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
                    let mut listing: Option<BTreeMap<String, Node>> = None;
                    while let Some(event) = stream.next().await {
                        match event {
                            Ok(Event::Init) => listing = Some(BTreeMap::new()),
                            Ok(Event::InitApply(node)) => {
                                if let (Some(list), Some(name)) =
                                    (listing.as_mut(), node.metadata.name.clone())
                                {
                                    list.insert(name, node);
                                }
                                continue;
                            }
                            Ok(Event::InitDone) => nodes = listing.take().unwrap_or_default(),
                            Ok(Event::Apply(node)) => {
                                if let Some(name) = node.metadata.name.clone() {
                                    nodes.insert(name, node);
                                }
                            }
                            Ok(Event::Delete(node)) => {
                                if let Some(name) = &node.metadata.name {
                                    nodes.remove(name);
                                }
                            }
                            Err(error) => {
                                context.set_substate(format!(
                                    "watch interrupted ({error}); reconnecting"
                                ));
                                continue;
                            }
                        }
                        if listing.is_some() {
                            continue;
                        }
                        match assess(&nodes, params.nodes, cluster_init.as_deref())? {
                            Ok(members) => return Ok(members),
                            Err(note) => context.set_substate(note),
                        }
                    }
                    Err(ActionError::new(
                        ErrorKind::Unreachable,
                        "the watch on the Harvester Nodes ended",
                    ))
                })
                .await?;
            let mut outputs = Outputs::new();
            // Passed on for step 12, which mints Argo CD's credentials from it.
            if let Some(kubeconfig) = &kubeconfig {
                outputs.insert(
                    "kubeconfig".to_owned(),
                    kubeconfig.display().to_string().into(),
                );
            }
            outputs.insert("harvester_access".to_owned(), how.into());
            outputs.insert("nodes".to_owned(), members.into());
            Ok(outputs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};

    fn node(name: &str, ready: bool, control_plane: bool, promote: Option<&str>) -> Node {
        let mut node = Node::default();
        node.metadata.name = Some(name.to_owned());
        if control_plane {
            node.metadata.labels = Some([(CONTROL_PLANE.to_owned(), "true".to_owned())].into());
        }
        if let Some(status) = promote {
            node.metadata.annotations =
                Some([(PROMOTE_STATUS.to_owned(), status.to_owned())].into());
        }
        node.status = Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".to_owned(),
                status: if ready { "True" } else { "False" }.to_owned(),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        });
        node
    }

    fn map(nodes: Vec<Node>) -> BTreeMap<String, Node> {
        nodes
            .into_iter()
            .map(|node| (node.metadata.name.clone().unwrap_or_default(), node))
            .collect()
    }

    #[test]
    fn quorum_needs_ready_promoted_control_plane_nodes() {
        let waiting = map(vec![
            node("ms-02-1", true, true, None),
            node("ms-02-2", true, true, Some("complete")),
            node("ms-02-3", false, false, None),
        ]);
        let note = assess(&waiting, 3, Some("ms-02-1"))
            .expect("no failure")
            .expect_err("not yet");
        assert_eq!(
            note,
            "2/3 nodes Ready, 2/3 control-plane members: ms-02-3 NotReady"
        );
        let promoting = map(vec![
            node("ms-02-1", true, true, None),
            node("ms-02-2", true, true, Some("complete")),
            node("ms-02-3", true, false, Some("running")),
        ]);
        let note = assess(&promoting, 3, Some("ms-02-1"))
            .expect("no failure")
            .expect_err("not yet");
        assert!(note.contains("ms-02-3 promotion running"), "{note}");
        let done = map(vec![
            node("ms-02-1", true, true, None),
            node("ms-02-2", true, true, Some("complete")),
            node("ms-02-3", true, true, Some("complete")),
        ]);
        assert_eq!(
            assess(&done, 3, Some("ms-02-1"))
                .expect("no failure")
                .expect("quorum"),
            vec!["ms-02-1", "ms-02-2", "ms-02-3"]
        );
        // Without promotion, a node other than the cluster-init one is not a member.
        assert!(
            assess(&done, 3, Some("ms-02-2"))
                .expect("no failure")
                .is_err()
        );
    }

    #[test]
    fn a_failed_promotion_is_permanent() {
        let failed = map(vec![
            node("ms-02-1", true, true, None),
            node("ms-02-2", true, false, Some("failed")),
        ]);
        let error = assess(&failed, 3, Some("ms-02-1")).expect_err("failed promotion");
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert!(error.to_string().contains("never repairs etcd"));
    }
}
