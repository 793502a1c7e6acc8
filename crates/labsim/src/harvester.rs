//! Harvester: an installed machine reboots into Harvester. The first node
//! creates the cluster (its Node registers, its rke2 kubeconfig appears on
//! disk); the others join. Once `management_nodes` nodes are Ready, the
//! promote controller turns the agents into control-plane nodes one at a time
//! (harvester pkg/controller/master/node/promote_controller.go).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::util::now_rfc3339;
use crate::{Error, Fault, Shared};

pub const PROMOTE_STATUS: &str = "harvesterhci.io/promote-status";
pub const CONTROL_PLANE: &str = "node-role.kubernetes.io/control-plane";
pub const ETCD: &str = "node-role.kubernetes.io/etcd";
pub const MASTER: &str = "node-role.kubernetes.io/master";
pub const MANAGEMENT: &str = "node-role.harvesterhci.io/management";
/// Where rke2 writes the admin kubeconfig on a server node.
pub const RKE2_KUBECONFIG: &str = "/etc/rancher/rke2/rke2.yaml";

/// The promote controller's view of the cluster.
#[derive(Debug, Default)]
pub struct Nodes {
    /// The node that created the cluster.
    pub first: Option<String>,
    /// Ready nodes, in the order they became Ready.
    pub ready: Vec<String>,
    /// Nodes promoted or being promoted.
    pub promoting: Vec<String>,
}

