//! Every write to a cluster goes through here: server-side apply with genesis's field manager
//! and strict field validation, and the same request as a server-side dry run for the plan.
//! [`Object`] is the preamble every applying kind shares: one object's plan (a previewed
//! change) and its run (intent journaled, then applied), with errors classified once.

use genesis_engine::{ActionError, PlanOutcome, RunContext};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, ValidationDirective};
use serde_json::Value;

use super::classify;

/// One object a step writes: where it lives, its full body, how the operator reads its kind
/// (`Template`, `Secret`), and which of its fields are secret (JSON pointers such as `/data`;
/// the plan says per key whether they change, never the value).
#[derive(Debug, Clone)]
pub struct Object {
    pub resource: ApiResource,
    pub namespace: Option<String>,
    pub name: String,
    pub body: Value,
    pub what: &'static str,
    pub hidden: &'static [&'static str],
}

impl Object {
    /// A namespaced object without secret fields.
    pub fn namespaced(
        resource: ApiResource,
        namespace: &str,
        name: &str,
        body: Value,
        what: &'static str,
    ) -> Self {
        Self {
            resource,
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
            body,
            what,
            hidden: &[],
        }
    }

    /// The same object with secret fields.
    pub fn hiding(mut self, hidden: &'static [&'static str]) -> Self {
        self.hidden = hidden;
        self
    }

    /// `Kind namespace/name`.
    pub fn shown(&self) -> String {
        shown(self.what, self.namespace.as_deref(), &self.name)
    }

    /// The plan half: what applying it would change (a server-side dry run).
    pub async fn preview(&self, client: &kube::Client) -> Result<ObjectPreview, ActionError> {
        preview_object(
            client,
            &self.resource,
            self.namespace.as_deref(),
            &self.name,
            &self.body,
            self.what,
            self.hidden,
        )
        .await
        .map_err(|error| classify(error, format!("cannot preview {}", self.shown())))
    }

    /// The run half: intent journaled, then applied.
    pub async fn apply(
        &self,
        client: &kube::Client,
        context: &RunContext,
    ) -> Result<DynamicObject, ActionError> {
        apply_journaled(
            client,
            context,
            &self.resource,
            self.namespace.as_deref(),
            &self.name,
            &self.body,
            self.what,
        )
        .await
    }
}

/// The plan of a step that applies `objects`: their previews as one outcome.
pub async fn plan_objects(
    client: &kube::Client,
    objects: &[Object],
) -> Result<PlanOutcome, ActionError> {
    let mut previews = Vec::with_capacity(objects.len());
    for object in objects {
        previews.push(object.preview(client).await?);
    }
    Ok(outcome(&previews))
}

fn shown(what: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{what} {namespace}/{name}"),
        None => format!("{what} {name}"),
    }
}

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
    let shown = shown(what, namespace, name);
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
    Ok(
        preview_object(client, resource, namespace, name, body, "object", &[])
            .await?
            .change,
    )
}

/// One object's change as the plan shows it: what happens, the fields that change as a unified
/// diff, and for fields holding secrets only whether each key changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPreview {
    pub change: Change,
    /// `Kind namespace/name`.
    pub shown: String,
    /// A unified diff of the live object against the dry-run result; empty unless `Update`.
    /// Hidden fields appear as `<hidden>` / `<hidden, changed>`, never by value.
    pub diff: String,
    /// Each hidden field (a Secret's `data.KEY`, a Hardware's `spec.userData`) and whether it
    /// is `changed`, `unchanged`, `added` or `removed`.
    pub hidden: Vec<(String, &'static str)>,
}

impl ObjectPreview {
    /// `Secret ns/name: update (data.password changed, data.username unchanged)`.
    pub fn line(&self) -> String {
        let word = match self.change {
            Change::Create => "create",
            Change::Update => "update",
            Change::Unchanged => "no change",
        };
        if self.hidden.is_empty() || self.change == Change::Create {
            format!("{}: {word}", self.shown)
        } else {
            let keys: Vec<String> = self
                .hidden
                .iter()
                .map(|(key, state)| format!("{key} {state}"))
                .collect();
            format!("{}: {word} ({})", self.shown, keys.join(", "))
        }
    }
}

