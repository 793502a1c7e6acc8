//! Step kinds, one file each, named after the kind: `kind: a.b` lives in `a/b.rs` (a dash
//! becomes an underscore) and declares its whole definition there as `KIND`. The list in
//! [`kinds`] makes both the [`catalog`] and the [`registry`].

pub mod argocd;
pub mod catalog;
pub(crate) mod checks;
pub(crate) mod definition;
pub mod harvester;
pub mod http;
pub(crate) mod kinds;
pub mod kube;
pub mod kubevirt;
pub mod local;
pub mod owned;
pub mod rufio;
pub(crate) mod shape;
pub(crate) mod support;
pub mod tinkerbell;
pub(crate) mod watch;

use genesis_engine::Registry;

use crate::inputs::Inputs;
use crate::secrets::Secrets;
use definition::{Build, Clusters};

pub use definition::ClusterOptions;

/// The registry of every kind that can run in this version. Clients connect on first use.
pub fn registry(inputs: &Inputs, options: &ClusterOptions) -> Registry {
    let clusters = Clusters::new(&inputs.lab, &inputs.secrets, &inputs.graph, options);
    let mut registry = Registry::new();
    for kind in kinds::KINDS {
        let action = match kind.build {
            Build::Local(build) => build(&inputs.secrets),
            Build::Remote(build) => build(&clusters),
        };
        registry.register(kind.name, action);
    }
    registry
}

/// The registry of the local kinds only (those built from the secrets alone): what runs
/// without any cluster.
pub fn local_registry(secrets: &Secrets) -> Registry {
    let mut registry = Registry::new();
    for kind in kinds::KINDS {
        if let Build::Local(build) = kind.build {
            registry.register(kind.name, build(secrets));
        }
    }
    registry
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_kind_in_the_catalog_is_registered_and_nothing_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let inputs = crate::inputs::reference_lab();
        let options = ClusterOptions {
            state_dir: dir.path().to_owned(),
            ..ClusterOptions::default()
        };
        let registry = registry(&inputs, &options);
        let registered: BTreeSet<&str> = registry.kinds().collect();
        let catalog: BTreeSet<&str> = catalog::names().collect();
        assert_eq!(registered, catalog);
        for kind in catalog::names() {
            assert!(catalog::find(kind).is_some(), "{kind}");
        }
        // Every kind the reference lab uses runs in this version.
        for step in inputs.graph.steps() {
            assert!(registered.contains(step.kind.as_str()), "{}", step.kind);
        }
        // Messages name the step that fetches the Harvester kubeconfig by its id in the graph.
        assert_eq!(
            harvester::ApiStep::of(&inputs.graph).to_string(),
            "step `harvester-api` (harvester.api)"
        );
        let local = local_registry(&inputs.secrets);
        let local: BTreeSet<&str> = local.kinds().collect();
        let local_kinds: BTreeSet<&str> = catalog::names()
            .filter(|kind| {
                catalog::find(kind).map(|kind| kind.target) == Some(catalog::Target::Local)
            })
            .collect();
        assert_eq!(local, local_kinds);
    }
}