/// A machine finished its install workflow: play Harvester's first boot.
pub async fn installed(shared: &Arc<Shared>, node: String) -> Result<(), Error> {
    if shared.has_fault(|f| matches!(f, Fault::NodeNeverComesUp { node: n } if *n == node)) {
        shared.record(
            "harvester",
            "node.never_comes_up",
            &node,
            "injected fault: the node does not boot",
        );
        // Until the faults are lifted (a rehearsal's `--resume`): then it boots after all.
        shared.faults_lifted().await;
        shared.record("harvester", "node.mended", &node, "the fault was lifted");
    }
    // The node's Harvester configuration says whether it creates the cluster or joins it: a
    // join install may finish first, as join installs run alongside the first one.
    let mode = install_mode(shared, &node).await;
    let first = {
        let mut nodes = shared.harvester_nodes.lock().await;
        // Installed again (`genesis up --reinstall`): a fresh machine, which joins as an agent
        // and is promoted again if the cluster is short of management nodes.
        if nodes.ready.contains(&node) || nodes.promoting.contains(&node) {
            nodes.ready.retain(|ready| *ready != node);
            nodes.promoting.retain(|promoting| *promoting != node);
            shared.record("harvester", "node.reinstalled", &node, "joins again");
        }
        match mode.as_deref() {
            Some("create") => nodes.first.get_or_insert_with(|| node.clone()) == &node,
            Some(_) => false,
            // A hand-made Hardware without a configuration: the first to finish creates.
            None => nodes.first.get_or_insert_with(|| node.clone()) == &node,
        }
    };
    if first {
        let writer = shared.clone();
        let writer_node = node.clone();
        shared.spawn(async move {
            tokio::time::sleep(writer.scenario.scaled(writer.scenario.harvester.kubeconfig)).await;
            // RKE2 issues its serving certificate before it writes the kubeconfig.
            crate::util::log_error(
                "issue the RKE2 serving certificate",
                crate::rke2_cert::issue_for_first_node(&writer, &writer_node).await,
            );
            crate::util::log_error(
                "write rke2 kubeconfig",
                write_kubeconfig(&writer, &writer_node).await,
            );
            // The first node's API answers at the VIP: the joining nodes' first boot can go on.
            writer.cluster_up.send_replace(Some(writer_node));
        });
    } else {
        // A joining node's first boot waits for the cluster at the VIP: rancherd fetches
        // `/cacerts` and the agent install script from `server_url` and retries every 15 s until
        // they answer (rancher/rancherd pkg/rancherd/rancher.go `Run`, pkg/join/join.go), so a
        // join install may finish before the first node's cluster exists (docs/actions.md, "Why
        // the join installs start with the first one"). `node_register` then counts from the
        // moment the first node's API answers.
        let mut cluster = shared.cluster_up.subscribe();
        let _ = cluster.wait_for(|up| up.is_some()).await;
        shared.record(
            "harvester",
            "node.join_waited",
            &node,
            "the first node's API answers at the VIP",
        );
    }
    tokio::time::sleep(
        shared
            .scenario
            .scaled(shared.scenario.harvester.node_register),
    )
    .await;
    let nodes: Api<Node> = Api::all(shared.world.harvester.clone());
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), node.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), "amd64".to_string()),
        ("harvesterhci.io/managed".to_string(), "true".to_string()),
    ]);
    if first {
        // The cluster-init node is an rke2 server from the start.
        for role in [CONTROL_PLANE, ETCD, MASTER, MANAGEMENT] {
            labels.insert(role.to_string(), "true".to_string());
        }
    }
    let object = Node {
        metadata: ObjectMeta {
            name: Some(node.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Node::default()
    };
    match retry_transient!(nodes.create(&PostParams::default(), &object)) {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(source) => {
            return Err(Error::Kube {
                context: format!("create harvester node {node}"),
                source,
            });
        }
    }
    shared.record(
        "harvester",
        "node.registered",
        &node,
        if first { "cluster-init" } else { "join" },
    );
    tokio::time::sleep(shared.scenario.scaled(shared.scenario.harvester.node_ready)).await;
    set_node_ready(&nodes, &node).await?;
    shared.record("harvester", "node.ready", &node, "");
    shared.harvester_nodes.lock().await.ready.push(node);
    promote_if_due(shared).await;
    Ok(())
}

/// `install.mode` (`create`, `join`) of the Harvester configuration in the node's Hardware
/// `userData`, if there is one.
async fn install_mode(shared: &Shared, node: &str) -> Option<String> {
    let hardware: Api<DynamicObject> =
        Api::all_with(shared.world.platform.clone(), &crate::resources::hardware());
    let list = retry_transient!(hardware.list(&ListParams::default())).ok()?;
    let user_data = list
        .items
        .iter()
        .find(|item| item.metadata.name.as_deref() == Some(node))?
        .data
        .pointer("/spec/userData")?
        .as_str()?
        .to_owned();
    let config: serde_json::Value = serde_saphyr::from_str(&user_data).ok()?;
    config
        .pointer("/install/mode")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Sets `Ready=True` (with heartbeat) and basic node info on a Node.
pub async fn set_node_ready(nodes: &Api<Node>, node: &str) -> Result<(), Error> {
    set_node_readiness(nodes, node, true).await
}

/// Sets the Node's `Ready` condition as its kubelet would post it: `True` (`KubeletReady`) or
/// `False` (`KubeletNotReady`, as the kubelet reports a node whose runtime or network is not
/// ready).
pub async fn set_node_readiness(nodes: &Api<Node>, node: &str, ready: bool) -> Result<(), Error> {
    let now = now_rfc3339();
    let (status, reason, message) = if ready {
        ("True", "KubeletReady", "kubelet is posting ready status")
    } else {
        (
            "False",
            "KubeletNotReady",
            "container runtime network not ready (simulated)",
        )
    };
    let status = json!({ "status": {
        "conditions": [{
            "type": "Ready", "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now, "lastTransitionTime": now,
        }],
        "addresses": [{ "type": "Hostname", "address": node }],
    }});
    retry_transient!(nodes.patch_status(node, &PatchParams::default(), &Patch::Merge(&status)))
        .map(|_| ())
        .map_err(|source| Error::Kube {
            context: format!("set node {node} Ready={ready}"),
            source,
        })
}

async fn write_kubeconfig(shared: &Shared, node: &str) -> Result<(), Error> {
    let Some(root) = &shared.world.node_files.first_node_root else {
        shared.record(
            "harvester",
            "node.kubeconfig",
            node,
            "no node filesystem configured; not written",
        );
        return Ok(());
    };
    let path = root.join(RKE2_KUBECONFIG.trim_start_matches('/'));
    write_private(
        &path,
        &shared.world.harvester_kubeconfig,
        shared.world.node_files.owner.as_deref(),
    )
    .await?;
    shared.record("harvester", "node.kubeconfig", node, RKE2_KUBECONFIG);
    Ok(())
}

/// Writes a 0600 file, then gives it (and its directory) to `owner`.
pub(crate) async fn write_private(
    path: &Path,
    contents: &str,
    owner: Option<&str>,
) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| Error::NodeFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    // Write then rename, so a reader never sees half a file.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, contents).map_err(io)?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    if let Some(owner) = owner {
        let status = tokio::process::Command::new("chown")
            .arg(format!("{owner}:"))
            .arg(&partial)
            .status()
            .await
            .map_err(io)?;
        if !status.success() {
            return Err(Error::Invalid(format!(
                "chown {owner} {} failed",
                partial.display()
            )));
        }
    }
    std::fs::rename(&partial, path).map_err(io)
}

