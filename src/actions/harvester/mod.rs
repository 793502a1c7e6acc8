//! Step kinds that act on the Harvester cluster: its API and kubeconfig (step 9), its
//! control-plane quorum (step 11), and what the Platform VMs need on it: the VLAN network
//! (step 13) and the boot image (step 14): `harvester.api`, `harvester.quorum`,
//! `harvester.vm-network`, `harvester.vm-image`. The KubeVirt kinds (steps 15, 16) live in
//! `actions::kubevirt` and reach Harvester through [`HarvesterAccess`].

pub mod api;
pub mod quorum;
pub mod vm_image;
pub mod vm_network;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use genesis_engine::{ActionError, ErrorKind, Outputs, PlanOutcome, StepId, StepSpec};
use kube::api::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::clients::kube::KubeTarget;
use crate::clients::kube::apply::{self, Change, Object};

/// The file step 9 writes the Harvester kubeconfig to, inside the state directory.
pub const KUBECONFIG_FILE: &str = "harvester.kubeconfig";

pub(crate) use super::support::params;

/// What `harvester.api` (step 9) records for the steps after it, and `harvester.quorum`
/// passes on: typed here, JSON in the engine's `Outputs` (the keys `kubeconfig` and
/// `first_node`, beside the outputs only the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HarvesterOutputs {
    /// The kubeconfig step 9 wrote (0600, in the state directory).
    pub kubeconfig: Option<PathBuf>,
    /// The node that created the cluster (the one that needs no promotion).
    pub first_node: Option<String>,
}

impl HarvesterOutputs {
    /// The fields as one step recorded them; a field it did not record is `None`.
    pub(crate) fn read(outputs: &Outputs) -> Self {
        let text = |key: &str| outputs.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            kubeconfig: text("kubeconfig").map(PathBuf::from),
            first_node: text("first_node"),
        }
    }

    /// Each field from the first of `needs` that recorded it.
    pub(crate) fn from_needs<'a>(needs: impl IntoIterator<Item = &'a Outputs>) -> Self {
        needs
            .into_iter()
            .map(Self::read)
            .fold(Self::default(), |found, read| Self {
                kubeconfig: found.kubeconfig.or(read.kubeconfig),
                first_node: found.first_node.or(read.first_node),
            })
    }

    /// Adds the fields to a step's outputs.
    pub(crate) fn write(&self, outputs: &mut Outputs) {
        if let Some(kubeconfig) = &self.kubeconfig {
            outputs.insert(
                "kubeconfig".to_owned(),
                kubeconfig.display().to_string().into(),
            );
        }
        if let Some(first_node) = &self.first_node {
            outputs.insert("first_node".to_owned(), first_node.clone().into());
        }
    }
}

/// The step that fetches the Harvester kubeconfig (kind `harvester.api`), named by its id in
/// the graph, for the messages that tell the operator what to run.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiStep(Option<String>);

impl ApiStep {
    /// The first `harvester.api` step of `graph`.
    pub(crate) fn of(graph: &genesis_engine::Graph) -> Self {
        Self(
            graph
                .steps()
                .iter()
                .find(|step| step.kind == "harvester.api")
                .map(|step| step.id.to_string()),
        )
    }

    /// How to run it again.
    fn rerun(&self) -> String {
        match &self.0 {
            Some(id) => format!("`genesis up --only {id}`"),
            None => "a `harvester.api` step".to_owned(),
        }
    }
}

impl std::fmt::Display for ApiStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(id) => write!(f, "step `{id}` (harvester.api)"),
            None => f.write_str("the harvester.api step"),
        }
    }
}

/// The Harvester kubeconfig that an earlier step (`harvester.api`, passed on by
/// `harvester.quorum`) recorded in its outputs.
pub(crate) fn kubeconfig_from_needs<'a>(
    needs: impl IntoIterator<Item = &'a Outputs>,
) -> Option<PathBuf> {
    HarvesterOutputs::from_needs(needs).kubeconfig
}

