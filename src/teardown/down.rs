//! `genesis down`: removes what genesis made, in reverse dependency order (the reverse of the
//! run order of the selected steps), and only that: an object without genesis's ownership
//! label is left alone and reported. Machines are powered off through Rufio, not erased.
//! Each removal is journaled before it happens; a step whose objects are all gone is
//! forgotten in the journal, so that `genesis up` makes them again.
//!
//! What a step's teardown removes comes from the one model of the objects a step owns
//! ([`crate::actions::owned`]): the ones genesis writes, in the reverse of the order its kind
//! lists them, with the power-off Jobs genesis made against a Rufio Machine before that
//! Machine. Nodes are brought about, not written: they are not in the list.

use genesis_engine::journal::RecordKind;
use genesis_engine::{Graph, Journal, JournalState, StepSpec, select};
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

use super::ops::{self, MachineOff};
use super::{TeardownError, intend};
use crate::actions::ClusterOptions;
use crate::actions::catalog::{self, Effect, Preview};
use crate::actions::owned::{Cluster, OwnedObject, Select, text};
use crate::actions::tinkerbell::MANAGED_BY;
use crate::inputs::Inputs;

/// What taking a step down means.
#[derive(Debug, Clone)]
enum Teardown {
    /// The kind writes nothing: nothing to delete; the journal forgets it so that `up`
    /// checks again.
    Checks,
    /// Delete these objects (in this order), after powering this machine off when the kind
    /// power-cycles one.
    Objects {
        power_off: Option<Machine>,
        objects: Vec<OwnedObject>,
    },
    /// A local command: genesis cannot know what it made.
    Unknown,
}

/// A machine a step power-cycles.
#[derive(Debug, Clone)]
struct Machine {
    /// The Tinkerbell namespace, where its Rufio Machine is.
    namespace: String,
    name: String,
    /// The Harvester Node it becomes (brought about by the step), for `--machine`.
    node: Option<String>,
}

/// What taking `step` down means, from its kind's definition: the objects it owns that
/// genesis writes, last written first, each Rufio Machine's power-off Jobs before it; and the
/// machine powered off first when the kind power-cycles one.
fn teardown(step: &StepSpec) -> Teardown {
    let Some(kind) = catalog::find(&step.kind) else {
        return Teardown::Unknown;
    };
    if kind.preview == Preview::CannotPreview {
        return Teardown::Unknown;
    }
    let owned = catalog::owned_objects(step);
    let power_off = kind
        .effects
        .contains(&Effect::PowerCycles)
        .then(|| {
            let namespace = text(&step.params, "namespace")?;
            let name = text(&step.params, "machine")?;
            let node = ops::nodes(&owned, Cluster::Harvester).into_iter().next();
            Some(Machine {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                node,
            })
        })
        .flatten();
    let mut objects = Vec::new();
    for object in owned.into_iter().rev().filter(OwnedObject::is_written) {
        objects.extend(ops::power_off_jobs(&object));
        objects.push(object);
    }
    if power_off.is_none() && objects.is_empty() {
        Teardown::Checks
    } else {
        Teardown::Objects { power_off, objects }
    }
}

/// For the list: `Platform Machine tink-system/ms-02-1` or `Platform Workflows in
/// tink-system labelled genesis.dev/machine=ms-02-2`.
fn removal(owned: &OwnedObject) -> String {
    let cluster = owned.cluster.name();
    let kind = &owned.resource.kind;
    match (&owned.select, &owned.namespace) {
        (Select::Name(name), Some(namespace)) => format!("{cluster} {kind} {namespace}/{name}"),
        (Select::Name(name), None) => format!("{cluster} {kind} {name}"),
        (Select::Labels(selector), Some(namespace)) => {
            format!("{cluster} {kind}s in {namespace} labelled {selector}")
        }
        (Select::Labels(selector), None) => format!("{cluster} {kind}s labelled {selector}"),
    }
}

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
                    if own || matches!(teardown(step), Teardown::Checks) {
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
            if matches!(teardown(graph.step(position)), Teardown::Objects { .. }) {
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
            match teardown(step) {
                Teardown::Objects { power_off, objects } => {
                    let mut parts = Vec::new();
                    if let Some(machine) = &power_off {
                        if let Some(node) = machine.node.as_ref().filter(|_| self.remove_nodes) {
                            parts.push(format!("cordon and delete Harvester Node {node}"));
                        }
                        parts.push(format!(
                            "power {} off through its BMC (its disks are not erased)",
                            machine.name
                        ));
                    }
                    parts.extend(
                        objects
                            .iter()
                            .map(|owned| format!("delete {}", removal(owned))),
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
        let clusters = ops::clients(inputs, options).await?;
        let nodes = clusters
            .harvester
            .as_ref()
            .map(|client| Api::<Node>::all(client.clone()));
        let mut outcome = Outcome::default();
        for &position in &self.steps {
            let step = inputs.graph.step(position);
            let id = step.id.to_string();
            let complete = match teardown(step) {
                Teardown::Checks => self.recheck[position],
                Teardown::Unknown => false,
                Teardown::Objects { power_off, objects } => {
                    if let Some(machine) = &power_off {
                        let node = nodes
                            .as_ref()
                            .filter(|_| self.remove_nodes)
                            .zip(machine.node.as_deref());
                        let off = MachineOff {
                            namespace: &machine.namespace,
                            machine: &machine.name,
                            node,
                            ours_only: true,
                        };
                        ops::machine_off(journal, &id, &clusters.platform, &off).await?;
                    }
                    let mut whole = true;
                    for owned in &objects {
                        let Some(client) = clusters.of(owned.cluster) else {
                            crate::errln!(
                                "{id}: the Harvester cluster cannot be reached (no kubeconfig at {}); {} is left",
                                clusters.harvester_kubeconfig.display(),
                                removal(owned)
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
}

/// Deletes the objects `owned` names that carry genesis's label; `false` when one was left.
async fn remove(
    journal: &mut Journal,
    client: &kube::Client,
    owned: &OwnedObject,
    step: &str,
    outcome: &mut Outcome,
) -> Result<bool, TeardownError> {
    let api = ops::api(client, owned);
    let mut whole = true;
    for object in ops::find(&api, owned).await? {
        let name = object.metadata.name.clone().unwrap_or_default();
        let described = format!("{} {}", owned.cluster.name(), ops::place(owned, &object));
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