/// [`preview`] with the diff. `what` is the kind as the operator reads it; `hidden` lists JSON
/// pointers (`/data`, `/spec/userData`) whose values are secret: a map there is compared key by
/// key, anything else as one value, and neither is ever rendered.
pub async fn preview_object(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    body: &Value,
    what: &str,
    hidden: &[&str],
) -> Result<ObjectPreview, kube::Error> {
    let shown = shown(what, namespace, name);
    let api = api(client, resource, namespace);
    let Some(current) = api.get_opt(name).await? else {
        return Ok(ObjectPreview {
            change: Change::Create,
            shown,
            diff: String::new(),
            hidden: Vec::new(),
        });
    };
    let after = api.patch(name, &params(true), &Patch::Apply(body)).await?;
    Ok(compare(
        shown,
        comparable(&current),
        comparable(&after),
        hidden,
    ))
}

/// A step's plan outcome from the objects it applies: `NoChange` when none changes, else
/// `WillChange` with one summary line per object and their diffs together.
pub fn outcome(previews: &[ObjectPreview]) -> genesis_engine::PlanOutcome {
    let summary = previews
        .iter()
        .map(ObjectPreview::line)
        .collect::<Vec<_>>()
        .join("; ");
    if previews
        .iter()
        .all(|preview| preview.change == Change::Unchanged)
    {
        return genesis_engine::PlanOutcome::NoChange { summary };
    }
    let diff: String = previews
        .iter()
        .map(|preview| preview.diff.as_str())
        .collect();
    genesis_engine::PlanOutcome::WillChange {
        summary,
        diff: (!diff.is_empty()).then_some(diff),
    }
}

/// The comparison behind [`preview_object`], on two comparable objects.
fn compare(shown: String, mut before: Value, mut after: Value, hidden: &[&str]) -> ObjectPreview {
    let change = if before == after {
        Change::Unchanged
    } else {
        Change::Update
    };
    let mut states = Vec::new();
    for pointer in hidden {
        states.extend(hide(&mut before, &mut after, pointer));
    }
    let diff = if change == Change::Update {
        let (old, new) = (yaml_lines(&before), yaml_lines(&after));
        similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(2)
            .header(
                &format!("{shown} (live)"),
                &format!("{shown} (after apply)"),
            )
            .to_string()
    } else {
        String::new()
    };
    ObjectPreview {
        change,
        shown,
        diff,
        hidden: states,
    }
}

const HIDDEN: &str = "<hidden>";
const HIDDEN_CHANGED: &str = "<hidden, changed>";

/// Replaces the secret values at `pointer` in both objects by markers, returning per key
/// whether it changes.
fn hide(before: &mut Value, after: &mut Value, pointer: &str) -> Vec<(String, &'static str)> {
    let label = pointer.trim_start_matches('/').replace('/', ".");
    let state = |old: Option<&Value>, new: Option<&Value>| match (old, new) {
        (Some(old), Some(new)) if old == new => "unchanged",
        (Some(_), Some(_)) => "changed",
        (None, Some(_)) => "added",
        _ => "removed",
    };
    let mark = |value: &mut Value, changed: bool| {
        *value = Value::from(if changed { HIDDEN_CHANGED } else { HIDDEN });
    };
    let old = before.pointer(pointer).cloned();
    let new = after.pointer(pointer).cloned();
    let mut states = Vec::new();
    match (&old, &new) {
        (None, None) => {}
        (Some(Value::Object(_)) | None, Some(Value::Object(_)) | None) => {
            let empty = serde_json::Map::new();
            let old_map = old.as_ref().and_then(Value::as_object).unwrap_or(&empty);
            let new_map = new.as_ref().and_then(Value::as_object).unwrap_or(&empty);
            let keys: std::collections::BTreeSet<&String> =
                old_map.keys().chain(new_map.keys()).collect();
            for key in keys {
                let result = state(old_map.get(key), new_map.get(key));
                states.push((format!("{label}.{key}"), result));
                let changed = result != "unchanged";
                if let Some(value) = before
                    .pointer_mut(pointer)
                    .and_then(|map| map.get_mut(key.as_str()))
                {
                    mark(value, false);
                }
                if let Some(value) = after
                    .pointer_mut(pointer)
                    .and_then(|map| map.get_mut(key.as_str()))
                {
                    mark(value, changed);
                }
            }
        }
        _ => {
            let result = state(old.as_ref(), new.as_ref());
            states.push((label, result));
            if let Some(value) = before.pointer_mut(pointer) {
                mark(value, false);
            }
            if let Some(value) = after.pointer_mut(pointer) {
                mark(value, result != "unchanged");
            }
        }
    }
    states
}

