//! Which objects each step kind owns, as `genesis down` removes them: read from the step's
//! resolved parameters exactly as the kind's own file names them (each entry says which file).
//! Every one of these objects carries `app.kubernetes.io/managed-by: genesis` when genesis
//! wrote it; `down` deletes only objects that still carry it (docs/actions.md, "Taking the
//! lab down").

use genesis_engine::StepSpec;
use kube::api::ApiResource;

use super::ops::{rufio_job_resource, text};
use crate::actions::harvester::image_resource;
use crate::actions::harvester::vm_network::nad_resource;
use crate::actions::kubevirt::{userdata_secret_name, vm_resource};
use crate::actions::rufio::machine_resource;
use crate::actions::support::secret_resource;
use crate::actions::tinkerbell::{hardware_resource, template_resource, workflow_resource};

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cluster {
    Platform,
    Harvester,
}

impl Cluster {
    pub fn label(self) -> &'static str {
        match self {
            Self::Platform => "Platform",
            Self::Harvester => "Harvester",
        }
    }
}

/// Which objects: one by name, or every object with a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    Name(String),
    Labelled(String),
}

/// Objects a step owns.
#[derive(Debug, Clone)]
pub struct Owned {
    pub cluster: Cluster,
    pub resource: ApiResource,
    pub namespace: String,
    pub which: Which,
}

impl Owned {
    fn platform(resource: ApiResource, namespace: &str, which: Which) -> Self {
        Self {
            cluster: Cluster::Platform,
            resource,
            namespace: namespace.to_owned(),
            which,
        }
    }

    fn harvester(resource: ApiResource, namespace: &str, name: &str) -> Self {
        Self {
            cluster: Cluster::Harvester,
            resource,
            namespace: namespace.to_owned(),
            which: Which::Name(name.to_owned()),
        }
    }

    /// "Workflow tink-system/x" or "Workflows in tink-system labelled k=v".
    pub fn describe(&self) -> String {
        match &self.which {
            Which::Name(name) => format!(
                "{} {} {}/{name}",
                self.cluster.label(),
                self.resource.kind,
                self.namespace
            ),
            Which::Labelled(selector) => format!(
                "{} {}s in {} labelled {selector}",
                self.cluster.label(),
                self.resource.kind,
                self.namespace
            ),
        }
    }
}

/// What taking a step down means.
#[derive(Debug, Clone)]
pub enum Teardown {
    /// The kind only reads or waits: nothing to delete; the journal forgets it so that `up`
    /// checks again.
    Checks,
    /// Delete these objects (in this order), after powering this machine off (Tinkerbell
    /// namespace, machine) when there is one.
    Objects {
        power_off: Option<(String, String)>,
        objects: Vec<Owned>,
    },
    /// A local command: genesis cannot know what it made.
    Unknown,
}

/// The machine label of install Workflows and genesis's power-off Jobs.
fn machine_selector(machine: &str) -> Which {
    Which::Labelled(format!("genesis.dev/machine={machine}"))
}

/// What taking `step` down means, by its kind.
pub fn of(step: &StepSpec) -> Teardown {
    let param = |name: &str| text(&step.params, &format!("/{name}")).to_owned();
    let namespace = param("namespace");
    match step.kind.as_str() {
        // src/actions/tinkerbell/template.rs: the Template `name` in `namespace`.
        "tinkerbell.template" => Teardown::Objects {
            power_off: None,
            objects: vec![Owned::platform(
                template_resource(),
                &namespace,
                Which::Name(param("name")),
            )],
        },
        // src/actions/rufio/machine.rs: the Machine `machine` and its Secret `bmc-<machine>`;
        // and the power-off Jobs genesis made for it (src/teardown/ops.rs), first.
        "rufio.machine" => {
            let machine = param("machine");
            Teardown::Objects {
                power_off: None,
                objects: vec![
                    Owned::platform(rufio_job_resource(), &namespace, machine_selector(&machine)),
                    Owned::platform(machine_resource(), &namespace, Which::Name(machine.clone())),
                    Owned::platform(
                        secret_resource(),
                        &namespace,
                        Which::Name(format!("bmc-{machine}")),
                    ),
                ],
            }
        }
        // src/actions/tinkerbell/hardware.rs: the Hardware `machine`.
        "tinkerbell.hardware" => Teardown::Objects {
            power_off: None,
            objects: vec![Owned::platform(
                hardware_resource(),
                &namespace,
                Which::Name(param("machine")),
            )],
        },
        // src/actions/tinkerbell/install.rs: the Workflows labelled with the machine; the
        // machine is powered off through Rufio first (not erased).
        "tinkerbell.install" => {
            let machine = param("machine");
            Teardown::Objects {
                power_off: Some((namespace.clone(), machine.clone())),
                objects: vec![Owned::platform(
                    workflow_resource(),
                    &namespace,
                    machine_selector(&machine),
                )],
            }
        }
        // src/actions/argocd/cluster_secret.rs: the Secret `secret_name` (else
        // `cluster_name`) in `namespace`.
        "argocd.cluster-secret" => {
            let name = Some(param("secret_name"))
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| param("cluster_name"));
            Teardown::Objects {
                power_off: None,
                objects: vec![Owned::platform(
                    secret_resource(),
                    &namespace,
                    Which::Name(name),
                )],
            }
        }
        // src/actions/harvester/vm_network.rs: the NetworkAttachmentDefinition `name`.
        "harvester.vm-network" => Teardown::Objects {
            power_off: None,
            objects: vec![Owned::harvester(nad_resource(), &namespace, &param("name"))],
        },
        // src/actions/harvester/vm_image.rs: the VirtualMachineImage `name`.
        "harvester.vm-image" => Teardown::Objects {
            power_off: None,
            objects: vec![Owned::harvester(
                image_resource(),
                &namespace,
                &param("name"),
            )],
        },
        // src/actions/kubevirt/userdata_secret.rs: the Secret `<vm>-userdata`.
        "kubevirt.userdata-secret" => Teardown::Objects {
            power_off: None,
            objects: vec![Owned::harvester(
                secret_resource(),
                &namespace,
                &userdata_secret_name(&param("vm")),
            )],
        },
        // src/actions/kubevirt/vm.rs: the VirtualMachine `name` (KubeVirt removes its
        // instance; its root volume goes with it).
        "kubevirt.vm" => Teardown::Objects {
            power_off: None,
            objects: vec![Owned::harvester(vm_resource(), &namespace, &param("name"))],
        },
        "exec" => Teardown::Unknown,
        // tinkerbell.stack, argocd.present, http.artifacts, kube.reachable, harvester.api (its
        // kubeconfig file in the state directory is rewritten when it runs again),
        // harvester.quorum, kube.node-joined: they read and wait.
        _ => Teardown::Checks,
    }
}
