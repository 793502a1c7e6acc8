//! Step kinds, grouped by the system they act on.

pub mod apply;
pub mod argocd;
pub mod catalog;
pub mod harvester;
pub mod kubevirt;
pub mod local;
pub mod platform;
pub mod preflight;
pub mod rufio;
pub(crate) mod support;
pub mod tinkerbell;
pub(crate) mod watch;

use std::sync::Arc;

use genesis_engine::Registry;

use crate::clients::kube::{KubeTarget, LazyClient};
use crate::inputs::Inputs;

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

/// The registry of every kind that can run in this version. Clients connect on first use.
pub fn registry(inputs: &Inputs, options: &ClusterOptions) -> Registry {
    let mut registry = local::registry(&inputs.secrets);
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
    registry.register(
        "kube.reachable",
        Arc::new(platform::reachable::Reachable::new(Arc::clone(&platform))),
    );
    registry.register(
        "rufio.machine",
        Arc::new(rufio::RufioMachine::new(
            Arc::clone(&platform),
            inputs.secrets.clone(),
        )),
    );
    registry.register(
        "tinkerbell.template",
        Arc::new(tinkerbell::InstallTemplate::new(Arc::clone(&platform))),
    );
    registry.register(
        "tinkerbell.hardware",
        Arc::new(tinkerbell::Hardware::new(
            Arc::clone(&platform),
            inputs.secrets.clone(),
        )),
    );
    registry.register(
        "tinkerbell.install",
        Arc::new(tinkerbell::Install::new(Arc::clone(&platform))),
    );
    registry.register(
        "harvester.api",
        Arc::new(
            harvester::api::HarvesterApi::new(inputs.secrets.clone(), options.state_dir.clone())
                .exporting(
                    options.write_harvester_kubeconfig.clone().map(|file| {
                        harvester::api::KubeconfigExport::for_lab(file, &inputs.lab.name)
                    }),
                )
                .with_operator_context(options.harvester_context.clone()),
        ),
    );
    // --harvester-context: the operator's context for every Harvester step.
    let operator = harvester::OperatorContext::new(
        platform.target().kubeconfig.clone(),
        options.harvester_context.clone(),
    );
    registry.register(
        "harvester.quorum",
        Arc::new(harvester::quorum::HarvesterQuorum::new(operator.clone())),
    );
    registry.register(
        "argocd.cluster-secret",
        Arc::new(argocd::ArgocdClusterSecret::new(
            Arc::clone(&platform),
            inputs.secrets.clone(),
            inputs
                .lab
                .endpoints
                .argocd
                .api_url
                .as_ref()
                .map(|url| url.value.clone()),
        )),
    );
    registry.register(
        "tinkerbell.stack",
        Arc::new(preflight::TinkerbellStack::new(Arc::clone(&platform))),
    );
    registry.register(
        "argocd.present",
        Arc::new(preflight::ArgocdPresent::new(Arc::clone(&platform))),
    );
    registry.register("http.artifacts", Arc::new(preflight::HttpArtifacts));
    register_phase_4(&mut registry, inputs, options, platform, operator);
    registry
}

/// Phase 4: the Platform VMs on Harvester, and their join.
fn register_phase_4(
    registry: &mut Registry,
    inputs: &Inputs,
    options: &ClusterOptions,
    platform: Arc<LazyClient>,
    operator: harvester::OperatorContext,
) {
    let harvester_access =
        harvester::HarvesterAccess::with_operator(options.state_dir.clone(), operator);
    registry.register(
        "harvester.vm-network",
        Arc::new(harvester::network::VmNetwork::new(Arc::clone(
            &harvester_access,
        ))),
    );
    registry.register(
        "harvester.vm-image",
        Arc::new(harvester::image::VmImage::new(Arc::clone(
            &harvester_access,
        ))),
    );
    registry.register(
        "kubevirt.userdata-secret",
        Arc::new(kubevirt::UserdataSecret::new(
            Arc::clone(&harvester_access),
            inputs.secrets.clone(),
        )),
    );
    registry.register(
        "kubevirt.vm",
        Arc::new(kubevirt::VirtualMachine::new(Arc::clone(&harvester_access))),
    );
    registry.register(
        "kube.node-joined",
        Arc::new(platform::node_joined::NodeJoined::new(
            platform,
            harvester_access,
        )),
    );
}
