//! `harvester.quorum` (step 11): a watch on the Harvester Nodes until enough of them are Ready
//! control-plane nodes, every one but the cluster-init node promoted by Harvester
//! (`harvesterhci.io/promote-status: complete`). A failed promotion stops the step: genesis
//! never repairs etcd.
//!
//! Harvester's promote controller (harvester `pkg/controller/master/node/promote_controller.go`)
//! writes `running`, then `complete` or `failed` from the promote Job's outcome, and `unknown`
//! when the Job is deleted while running; it promotes no other node while one is `running`,
//! `failed` or `unknown`. `unknown` therefore stops the step at once, and so does a promotion
//! that makes no progress (the node's promote status, roles and readiness unchanged) for
//! `promotion_stall` (default 20 minutes): the promote Job has no deadline, and the step would
//! otherwise wait out its whole timeout. Both say which node and what to look at.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use kube::runtime::watcher;
use serde::Deserialize;

use super::{
    ApiStep, HarvesterOutputs, OperatorContext, harvester_client_from, no_kubeconfig, params,
};
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::watch::conditions::node_ready;
use crate::actions::watch::{self, Check};
use crate::clients::kube::classify;

pub const CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
pub const PROMOTE_STATUS: &str = "harvesterhci.io/promote-status";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuorumParams {
    nodes: usize,
    /// How long a promotion may go without progress (e.g. `20m`).
    #[serde(default)]
    promotion_stall: Option<String>,
}

/// A promotion that shows no progress for this long is taken as hung.
const DEFAULT_PROMOTION_STALL: Duration = Duration::from_secs(20 * 60);

impl QuorumParams {
    fn stall(&self, step: &StepSpec) -> Result<Duration, ActionError> {
        match &self.promotion_stall {
            None => Ok(DEFAULT_PROMOTION_STALL),
            Some(text) => humantime::parse_duration(text).map_err(|error| {
                ActionError::new(
                    ErrorKind::InvalidParams,
                    format!(
                        "step `{}`: promotion_stall `{text}` is not a duration ({error}); write e.g. 20m",
                        step.id
                    ),
                )
            }),
        }
    }
}

/// What to look at when a promotion goes wrong.
const LOOK_AT: &str = "look at the promote job in namespace harvester-system (`kubectl -n harvester-system get jobs | grep promote`, then its pod's log) and the node's rke2-server logs";

/// The error of a promotion that ended `unknown`.
fn promotion_unknown(node: &str) -> ActionError {
    ActionError::new(
        ErrorKind::Conflict,
        format!(
            "Harvester's promotion of node {node} to the control plane ended `unknown` ({PROMOTE_STATUS}=unknown): its promote job was deleted while it ran, and Harvester promotes no other node until that status is cleared. genesis never repairs etcd: {LOOK_AT}; once the node is sound, remove the annotation (`kubectl annotate node {node} {PROMOTE_STATUS}-`) so that Harvester promotes it again, then run `genesis up --from quorum`"
        ),
    )
}

/// The error of a promotion without progress for `stalled`.
fn promotion_stalled(node: &str, stalled: Duration) -> ActionError {
    ActionError::new(
        ErrorKind::Conflict,
        format!(
            "Harvester's promotion of node {node} to the control plane has made no progress for {} ({PROMOTE_STATUS}=running, roles and readiness unchanged); its promote job has no deadline. {LOOK_AT}; fix the node or delete the job, then run `genesis up --from quorum` (raise `promotion_stall` if promotions are that slow in this lab)",
            humantime::format_duration(stalled)
        ),
    )
}

/// What counts as progress of a node's promotion: its promote status, roles and readiness.
fn progress_marker(node: &Node) -> String {
    let annotations = node.metadata.annotations.clone().unwrap_or_default();
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let roles: Vec<&str> = labels
        .keys()
        .filter(|key| key.starts_with("node-role."))
        .map(String::as_str)
        .collect();
    format!(
        "{:?}|{}|{:?}",
        annotations.get(PROMOTE_STATUS),
        roles.join(","),
        node_ready(node).map(|condition| condition.status.clone())
    )
}

/// Watches running promotions for progress.
#[derive(Debug, Default)]
struct Promotions {
    /// Per node being promoted: its last progress marker and when it was first seen.
    running: BTreeMap<String, (String, tokio::time::Instant)>,
}

