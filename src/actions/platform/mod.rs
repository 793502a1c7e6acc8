//! Step kinds that act on the Platform cluster (and cluster-generic checks).

pub mod node_joined;
pub mod reachable;