/// A client for the Harvester cluster from the kubeconfig step 9 wrote. Its credentials are
/// registered with the scrubber first: a later run reads the file without step 9 running.
pub(crate) async fn harvester_client(kubeconfig: PathBuf) -> Result<kube::Client, ActionError> {
    harvester_client_from(kubeconfig, &ApiStep(Some("harvester-api".to_owned()))).await
}

/// [`harvester_client`], naming the step that wrote the kubeconfig.
pub(crate) async fn harvester_client_from(
    kubeconfig: PathBuf,
    api_step: &ApiStep,
) -> Result<kube::Client, ActionError> {
    let shown = kubeconfig.display().to_string();
    if let Ok(text) = std::fs::read_to_string(&kubeconfig)
        && let Ok(parsed) = serde_saphyr::from_str::<Value>(&text)
    {
        register_secrets(&parsed);
    }
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
            format!(
                "cannot use the Harvester kubeconfig {shown} (written by {api_step}; run it again with {})",
                api_step.rerun()
            ),
            error,
        )
    })
}

/// The missing-kubeconfig error, naming the step that makes it.
pub(crate) fn no_kubeconfig(step: &StepSpec, api_step: &ApiStep) -> ActionError {
    ActionError::new(
        ErrorKind::NotFound,
        format!(
            "step `{}` needs the Harvester kubeconfig, which {api_step} records; it has not run in this state directory",
            step.id
        ),
    )
}

/// How the phase-4 kinds reach Harvester. They do not `need` step 9 (phase 3 has finished
/// before phase 4 starts, possibly in an earlier run), so the kubeconfig comes from a needed
/// step's `kubeconfig` output when there is one, else from the file step 9 writes into the
/// state directory ([`KUBECONFIG_FILE`]).
/// With `--harvester-context` ([`OperatorContext`]) every client comes from that context
/// instead.
#[derive(Debug, Clone)]
pub struct HarvesterAccess {
    state_dir: PathBuf,
    operator: OperatorContext,
    api_step: ApiStep,
}

impl HarvesterAccess {
    pub fn new(state_dir: PathBuf) -> Arc<Self> {
        Self::with_operator(state_dir, OperatorContext::default())
    }

    /// Reaching Harvester through the operator's context when one is named.
    pub fn with_operator(state_dir: PathBuf, operator: OperatorContext) -> Arc<Self> {
        Arc::new(Self {
            state_dir,
            operator,
            api_step: ApiStep::default(),
        })
    }

    /// Reaching Harvester as [`Self::with_operator`], naming the graph's `harvester.api` step
    /// in messages.
    pub(crate) fn for_graph(
        state_dir: PathBuf,
        operator: OperatorContext,
        api_step: ApiStep,
    ) -> Arc<Self> {
        Arc::new(Self {
            state_dir,
            operator,
            api_step,
        })
    }

    /// The plan outcome of a Harvester step while the kubeconfig does not exist yet.
    pub(crate) fn needs_kubeconfig(&self, what: &str) -> PlanOutcome {
        PlanOutcome::DependsOnEarlier {
            what: format!(
                "the Harvester cluster ({} writes its kubeconfig); then {what}",
                self.api_step
            ),
        }
    }

    /// Where step 9 writes the kubeconfig.
    pub fn kubeconfig_file(&self) -> PathBuf {
        self.state_dir.join(KUBECONFIG_FILE)
    }

    /// The kubeconfig to use, if step 9 has left one.
    pub(crate) fn kubeconfig(&self, needs: &BTreeMap<StepId, Arc<Outputs>>) -> Option<PathBuf> {
        kubeconfig_from_needs(needs.values().map(AsRef::as_ref))
            .or_else(|| Some(self.kubeconfig_file()).filter(|path| path.is_file()))
    }

