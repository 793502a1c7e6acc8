//! The scenario file: how long each simulated thing takes (in real-lab
//! time, scaled by `time_scale`) and which faults to inject.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

const REFERENCE: &str = include_str!("../scenarios/reference.yaml");

/// A whole scenario. Every duration is what the real lab would take; the
/// simulator waits `duration * time_scale`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// Factor applied to every duration (e.g. 0.002: 20 min become 2.4 s).
    pub time_scale: f64,
    pub rufio: Rufio,
    pub tinkerbell: Tinkerbell,
    pub harvester: Harvester,
    pub kubevirt: Kubevirt,
    pub platform: Platform,
    #[serde(default)]
    pub faults: Vec<Fault>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rufio {
    /// From a Machine's creation to `Contactable=True`.
    pub contact: SimDuration,
    /// Each task of a Job (power off, one-time boot device, power on).
    pub task: SimDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tinkerbell {
    /// PENDING to RUNNING: the machine PXE-boots and the agent checks in.
    pub agent_boot: SimDuration,
    /// An action not listed in `actions`.
    pub action_default: SimDuration,
    /// Per action name.
    #[serde(default)]
    pub actions: BTreeMap<String, SimDuration>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Harvester {
    /// The first node: after its workflow succeeds, reboot into Harvester, rke2 up, the Node
    /// registered on the Harvester API. A joining node: from the moment the first node's API
    /// answers (`kubeconfig` after the first node's workflow; a join install that finished
    /// earlier waits for it, as rancherd retries the join) to its Node registered.
    pub node_register: SimDuration,
    /// Node registered to `Ready=True`.
    pub node_ready: SimDuration,
    /// After the first node's workflow succeeds: `/etc/rancher/rke2/rke2.yaml` written and the
    /// cluster's API answering at the VIP (joining nodes go on from here).
    pub kubeconfig: SimDuration,
    /// A promote job (agent to control plane).
    pub promote: SimDuration,
    /// Management (control-plane) nodes Harvester wants; promotion starts at this many Ready nodes.
    #[serde(default = "default_management_nodes")]
    pub management_nodes: usize,
    /// A VirtualMachineImage downloaded and imported (its status `Imported=True`).
    #[serde(default = "default_image_import")]
    pub image_import: SimDuration,
}

fn default_management_nodes() -> usize {
    3
}

fn default_image_import() -> SimDuration {
    SimDuration(Duration::from_secs(120))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kubevirt {
    /// A VirtualMachine with a running strategy: Starting to Running.
    pub vm_start: SimDuration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// A VM running to its Node registered on the Platform API.
    pub join: SimDuration,
    /// That Node registered to `Ready=True`.
    pub node_ready: SimDuration,
}

/// Faults to inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The named Workflow's action (or its first action) fails the first
    /// time; a Workflow of that name run again succeeds.
    WorkflowFailsOnce {
        workflow: String,
        action: Option<String>,
    },
    /// The named Rufio Machine's BMC does not answer for a while: the
    /// Machine is `Contactable=False` and its Jobs fail until then.
    BmcUnreachable {
        machine: String,
        #[serde(rename = "for")]
        duration: SimDuration,
    },
    /// The named Harvester node installs but never registers.
    NodeNeverComesUp { node: String },
    /// The named VM runs but its Node never joins the Platform cluster.
    VmNeverJoins { vm: String },
    /// Every download of the named VirtualMachineImage fails, until Harvester gives up
    /// (`RetryLimitExceeded`).
    ImageImportFails { image: String },
    /// The named node's promote Job is deleted while it runs: Harvester marks the promotion
    /// `unknown` (promote_controller.go `OnJobRemove`).
    PromotionUnknown { node: String },
    /// The named node's promote Job never ends: its promotion stays `running`.
    PromotionHangs { node: String },
}

impl Scenario {
    /// The reference scenario: the whole bootstrap in a few seconds, no faults.
    pub fn reference() -> Result<Self, Error> {
        Self::from_yaml(REFERENCE)
    }

    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        let scenario: Self =
            serde_saphyr::from_str(text).map_err(|e| Error::Scenario(e.to_string()))?;
        if !(scenario.time_scale > 0.0 && scenario.time_scale.is_finite()) {
            return Err(Error::Scenario(format!(
                "time_scale must be positive, got {}",
                scenario.time_scale
            )));
        }
        Ok(scenario)
    }

    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Scenario(format!("read {}: {e}", path.display())))?;
        Self::from_yaml(&text)
    }

    /// Scales a lab duration to simulated wall time.
    pub fn scaled(&self, duration: SimDuration) -> Duration {
        duration.0.mul_f64(self.time_scale)
    }

    pub fn action_duration(&self, action: &str) -> Duration {
        self.scaled(
            self.tinkerbell
                .actions
                .get(action)
                .copied()
                .unwrap_or(self.tinkerbell.action_default),
        )
    }

    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }
}

