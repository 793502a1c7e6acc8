//! The built-in step kinds as `validate`, the plan, the docs and `genesis` help see them: which
//! parameters each takes and what it would do, said offline.
//!
//! Nothing here is listed by hand: every entry comes from one kind's [`Definition`] in the list
//! [`super::kinds::KINDS`], its parameters from the kind's parameter type
//! ([`super::shape`]). The runtime halves (observe, apply, wait) live in the same kind files.

use std::sync::LazyLock;

use serde_json::Value;

pub(crate) use super::definition::{Build, Definition, ParamType, display};
pub use super::definition::{Effect, NameRule, ParamTypeError, Params, Preview, Target};

/// One built-in kind, as `validate` and the plan read it.
pub struct Kind {
    pub name: &'static str,
    pub summary: &'static str,
    pub target: Target,
    pub preview: Preview,
    /// What running it does to a machine beyond the objects it writes.
    pub effects: &'static [Effect],
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
            effects: definition.effects,
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

/// The objects step `step` owns (empty for a kind that declares none).
pub fn owned_objects(step: &genesis_engine::StepSpec) -> Vec<super::owned::OwnedObject> {
    definition(&step.kind)
        .and_then(|kind| kind.owns)
        .map(|owns| owns(&step.params))
        .unwrap_or_default()
}

/// Checks a step's expanded parameters against the parameter type its kind's action reads
/// them into at run time; `None` for an unknown kind.
pub fn check_types(kind: &str, params: &Value) -> Option<Result<(), ParamTypeError>> {
    definition(kind).map(|kind| (kind.params.check)(params))
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