    /// A client for a running step; a missing kubeconfig is an error naming step 9.
    pub(crate) async fn client(
        &self,
        step: &StepSpec,
        needs: &BTreeMap<StepId, Arc<Outputs>>,
    ) -> Result<kube::Client, ActionError> {
        if let Some(client) = self.operator.client().await {
            return client;
        }
        let kubeconfig = self
            .kubeconfig(needs)
            .ok_or_else(|| missing_kubeconfig(step, &self.kubeconfig_file(), &self.api_step))?;
        harvester_client_from(kubeconfig, &self.api_step).await
    }

    /// A client for a plan, or `None` while step 9 has not written the kubeconfig.
    pub(crate) async fn plan_client(
        &self,
        needs: &BTreeMap<StepId, Arc<Outputs>>,
    ) -> Result<Option<kube::Client>, ActionError> {
        if let Some(client) = self.operator.client().await {
            return client.map(Some);
        }
        match self.kubeconfig(needs) {
            Some(kubeconfig) => harvester_client_from(kubeconfig, &self.api_step)
                .await
                .map(Some),
            None => Ok(None),
        }
    }
}

/// No kubeconfig in the state directory.
fn missing_kubeconfig(step: &StepSpec, file: &Path, api_step: &ApiStep) -> ActionError {
    ActionError::new(
        ErrorKind::NotFound,
        format!(
            "step `{}` needs the Harvester kubeconfig, which {api_step} writes to {}; it is not there. Run {} with this state directory first",
            step.id,
            file.display(),
            api_step.rerun()
        ),
    )
}

/// The label genesis puts on every object it writes.
pub(crate) const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "genesis");

/// The plan of one server-side apply on Harvester: a dry run against the object as it is, with
/// the changed fields as a diff (secret fields per key, never by value).
pub(crate) async fn plan_apply(
    client: &kube::Client,
    object: &Object,
) -> Result<(Change, PlanOutcome), ActionError> {
    let preview = object.preview(client).await?;
    let change = preview.change.clone();
    Ok((change, apply::outcome(&[preview])))
}

/// Harvester's `VirtualMachineImage`, which `harvester.vm-image` writes and `kubevirt.vm`
/// reads.
pub fn image_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("harvesterhci.io", "v1beta1", "VirtualMachineImage"),
        "virtualmachineimages",
    )
}

/// Every credential of the kubeconfig's users, in each spelling it may take in output: the
/// base64 value, the decoded PEM, and each line of the PEM body.
pub(crate) fn register_secrets(kubeconfig: &Value) {
    use base64::Engine as _;
    let mut values: Vec<String> = Vec::new();
    for user in kubeconfig
        .get("users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(user) = user.get("user") else {
            continue;
        };
        for field in ["client-key-data", "token", "password"] {
            let Some(value) = user.get(field).and_then(Value::as_str) else {
                continue;
            };
            values.push(value.to_owned());
            if field == "client-key-data"
                && let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(value.trim())
            {
                let pem = String::from_utf8_lossy(&pem).into_owned();
                values.extend(
                    pem.lines()
                        .map(str::trim)
                        .filter(|line| !line.is_empty() && !line.starts_with("-----"))
                        .map(str::to_owned),
                );
                values.push(pem);
            }
        }
    }
    genesis_engine::register_runtime_secrets(values);
}

