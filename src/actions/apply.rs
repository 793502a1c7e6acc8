//! Every write to a cluster goes through here: server-side apply with genesis's field manager
//! and strict field validation, and the same request as a server-side dry run for the plan.

use genesis_engine::{ActionError, RunContext};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, ValidationDirective};
use serde_json::Value;

use super::platform::reachable::classify;

/// The field manager of every object genesis writes.
pub const FIELD_MANAGER: &str = "genesis";

/// What applying an object would do, from a server-side dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Unchanged,
}

fn params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        // genesis owns these objects; a conflict with another manager is overridden, and the
        // plan shows the change first.
        force: true,
        field_manager: Some(FIELD_MANAGER.to_owned()),
        field_validation: Some(ValidationDirective::Strict),
    }
}

fn api(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

/// Applies `body` (a full object with apiVersion, kind and metadata.name).
pub async fn apply(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    body: &Value,
) -> Result<DynamicObject, kube::Error> {
    api(client, resource, namespace)
        .patch(name, &params(false), &Patch::Apply(body))
        .await
}

/// Journals the intent, then applies; what every action's run half uses to write an object.
/// `what` is the kind as the operator reads it (`Machine`, `Secret`).
pub async fn apply_journaled(
    client: &kube::Client,
    context: &RunContext,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    body: &Value,
    what: &str,
) -> Result<DynamicObject, ActionError> {
    let shown = match namespace {
        Some(namespace) => format!("{what} {namespace}/{name}"),
        None => format!("{what} {name}"),
    };
    context.intent(format!("apply {shown}")).await?;
    apply(client, resource, namespace, name, body)
        .await
        .map_err(|error| classify(error, format!("cannot apply {shown}")))
}

/// What `apply` would change, without changing anything: the object's current state against a
/// server-side dry run of the apply (defaults and admission included).
pub async fn preview(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    body: &Value,
) -> Result<Change, kube::Error> {
    let api = api(client, resource, namespace);
    let current = api.get_opt(name).await?;
    let Some(current) = current else {
        return Ok(Change::Create);
    };
    let after = api.patch(name, &params(true), &Patch::Apply(body)).await?;
    let same = comparable(&current) == comparable(&after);
    Ok(if same {
        Change::Unchanged
    } else {
        Change::Update
    })
}

/// The parts of an object an apply can change: everything but bookkeeping metadata and status.
fn comparable(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in [
                "resourceVersion",
                "managedFields",
                "generation",
                "creationTimestamp",
                "uid",
            ] {
                metadata.remove(field);
            }
        }
    }
    value
}
