//! Conditions several kinds wait on, read the way the controllers write them: a dynamic
//! object's `status.conditions` (the `metav1.Condition` shape Rufio, Tinkerbell, Harvester and
//! KubeVirt use: `type`, `status` "True"/"False"/"Unknown", `reason`, `message`) and a Node's
//! `Ready` condition, which the kubelet posts.

use k8s_openapi::api::core::v1::{Node, NodeCondition};
use serde_json::Value;

/// The condition of `type_` in a dynamic object's `status.conditions`.
pub(crate) fn find<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|condition| condition.get("type").and_then(Value::as_str) == Some(type_))
}

/// Whether the condition is there with status `True`.
pub(crate) fn is_true(condition: Option<&Value>) -> bool {
    condition
        .and_then(|condition| condition.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

/// The condition's message, or its reason when it has no message; `None` when both are empty.
pub(crate) fn explanation(condition: Option<&Value>) -> Option<&str> {
    condition
        .and_then(|c| c.get("message").or_else(|| c.get("reason")))
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

/// The condition's message as the controller wrote it (empty when it wrote none).
pub(crate) fn message(condition: &Value) -> &str {
    condition
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The Node's `Ready` condition, once the kubelet has posted one.
pub(crate) fn node_ready(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .into_iter()
        .flatten()
        .find(|condition| condition.type_ == "Ready")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_are_found_by_type() {
        let object = json!({"status": {"conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Imported", "status": "False", "reason": "Downloading"},
            {"type": "Contactable", "status": "False", "message": "timeout"}]}});
        assert!(is_true(find(&object, "Initialized")));
        assert!(!is_true(find(&object, "Imported")));
        assert!(!is_true(find(&object, "Missing")));
        assert_eq!(explanation(find(&object, "Imported")), Some("Downloading"));
        assert_eq!(explanation(find(&object, "Contactable")), Some("timeout"));
        assert_eq!(explanation(find(&object, "Initialized")), None);
        assert_eq!(message(find(&object, "Imported").expect("there")), "");
    }
}
