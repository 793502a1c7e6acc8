//! The one list of step kinds. Both the catalog (`validate`, the plan, the docs, `genesis`
//! help) and the registry (`genesis up`, `genesis plan`) are made from it; adding a kind is one
//! new file that declares its `KIND` and one line here. The order is the order `validate`
//! names the kinds in.

use super::catalog::Definition;
use super::{argocd, harvester, http, kube, kubevirt, local, rufio, tinkerbell};

pub(crate) static KINDS: &[&Definition] = &[
    &local::exec::KIND,
    &kube::reachable::KIND,
    &tinkerbell::stack::KIND,
    &argocd::present::KIND,
    &http::artifacts::KIND,
    &tinkerbell::template::KIND,
    &rufio::machine::KIND,
    &tinkerbell::hardware::KIND,
    &tinkerbell::install::KIND,
    &harvester::api::KIND,
    &harvester::quorum::KIND,
    &argocd::cluster_secret::KIND,
    &harvester::vm_network::KIND,
    &harvester::vm_image::KIND,
    &kubevirt::userdata_secret::KIND,
    &kubevirt::vm::KIND,
    &kube::node_joined::KIND,
];
