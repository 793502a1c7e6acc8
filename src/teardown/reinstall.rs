//! `genesis up --reinstall NAME`: redo one machine or one VM, in the spirit of `terraform
//! apply -replace`.
//!
//! A machine (a `tinkerbell.install` step's item) is taken out of Harvester the way Harvester's
//! "Deleting a Node" asks, as far as genesis can do it (docs/actions.md, "Redo a machine"):
//! its Node is cordoned, the machine is powered off through Rufio, its Node is deleted; then
//! its install Workflows are deleted (else the install step would adopt the old Workflow's
//! success) and the journal forgets its install step and everything downstream, so that `up`
//! installs it again and re-checks the quorum. A VM (a `kubevirt.vm` step's item) has its
//! VirtualMachine deleted, then the Node it joined the Platform cluster as, and the journal
//! forgets its `vm` step and what follows. Which Workflows, VirtualMachine and Nodes: the
//! objects those steps own ([`crate::actions::owned`]).

use genesis_engine::journal::RecordKind;
use genesis_engine::{Graph, Journal, JournalState, select};
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;

use super::ops::{self, MachineOff};
use super::{TeardownError, intend};
use crate::actions::ClusterOptions;
use crate::actions::catalog::owned_objects;
use crate::actions::owned::{Cluster, OwnedObject, Select, text};
use crate::cli::CliError;
use crate::inputs::Inputs;

/// One thing to redo, with the objects its steps own (`crate::actions::owned`).
#[derive(Debug, Clone)]
enum Target {
    Machine {
        name: String,
        /// The Tinkerbell namespace (the install step's), where its Rufio Machine is.
        namespace: String,
        /// What its install step writes: its install Workflows.
        written: Vec<OwnedObject>,
        /// The Harvester Node the install brings about.
        node: Option<String>,
    },
    Vm {
        name: String,
        /// What its `kubevirt.vm` step writes: the VirtualMachine.
        written: Vec<OwnedObject>,
        /// The Platform Nodes its `kube.node-joined` step waits for (brought about).
        platform_nodes: Vec<String>,
    },
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Self::Machine { name, .. } | Self::Vm { name, .. } => name,
        }
    }
}

/// What `--reinstall` will do, resolved against the run's steps.
#[derive(Debug, Default)]
pub struct Reinstall {
    targets: Vec<Target>,
    /// Graph positions of the steps the journal will forget, in run order.
    resets: Vec<usize>,
}

fn param(graph: &Graph, position: usize, name: &str) -> String {
    text(&graph.step(position).params, name)
        .unwrap_or_default()
        .to_owned()
}

