//! `genesis describe`: the objects steps own (each kind's `owns`), read live, as a tree with
//! their state and conditions. Read-only; each cluster reached once under one deadline; a
//! Secret is shown as its key names only.

use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::gather::{bounded, harvester_target, reach};
use super::tree::Tree;
use crate::actions::ClusterOptions;
use crate::actions::owned::{Cluster, OwnedObject, Select};
use crate::clients::kube::CallError;
use crate::inputs::Inputs;

/// One condition as the controller wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One object as found (or not).
#[derive(Debug, Clone, Serialize)]
pub struct ObjectView {
    pub cluster: Cluster,
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's name; `None` for a selector that matched nothing or was not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The label selector it was found by, for the objects a step finds by label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// `present`, `missing` or `not-observed`.
    pub state: &'static str,
    /// Its state in one line (a Workflow's state and actions, a VM's printableStatus, a
    /// Secret's key names); for `not-observed`, why.
    pub summary: String,
    pub conditions: Vec<Condition>,
}

/// One step and its objects.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub id: String,
    pub number: String,
    pub name: String,
    pub kind: String,
    pub objects: Vec<ObjectView>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    /// `genesis.describe/v1`.
    pub schema: &'static str,
    /// What was asked for.
    pub target: String,
    /// `machine` or `step`.
    pub target_kind: &'static str,
    pub steps: Vec<StepView>,
}

impl Description {
    /// The tree: the target, its steps, their objects, each object's conditions.
    pub fn tree(&self) -> Tree {
        let steps = self
            .steps
            .iter()
            .map(|step| {
                let label = format!(
                    "step {} {} ({}): {}",
                    step.number, step.id, step.kind, step.name
                );
                if step.objects.is_empty() {
                    return Tree::leaf(format!("{label}; owns no objects"));
                }
                Tree::with(label, step.objects.iter().map(object_tree).collect())
            })
            .collect();
        Tree::with(format!("{} {}", self.target_kind, self.target), steps)
    }
}