/// A `name` or `namespace/name` reference, the namespace defaulting to `namespace`.
pub(crate) fn qualified(reference: &str, namespace: &str) -> (String, String) {
    match reference.split_once('/') {
        Some((namespace, name)) => (namespace.to_owned(), name.to_owned()),
        None => (namespace.to_owned(), reference.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_step_that_fetches_the_kubeconfig_by_its_id() {
        let api = ApiStep(Some("fetch-harvester".into()));
        let step = test_step("harvester.quorum", serde_json::json!({}));
        let error = no_kubeconfig(&step, &api).to_string();
        assert!(
            error.contains("which step `fetch-harvester` (harvester.api) records"),
            "{error}"
        );
        let error = missing_kubeconfig(&step, Path::new("/s/harvester.kubeconfig"), &api);
        let error = error.to_string();
        assert!(
            error.contains("Run `genesis up --only fetch-harvester`") && !error.contains("step 9"),
            "{error}"
        );
    }

    #[test]
    fn outputs_round_trip_and_come_from_the_first_need_that_has_them() {
        let api = HarvesterOutputs {
            kubeconfig: Some(PathBuf::from("/state/harvester.kubeconfig")),
            first_node: Some("ms-02-1".into()),
        };
        let mut recorded = Outputs::new();
        recorded.insert("server".into(), "https://10.10.10.20:6443".into());
        api.write(&mut recorded);
        assert_eq!(recorded["kubeconfig"], "/state/harvester.kubeconfig");
        assert_eq!(recorded["first_node"], "ms-02-1");
        assert_eq!(HarvesterOutputs::read(&recorded), api);
        let quorum = HarvesterOutputs {
            kubeconfig: Some(PathBuf::from("/other")),
            first_node: None,
        };
        let mut passed_on = Outputs::new();
        quorum.write(&mut passed_on);
        assert!(passed_on.get("first_node").is_none());
        let found = HarvesterOutputs::from_needs([&passed_on, &recorded]);
        assert_eq!(found.kubeconfig, Some(PathBuf::from("/other")));
        assert_eq!(found.first_node.as_deref(), Some("ms-02-1"));
        assert_eq!(
            HarvesterOutputs::from_needs([]),
            HarvesterOutputs::default()
        );
    }
}

/// A step of `kind` with `params`, for unit tests of the kinds' parameter checks.
#[cfg(test)]
pub(crate) fn test_step(kind: &str, params: Value) -> StepSpec {
    StepSpec {
        id: StepId::from("test-step"),
        number: "1".into(),
        ordinal: 1,
        name: "test step".into(),
        phase: 4,
        kind: kind.into(),
        item: None,
        params,
        needs: vec![],
        timeout: std::time::Duration::from_secs(5),
        retry: genesis_engine::RetryPolicy::default(),
        estimate: None,
        secret_digests: Default::default(),
    }
}

/// The operator's own Harvester context (`--harvester-context`), from the same kubeconfig as
/// the Platform's: when given, the Harvester steps reach the cluster through it instead of
/// the kubeconfig step 9 fetched over SSH (step 12 still mints Argo CD's credentials from
/// step 9's kubeconfig: Argo CD needs the certificates inline).
#[derive(Debug, Clone, Default)]
pub struct OperatorContext(Option<std::sync::Arc<crate::clients::kube::LazyClient>>);

impl OperatorContext {
    /// `context` of the kubeconfig found as for the Platform (`kubeconfig`, else KUBECONFIG or
    /// ~/.kube/config); nothing when `context` is `None`.
    pub fn new(kubeconfig: Option<PathBuf>, context: Option<String>) -> Self {
        Self(context.map(|context| {
            std::sync::Arc::new(crate::clients::kube::LazyClient::new(KubeTarget {
                cluster: "harvester".to_owned(),
                kubeconfig,
                context: Some(context),
            }))
        }))
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// For plan and run output: "context `x` of KUBECONFIG=… (--harvester-context)".
    pub fn describe(&self) -> Option<String> {
        self.0
            .as_ref()
            .map(|lazy| format!("{} (--harvester-context)", lazy.target().describe()))
    }

    /// The client, when the operator named a context.
    pub(crate) async fn client(&self) -> Option<Result<kube::Client, ActionError>> {
        let lazy = self.0.as_ref()?;
        Some(lazy.get().await.map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                format!(
                    "cannot use {} for the Harvester cluster; check the name with `kubectl config get-contexts`, or leave out --harvester-context to use the kubeconfig the harvester.api step fetches",
                    self.describe().unwrap_or_default()
                ),
                error,
            )
        }))
    }
}
