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
//! forgets its `vm` step and what follows.

use genesis_engine::journal::RecordKind;
use genesis_engine::{Graph, Journal, JournalState, select};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, ListParams};

use super::ops::{self, text};
use super::{TeardownError, intend};
use crate::actions::ClusterOptions;
use crate::actions::tinkerbell::workflow_resource;
use crate::cli::CliError;
use crate::inputs::Inputs;

/// The label the install Workflows carry: the machine they install.
const MACHINE_LABEL: &str = "genesis.dev/machine";

/// One thing to redo.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Machine {
        name: String,
        /// The Tinkerbell namespace (the install step's), where its Rufio Machine and
        /// Workflows live.
        namespace: String,
        install: String,
    },
    Vm {
        name: String,
        namespace: String,
        vm: String,
        /// The Node it joined the Platform cluster as (its `kube.node-joined` step), if any.
        platform_node: Option<String>,
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
    text(&graph.step(position).params, &format!("/{name}")).to_owned()
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
                let target = Target::Machine {
                    name: name.clone(),
                    namespace: param(graph, install, "namespace"),
                    install: graph.step(install).id.to_string(),
                };
                (target, install)
            } else if let Some(vm) = of_kind("kubevirt.vm") {
                let platform_node = of_kind("kube.node-joined")
                    .filter(|&joined| param(graph, joined, "cluster") == "platform")
                    .map(|joined| param(graph, joined, "node"));
                let target = Target::Vm {
                    name: name.clone(),
                    namespace: param(graph, vm, "namespace"),
                    vm: graph.step(vm).id.to_string(),
                    platform_node,
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
                    name, namespace, ..
                } => {
                    lines.push(format!("cordon Harvester Node {name}"));
                    lines.push(format!(
                        "power {name} off through its BMC (Rufio Job {namespace}/{})",
                        ops::power_off_job(name)
                    ));
                    lines.push(format!("delete Harvester Node {name}"));
                    lines.push(format!(
                        "delete the install Workflows of {name} ({namespace}, label {MACHINE_LABEL}={name})"
                    ));
                }
                Target::Vm {
                    name,
                    namespace,
                    platform_node,
                    ..
                } => {
                    lines.push(format!(
                        "delete VirtualMachine {namespace}/{name} on Harvester (its disk goes with it)"
                    ));
                    if let Some(node) = platform_node {
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
        let ops::Clusters {
            platform,
            harvester,
            harvester_kubeconfig,
        } = ops::clients(inputs, options).await?;
        for target in &self.targets {
            match target {
                Target::Machine {
                    name, namespace, ..
                } => {
                    machine(journal, &platform, harvester.as_ref(), name, namespace).await?;
                }
                Target::Vm {
                    name,
                    namespace,
                    platform_node,
                    ..
                } => {
                    let Some(harvester) = &harvester else {
                        return Err(TeardownError::Unreachable {
                            cluster: "Harvester".to_owned(),
                            message: format!(
                                "no kubeconfig at {} and no --harvester-context: genesis cannot delete VM {name}",
                                harvester_kubeconfig.display()
                            ),
                        });
                    };
                    vm(
                        journal,
                        &platform,
                        harvester,
                        target,
                        namespace,
                        platform_node,
                    )
                    .await?;
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

/// Takes machine `name` out of Harvester and deletes its install Workflows.
async fn machine(
    journal: &mut Journal,
    platform: &kube::Client,
    harvester: Option<&kube::Client>,
    name: &str,
    namespace: &str,
) -> Result<(), TeardownError> {
    let nodes = harvester.map(|client| Api::<Node>::all(client.clone()));
    if let Some(nodes) = &nodes
        && ops::exists(nodes, name, "read the Harvester Node").await?
    {
        intend(journal, name, &format!("cordon Harvester Node {name}"))?;
        ops::cordon(nodes, name).await?;
    }
    let machines: Api<DynamicObject> = Api::namespaced_with(
        platform.clone(),
        namespace,
        &crate::actions::rufio::machine_resource(),
    );
    if ops::exists(&machines, name, "read the Rufio Machine").await? {
        intend(
            journal,
            name,
            &format!(
                "power {name} off through Rufio Job {namespace}/{}",
                ops::power_off_job(name)
            ),
        )?;
        ops::power_off(platform, namespace, name).await?;
    } else {
        crate::errln!("{name}: no Rufio Machine {namespace}/{name}; not powered off");
    }
    if let Some(nodes) = &nodes
        && ops::exists(nodes, name, "read the Harvester Node").await?
    {
        let what = format!("delete Harvester Node {name}");
        intend(journal, name, &what)?;
        ops::delete_and_wait(nodes, name, &what).await?;
    }
    let workflows: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), namespace, &workflow_resource());
    let selector = format!("{MACHINE_LABEL}={name}");
    let listed = workflows
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| TeardownError::Kube {
            what: format!("cannot list the Workflows of {name} in {namespace}"),
            source,
        })?;
    for workflow in listed {
        let Some(workflow) = workflow.metadata.name else {
            continue;
        };
        let what = format!("delete Workflow {namespace}/{workflow}");
        intend(journal, name, &what)?;
        ops::delete_and_wait(&workflows, &workflow, &what).await?;
    }
    Ok(())
}

/// Deletes a VM's VirtualMachine on Harvester, then the Node it joined the Platform as.
async fn vm(
    journal: &mut Journal,
    platform: &kube::Client,
    harvester: &kube::Client,
    target: &Target,
    namespace: &str,
    platform_node: &Option<String>,
) -> Result<(), TeardownError> {
    let name = target.name();
    let vms: Api<DynamicObject> = Api::namespaced_with(
        harvester.clone(),
        namespace,
        &crate::actions::kubevirt::vm_resource(),
    );
    if ops::exists(&vms, name, "read the VirtualMachine").await? {
        let what = format!("delete VirtualMachine {namespace}/{name}");
        intend(journal, name, &what)?;
        ops::delete_and_wait(&vms, name, &what).await?;
    }
    if let Some(node) = platform_node {
        let nodes: Api<Node> = Api::all(platform.clone());
        if ops::exists(&nodes, node, "read the Platform Node").await? {
            let what = format!("delete Platform Node {node}");
            intend(journal, name, &what)?;
            ops::delete_and_wait(&nodes, node, &what).await?;
        }
    }
    Ok(())
}
