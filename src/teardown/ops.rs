//! The Kubernetes operations a teardown is made of: find an owned object, delete an object
//! and watch until it is gone, cordon a Node, power a machine off through a Rufio `Job`, take
//! a machine out of Harvester. Each observes first: an object already gone is done, not an
//! error.

use genesis_engine::Journal;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams};
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::wait::{Condition, await_condition, conditions};
use serde_json::json;

use super::{TeardownError, WAIT_LIMIT, intend};
use crate::actions::ClusterOptions;
use crate::actions::harvester::{ApiStep, HarvesterAccess, OperatorContext};
use crate::actions::owned::{Cluster, OwnedObject, Select};
use crate::actions::tinkerbell::{MACHINE_LABEL, MANAGED_BY};
use crate::clients::kube::LazyClient;
use crate::inputs::Inputs;

/// The two clusters as the run reaches them.
pub struct Clusters {
    pub platform: kube::Client,
    /// `None` before step 9 fetched a kubeconfig (and without `--harvester-context`).
    pub harvester: Option<kube::Client>,
    /// Where step 9 keeps the Harvester kubeconfig, for messages.
    pub harvester_kubeconfig: std::path::PathBuf,
}

/// Clients of the Platform and Harvester clusters, as the run reaches them (the Harvester
/// kubeconfig step 9 fetched, or `--harvester-context`); an unreachable one is named.
pub async fn clients(inputs: &Inputs, options: &ClusterOptions) -> Result<Clusters, TeardownError> {
    let platform = LazyClient::new(options.platform_target(&inputs.lab))
        .get()
        .await
        .map_err(|error| TeardownError::Unreachable {
            cluster: Cluster::Platform.name().to_owned(),
            message: error.to_string(),
        })?;
    let access = HarvesterAccess::for_graph(
        options.state_dir.clone(),
        OperatorContext::new(
            options.platform_target(&inputs.lab).kubeconfig,
            options.harvester_context.clone(),
        ),
        ApiStep::of(&inputs.graph),
    );
    let harvester = access
        .plan_client(&std::collections::BTreeMap::new())
        .await
        .map_err(|error| TeardownError::Unreachable {
            cluster: Cluster::Harvester.name().to_owned(),
            message: error.full_message(),
        })?;
    Ok(Clusters {
        platform,
        harvester,
        harvester_kubeconfig: access.kubeconfig_file(),
    })
}

impl Clusters {
    /// The client of `cluster`; `None` for Harvester before it can be reached.
    pub fn of(&self, cluster: Cluster) -> Option<&kube::Client> {
        match cluster {
            Cluster::Platform => Some(&self.platform),
            Cluster::Harvester => self.harvester.as_ref(),
        }
    }
}

/// Rufio's `Job` (`bmc.tinkerbell.org/v1alpha1`): tasks run in order on one Machine's BMC
/// (UPSTREAM-APIS.md 1.4; tinkerbell@9111b51c api/v1alpha1/bmc/job.go).
pub fn rufio_job_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bmc.tinkerbell.org", "v1alpha1", "Job"),
        "jobs",
    )
}

/// The power-off Jobs genesis made against a Rufio Machine it owns (by the machine label), to
/// be deleted before that Machine; `None` for any other object.
pub fn power_off_jobs(owned: &OwnedObject) -> Option<OwnedObject> {
    let rufio = crate::actions::rufio::machine_resource();
    let is_machine = owned.resource.group == rufio.group && owned.resource.kind == rufio.kind;
    match (&owned.namespace, &owned.select) {
        (Some(namespace), Select::Name(machine)) if is_machine && owned.is_written() => {
            Some(OwnedObject::labelled(
                owned.cluster,
                rufio_job_resource(),
                namespace,
                crate::actions::owned::machine_selector(machine),
            ))
        }
        _ => None,
    }
}

/// The names of the Nodes on `cluster` among `owned` (brought about by the step, not written).
pub fn nodes(owned: &[OwnedObject], cluster: Cluster) -> Vec<String> {
    owned
        .iter()
        .filter(|object| {
            !object.is_written() && object.cluster == cluster && object.resource.kind == "Node"
        })
        .filter_map(|object| match &object.select {
            Select::Name(node) => Some(node.clone()),
            Select::Labels(_) => None,
        })
        .collect()
}

/// The API of an owned object's kind, in its namespace (all namespaces for a cluster-scoped
/// kind).
pub fn api(client: &kube::Client, owned: &OwnedObject) -> Api<DynamicObject> {
    match &owned.namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &owned.resource),
        None => Api::all_with(client.clone(), &owned.resource),
    }
}

