//! Step kinds, one file each, named after the kind: `kind: a.b` lives in `a/b.rs` (a dash
//! becomes an underscore) and declares its whole definition there as `KIND`. The list in
//! [`kinds`] makes both the [`catalog`] and the [`registry`].

pub mod argocd;
pub mod catalog;
pub(crate) mod checks;
pub mod harvester;
pub mod http;
pub(crate) mod kinds;
pub mod kube;
pub mod kubevirt;
pub mod local;
pub mod rufio;
pub(crate) mod shape;
pub(crate) mod support;
pub mod tinkerbell;
pub(crate) mod watch;

use std::sync::Arc;

use genesis_engine::Registry;

use crate::clients::kube::{KubeTarget, LazyClient};
use crate::inputs::Inputs;
use catalog::Build;

/// How to reach the clusters, from the command line (overriding the lab file).
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
    /// The Harvester cluster's context in the same kubeconfig (`--harvester-context`), used
    /// instead of the kubeconfig step 9 fetches over SSH.
    pub harvester_context: Option<String>,
    /// A file step 9 also writes the fetched Harvester kubeconfig into, as the context
    /// `harvester-<lab name>` (`--write-harvester-kubeconfig`).
    pub write_harvester_kubeconfig: Option<std::path::PathBuf>,
    /// The state directory (journal, known_hosts, the fetched Harvester kubeconfig).
    pub state_dir: std::path::PathBuf,
}

/// What the cluster kinds' actions are made from: the inputs, the options, and the clients
/// they share (each connects on first use, so `plan --offline` and `validate` never connect).
pub(crate) struct Clusters<'a> {
    pub inputs: &'a Inputs,
    pub options: &'a ClusterOptions,
    pub platform: Arc<LazyClient>,
    /// `--harvester-context`: the operator's context for every Harvester step.
    pub operator: harvester::OperatorContext,
    /// How the phase-4 kinds reach Harvester.
    pub harvester: Arc<harvester::HarvesterAccess>,
    /// The step that fetches the Harvester kubeconfig, for messages.
    pub api_step: harvester::ApiStep,
}

impl<'a> Clusters<'a> {
    fn new(inputs: &'a Inputs, options: &'a ClusterOptions) -> Self {
        let endpoint = &inputs.lab.endpoints.platform;
        let platform = Arc::new(LazyClient::new(KubeTarget {
            cluster: "platform".to_owned(),
            kubeconfig: options
                .kubeconfig
                .clone()
                .or_else(|| endpoint.kubeconfig.as_ref().map(std::path::PathBuf::from)),
            context: Some(
                options
                    .context
                    .clone()
                    .unwrap_or_else(|| endpoint.context.clone()),
            ),
        }));
        let operator = harvester::OperatorContext::new(
            platform.target().kubeconfig.clone(),
            options.harvester_context.clone(),
        );
        let harvester = harvester::HarvesterAccess::for_graph(
            options.state_dir.clone(),
            operator.clone(),
            harvester::ApiStep::of(&inputs.graph),
        );
        Self {
            inputs,
            options,
            platform,
            operator,
            harvester,
            api_step: harvester::ApiStep::of(&inputs.graph),
        }
    }
}

/// The registry of every kind that can run in this version. Clients connect on first use.
pub fn registry(inputs: &Inputs, options: &ClusterOptions) -> Registry {
    let clusters = Clusters::new(inputs, options);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    use super::*;
    use crate::inputs::{InputPaths, load};

    #[test]
    fn every_kind_in_the_catalog_is_registered_and_nothing_else() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().expect("temp dir");
        let secrets = dir.path().join("secrets.yaml");
        std::fs::copy(repo.join("secrets.example"), &secrets).expect("copy secrets.example");
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 600");
        let inputs = load(&InputPaths {
            lab: repo.join("hardware/lab.yaml"),
            phases: repo.join("phases"),
            secrets,
        })
        .expect("the reference lab loads");
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
        let local = local::registry(&inputs.secrets);
        let local: BTreeSet<&str> = local.kinds().collect();
        let local_kinds: BTreeSet<&str> = catalog::names()
            .filter(|kind| {
                catalog::find(kind).map(|kind| kind.target) == Some(catalog::Target::Local)
            })
            .collect();
        assert_eq!(local, local_kinds);
    }
}