fn object_tree(object: &ObjectView) -> Tree {
    let place = match (&object.namespace, &object.name, &object.selector) {
        (Some(namespace), Some(name), _) => format!("{namespace}/{name}"),
        (None, Some(name), _) => name.clone(),
        (Some(namespace), None, Some(selector)) => format!("{namespace}/({selector})"),
        (None, None, Some(selector)) => format!("({selector})"),
        _ => String::new(),
    };
    let label = format!(
        "{} {place} on {}: {}",
        object.kind,
        object.cluster.label(),
        object.summary
    );
    Tree::with(
        label,
        object
            .conditions
            .iter()
            .map(|condition| {
                let why = [condition.reason.as_deref(), condition.message.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter(|text| !text.is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                Tree::leaf(if why.is_empty() {
                    format!("{}={}", condition.type_, condition.status)
                } else {
                    format!("{}={} ({why})", condition.type_, condition.status)
                })
            })
            .collect(),
    )
}

/// The object's `status.conditions`.
pub fn conditions(object: &Value) -> Vec<Condition> {
    let text = |condition: &Value, key: &str| {
        condition
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|condition| {
            Some(Condition {
                type_: text(condition, "type")?,
                status: text(condition, "status").unwrap_or_default(),
                reason: text(condition, "reason").filter(|text| !text.is_empty()),
                message: text(condition, "message").filter(|text| !text.is_empty()),
            })
        })
        .collect()
}

/// One line on the object's state, by kind; a Secret by its key names only.
pub fn summary(kind: &str, object: &Value, secret: bool) -> String {
    if secret {
        let keys: Vec<&str> = object
            .get("data")
            .and_then(Value::as_object)
            .map(|data| data.keys().map(String::as_str).collect())
            .unwrap_or_default();
        return format!("present; data keys: {}", keys.join(", "));
    }
    let status = &object["status"];
    match kind {
        "Workflow" => {
            let state = status["state"].as_str().unwrap_or("(no state yet)");
            let actions: Vec<String> = status["tasks"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|task| task["actions"].as_array().into_iter().flatten())
                .map(|action| {
                    let name = action["name"].as_str().unwrap_or("?");
                    // The monorepo's `state`, old tink's `status`.
                    let state = action["state"]
                        .as_str()
                        .or_else(|| action["status"].as_str())
                        .unwrap_or("pending");
                    format!("{name} {state}")
                })
                .collect();
            if actions.is_empty() {
                format!("state {state}")
            } else {
                format!("state {state}; actions: {}", actions.join(", "))
            }
        }
        "VirtualMachine" => format!(
            "{}{}",
            status["printableStatus"]
                .as_str()
                .unwrap_or("(no status yet)"),
            if status["ready"].as_bool() == Some(true) {
                ", ready"
            } else {
                ""
            }
        ),
        "Machine" => match status["powerState"].as_str() {
            Some(power) => format!("present; power {power}"),
            None => "present".to_owned(),
        },
        _ => match status["state"]
            .as_str()
            .or_else(|| status["phase"].as_str())
        {
            Some(state) => format!("present; {state}"),
            None => "present".to_owned(),
        },
    }
}

/// The view of a found object.
fn found(owned: &OwnedObject, object: &DynamicObject, selector: Option<String>) -> ObjectView {
    let value = serde_json::to_value(object).unwrap_or(Value::Null);
    let secret = owned.is_secret();
    ObjectView {
        cluster: owned.cluster,
        api_version: owned.resource.api_version.clone(),
        kind: owned.resource.kind.clone(),
        namespace: object.metadata.namespace.clone(),
        name: object.metadata.name.clone(),
        selector,
        state: "present",
        summary: summary(&owned.resource.kind, &value, secret),
        conditions: if secret {
            Vec::new()
        } else {
            conditions(&value)
        },
    }
}

/// The view of an object not found or not read.
fn absent(owned: &OwnedObject, state: &'static str, summary: String) -> ObjectView {
    let (name, selector) = match &owned.select {
        Select::Name(name) => (Some(name.clone()), None),
        Select::Labels(labels) => (None, Some(labels.clone())),
    };
    ObjectView {
        cluster: owned.cluster,
        api_version: owned.resource.api_version.clone(),
        kind: owned.resource.kind.clone(),
        namespace: owned.namespace.clone(),
        name,
        selector,
        state,
        summary,
        conditions: Vec::new(),
    }
}

/// Reads one owned object (or the objects of its selector).
async fn read(
    client: &kube::Client,
    owned: &OwnedObject,
    deadline: Instant,
    timeout: Duration,
) -> Vec<ObjectView> {
    let api: Api<DynamicObject> = match &owned.namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &owned.resource),
        None => Api::all_with(client.clone(), &owned.resource),
    };
    match &owned.select {
        Select::Name(name) => {
            let read = bounded(deadline, timeout, async {
                api.get_opt(name)
                    .await
                    .map_err(|error| CallError::new(&error).to_string())
            })
            .await;
            vec![match read {
                Ok(Some(object)) => found(owned, &object, None),
                Ok(None) => absent(owned, "missing", "not found".to_owned()),
                Err(error) => absent(owned, "not-observed", format!("not read: {error}")),
            }]
        }
        Select::Labels(labels) => {
            let read = bounded(deadline, timeout, async {
                api.list(&ListParams::default().labels(labels))
                    .await
                    .map_err(|error| CallError::new(&error).to_string())
            })
            .await;
            match read {
                Ok(list) if list.items.is_empty() => {
                    vec![absent(owned, "missing", "none found".to_owned())]
                }
                Ok(list) => {
                    let mut items = list.items;
                    items.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
                    items
                        .iter()
                        .map(|object| found(owned, object, Some(labels.clone())))
                        .collect()
                }
                Err(error) => vec![absent(owned, "not-observed", format!("not read: {error}"))],
            }
        }
    }
}

