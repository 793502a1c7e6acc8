//! Step kinds that act on the Harvester cluster: its API and kubeconfig (step 9) and its
//! control-plane quorum (step 11).

pub mod api;
pub mod quorum;

use std::path::PathBuf;

use genesis_engine::{ActionError, ErrorKind, Outputs, StepSpec};

use crate::clients::kube::KubeTarget;

/// The file step 9 writes the Harvester kubeconfig to, inside the state directory.
pub const KUBECONFIG_FILE: &str = "harvester.kubeconfig";

pub(crate) use super::support::params;

/// The Harvester kubeconfig that an earlier step (`harvester.api`, passed on by
/// `harvester.quorum`) recorded in its outputs.
pub(crate) fn kubeconfig_from_needs<'a>(
    needs: impl IntoIterator<Item = &'a Outputs>,
) -> Option<PathBuf> {
    needs
        .into_iter()
        .find_map(|outputs| outputs.get("kubeconfig").and_then(|value| value.as_str()))
        .map(PathBuf::from)
}

/// A client for the Harvester cluster from the kubeconfig step 9 wrote.
pub(crate) async fn harvester_client(kubeconfig: PathBuf) -> Result<kube::Client, ActionError> {
    let shown = kubeconfig.display().to_string();
    KubeTarget {
        cluster: "harvester".to_owned(),
        kubeconfig: Some(kubeconfig),
        context: None,
    }
    .connect()
    .await
    .map_err(|error| {
        ActionError::with_source(
            ErrorKind::NotFound,
            format!("cannot use the Harvester kubeconfig {shown} (written by step 9, harvester-api; run it again with `genesis up --only harvester-api`)"),
            error,
        )
    })
}

/// The missing-kubeconfig error, naming the step that makes it.
pub(crate) fn no_kubeconfig(step: &StepSpec) -> ActionError {
    ActionError::new(
        ErrorKind::NotFound,
        format!(
            "step `{}` needs the Harvester kubeconfig, which step 9 (kind harvester.api) records; it has not run in this state directory",
            step.id
        ),
    )
}
