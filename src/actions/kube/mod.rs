//! Cluster-generic kinds: `kube.reachable` (a cluster's API answers) and `kube.node-joined`
//! (a node joined a cluster).

pub mod node_joined;
pub mod reachable;