/// Reads the objects of `positions`' steps: each cluster reached once (only if one of its
/// objects is asked for), everything under one deadline.
pub async fn describe(
    inputs: &Inputs,
    options: &ClusterOptions,
    positions: &[usize],
    timeout: Duration,
) -> Vec<StepView> {
    let deadline = Instant::now() + timeout;
    let steps: Vec<(&genesis_engine::StepSpec, Vec<OwnedObject>)> = positions
        .iter()
        .map(|&position| {
            let step = inputs.graph.step(position);
            (step, crate::actions::catalog::owned_objects(step))
        })
        .collect();
    // Each cluster: reached once, then its objects read; both clusters at the same time.
    let objects: Vec<(usize, usize, &OwnedObject)> = steps
        .iter()
        .enumerate()
        .flat_map(|(step, (_, objects))| {
            objects
                .iter()
                .enumerate()
                .map(move |(index, object)| (step, index, object))
        })
        .collect();
    let cluster = |cluster: Cluster| {
        let mine: Vec<(usize, usize, &OwnedObject)> = objects
            .iter()
            .copied()
            .filter(|(_, _, object)| object.cluster == cluster)
            .collect();
        async move {
            if mine.is_empty() {
                return Vec::new();
            }
            let client = match cluster {
                Cluster::Platform => {
                    let target = options.platform_target(&inputs.lab);
                    reach(&target, deadline, timeout)
                        .await
                        .map(|(client, _)| client)
                        .map_err(|error| format!("the Platform cluster is not reachable: {error}"))
                }
                Cluster::Harvester => match harvester_target(inputs, options) {
                    Ok(target) => reach(&target, deadline, timeout)
                        .await
                        .map(|(client, _)| client)
                        .map_err(|error| {
                            format!("the Harvester cluster is not reachable: {error}")
                        }),
                    Err(missing) => Err(missing),
                },
            };
            let client = &client;
            futures::future::join_all(mine.into_iter().map(|(step, index, object)| async move {
                let views = match client {
                    Ok(client) => read(client, object, deadline, timeout).await,
                    Err(why) => vec![absent(object, "not-observed", format!("not read: {why}"))],
                };
                ((step, index), views)
            }))
            .await
        }
    };
    let (platform, harvester) =
        tokio::join!(cluster(Cluster::Platform), cluster(Cluster::Harvester));
    let mut read: std::collections::BTreeMap<(usize, usize), Vec<ObjectView>> =
        platform.into_iter().chain(harvester).collect();
    steps
        .iter()
        .enumerate()
        .map(|(position, (step, objects))| StepView {
            id: step.id.to_string(),
            number: step.number.clone(),
            name: step.name.clone(),
            kind: step.kind.clone(),
            objects: (0..objects.len())
                .flat_map(|index| read.remove(&(position, index)).unwrap_or_default())
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_workflow_says_its_state_and_each_action() {
        let workflow = json!({"status": {"state": "STATE_RUNNING", "tasks": [{"actions": [
            {"name": "stream-image", "state": "SUCCESS"},
            {"name": "configure", "status": "STATE_RUNNING"},
            {"name": "reboot"},
        ]}], "conditions": [{"type": "BootJobComplete", "status": "True", "reason": "Done", "message": ""}]}});
        assert_eq!(
            summary("Workflow", &workflow, false),
            "state STATE_RUNNING; actions: stream-image SUCCESS, configure STATE_RUNNING, reboot pending"
        );
        assert_eq!(
            conditions(&workflow),
            [Condition {
                type_: "BootJobComplete".into(),
                status: "True".into(),
                reason: Some("Done".into()),
                message: None,
            }]
        );
    }

    #[test]
    fn a_secret_shows_key_names_only() {
        let secret = json!({"data": {"config": "c2VjcmV0", "server": "aHR0cHM="}});
        let text = summary("Secret", &secret, true);
        assert_eq!(text, "present; data keys: config, server");
        assert!(!text.contains("c2VjcmV0"));
    }

    #[test]
    fn the_tree_nests_steps_objects_and_conditions() {
        let description = Description {
            schema: "genesis.describe/v1",
            target: "ms-02-2".into(),
            target_kind: "machine",
            steps: vec![
                StepView {
                    id: "hardware/ms-02-2".into(),
                    number: "7/ms-02-2".into(),
                    name: "Hardware".into(),
                    kind: "tinkerbell.hardware".into(),
                    objects: vec![ObjectView {
                        cluster: Cluster::Platform,
                        api_version: "tinkerbell.org/v1alpha1".into(),
                        kind: "Hardware".into(),
                        namespace: Some("tink-system".into()),
                        name: Some("ms-02-2".into()),
                        selector: None,
                        state: "present",
                        summary: "present".into(),
                        conditions: vec![Condition {
                            type_: "Ready".into(),
                            status: "False".into(),
                            reason: Some("Waiting".into()),
                            message: Some("for the BMC".into()),
                        }],
                    }],
                },
                StepView {
                    id: "quorum".into(),
                    number: "11".into(),
                    name: "Quorum".into(),
                    kind: "harvester.quorum".into(),
                    objects: vec![],
                },
            ],
        };
        let expected = [
            "machine ms-02-2",
            "├─ step 7/ms-02-2 hardware/ms-02-2 (tinkerbell.hardware): Hardware",
            "│  └─ Hardware tink-system/ms-02-2 on platform: present",
            "│     └─ Ready=False (Waiting: for the BMC)",
            "└─ step 11 quorum (harvester.quorum): Quorum; owns no objects",
        ];
        assert_eq!(description.tree().render(), expected.join("\n") + "\n");
    }
}