impl Promotions {
    /// Notes the nodes' state; returns the earliest time a running promotion becomes stalled.
    fn observe(
        &mut self,
        nodes: &BTreeMap<String, Node>,
        stall: Duration,
        now: tokio::time::Instant,
    ) -> Option<tokio::time::Instant> {
        let mut running = BTreeMap::new();
        for (name, node) in nodes {
            let status = node
                .metadata
                .annotations
                .as_ref()
                .and_then(|annotations| annotations.get(PROMOTE_STATUS));
            if status.map(String::as_str) != Some("running") {
                continue;
            }
            let marker = progress_marker(node);
            let since = match self.running.get(name) {
                Some((seen, since)) if *seen == marker => *since,
                _ => now,
            };
            running.insert(name.clone(), (marker, since));
        }
        self.running = running;
        self.running.values().map(|(_, since)| *since + stall).min()
    }

    /// The first node whose promotion has been stalled for `stall`.
    fn stalled(&self, stall: Duration, now: tokio::time::Instant) -> Option<&str> {
        self.running
            .iter()
            .find(|(_, (_, since))| now.duration_since(*since) >= stall)
            .map(|(name, _)| name.as_str())
    }
}

/// The `harvester.quorum` action.
#[derive(Debug, Default)]
pub struct HarvesterQuorum {
    operator: OperatorContext,
    api_step: ApiStep,
}

impl HarvesterQuorum {
    /// With `--harvester-context`, the Nodes are watched through the operator's context.
    pub fn new(operator: OperatorContext) -> Self {
        Self {
            operator,
            api_step: ApiStep::default(),
        }
    }

    /// Naming the graph's `harvester.api` step in messages.
    pub(crate) fn naming(mut self, api_step: ApiStep) -> Self {
        self.api_step = api_step;
        self
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
                let client = harvester_client_from(path.to_owned(), &self.api_step).await?;
                Ok(Some((
                    client,
                    format!(
                        "the kubeconfig {} fetched ({})",
                        self.api_step,
                        path.display()
                    ),
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
    PromoteUnknown,
}

fn node_state(node: &Node, cluster_init: Option<&str>) -> NodeState {
    let name = node.metadata.name.as_deref().unwrap_or_default();
    let annotations = node.metadata.annotations.clone().unwrap_or_default();
    let promote = annotations.get(PROMOTE_STATUS).map(String::as_str);
    match promote {
        Some("failed") => return NodeState::PromoteFailed,
        Some("unknown") => return NodeState::PromoteUnknown,
        _ => {}
    }
    let ready = node_ready(node).map(|condition| condition.status.as_str());
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
pub(crate) fn assess(
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
                         genesis never repairs etcd: {LOOK_AT}, \
                         fix or reinstall the node, then run `genesis up --from quorum`"
                    ),
                ));
            }
            NodeState::PromoteUnknown => return Err(promotion_unknown(name)),
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
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: QuorumParams = params(step)?;
            let from_api = HarvesterOutputs::from_needs(
                context.needs.values().map(|outputs| outputs.as_ref()),
            );
            let kubeconfig = from_api.kubeconfig.clone();
            let Some((client, how)) = self.client(kubeconfig.as_deref()).await? else {
                return Ok(PlanOutcome::DependsOnEarlier {
                    what: format!("the Harvester kubeconfig that {} fetches", self.api_step),
                });
            };
            let list = Api::<Node>::all(client)
                .list(&Default::default())
                .await
                .map_err(|error| classify(error, "cannot list the Harvester Nodes".to_owned()))?;
            let cluster_init = from_api.first_node.as_deref();
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

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: QuorumParams = params(step)?;
            let stall = params.stall(step)?;
            let from_api = HarvesterOutputs::from_needs(
                context.needs().values().map(|outputs| outputs.as_ref()),
            );
            let (kubeconfig, cluster_init) = (from_api.kubeconfig, from_api.first_node);
            let (client, how) = self
                .client(kubeconfig.as_deref())
                .await?
                .ok_or_else(|| no_kubeconfig(step, &self.api_step))?;
            if self.operator.is_set() {
                let line = format!(
                    "reaching Harvester through {how}, not the kubeconfig {} fetched",
                    self.api_step
                );
                context.set_substate(line.clone());
                context.output(genesis_engine::events::Stream::Stderr, line);
            }
            let api = Api::<Node>::all(client);
            let what = format!(
                "{} Harvester nodes to be Ready control-plane members",
                params.nodes
            );
            // The quorum is a condition on the set of Nodes; a running promotion is also
            // checked against the clock, so the check asks to be run again when it would stall.
            let mut promotions = Promotions::default();
            let members = context
                .wait(
                    &what,
                    None,
                    watch::until_all(api, watcher::Config::default(), context, |nodes| {
                        let now = tokio::time::Instant::now();
                        let note = match assess(nodes, params.nodes, cluster_init.as_deref())? {
                            Ok(members) => return Ok(Check::Done(members)),
                            Err(note) => note,
                        };
                        let stalls_at = promotions.observe(nodes, stall, now);
                        if let Some(node) = promotions.stalled(stall, now) {
                            return Err(promotion_stalled(node, stall));
                        }
                        Ok(match stalls_at {
                            Some(at) => Check::WaitingUntil(note, at),
                            None => Check::Waiting(note),
                        })
                    }),
                )
                .await?;
            let mut outputs = Outputs::new();
            // Passed on for step 12, which mints Argo CD's credentials from it.
            HarvesterOutputs {
                kubeconfig,
                first_node: None,
            }
            .write(&mut outputs);
            outputs.insert("harvester_access".to_owned(), how.into());
            outputs.insert("nodes".to_owned(), members.into());
            Ok(outputs)
        })
    }
}

