//! `--fault NAME[:TARGET]`: what can go wrong in a rehearsal, checked against the lab.
//!
//! Most faults are the lab simulator's (DESIGN.md §6); two are played by the rehearsal itself
//! while `genesis up` runs: an API server killed and started again, and `genesis up` killed
//! with SIGKILL.

use std::time::Duration;

use genesis_rehearse::control::Cluster;
use genesis_rehearse::{Fault, SimDuration};

use crate::inputs::lab::Lab;

/// How long an unreachable BMC stays silent, in lab time: longer than step 6 waits for it in a
/// rehearsal (its timeout scaled, see [`super::phases`]), so the step fails as it would on
/// hardware, and `--resume` (which lifts the fault) finds it answering.
const BMC_OUTAGE: Duration = Duration::from_secs(6 * 3600);

/// One fault of a rehearsal.
#[derive(Debug, Clone, PartialEq)]
pub enum RehearsalFault {
    /// Played by the lab simulator.
    Simulated { spec: String, fault: Fault },
    /// One API server killed (as a crash) and started again while `up` runs.
    ApiserverRestart(Cluster),
    /// `genesis up` killed with SIGKILL at a random moment.
    Sigkill,
}

impl RehearsalFault {
    /// The fault as the operator wrote it.
    pub fn spec(&self) -> String {
        match self {
            Self::Simulated { spec, .. } => spec.clone(),
            Self::ApiserverRestart(cluster) => format!("apiserver-restart:{}", cluster.name()),
            Self::Sigkill => "sigkill:random".into(),
        }
    }
}

/// The faults' names, with what their target is.
pub const NAMES: [(&str, &str); 7] = [
    ("bmc-unreachable", "MACHINE"),
    ("workflow-fails-once", "MACHINE"),
    ("node-never-ready", "MACHINE"),
    ("vm-never-joins", "VM"),
    ("image-import-fails", "IMAGE (default: every VM image)"),
    ("apiserver-restart", "platform|harvester"),
    ("sigkill", "random"),
];

fn known() -> String {
    NAMES
        .iter()
        .map(|(name, target)| format!("{name}:{target}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses one `--fault` against the lab; an error says what is wrong and what is allowed.
pub fn parse(spec: &str, lab: &Lab) -> Result<Vec<RehearsalFault>, String> {
    let (name, target) = match spec.split_once(':') {
        Some((name, target)) => (name, Some(target)),
        None => (spec, None),
    };
    let machines: Vec<&str> = lab
        .machines
        .iter()
        .map(|m| m.hostname.value.as_str())
        .collect();
    let vms: Vec<&str> = lab.vms.iter().map(|vm| vm.name.value.as_str()).collect();
    let images: Vec<&str> = lab
        .vm_images
        .iter()
        .map(|i| i.name.value.as_str())
        .collect();
    let one_of = |what: &str, names: &[&str]| -> Result<String, String> {
        match target {
            Some(target) if names.contains(&target) => Ok(target.to_owned()),
            Some(target) => Err(format!(
                "--fault {spec}: the lab has no {what} {target} (its {what}s: {})",
                names.join(", ")
            )),
            None => Err(format!(
                "--fault {name} needs a {what}: {name}:{} (one of {})",
                what.to_uppercase(),
                names.join(", ")
            )),
        }
    };
    let simulated = |fault: Fault| RehearsalFault::Simulated {
        spec: spec.to_owned(),
        fault,
    };
    Ok(match name {
        "bmc-unreachable" => vec![simulated(Fault::BmcUnreachable {
            machine: one_of("machine", &machines)?,
            duration: SimDuration(BMC_OUTAGE),
        })],
        "workflow-fails-once" => vec![simulated(Fault::WorkflowFailsOnce {
            workflow: crate::actions::tinkerbell::install::first_workflow_name(&one_of(
                "machine", &machines,
            )?),
            action: None,
        })],
        "node-never-ready" => vec![simulated(Fault::NodeNeverComesUp {
            node: one_of("machine", &machines)?,
        })],
        "vm-never-joins" => vec![simulated(Fault::VmNeverJoins {
            vm: one_of("VM", &vms)?,
        })],
        "image-import-fails" => {
            let chosen: Vec<String> = match target {
                None => images.iter().map(|image| (*image).to_owned()).collect(),
                Some(_) => vec![one_of("image", &images)?],
            };
            chosen
                .into_iter()
                .map(|image| simulated(Fault::ImageImportFails { image }))
                .collect()
        }
        "apiserver-restart" => vec![RehearsalFault::ApiserverRestart(match target {
            Some("platform") => Cluster::Platform,
            Some("harvester") => Cluster::Harvester,
            _ => {
                return Err(format!(
                    "--fault {spec}: apiserver-restart:platform or apiserver-restart:harvester"
                ));
            }
        })],
        "sigkill" => match target {
            None | Some("random") => vec![RehearsalFault::Sigkill],
            Some(other) => {
                return Err(format!(
                    "--fault {spec}: sigkill takes `random` (a moment chosen by the rehearsal), not {other}"
                ));
            }
        },
        other => {
            return Err(format!(
                "--fault {other}: no such fault; the faults are {}",
                known()
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Lab {
        crate::inputs::reference_lab().lab
    }

    #[test]
    fn faults_name_the_lab_s_machines_vms_and_images() {
        let lab = lab();
        assert_eq!(
            parse("node-never-ready:ms-02-3", &lab).unwrap(),
            vec![RehearsalFault::Simulated {
                spec: "node-never-ready:ms-02-3".into(),
                fault: Fault::NodeNeverComesUp {
                    node: "ms-02-3".into()
                }
            }]
        );
        let RehearsalFault::Simulated { fault, .. } =
            &parse("workflow-fails-once:ms-02-2", &lab).unwrap()[0]
        else {
            panic!("a simulated fault");
        };
        assert_eq!(
            fault,
            &Fault::WorkflowFailsOnce {
                workflow: "harvester-install-ms-02-2-1".into(),
                action: None
            }
        );
        assert_eq!(parse("image-import-fails", &lab).unwrap().len(), 1);
        assert_eq!(
            parse("apiserver-restart:harvester", &lab).unwrap(),
            vec![RehearsalFault::ApiserverRestart(Cluster::Harvester)]
        );
        assert_eq!(
            parse("sigkill:random", &lab).unwrap(),
            vec![RehearsalFault::Sigkill]
        );
    }

    #[test]
    fn a_wrong_fault_says_what_is_allowed() {
        let lab = lab();
        let error = parse("bmc-unreachable:ms-02-9", &lab).unwrap_err();
        assert!(error.contains("no machine ms-02-9"), "{error}");
        assert!(error.contains("ms-02-1, ms-02-2, ms-02-3"), "{error}");
        let error = parse("vm-never-joins", &lab).unwrap_err();
        assert!(error.contains("needs a VM"), "{error}");
        let error = parse("disk-on-fire:ms-02-1", &lab).unwrap_err();
        assert!(error.contains("no such fault"), "{error}");
        assert!(error.contains("sigkill:random"), "{error}");
    }
}
