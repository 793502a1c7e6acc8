//! `genesis down`: removes what genesis made, in reverse dependency order (the reverse of the
//! run order of the selected steps), and only that: an object without genesis's ownership
//! label is left alone and reported. Machines are powered off through Rufio, not erased.
//! Each removal is journaled before it happens; a step whose objects are all gone is
//! forgotten in the journal, so that `genesis up` makes them again.

use genesis_engine::journal::RecordKind;
use genesis_engine::{Graph, Journal, JournalState, select};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, ListParams};

use super::kinds::{self, Cluster, Owned, Teardown, Which};
use super::ops;
use super::{TeardownError, intend};
use crate::actions::ClusterOptions;
use crate::actions::tinkerbell::MANAGED_BY;
use crate::inputs::Inputs;

/// Which part of the lab to take down.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only this phase and later ones.
    pub phase: Option<u32>,
    /// Only these machines' or VMs' steps (and the checks after them).
    pub machines: Vec<String>,
}

/// The steps to take down, in the order they are taken down.
#[derive(Debug)]
pub struct Down {
    /// Graph positions, reverse run order.
    steps: Vec<usize>,
    /// The check steps among them that run again once something before them is gone.
    recheck: Vec<bool>,
    /// Whether whole machines are taken out of Harvester (`--machine`).
    remove_nodes: bool,
}

/// What happened to one step.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Objects left alone (not genesis's), as described.
    pub left_alone: Vec<String>,
    /// Steps forgotten in the journal.
    pub forgotten: Vec<String>,
}

impl Down {
    /// The selected steps; an unknown `--machine` is a selection error with the nearest names.
    pub fn plan(graph: &Graph, scope: &Scope) -> Result<Self, select::SelectError> {
        let mut selected = vec![false; graph.len()];
        for (position, step) in graph.steps().iter().enumerate() {
            selected[position] = scope.phase.is_none_or(|phase| step.phase >= phase);
        }
        if !scope.machines.is_empty() {
            let mut branch = vec![false; graph.len()];
            for machine in &scope.machines {
                for position in select::machine_branch(graph, machine)? {
                    let step = graph.step(position);
                    // Its own steps, and the checks after them; not a shared object (step 12's
                    // Secret) that other machines need too.
                    let own = step.item.as_deref() == Some(machine.as_str());
                    if own || matches!(kinds::of(step), Teardown::Checks) {
                        branch[position] = true;
                    }
                }
            }
            for (position, keep) in branch.into_iter().enumerate() {
                selected[position] &= keep;
            }
        }
        let mut recheck = vec![false; graph.len()];
        for (position, _) in selected.iter().enumerate().filter(|(_, on)| **on) {
            if matches!(kinds::of(graph.step(position)), Teardown::Objects { .. }) {
                for downstream in graph.downstream_of(position) {
                    recheck[downstream] = true;
                }
            }
        }
        let steps = graph
            .order()
            .iter()
            .rev()
            .copied()
            .filter(|&position| selected[position])
            .collect();
        Ok(Self {
            steps,
            recheck,
            remove_nodes: !scope.machines.is_empty(),
        })
    }

    /// What it will do, one line per step, for the question and `--dry-run`.
    pub fn lines(&self, graph: &Graph) -> Vec<String> {
        let mut lines = Vec::new();
        let mut checks_only = Vec::new();
        for &position in &self.steps {
            let step = graph.step(position);
            let head = format!("step {} {}", step.number, step.id);
            match kinds::of(step) {
                Teardown::Objects { power_off, objects } => {
                    let mut parts = Vec::new();
                    if let Some((_, machine)) = &power_off {
                        if self.remove_nodes {
                            parts.push(format!("cordon and delete Harvester Node {machine}"));
                        }
                        parts.push(format!(
                            "power {machine} off through its BMC (its disks are not erased)"
                        ));
                    }
                    parts.extend(
                        objects
                            .iter()
                            .map(|owned| format!("delete {}", owned.describe())),
                    );
                    lines.push(format!("{head}: {}", parts.join("; ")));
                }
                Teardown::Checks if self.recheck[position] => lines.push(format!(
                    "{head}: only checks; forgotten, so that `genesis up` checks again"
                )),
                Teardown::Checks => checks_only.push(step.id.to_string()),
                Teardown::Unknown => lines.push(format!(
                    "{head}: a local command; genesis cannot know what it made, so it stays done"
                )),
            }
        }
        if !checks_only.is_empty() {
            checks_only.reverse();
            lines.push(format!(
                "nothing to delete for {} (they only check what is there: the Platform cluster, its Tinkerbell, Argo CD and the PXE artifacts); they stay done",
                checks_only.join(", ")
            ));
        }
        lines
    }

