//! Argo CD on the Platform cluster: that it runs (`argocd.present`, phase 2) and the cluster
//! Secret that registers Harvester with it (`argocd.cluster-secret`, step 12).

pub mod cluster_secret;
pub mod credentials;
pub mod present;