/// The live objects an owned object names: the one by its name, or every one with its labels.
pub async fn find(
    api: &Api<DynamicObject>,
    owned: &OwnedObject,
) -> Result<Vec<DynamicObject>, TeardownError> {
    let what = format!("cannot read {} {}", owned.cluster.name(), owned.describe());
    let found = match &owned.select {
        Select::Name(name) => api
            .get_opt(name)
            .await
            .map(|found| found.into_iter().collect()),
        Select::Labels(selector) => api
            .list(&ListParams::default().labels(selector))
            .await
            .map(|list| list.items),
    };
    found.map_err(|source| TeardownError::Kube { what, source })
}

/// `Kind namespace/name` of a live object of an owned object's kind.
pub fn place(owned: &OwnedObject, object: &DynamicObject) -> String {
    let name = object.metadata.name.as_deref().unwrap_or_default();
    match &owned.namespace {
        Some(namespace) => format!("{} {namespace}/{name}", owned.resource.kind),
        None => format!("{} {name}", owned.resource.kind),
    }
}

/// The name of the power-off Job genesis makes for `machine`.
pub fn power_off_job(machine: &str) -> String {
    format!("genesis-power-off-{machine}")
}

fn kube_error(what: &str) -> impl FnOnce(kube::Error) -> TeardownError + '_ {
    move |source| TeardownError::Kube {
        what: format!("cannot {what}"),
        source,
    }
}

/// Watches `name` until `condition` holds, within [`WAIT_LIMIT`].
async fn watch_until<K>(
    api: Api<K>,
    name: &str,
    what: &str,
    condition: impl Condition<K>,
) -> Result<Option<K>, TeardownError>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    match tokio::time::timeout(WAIT_LIMIT, await_condition(api, name, condition)).await {
        Ok(Ok(object)) => Ok(object),
        Ok(Err(error)) => Err(TeardownError::Failed {
            what: what.to_owned(),
            message: error.to_string(),
        }),
        Err(_) => Err(TeardownError::Timeout {
            what: what.to_owned(),
            limit: WAIT_LIMIT,
        }),
    }
}

/// Whether the object exists now.
pub async fn exists<K>(api: &Api<K>, name: &str, what: &str) -> Result<bool, TeardownError>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    api.get_opt(name)
        .await
        .map(|found| found.is_some())
        .map_err(kube_error(what))
}

/// Deletes `name` and watches until it is gone; `false` when there was nothing to delete.
pub async fn delete_and_wait<K>(api: &Api<K>, name: &str, what: &str) -> Result<bool, TeardownError>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let Some(object) = api.get_opt(name).await.map_err(kube_error(what))? else {
        return Ok(false);
    };
    let uid = object.meta().uid.clone().unwrap_or_default();
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(true),
        Err(error) => return Err(kube_error(what)(error)),
    }
    watch_until(api.clone(), name, what, conditions::is_deleted(&uid)).await?;
    Ok(true)
}

/// Marks a Node unschedulable (`kubectl cordon`); `false` when there is no such Node.
pub async fn cordon(nodes: &Api<Node>, name: &str) -> Result<bool, TeardownError> {
    let what = format!("cordon Node {name}");
    if !exists(nodes, name, &what).await? {
        return Ok(false);
    }
    let patch = json!({"spec": {"unschedulable": true}});
    match nodes
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(kube_error(&what)(error)),
    }
}

/// Whether a Rufio Job has finished, and its failure message if it failed.
fn job_outcome(job: &DynamicObject) -> Option<Result<(), String>> {
    let conditions = job.data.pointer("/status/conditions")?.as_array()?;
    let holds = |kind: &str| {
        conditions
            .iter()
            .find(|condition| condition["type"] == kind && condition["status"] == "True")
    };
    if let Some(failed) = holds("Failed") {
        return Some(Err(failed["message"]
            .as_str()
            .unwrap_or("no message")
            .to_owned()));
    }
    holds("Completed").map(|_| Ok(()))
}

/// Powers `machine` off through its Rufio Machine (same name, in `namespace`): a Job with the
/// one task `powerAction: off`, watched until Rufio says it completed. A Job of an earlier
/// power-off is deleted first (Jobs run once).
pub async fn power_off(
    client: &kube::Client,
    namespace: &str,
    machine: &str,
) -> Result<(), TeardownError> {
    let jobs: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &rufio_job_resource());
    let name = power_off_job(machine);
    let what = format!("power {machine} off through Rufio Job {namespace}/{name}");
    delete_and_wait(&jobs, &name, &what).await?;
    let mut job = DynamicObject::new(&name, &rufio_job_resource()).within(namespace);
    job.metadata.labels = Some(
        [
            (MANAGED_BY.to_owned(), "genesis".to_owned()),
            (MACHINE_LABEL.to_owned(), machine.to_owned()),
        ]
        .into(),
    );
    job.data = json!({"spec": {
        "machineRef": {"name": machine, "namespace": namespace},
        "tasks": [{"powerAction": "off"}],
    }});
    jobs.create(&PostParams::default(), &job)
        .await
        .map_err(kube_error(&what))?;
    let done = |job: Option<&DynamicObject>| job.and_then(job_outcome).is_some();
    let finished = watch_until(jobs, &name, &what, done).await?;
    match finished.as_ref().and_then(job_outcome) {
        Some(Ok(())) => Ok(()),
        Some(Err(message)) => Err(TeardownError::Failed { what, message }),
        None => Err(TeardownError::Failed {
            what,
            message: "the Job disappeared before it finished".to_owned(),
        }),
    }
}

