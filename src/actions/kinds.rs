//! The one list of step kinds. Both the catalog (`validate`, the plan, the docs, `genesis`
//! help) and the registry (`genesis up`, `genesis plan`) are made from it; adding a kind is one
//! new file that declares its `KIND` and one line here. The order is the order `validate`
//! names the kinds in.

use super::definition::Definition;

pub(crate) static KINDS: &[&Definition] = &[
    &super::local::exec::KIND,
    &super::kube::reachable::KIND,
    &super::tinkerbell::stack::KIND,
    &super::argocd::present::KIND,
    &super::http::artifacts::KIND,
    &super::tinkerbell::template::KIND,
    &super::rufio::machine::KIND,
    &super::tinkerbell::hardware::KIND,
    &super::tinkerbell::install::KIND,
    &super::harvester::api::KIND,
    &super::harvester::quorum::KIND,
    &super::argocd::cluster_secret::KIND,
    &super::harvester::vm_network::KIND,
    &super::harvester::vm_image::KIND,
    &super::kubevirt::userdata_secret::KIND,
    &super::kubevirt::vm::KIND,
    &super::kube::node_joined::KIND,
];
