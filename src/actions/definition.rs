//! What a step kind is: its definition (name, summary, target, preview, parameter type, name
//! rules, description, how its action is built), the parameters as the description reads them,
//! and the clusters the remote kinds' actions are built from. Every kind's file declares one
//! [`Definition`]; [`super::catalog`] and the registry read the list of them.

use std::sync::Arc;

use genesis_engine::{Action, Graph};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::harvester;
use super::shape::{self, Shape, ShapeError};
use crate::clients::kube::{KubeTarget, LazyClient};
use crate::inputs::lab::Lab;
use crate::secrets::Secrets;

/// What the plan can say about a step before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// Read-only checks: running it changes nothing.
    Check,
    /// Writes objects whose current state can be observed (offline: not observed).
    Apply,
    /// Writes objects built from what an earlier step discovers.
    DependsOnEarlier,
    /// Runs something genesis cannot look inside (a local command).
    CannotPreview,
}

/// What running a step does to a machine beyond the objects it writes: the effects an operator
/// must agree to before `genesis up` (docs/actions.md, "Effects", says which kind has which and
/// why).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// Overwrites the machine's disks: the lab's `install_disk` and `data_disk`.
    ErasesDisks,
    /// Powers the machine off and on through its BMC (with a one-time PXE boot).
    PowerCycles,
}

impl Effect {
    /// The word the plan JSON uses.
    pub fn label(self) -> &'static str {
        match self {
            Self::ErasesDisks => "erases-disks",
            Self::PowerCycles => "power-cycles",
        }
    }
}

/// Where a kind acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Local,
    Http,
    Platform,
    Harvester,
}

/// One kind's whole definition, as its file declares it (`pub(crate) const KIND`).
pub(crate) struct Definition {
    pub name: &'static str,
    pub summary: &'static str,
    pub target: Target,
    pub preview: Preview,
    /// What running it does to a machine beyond the objects it writes; empty for most kinds.
    pub effects: &'static [Effect],
    /// The objects its step owns, from the resolved parameters, in the order its action
    /// writes them (`genesis describe`, `health`, `down`, `up --reinstall`; see
    /// [`super::owned`]).
    pub owns: Option<fn(&Value) -> Vec<super::owned::OwnedObject>>,
    /// The type the action reads its parameters into.
    pub params: ParamType,
    /// The parameters that become namespaces or object names, for `validate`'s name rules.
    pub names: &'static [(&'static str, NameRule)],
    /// Offline description of what the step would do, from its resolved parameters.
    pub describe: fn(&Params<'_>) -> Vec<String>,
    /// How the registry makes the kind's action.
    pub build: Build,
}

/// How a kind's action is made: from the secrets alone, or with the clusters' clients.
pub(crate) enum Build {
    Local(fn(&Secrets) -> Arc<dyn Action>),
    Remote(fn(&Clusters<'_>) -> Arc<dyn Action>),
}

/// A kind's parameter type, as the catalog uses it: its shape and its strict check.
#[derive(Clone, Copy)]
pub(crate) struct ParamType {
    pub(crate) shape: fn() -> Result<Shape, ShapeError>,
    pub(crate) check: fn(&Value) -> Result<(), ParamTypeError>,
}

impl ParamType {
    pub(crate) const fn of<T: DeserializeOwned>() -> Self {
        Self {
            shape: shape::of::<T>,
            check: typed::<T>,
        }
    }

    pub(crate) fn shape(&self) -> Result<Shape, ShapeError> {
        (self.shape)()
    }
}

/// Read access to resolved parameters, for descriptions. Secrets show by name only.
pub struct Params<'a>(pub &'a Value);

impl Params<'_> {
    /// A parameter as display text.
    pub fn text(&self, name: &str) -> String {
        self.0.get(name).map_or_else(|| "?".to_owned(), display)
    }
}

/// A parameter value as display text: a `{secret: NAME}` as `<secret NAME>`, a list joined.
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        Value::Object(map) if map.len() == 1 && map.contains_key("secret") => {
            format!(
                "<secret {}>",
                map.get("secret").map_or_else(String::new, display)
            )
        }
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// A parameter whose value does not have the type its kind reads it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTypeError {
    /// Where below `params`, e.g. `namespace` or `artifacts[0].size`; empty for `params` itself.
    pub param: String,
    /// What serde found and expected, e.g. `invalid type: sequence, expected a string`.
    pub message: String,
}

/// Reads `params` into `T`, as the action will at run time.
fn typed<T: DeserializeOwned>(params: &Value) -> Result<(), ParamTypeError> {
    serde_path_to_error::deserialize::<_, T>(params)
        .map(drop)
        .map_err(|error| {
            let param = error.path().to_string();
            ParamTypeError {
                param: if param == "." { String::new() } else { param },
                message: error.into_inner().to_string(),
            }
        })
}

/// What a parameter's value becomes in Kubernetes, for the name rules `genesis validate`
/// applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// A namespace: an RFC 1123 label.
    Namespace,
    /// An object's name: an RFC 1123 subdomain.
    Object,
    /// An object's name, or `namespace/name`.
    ObjectRef,
    /// Argo CD's cluster name: the Secret is named `cluster-<value>`.
    ArgocdCluster,
}

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

impl ClusterOptions {
    /// The Platform cluster as the actions reach it: the command line's kubeconfig and
    /// context over the lab file's.
    pub fn platform_target(&self, lab: &Lab) -> KubeTarget {
        let endpoint = &lab.endpoints.platform;
        KubeTarget {
            cluster: "platform".to_owned(),
            kubeconfig: self
                .kubeconfig
                .clone()
                .or_else(|| endpoint.kubeconfig.as_ref().map(std::path::PathBuf::from)),
            context: Some(
                self.context
                    .clone()
                    .unwrap_or_else(|| endpoint.context.clone()),
            ),
        }
    }
}

/// What the cluster kinds' actions are made from: the inputs, the options, and the clients
/// they share (each connects on first use, so `plan --offline` and `validate` never connect).
pub(crate) struct Clusters<'a> {
    pub lab: &'a Lab,
    pub secrets: &'a Secrets,
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
    pub(crate) fn new(
        lab: &'a Lab,
        secrets: &'a Secrets,
        graph: &Graph,
        options: &'a ClusterOptions,
    ) -> Self {
        let platform = Arc::new(LazyClient::new(options.platform_target(lab)));
        let operator = harvester::OperatorContext::new(
            platform.target().kubeconfig.clone(),
            options.harvester_context.clone(),
        );
        let harvester = harvester::HarvesterAccess::for_graph(
            options.state_dir.clone(),
            operator.clone(),
            harvester::ApiStep::of(graph),
        );
        Self {
            lab,
            secrets,
            options,
            platform,
            operator,
            harvester,
            api_step: harvester::ApiStep::of(graph),
        }
    }
}