/// The value of a label of a live object.
pub fn label<'a>(object: &'a DynamicObject, key: &str) -> Option<&'a str> {
    object
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(key))
        .map(String::as_str)
}

/// Whether a live object carries genesis's ownership label.
pub fn owned(object: &DynamicObject) -> bool {
    label(object, MANAGED_BY) == Some("genesis")
}

/// A machine to take out: powered off through its Rufio Machine (same name, in `namespace`),
/// and, when `node` is given, its Harvester Node cordoned before and deleted after.
pub struct MachineOff<'a> {
    pub namespace: &'a str,
    pub machine: &'a str,
    /// The Harvester Nodes API and the machine's Node name.
    pub node: Option<(&'a Api<Node>, &'a str)>,
    /// Power off only through a Rufio Machine that carries genesis's label (`down`).
    pub ours_only: bool,
}

/// Takes a machine out, journaling each effect first under `target`: cordons its Node,
/// powers it off, deletes its Node (Harvester's "Deleting a Node", as far as genesis can).
pub async fn machine_off(
    journal: &mut Journal,
    target: &str,
    platform: &kube::Client,
    off: &MachineOff<'_>,
) -> Result<(), TeardownError> {
    let MachineOff {
        namespace, machine, ..
    } = *off;
    if let Some((nodes, node)) = off.node
        && exists(nodes, node, "read the Harvester Node").await?
    {
        intend(journal, target, &format!("cordon Harvester Node {node}"))?;
        cordon(nodes, node).await?;
    }
    let machines: Api<DynamicObject> = Api::namespaced_with(
        platform.clone(),
        namespace,
        &crate::actions::rufio::machine_resource(),
    );
    let found = machines
        .get_opt(machine)
        .await
        .map_err(|source| TeardownError::Kube {
            what: format!("cannot read Rufio Machine {namespace}/{machine}"),
            source,
        })?;
    match found {
        Some(found) if owned(&found) || !off.ours_only => {
            intend(
                journal,
                target,
                &format!(
                    "power {machine} off through Rufio Job {namespace}/{}",
                    power_off_job(machine)
                ),
            )?;
            power_off(platform, namespace, machine).await?;
        }
        Some(_) => crate::errln!(
            "{target}: Rufio Machine {namespace}/{machine} is not genesis's ({MANAGED_BY}); {machine} is not powered off"
        ),
        None => crate::errln!(
            "{target}: no Rufio Machine {namespace}/{machine}; {machine} is not powered off"
        ),
    }
    if let Some((nodes, node)) = off.node
        && exists(nodes, node, "read the Harvester Node").await?
    {
        let what = format!("delete Harvester Node {node}");
        intend(journal, target, &what)?;
        delete_and_wait(nodes, node, &what).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rufio_machine_genesis_owns_has_power_off_jobs_and_nothing_else_has() {
        let machine = OwnedObject::named(
            Cluster::Platform,
            crate::actions::rufio::machine_resource(),
            "tink-system",
            "m1",
        );
        let jobs = power_off_jobs(&machine).expect("a Rufio Machine");
        assert_eq!(jobs.describe(), "Job tink-system/(genesis.dev/machine=m1)");
        assert!(jobs.is_written());
        let secret = OwnedObject::secret(Cluster::Platform, "tink-system", "bmc-m1");
        assert!(power_off_jobs(&secret).is_none());
    }

    #[test]
    fn a_job_is_finished_when_rufio_says_completed_or_failed() {
        let mut job = DynamicObject::new("j", &rufio_job_resource());
        assert_eq!(job_outcome(&job), None);
        job.data = json!({"status": {"conditions": [{"type": "Running", "status": "True"}]}});
        assert_eq!(job_outcome(&job), None);
        job.data = json!({"status": {"conditions": [
            {"type": "Running", "status": "False"}, {"type": "Completed", "status": "True"}]}});
        assert_eq!(job_outcome(&job), Some(Ok(())));
        job.data = json!({"status": {"conditions": [
            {"type": "Failed", "status": "True", "message": "dial tcp: i/o timeout"}]}});
        assert_eq!(
            job_outcome(&job),
            Some(Err("dial tcp: i/o timeout".to_owned()))
        );
    }
}
