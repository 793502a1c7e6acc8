//! A fetched kubeconfig added to an operator's file as one named context, as
//! `genesis up --write-harvester-kubeconfig FILE` does for the Harvester cluster.

use serde_json::Value;
use thiserror::Error;

/// Why a kubeconfig cannot be added to a file as a named context.
#[derive(Debug, Error)]
pub enum NamedContextError {
    #[error("the fetched kubeconfig has no context whose cluster and user it defines")]
    NoContext,
    #[error("{0} is not a kubeconfig (expected a mapping with `clusters`, `users`, `contexts`)")]
    NotAKubeconfig(String),
}

/// `existing` (an operator's kubeconfig file, or nothing) with the current context of `fetched`
/// added under `name`: one cluster, one user and one context, all called `name`, replacing
/// entries of that name (a re-fetch updates them) and leaving every other entry alone.
/// `current-context` is set to `name` only when `existing` has none.
pub fn with_named_context(
    existing: Option<Value>,
    fetched: &Value,
    name: &str,
    existing_name: &str,
) -> Result<Value, NamedContextError> {
    let entries = |list: &str| -> Vec<Value> {
        fetched
            .get(list)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let find = |list: &[Value], wanted: Option<&str>| -> Option<Value> {
        match wanted {
            Some(wanted) => list
                .iter()
                .find(|entry| entry.get("name").and_then(Value::as_str) == Some(wanted))
                .cloned(),
            None => list.first().cloned(),
        }
    };
    let contexts = entries("contexts");
    let current = fetched
        .get("current-context")
        .and_then(Value::as_str)
        .filter(|current| !current.is_empty());
    let context = find(&contexts, current)
        .and_then(|context| context.get("context").cloned())
        .ok_or(NamedContextError::NoContext)?;
    let cluster = find(
        &entries("clusters"),
        Some(
            context
                .get("cluster")
                .and_then(Value::as_str)
                .ok_or(NamedContextError::NoContext)?,
        ),
    )
    .and_then(|cluster| cluster.get("cluster").cloned())
    .ok_or(NamedContextError::NoContext)?;
    let user = find(
        &entries("users"),
        Some(
            context
                .get("user")
                .and_then(Value::as_str)
                .ok_or(NamedContextError::NoContext)?,
        ),
    )
    .and_then(|user| user.get("user").cloned())
    .ok_or(NamedContextError::NoContext)?;
    let mut context = context;
    if let Some(context) = context.as_object_mut() {
        context.insert("cluster".to_owned(), Value::String(name.to_owned()));
        context.insert("user".to_owned(), Value::String(name.to_owned()));
    }

    let mut merged = match existing {
        None | Some(Value::Null) => serde_json::json!({"apiVersion": "v1", "kind": "Config"}),
        Some(value @ Value::Object(_)) => value,
        Some(_) => return Err(NamedContextError::NotAKubeconfig(existing_name.to_owned())),
    };
    let object = merged
        .as_object_mut()
        .ok_or_else(|| NamedContextError::NotAKubeconfig(existing_name.to_owned()))?;
    for (list, field, value) in [
        ("clusters", "cluster", cluster),
        ("users", "user", user),
        ("contexts", "context", context),
    ] {
        let slot = object
            .entry(list.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if slot.is_null() {
            *slot = Value::Array(Vec::new());
        }
        let items = slot
            .as_array_mut()
            .ok_or_else(|| NamedContextError::NotAKubeconfig(existing_name.to_owned()))?;
        let mut entry = serde_json::Map::new();
        entry.insert("name".to_owned(), Value::String(name.to_owned()));
        entry.insert(field.to_owned(), value);
        match items
            .iter_mut()
            .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
        {
            Some(item) => *item = Value::Object(entry),
            None => items.push(Value::Object(entry)),
        }
    }
    let has_current = object
        .get("current-context")
        .and_then(Value::as_str)
        .is_some_and(|current| !current.is_empty());
    if !has_current {
        object.insert("current-context".to_owned(), Value::String(name.to_owned()));
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::config::Kubeconfig;
    use serde_json::json;

    fn fetched() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "default",
            "clusters": [{"name": "default", "cluster": {"server": "https://10.10.10.20:6443", "certificate-authority-data": "Q0E="}}],
            "users": [{"name": "default", "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}}],
            "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
        })
    }

    #[test]
    fn a_named_context_joins_an_operator_file_and_leaves_the_rest_alone() {
        let existing = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "platform",
            "preferences": {"colors": true},
            "clusters": [
                {"name": "platform", "cluster": {"server": "https://p:6443"}},
                {"name": "harvester-lab", "cluster": {"server": "https://stale:6443"}},
            ],
            "users": [{"name": "platform", "user": {"token": "t"}}],
            "contexts": [{"name": "platform", "context": {"cluster": "platform", "user": "platform"}}],
        });
        let merged = with_named_context(Some(existing.clone()), &fetched(), "harvester-lab", "f")
            .expect("merged");
        assert_eq!(merged["current-context"], "platform");
        assert_eq!(merged["preferences"], existing["preferences"]);
        assert_eq!(merged["clusters"][0], existing["clusters"][0]);
        // The stale entry of the same name is replaced in place, not duplicated.
        assert_eq!(merged["clusters"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            merged["clusters"][1]["cluster"]["server"],
            "https://10.10.10.20:6443"
        );
        assert_eq!(merged["users"][1]["name"], "harvester-lab");
        assert_eq!(merged["users"][1]["user"]["client-key-data"], "S0VZ");
        assert_eq!(
            merged["contexts"][1],
            json!({"name": "harvester-lab", "context": {"cluster": "harvester-lab", "user": "harvester-lab"}})
        );
        // Again: the same file.
        let again = with_named_context(Some(merged.clone()), &fetched(), "harvester-lab", "f")
            .expect("merged");
        assert_eq!(again, merged);
    }

    #[test]
    fn a_new_file_gets_the_context_as_current_and_bad_input_is_refused() {
        let merged = with_named_context(None, &fetched(), "harvester-lab", "f").expect("merged");
        assert_eq!(merged["current-context"], "harvester-lab");
        assert_eq!(merged["kind"], "Config");
        // The merged value reads back as a kubeconfig.
        let parsed: Kubeconfig = serde_json::from_value(merged).expect("kubeconfig");
        assert_eq!(parsed.contexts[0].name, "harvester-lab");

        assert!(matches!(
            with_named_context(Some(json!(["a list"])), &fetched(), "x", "f.yaml"),
            Err(NamedContextError::NotAKubeconfig(name)) if name == "f.yaml"
        ));
        assert!(matches!(
            with_named_context(Some(json!({"clusters": "oops"})), &fetched(), "x", "f"),
            Err(NamedContextError::NotAKubeconfig(_))
        ));
        let mut no_user = fetched();
        no_user["users"] = json!([]);
        assert!(matches!(
            with_named_context(None, &no_user, "x", "f"),
            Err(NamedContextError::NoContext)
        ));
    }
}