/// A duration written like `8m`, `30s`, `1m30s`, `250ms` or `1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimDuration(pub Duration);

/// Written back in milliseconds (`1500ms`), which [`parse_duration`] reads.
impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(SimDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses `1h2m3s`, `250ms`, `0s`, `1.5s` (units h, m, s, ms).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(format!(
                "bad duration {text:?}: expected a number at {rest:?}"
            ));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("bad number in duration {text:?}"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            unit => {
                return Err(format!(
                    "bad unit {unit:?} in duration {text:?} (use h, m, s, ms)"
                ));
            }
        };
        rest = &rest[unit_len..];
        total += Duration::from_secs_f64(number * seconds);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("8m").unwrap(), Duration::from_secs(480));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn reference_scenario_is_valid_and_fast() {
        let scenario = Scenario::reference().unwrap();
        assert!(scenario.faults.is_empty());
        // One node's critical path: BMC contact, netboot job, agent boot, the
        // actions, registration and readiness must stay within a few seconds.
        let path = scenario.scaled(scenario.rufio.contact)
            + scenario.scaled(scenario.rufio.task) * 3
            + scenario.scaled(scenario.tinkerbell.agent_boot)
            + [
                "stream-harvester",
                "configure-harvester",
                "reboot-harvester",
            ]
            .iter()
            .map(|a| scenario.action_duration(a))
            .sum::<Duration>()
            + scenario.scaled(scenario.harvester.node_register)
            + scenario.scaled(scenario.harvester.node_ready);
        assert!(path < Duration::from_secs(10), "{path:?}");
        assert!(path > Duration::from_millis(500), "{path:?}");
    }

    #[test]
    fn faults_parse_and_unknown_fields_are_rejected() {
        let text = REFERENCE.replace(
            "faults: []",
            "faults:\n  - workflow_fails_once: {workflow: hv-2, action: stream-harvester}\n  - bmc_unreachable: {machine: hv-3, for: 2m}\n  - node_never_comes_up: {node: hv-3}\n  - vm_never_joins: {vm: cp-3}\n  - image_import_fails: {image: talos-nocloud}\n  - promotion_unknown: {node: ms-02-2}\n  - promotion_hangs: {node: ms-02-3}\n",
        );
        let scenario = Scenario::from_yaml(&text).unwrap();
        assert_eq!(scenario.faults.len(), 7);
        assert_eq!(
            scenario.faults[5],
            Fault::PromotionUnknown {
                node: "ms-02-2".into()
            }
        );
        assert_eq!(
            scenario.faults[1],
            Fault::BmcUnreachable {
                machine: "hv-3".into(),
                duration: SimDuration(Duration::from_secs(120))
            }
        );
        // A scenario written before the image controller existed still reads.
        let older = REFERENCE.replace("  image_import: 2m", "");
        assert_ne!(older, REFERENCE);
        assert_eq!(
            Scenario::from_yaml(&older).unwrap().harvester.image_import,
            SimDuration(Duration::from_secs(120))
        );
        let bad = REFERENCE.replace("time_scale:", "time_scael: 1\ntime_scale:");
        assert!(Scenario::from_yaml(&bad).is_err());
    }

    #[test]
    fn a_scenario_written_as_json_reads_back_the_same() {
        let scenario = Scenario::reference()
            .unwrap()
            .with_fault(Fault::BmcUnreachable {
                machine: "ms-02-2".into(),
                duration: SimDuration(Duration::from_millis(90_500)),
            })
            .with_fault(Fault::WorkflowFailsOnce {
                workflow: "w".into(),
                action: None,
            });
        let text = serde_json::to_string(&scenario).unwrap();
        let back = Scenario::from_yaml(&text).unwrap();
        assert_eq!(back.faults, scenario.faults);
        assert_eq!(
            back.harvester.node_register,
            scenario.harvester.node_register
        );
        assert_eq!(back.tinkerbell.actions, scenario.tinkerbell.actions);
        assert_eq!(back.time_scale, scenario.time_scale);
    }
}
