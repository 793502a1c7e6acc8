//! The built-in step kinds as `validate`, the plan, the docs and `genesis` help see them: which
//! parameters each takes and what it would do, said offline.
//!
//! Nothing here is listed by hand: every entry comes from one kind's [`Definition`] in the list
//! [`super::kinds::KINDS`], its parameters from the kind's parameter type
//! ([`super::shape`]). The runtime halves (observe, apply, wait) live in the same kind files.

use std::sync::{Arc, LazyLock};

use genesis_engine::Action;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Clusters;
use super::shape::{self, Shape, ShapeError};
use crate::secrets::Secrets;

/// What the plan can say about a step before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// Read-only checks: running it changes nothing.
    Check,
    /// Writes objects whose current state can be observed (offline: not observed).
    Apply,
    /// Writes objects built from what an earlier step discovers.
    DependsOnEarlier,
    /// Runs something genesis cannot look inside (a local command).
    CannotPreview,
}

/// Where a kind acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Local,
    Http,
    Platform,
    Harvester,
}

/// One kind's whole definition, as its file declares it (`pub(crate) const KIND`).
pub(crate) struct Definition {
    pub name: &'static str,
    pub summary: &'static str,
    pub target: Target,
    pub preview: Preview,
    /// The type the action reads its parameters into.
    pub params: ParamType,
    /// The parameters that become namespaces or object names, for `validate`'s name rules.
    pub names: &'static [(&'static str, NameRule)],
    /// Offline description of what the step would do, from its resolved parameters.
    pub describe: fn(&Params<'_>) -> Vec<String>,
    /// How the registry makes the kind's action.
    pub build: Build,
}

/// How a kind's action is made: from the secrets alone, or with the clusters' clients.
pub(crate) enum Build {
    Local(fn(&Secrets) -> Arc<dyn Action>),
    Remote(fn(&Clusters<'_>) -> Arc<dyn Action>),
}

/// A kind's parameter type, as the catalog uses it: its shape and its strict check.
#[derive(Clone, Copy)]
pub(crate) struct ParamType {
    shape: fn() -> Result<Shape, ShapeError>,
    check: fn(&Value) -> Result<(), ParamTypeError>,
}

impl ParamType {
    pub(crate) const fn of<T: DeserializeOwned>() -> Self {
        Self {
            shape: shape::of::<T>,
            check: typed::<T>,
        }
    }

    pub(crate) fn shape(&self) -> Result<Shape, ShapeError> {
        (self.shape)()
    }
}

/// One built-in kind, as `validate` and the plan read it.
pub struct Kind {
    pub name: &'static str,
    pub summary: &'static str,
    pub target: Target,
    pub preview: Preview,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    /// Offline description of what the step would do, from its resolved parameters.
    pub describe: fn(&Params<'_>) -> Vec<String>,
}

impl Kind {
    fn of(definition: &Definition) -> Self {
        // A parameter type the shape reader cannot read is a defect of this build, caught by
        // the `every_kind_has_a_readable_parameter_type` test.
        let shape = definition.params.shape().unwrap_or_else(|error| {
            panic!(
                "kind `{}`: cannot read its parameters: {error}",
                definition.name
            )
        });
        Self {
            name: definition.name,
            summary: definition.summary,
            target: definition.target,
            preview: definition.preview,
            required: shape.required.leak(),
            optional: shape.optional.leak(),
            describe: definition.describe,
        }
    }
}

/// Every kind's catalog entry, made once from the list of kinds.
static CATALOG: LazyLock<Vec<Kind>> = LazyLock::new(|| {
    super::kinds::KINDS
        .iter()
        .map(|kind| Kind::of(kind))
        .collect()
});

/// Read access to resolved parameters, for descriptions. Secrets show by name only.
pub struct Params<'a>(pub &'a Value);

impl Params<'_> {
    /// A parameter as display text.
    pub fn text(&self, name: &str) -> String {
        self.0.get(name).map_or_else(|| "?".to_owned(), display)
    }
}

/// A parameter value as display text: a `{secret: NAME}` as `<secret NAME>`, a list joined.
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        Value::Object(map) if map.len() == 1 && map.contains_key("secret") => {
            format!(
                "<secret {}>",
                map.get("secret").map_or_else(String::new, display)
            )
        }
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

pub fn find(name: &str) -> Option<&'static Kind> {
    CATALOG.iter().find(|kind| kind.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    super::kinds::KINDS.iter().map(|kind| kind.name)
}

fn definition(name: &str) -> Option<&'static Definition> {
    super::kinds::KINDS
        .iter()
        .copied()
        .find(|kind| kind.name == name)
}