impl Reinstall {
    /// Resolves the names; an unknown one is bad input (exit 2) with the nearest names.
    pub fn resolve(graph: &Graph, names: &[String]) -> Result<Self, CliError> {
        let mut reinstall = Self::default();
        let mut resets = vec![false; graph.len()];
        for name in names {
            if reinstall.targets.iter().any(|target| target.name() == name) {
                continue;
            }
            let of_kind = |kind: &str| {
                graph.steps().iter().position(|step| {
                    step.item.as_deref() == Some(name.as_str()) && step.kind == kind
                })
            };
            let (target, from) = if let Some(install) = of_kind("tinkerbell.install") {
                let creates = of_kind("tinkerbell.hardware")
                    .is_some_and(|hardware| param(graph, hardware, "role") == "create");
                if creates {
                    return Err(CliError::input(format!(
                        "`{name}` created the Harvester cluster: installing it again would create a new cluster beside the other nodes; nothing was done"
                    ))
                    .with_hint(
                        "reinstall a joining machine, or take the whole lab down with `genesis down --phase 3` and run `genesis up`",
                    ));
                }
                let owned = owned_objects(graph.step(install));
                let target = Target::Machine {
                    name: name.clone(),
                    namespace: param(graph, install, "namespace"),
                    node: ops::nodes(&owned, Cluster::Harvester).into_iter().next(),
                    written: owned.into_iter().filter(OwnedObject::is_written).collect(),
                };
                (target, install)
            } else if let Some(vm) = of_kind("kubevirt.vm") {
                let platform_nodes = of_kind("kube.node-joined")
                    .map(|joined| ops::nodes(&owned_objects(graph.step(joined)), Cluster::Platform))
                    .unwrap_or_default();
                let written = owned_objects(graph.step(vm))
                    .into_iter()
                    .filter(OwnedObject::is_written)
                    .collect();
                let target = Target::Vm {
                    name: name.clone(),
                    written,
                    platform_nodes,
                };
                (target, vm)
            } else {
                let known = select::machines(graph);
                let nearest = select::nearest(name, known.iter().cloned());
                let hint = if nearest.is_empty() {
                    format!("the machines and VMs are {}", known.join(", "))
                } else {
                    format!("did you mean {}?", nearest.join(" or "))
                };
                return Err(CliError::input(format!(
                    "--reinstall `{name}` names no machine or VM that genesis installs"
                ))
                .with_hint(hint));
            };
            resets[from] = true;
            for position in graph.downstream_of(from) {
                resets[position] = true;
            }
            reinstall.targets.push(target);
        }
        reinstall.resets = graph
            .order()
            .iter()
            .copied()
            .filter(|&position| resets[position])
            .collect();
        Ok(reinstall)
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Whether the journal forgets the step at `position` (it will run again).
    pub fn resets(&self, position: usize) -> bool {
        self.resets.contains(&position)
    }

    /// What will be done before the run, one line each, for the confirmation.
    pub fn actions(&self, graph: &Graph) -> Vec<String> {
        let mut lines = Vec::new();
        for target in &self.targets {
            match target {
                Target::Machine {
                    name,
                    namespace,
                    written,
                    node,
                } => {
                    if let Some(node) = node {
                        lines.push(format!("cordon Harvester Node {node}"));
                    }
                    lines.push(format!(
                        "power {name} off through its BMC (Rufio Job {namespace}/{})",
                        ops::power_off_job(name)
                    ));
                    if let Some(node) = node {
                        lines.push(format!("delete Harvester Node {node}"));
                    }
                    lines.extend(written.iter().map(|owned| deletion(owned, "install", name)));
                }
                Target::Vm {
                    name,
                    written,
                    platform_nodes,
                } => {
                    lines.extend(written.iter().map(|owned| {
                        format!("{} (its disk goes with it)", deletion(owned, "VM", name))
                    }));
                    for node in platform_nodes {
                        lines.push(format!("delete Platform Node {node}"));
                    }
                }
            }
        }
        let steps: Vec<String> = self
            .resets
            .iter()
            .map(|&position| graph.step(position).id.to_string())
            .collect();
        lines.push(format!(
            "forget {} in the journal, so that they run again: {}",
            crate::plan::count(steps.len(), "step"),
            steps.join(", ")
        ));
        lines
    }

    /// Does it, journaling each effect first; then forgets the steps. Each part observes
    /// first, so a reinstall cut short and run again finishes.
    pub async fn execute(
        &self,
        inputs: &Inputs,
        options: &ClusterOptions,
        journal: &mut Journal,
        prior: &JournalState,
    ) -> Result<(), TeardownError> {
        let clusters = ops::clients(inputs, options).await?;
        for target in &self.targets {
            match target {
                Target::Machine {
                    name,
                    namespace,
                    written,
                    node,
                } => {
                    let nodes = clusters
                        .harvester
                        .as_ref()
                        .map(|client| Api::<Node>::all(client.clone()));
                    let off = MachineOff {
                        namespace,
                        machine: name,
                        node: nodes.as_ref().zip(node.as_deref()),
                        ours_only: false,
                    };
                    ops::machine_off(journal, name, &clusters.platform, &off).await?;
                    delete(journal, &clusters, name, written).await?;
                }
                Target::Vm {
                    name,
                    written,
                    platform_nodes,
                } => {
                    delete(journal, &clusters, name, written).await?;
                    let nodes: Api<Node> = Api::all(clusters.platform.clone());
                    for node in platform_nodes {
                        if ops::exists(&nodes, node, "read the Platform Node").await? {
                            let what = format!("delete Platform Node {node}");
                            intend(journal, name, &what)?;
                            ops::delete_and_wait(&nodes, node, &what).await?;
                        }
                    }
                }
            }
        }
        for &position in &self.resets {
            let step = inputs.graph.step(position).id.clone();
            if prior.step(&step).is_none() {
                continue;
            }
            journal
                .append(RecordKind::StepReset { step: step.clone() })
                .map_err(|source| TeardownError::Journal {
                    what: format!("forget step {step}"),
                    source,
                })?;
            crate::errln!("{step}: forgotten; this run runs it again");
        }
        Ok(())
    }
}

/// For the question: `delete VirtualMachine default/cp-3 on Harvester` or `delete the install
/// Workflows of ms-02-2 (tink-system, label genesis.dev/machine=ms-02-2)`.
fn deletion(owned: &OwnedObject, role: &str, target: &str) -> String {
    let kind = &owned.resource.kind;
    let namespace = owned.namespace.as_deref().unwrap_or("all namespaces");
    match &owned.select {
        Select::Name(name) => format!(
            "delete {kind} {namespace}/{name} on {}",
            owned.cluster.name()
        ),
        Select::Labels(selector) => {
            format!("delete the {role} {kind}s of {target} ({namespace}, label {selector})")
        }
    }
}

/// Deletes every live object `written` names (genesis wrote them; the target's steps make them
/// again), journaling each deletion first under `target`.
async fn delete(
    journal: &mut Journal,
    clusters: &ops::Clusters,
    target: &str,
    written: &[OwnedObject],
) -> Result<(), TeardownError> {
    for owned in written {
        let Some(client) = clusters.of(owned.cluster) else {
            return Err(TeardownError::Unreachable {
                cluster: owned.cluster.name().to_owned(),
                message: format!(
                    "no kubeconfig at {} and no --harvester-context: genesis cannot delete {}",
                    clusters.harvester_kubeconfig.display(),
                    owned.describe()
                ),
            });
        };
        let api = ops::api(client, owned);
        for object in ops::find(&api, owned).await? {
            let name = object.metadata.name.clone().unwrap_or_default();
            let what = format!("delete {}", ops::place(owned, &object));
            intend(journal, target, &what)?;
            ops::delete_and_wait(&api, &name, &what).await?;
        }
    }
    Ok(())
}