    /// Takes the steps down in order; journals each effect first.
    pub async fn execute(
        &self,
        inputs: &Inputs,
        options: &ClusterOptions,
        journal: &mut Journal,
        prior: &JournalState,
    ) -> Result<Outcome, TeardownError> {
        let ops::Clusters {
            platform,
            harvester,
            harvester_kubeconfig,
        } = ops::clients(inputs, options).await?;
        let mut outcome = Outcome::default();
        for &position in &self.steps {
            let step = inputs.graph.step(position);
            let id = step.id.to_string();
            let complete = match kinds::of(step) {
                Teardown::Checks => self.recheck[position],
                Teardown::Unknown => false,
                Teardown::Objects { power_off, objects } => {
                    if let Some((namespace, machine)) = &power_off {
                        let nodes = harvester
                            .as_ref()
                            .map(|client| Api::<Node>::all(client.clone()));
                        self.machine_off(
                            journal,
                            &platform,
                            nodes.as_ref(),
                            namespace,
                            machine,
                            &id,
                        )
                        .await?;
                    }
                    let mut whole = true;
                    for owned in &objects {
                        let client = match owned.cluster {
                            Cluster::Platform => Some(&platform),
                            Cluster::Harvester => harvester.as_ref(),
                        };
                        let Some(client) = client else {
                            crate::errln!(
                                "{id}: the Harvester cluster cannot be reached (no kubeconfig at {}); {} is left",
                                harvester_kubeconfig.display(),
                                owned.describe()
                            );
                            whole = false;
                            continue;
                        };
                        whole &= remove(journal, client, owned, &id, &mut outcome).await?;
                    }
                    whole
                }
            };
            if complete && prior.step(&step.id).is_some() {
                journal
                    .append(RecordKind::StepReset {
                        step: step.id.clone(),
                    })
                    .map_err(|source| TeardownError::Journal {
                        what: format!("forget step {id}"),
                        source,
                    })?;
                outcome.forgotten.push(id);
            }
        }
        Ok(outcome)
    }

    /// Powers a machine off through its Rufio Machine (when genesis's is there); with
    /// `--machine`, cordons its Harvester Node first and deletes it after.
    async fn machine_off(
        &self,
        journal: &mut Journal,
        platform: &kube::Client,
        nodes: Option<&Api<Node>>,
        namespace: &str,
        machine: &str,
        step: &str,
    ) -> Result<(), TeardownError> {
        let nodes = nodes.filter(|_| self.remove_nodes);
        if let Some(nodes) = nodes
            && ops::exists(nodes, machine, "read the Harvester Node").await?
        {
            intend(journal, step, &format!("cordon Harvester Node {machine}"))?;
            ops::cordon(nodes, machine).await?;
        }
        let machines: Api<DynamicObject> = Api::namespaced_with(
            platform.clone(),
            namespace,
            &crate::actions::rufio::machine_resource(),
        );
        match machines.get_opt(machine).await {
            Ok(Some(found)) if ops::owned(&found) => {
                intend(
                    journal,
                    step,
                    &format!(
                        "power {machine} off through Rufio Job {namespace}/{}",
                        ops::power_off_job(machine)
                    ),
                )?;
                ops::power_off(platform, namespace, machine).await?;
            }
            Ok(Some(_)) => crate::errln!(
                "{step}: Rufio Machine {namespace}/{machine} is not genesis's ({MANAGED_BY}); {machine} is not powered off"
            ),
            Ok(None) => crate::errln!(
                "{step}: no Rufio Machine {namespace}/{machine}; {machine} is not powered off"
            ),
            Err(source) => {
                return Err(TeardownError::Kube {
                    what: format!("cannot read Rufio Machine {namespace}/{machine}"),
                    source,
                });
            }
        }
        if let Some(nodes) = nodes
            && ops::exists(nodes, machine, "read the Harvester Node").await?
        {
            let what = format!("delete Harvester Node {machine}");
            intend(journal, step, &what)?;
            ops::delete_and_wait(nodes, machine, &what).await?;
        }
        Ok(())
    }
}

/// Deletes the objects `owned` names that carry genesis's label; `false` when one was left.
async fn remove(
    journal: &mut Journal,
    client: &kube::Client,
    owned: &Owned,
    step: &str,
    outcome: &mut Outcome,
) -> Result<bool, TeardownError> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &owned.namespace, &owned.resource);
    let kind = format!("{} {}", owned.cluster.label(), owned.resource.kind);
    let found: Vec<DynamicObject> = match &owned.which {
        Which::Name(name) => api
            .get_opt(name)
            .await
            .map_err(|source| TeardownError::Kube {
                what: format!("cannot read {kind} {}/{name}", owned.namespace),
                source,
            })?
            .into_iter()
            .collect(),
        Which::Labelled(selector) => {
            api.list(&ListParams::default().labels(selector))
                .await
                .map_err(|source| TeardownError::Kube {
                    what: format!("cannot list {}", owned.describe()),
                    source,
                })?
                .items
        }
    };
    let mut whole = true;
    for object in found {
        let name = object.metadata.name.clone().unwrap_or_default();
        let described = format!("{kind} {}/{name}", owned.namespace);
        if !ops::owned(&object) {
            crate::errln!(
                "{step}: left alone: {described} has no {MANAGED_BY}=genesis label, so genesis did not make it"
            );
            outcome.left_alone.push(described);
            whole = false;
            continue;
        }
        let what = format!("delete {described}");
        intend(journal, step, &what)?;
        ops::delete_and_wait(&api, &name, &what).await?;
    }
    Ok(whole)
}
