//! Kubernetes clients from kubeconfig files and contexts, the way kubectl finds them.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use thiserror::Error;
use tokio::sync::OnceCell;

/// Which cluster, through which kubeconfig and context.
#[derive(Debug, Clone)]
pub struct KubeTarget {
    /// The cluster's role in the lab, for messages: `platform` or `harvester`.
    pub cluster: String,
    /// A kubeconfig file; `None` means `KUBECONFIG` (a list of files, merged) or
    /// `~/.kube/config`, as kubectl does.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use; `None` means the kubeconfig's current context.
    pub context: Option<String>,
}

#[derive(Debug, Error)]
pub enum KubeClientError {
    #[error("cannot read the kubeconfig for the {cluster} cluster ({where_})")]
    Kubeconfig {
        cluster: String,
        where_: String,
        #[source]
        source: KubeconfigError,
    },
    #[error("cannot use context `{context}` of the kubeconfig for the {cluster} cluster")]
    Context {
        cluster: String,
        context: String,
        #[source]
        source: KubeconfigError,
    },
    #[error("cannot build a client for the {cluster} cluster")]
    Client {
        cluster: String,
        #[source]
        source: kube::Error,
    },
}

impl KubeTarget {
    fn describe_source(&self) -> String {
        match &self.kubeconfig {
            Some(path) => path.display().to_string(),
            None => std::env::var("KUBECONFIG")
                .map(|list| format!("KUBECONFIG={list}"))
                .unwrap_or_else(|_| "~/.kube/config".to_owned()),
        }
    }

    /// Reads the kubeconfig and builds a client. Nothing is contacted yet.
    pub async fn connect(&self) -> Result<kube::Client, KubeClientError> {
        let kubeconfig = match &self.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::from_env().and_then(|found| match found {
                Some(kubeconfig) => Ok(kubeconfig),
                None => Kubeconfig::read(),
            }),
        }
        .map_err(|source| KubeClientError::Kubeconfig {
            cluster: self.cluster.clone(),
            where_: self.describe_source(),
            source,
        })?;
        let options = KubeConfigOptions {
            context: self.context.clone(),
            cluster: None,
            user: None,
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| KubeClientError::Context {
                cluster: self.cluster.clone(),
                context: self
                    .context
                    .clone()
                    .unwrap_or_else(|| "(current)".to_owned()),
                source,
            })?;
        kube::Client::try_from(config).map_err(|source| KubeClientError::Client {
            cluster: self.cluster.clone(),
            source,
        })
    }
}

/// A client made on first use and shared by every step of the run.
pub struct LazyClient {
    target: KubeTarget,
    client: OnceCell<kube::Client>,
}

impl std::fmt::Debug for LazyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("target", &self.target)
            .field("connected", &self.client.initialized())
            .finish()
    }
}

impl LazyClient {
    pub fn new(target: KubeTarget) -> Self {
        Self {
            target,
            client: OnceCell::new(),
        }
    }

    pub fn target(&self) -> &KubeTarget {
        &self.target
    }

    pub async fn get(&self) -> Result<kube::Client, KubeClientError> {
        self.client
            .get_or_try_init(|| self.target.connect())
            .await
            .cloned()
    }
}