/// Harvester promotes agents once it has enough Ready nodes, one at a time; a promotion left
/// `running` (hung) or `unknown` holds up the ones after it (promote_controller.go waits until
/// that status is cleared).
async fn promote_if_due(shared: &Arc<Shared>) {
    let wanted = shared.scenario.harvester.management_nodes;
    let candidates: Vec<String> = {
        let mut nodes = shared.harvester_nodes.lock().await;
        if nodes.ready.len() < wanted {
            return;
        }
        let first = nodes.first.clone();
        let mut candidates = Vec::new();
        for node in nodes.ready.clone() {
            let managers = 1 + nodes.promoting.len();
            if Some(&node) == first.as_ref()
                || nodes.promoting.contains(&node)
                || managers >= wanted
            {
                continue;
            }
            nodes.promoting.push(node.clone());
            candidates.push(node);
        }
        candidates
    };
    if candidates.is_empty() {
        return;
    }
    let promoter = shared.clone();
    shared.spawn(async move {
        for node in candidates {
            match promote(&promoter, &node).await {
                Ok(true) => {}
                // Harvester promotes no other node while this one is `running` or `unknown`.
                Ok(false) => break,
                Err(error) => {
                    crate::util::log_error("promote node", Err(error));
                    break;
                }
            }
        }
    });
}

/// One promotion; `false` when it did not complete (a fault left it hung or `unknown`).
async fn promote(shared: &Shared, node: &str) -> Result<bool, Error> {
    let nodes: Api<Node> = Api::all(shared.world.harvester.clone());
    let patch = |labels: serde_json::Value, status: &str| json!({ "metadata": { "labels": labels, "annotations": { PROMOTE_STATUS: status } } });
    let apply = |body: serde_json::Value| {
        let nodes = nodes.clone();
        async move {
            retry_transient!(nodes.patch(node, &PatchParams::default(), &Patch::Merge(&body)))
                .map(|_| ())
                .map_err(|source| Error::Kube {
                    context: format!("promote node {node}"),
                    source,
                })
        }
    };
    apply(patch(json!({}), "running")).await?;
    shared.record("harvester", "node.promote", node, "running");
    if shared.has_fault(|f| matches!(f, Fault::PromotionHangs { node: n } if n == node)) {
        // The promote Job has no deadline: the status stays `running`, and Harvester promotes
        // no other node meanwhile.
        shared.record(
            "harvester",
            "node.promote_hangs",
            node,
            "injected fault: the promote job never ends",
        );
        return Ok(false);
    }
    tokio::time::sleep(shared.scenario.scaled(shared.scenario.harvester.promote)).await;
    if shared.has_fault(|f| matches!(f, Fault::PromotionUnknown { node: n } if n == node)) {
        // OnJobRemove: a promote Job deleted while running leaves the status `unknown`.
        apply(patch(json!({}), "unknown")).await?;
        shared.record(
            "harvester",
            "node.promote",
            node,
            "unknown (injected fault: the promote job was deleted)",
        );
        return Ok(false);
    }
    let roles = json!({ CONTROL_PLANE: "true", ETCD: "true", MASTER: "true", MANAGEMENT: "true" });
    apply(patch(roles, "complete")).await?;
    shared.record("harvester", "node.promote", node, "complete");
    Ok(true)
}