/// `harvester.quorum`: the control-plane quorum stands.
pub(crate) const KIND: Definition = Definition {
    name: "harvester.quorum",
    summary: "Harvester nodes Ready and promoted to a control-plane quorum",
    target: Target::Harvester,
    preview: Preview::Check,
    effects: &[],
    owns: None,
    params: ParamType::of::<QuorumParams>(),
    names: &[],
    describe: |p| {
        vec![format!(
            "watch Harvester Nodes until {} are Ready with the control-plane and etcd roles and promotion complete",
            p.text("nodes")
        )]
    },
    build: Build::Remote(|clusters| {
        Arc::new(HarvesterQuorum::new(clusters.operator.clone()).naming(clusters.api_step.clone()))
    }),
};

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
    fn an_unknown_promotion_stops_the_step_naming_the_node() {
        let unknown = map(vec![
            node("ms-02-1", true, true, None),
            node("ms-02-2", true, false, Some("unknown")),
        ]);
        let error = assess(&unknown, 3, Some("ms-02-1")).expect_err("unknown promotion");
        assert_eq!(error.kind(), ErrorKind::Conflict);
        let message = error.to_string();
        assert!(message.contains("node ms-02-2"), "{message}");
        assert!(
            message.contains("kubectl -n harvester-system get jobs"),
            "{message}"
        );
    }

    #[test]
    fn a_promotion_without_progress_is_stalled_after_the_set_time() {
        let stall = Duration::from_secs(60);
        let start = tokio::time::Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut promotions = Promotions::default();
        let running = map(vec![
            node("ms-02-1", true, true, None),
            node("ms-02-2", true, false, Some("running")),
        ]);
        let deadline = promotions
            .observe(&running, stall, at(0))
            .expect("a running promotion");
        assert_eq!(deadline, at(60));
        assert_eq!(promotions.stalled(stall, at(0)), None);
        // The same state seen again is no progress: the deadline stays.
        assert_eq!(promotions.observe(&running, stall, at(40)), Some(deadline));
        assert_eq!(promotions.stalled(stall, at(70)), Some("ms-02-2"));
        // Progress (the node got its role) starts the clock again.
        let progressed = map(vec![
            node("ms-02-1", true, true, None),
            node("ms-02-2", true, true, Some("running")),
        ]);
        assert_eq!(
            promotions.observe(&progressed, stall, at(70)),
            Some(at(130))
        );
        assert_eq!(promotions.stalled(stall, at(70)), None);
        let done = map(vec![node("ms-02-2", true, true, Some("complete"))]);
        assert_eq!(promotions.observe(&done, stall, at(80)), None);
        let message = promotion_stalled("ms-02-2", stall).to_string();
        assert!(
            message.contains("node ms-02-2") && message.contains("1m"),
            "{message}"
        );
        assert!(
            message.contains("kubectl -n harvester-system get jobs"),
            "{message}"
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