/// A YAML-like rendering, keys sorted, one field per line and multi-line strings as blocks, so
/// that a line diff shows field changes.
fn yaml_lines(value: &Value) -> String {
    fn scalar(value: &Value) -> String {
        match value {
            Value::String(text) => serde_json::to_string(text).unwrap_or_default(),
            other => other.to_string(),
        }
    }
    fn render(value: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for key in keys {
                    entry(&format!("{pad}{key}:"), &map[key], indent, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    entry(&format!("{pad}-"), item, indent, out);
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
    fn entry(head: &str, value: &Value, indent: usize, out: &mut String) {
        match value {
            Value::String(text) if text.contains('\n') => {
                out.push_str(head);
                out.push_str(" |\n");
                for line in text.lines() {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                    out.push('\n');
                }
            }
            Value::Object(map) if !map.is_empty() => {
                out.push_str(head);
                out.push('\n');
                render(value, indent + 2, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str(head);
                out.push('\n');
                render(value, indent + 2, out);
            }
            other => {
                out.push_str(head);
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    render(value, 0, &mut out);
    out
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_unchanged_object_has_no_diff() {
        let object = json!({"spec": {"a": 1}});
        let preview = compare("X ns/x".into(), object.clone(), object, &[]);
        assert_eq!(preview.change, Change::Unchanged);
        assert!(preview.diff.is_empty());
        assert_eq!(preview.line(), "X ns/x: no change");
    }

    #[test]
    fn a_changed_field_is_a_unified_diff_of_that_field() {
        let before = json!({"spec": {"a": 1, "b": "same", "text": "one\ntwo\n"}});
        let after = json!({"spec": {"a": 2, "b": "same", "text": "one\nthree\n"}});
        let preview = compare("X ns/x".into(), before, after, &[]);
        assert_eq!(preview.change, Change::Update);
        assert!(
            preview.diff.contains("-  a: 1\n+  a: 2\n"),
            "{}",
            preview.diff
        );
        assert!(
            preview.diff.contains("-    two\n+    three\n"),
            "{}",
            preview.diff
        );
        assert!(!preview.diff.contains("-  b:"), "{}", preview.diff);
        assert!(
            preview.diff.starts_with("--- X ns/x (live)"),
            "{}",
            preview.diff
        );
    }

    #[test]
    fn hidden_maps_say_changed_per_key_and_never_show_values() {
        let before = json!({"data": {"user": "YWRtaW4=", "password": "b2xkLXNlY3JldA=="}});
        let after =
            json!({"data": {"user": "YWRtaW4=", "password": "bmV3LXNlY3JldA==", "extra": "eA=="}});
        let preview = compare(
            "Secret ns/s".into(),
            before,
            after,
            &["/data", "/stringData"],
        );
        assert_eq!(preview.change, Change::Update);
        assert_eq!(
            preview.hidden,
            vec![
                ("data.extra".to_owned(), "added"),
                ("data.password".to_owned(), "changed"),
                ("data.user".to_owned(), "unchanged"),
            ]
        );
        for value in ["YWRtaW4=", "b2xkLXNlY3JldA==", "bmV3LXNlY3JldA==", "eA=="] {
            assert!(!preview.diff.contains(value), "{}", preview.diff);
        }
        assert!(
            preview.diff.contains("+  password: \"<hidden, changed>\""),
            "{}",
            preview.diff
        );
        assert_eq!(
            preview.line(),
            "Secret ns/s: update (data.extra added, data.password changed, data.user unchanged)"
        );
    }

    #[test]
    fn a_hidden_scalar_is_one_entry() {
        let before = json!({"spec": {"userData": "token: a", "x": 1}});
        let after = json!({"spec": {"userData": "token: a", "x": 2}});
        let preview = compare("Hardware ns/h".into(), before, after, &["/spec/userData"]);
        assert_eq!(
            preview.hidden,
            vec![("spec.userData".to_owned(), "unchanged")]
        );
        assert!(!preview.diff.contains("token: a"));
        assert!(preview.diff.contains("+  x: 2"), "{}", preview.diff);
    }
}