/// A parameter whose value does not have the type its kind reads it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTypeError {
    /// Where below `params`, e.g. `namespace` or `artifacts[0].size`; empty for `params` itself.
    pub param: String,
    /// What serde found and expected, e.g. `invalid type: sequence, expected a string`.
    pub message: String,
}

/// Reads `params` into `T`, as the action will at run time.
fn typed<T: DeserializeOwned>(params: &Value) -> Result<(), ParamTypeError> {
    serde_path_to_error::deserialize::<_, T>(params)
        .map(drop)
        .map_err(|error| {
            let param = error.path().to_string();
            ParamTypeError {
                param: if param == "." { String::new() } else { param },
                message: error.into_inner().to_string(),
            }
        })
}

/// Checks a step's expanded parameters against the parameter type its kind's action reads
/// them into at run time; `None` for an unknown kind.
pub fn check_types(kind: &str, params: &Value) -> Option<Result<(), ParamTypeError>> {
    definition(kind).map(|kind| (kind.params.check)(params))
}

/// What a parameter's value becomes in Kubernetes, for the name rules `genesis validate`
/// applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// A namespace: an RFC 1123 label.
    Namespace,
    /// An object's name: an RFC 1123 subdomain.
    Object,
    /// An object's name, or `namespace/name`.
    ObjectRef,
    /// Argo CD's cluster name: the Secret is named `cluster-<value>`.
    ArgocdCluster,
}

/// The parameters of `kind` that become namespaces or object names.
pub fn name_params(kind: &str) -> &'static [(&'static str, NameRule)] {
    definition(kind).map_or(&[], |kind| kind.names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_readable_parameter_type() {
        for kind in super::super::kinds::KINDS {
            let shape = kind
                .params
                .shape()
                .unwrap_or_else(|error| panic!("kind `{}`: {error}", kind.name));
            assert!(
                !shape.required.is_empty() || !shape.optional.is_empty(),
                "kind `{}` takes no parameters",
                kind.name
            );
        }
    }

    #[test]
    fn kind_names_are_unique_and_parameters_do_not_overlap() {
        let mut names: Vec<&str> = names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        for name in names {
            let kind = find(name).expect("every listed kind is in the catalog");
            for required in kind.required {
                assert!(
                    !kind.optional.contains(required),
                    "{}: {required}",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn name_rules_name_parameters_of_the_kind() {
        for kind in super::super::kinds::KINDS {
            let entry = find(kind.name).expect("in the catalog");
            for (param, _) in kind.names {
                assert!(
                    entry.required.contains(param) || entry.optional.contains(param),
                    "kind `{}`: name rule for unknown parameter `{param}`",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn a_wrongly_typed_parameter_is_named_with_its_expected_type() {
        let error = check_types("argocd.present", &serde_json::json!({"namespace": [1, 2]}))
            .expect("known kind")
            .expect_err("a list is not a namespace");
        assert_eq!(error.param, "namespace");
        assert!(error.message.contains("expected a string"), "{error:?}");
        let error = check_types(
            "http.artifacts",
            &serde_json::json!({"base_url": "http://h", "artifacts": [{"role": "iso", "file": "f", "size": "big"}]}),
        )
        .expect("known kind")
        .expect_err("a size is a number");
        assert_eq!(error.param, "artifacts[0].size");
    }

    #[test]
    fn secrets_are_described_by_name() {
        let params = serde_json::json!({"namespace": "tink", "machine": "m1", "host": "h",
            "port": 1, "protocol": "ipmi", "username": {"secret": "bmc.m1.username"},
            "password": {"secret": "bmc.m1.password"}});
        let lines = (find("rufio.machine").expect("known kind").describe)(&Params(&params));
        assert!(lines[0].contains("<secret bmc.m1.password>"), "{lines:?}");
    }
}
