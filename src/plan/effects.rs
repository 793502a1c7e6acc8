//! Destructive effects: which steps that will run erase a machine's disks or power-cycle it,
//! named with the disks the lab file gives; and the plan's closing summary, in the spirit of
//! `terraform plan` (objects to create, change, delete, left alone; machines erased and
//! power-cycled).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use genesis_engine::StepSpec;

use crate::actions::catalog::{self, Effect};
use crate::inputs::Inputs;
use crate::inputs::lab::Lab;

use super::model::{Disk, ObjectCounts, Plan, StepCounts, StepPlan, Summary};

/// The machine a step acts on: the item it was fanned out for, else its `machine` parameter.
fn machine_of(step: &StepSpec) -> Option<String> {
    step.item.clone().or_else(|| {
        step.params
            .get("machine")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    })
}

/// Every disk of `machine` that the lab file names: its install disk, then its data disk.
pub fn disks_of(lab: &Lab, machine: &str) -> Vec<Disk> {
    let Some(found) = lab
        .machines
        .iter()
        .find(|candidate| candidate.hostname.value == machine)
    else {
        return Vec::new();
    };
    let mut disks = vec![Disk {
        machine: machine.to_owned(),
        device: found.install_disk.value.clone(),
        role: "install",
    }];
    if let Some(data) = &found.data_disk
        && data.value != found.install_disk.value
    {
        disks.push(Disk {
            machine: machine.to_owned(),
            device: data.value.clone(),
            role: "data",
        });
    }
    disks
}

/// What running `step` does to a machine: the effects its kind declares, the machine, and the
/// disks it erases (empty unless it erases disks).
pub fn step_effects(lab: &Lab, step: &StepSpec) -> (Vec<Effect>, Option<String>, Vec<Disk>) {
    let effects: Vec<Effect> = catalog::find(&step.kind)
        .map(|kind| kind.effects.to_vec())
        .unwrap_or_default();
    if effects.is_empty() {
        return (effects, None, Vec::new());
    }
    let machine = machine_of(step);
    let disks = match (&machine, effects.contains(&Effect::ErasesDisks)) {
        (Some(machine), true) => disks_of(lab, machine),
        _ => Vec::new(),
    };
    (effects, machine, disks)
}

/// One step that erases disks or power-cycles a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestructiveStep {
    pub number: String,
    pub id: String,
    /// The machine it acts on (`?` when neither its item nor a `machine` parameter says).
    pub machine: String,
    pub effects: Vec<Effect>,
    pub disks: Vec<Disk>,
}

/// The destructive steps of a run or a plan, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destruction {
    pub steps: Vec<DestructiveStep>,
}

impl Destruction {
    /// The destructive steps among those `runs` says will run (by graph position).
    pub fn of(inputs: &Inputs, runs: &dyn Fn(usize) -> bool) -> Self {
        let graph = &inputs.graph;
        let steps = graph
            .order()
            .iter()
            .copied()
            .filter(|&position| runs(position))
            .filter_map(|position| {
                let step = graph.step(position);
                let (effects, machine, disks) = step_effects(&inputs.lab, step);
                (!effects.is_empty()).then(|| DestructiveStep {
                    number: step.number.clone(),
                    id: step.id.to_string(),
                    machine: machine.unwrap_or_else(|| "?".to_owned()),
                    effects,
                    disks,
                })
            })
            .collect();
        Self { steps }
    }

    /// The destructive steps a plan shows (its steps' `effects`, already empty for steps
    /// that are done or observed to change nothing).
    pub fn from_plan(plan: &Plan) -> Self {
        let steps = plan
            .phases
            .iter()
            .flat_map(|phase| &phase.steps)
            .filter(|step| !step.effects.is_empty())
            .map(|step| DestructiveStep {
                number: step.number.clone(),
                id: step.id.clone(),
                machine: step
                    .item
                    .clone()
                    .or_else(|| step.erases.first().map(|disk| disk.machine.clone()))
                    .unwrap_or_else(|| "?".to_owned()),
                effects: step
                    .effects
                    .iter()
                    .filter_map(|label| effect_of(label))
                    .collect(),
                disks: step.erases.clone(),
            })
            .collect();
        Self { steps }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    fn machines_with(&self, effect: Effect) -> Vec<String> {
        let machines: BTreeSet<&str> = self
            .steps
            .iter()
            .filter(|step| step.effects.contains(&effect))
            .map(|step| step.machine.as_str())
            .collect();
        machines.into_iter().map(str::to_owned).collect()
    }

    /// The machines whose disks will be erased, sorted.
    pub fn machines_erased(&self) -> Vec<String> {
        self.machines_with(Effect::ErasesDisks)
    }

    /// The machines that will be power-cycled, sorted.
    pub fn machines_power_cycled(&self) -> Vec<String> {
        self.machines_with(Effect::PowerCycles)
    }

    /// Every disk that will be erased, once, by machine.
    pub fn disks_erased(&self) -> Vec<Disk> {
        let disks: BTreeSet<&Disk> = self
            .steps
            .iter()
            .filter(|step| step.effects.contains(&Effect::ErasesDisks))
            .flat_map(|step| &step.disks)
            .collect();
        disks.into_iter().cloned().collect()
    }

    /// What `genesis up` is about to do to the machines, for the confirmation: one line per
    /// erased machine with its disks and the step, then the power-cycled machines.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let erased = self.machines_erased();
        if !erased.is_empty() {
            let _ = writeln!(
                out,
                "{MARKER} ERASES the disks of {}:",
                count(erased.len(), "machine")
            );
            for step in self
                .steps
                .iter()
                .filter(|step| step.effects.contains(&Effect::ErasesDisks))
            {
                let _ = writeln!(
                    out,
                    "    {}: {}  (step {} {})",
                    step.machine,
                    disk_list(&step.disks),
                    step.number,
                    step.id
                );
            }
        }
        let cycled = self.machines_power_cycled();
        if !cycled.is_empty() {
            let _ = writeln!(
                out,
                "{MARKER} POWER-CYCLES {} through {}: {}",
                count(cycled.len(), "machine"),
                if cycled.len() == 1 {
                    "its BMC"
                } else {
                    "their BMCs"
                },
                cycled.join(", ")
            );
        }
        out
    }
}

/// The mark in front of every line that names a destructive effect, coloured or not, so that
/// it shows without colour too (`--color never`, `NO_COLOR`, a log file).
pub const MARKER: &str = "!!";

/// Red and bold.
pub fn paint(text: &str) -> String {
    format!("\u{1b}[1;31m{text}\u{1b}[0m")
}

/// `3 machines`, `1 machine`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `install disk /dev/nvme0n1, data disk /dev/nvme1n1`; or a warning that the lab names none.
pub fn disk_list(disks: &[Disk]) -> String {
    if disks.is_empty() {
        "its disks (the lab file names none for it)".to_owned()
    } else {
        disks
            .iter()
            .map(Disk::describe)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn effect_of(label: &str) -> Option<Effect> {
    [Effect::ErasesDisks, Effect::PowerCycles]
        .into_iter()
        .find(|effect| effect.label() == label)
}

/// What one line of an observation's summary says about its object: `Kind ns/name: create`.
fn object_change(entry: &str) -> Option<&'static str> {
    let (_, change) = entry.split_once(": ")?;
    [
        ("create", "create"),
        ("update", "change"),
        ("no change", "unchanged"),
        ("delete", "delete"),
    ]
    .into_iter()
    .find(|(word, _)| change.starts_with(word))
    .map(|(_, counted)| counted)
}

fn count_objects(step: &StepPlan, counts: &mut ObjectCounts) {
    let Some(observed) = &step.observed else {
        return;
    };
    if !matches!(observed.outcome, "will-change" | "no-change") {
        return;
    }
    for entry in observed.summary.split("; ") {
        // An entry that names no object (`create Workflow …`, `Workflow … already
        // succeeded`) counts once, by the word it starts with or the step's outcome.
        let counted = object_change(entry).unwrap_or_else(|| {
            if entry.starts_with("create ") {
                "create"
            } else if observed.outcome == "no-change" {
                "unchanged"
            } else {
                "change"
            }
        });
        match counted {
            "create" => counts.create += 1,
            "change" => counts.change += 1,
            "delete" => counts.delete += 1,
            _ => counts.unchanged += 1,
        }
    }
}

/// Settles each step's effects (none when done, or when observed to change nothing) and
/// computes the plan's summary. Call after the plan is built and after it is observed.
pub fn summarize(plan: &mut Plan) {
    let mut steps = StepCounts::default();
    let mut objects = ObjectCounts::default();
    for step in plan.phases.iter_mut().flat_map(|phase| &mut phase.steps) {
        // A step the selection leaves out does not run: it destroys nothing and is not counted.
        if !step.selected {
            step.effects.clear();
            step.erases.clear();
            continue;
        }
        let observed_no_change = step
            .observed
            .as_ref()
            .is_some_and(|observed| observed.outcome == "no-change");
        if step.state == "done" || observed_no_change {
            step.effects.clear();
            step.erases.clear();
        }
        if step.state == "done" {
            steps.done += 1;
            continue;
        }
        steps.to_run += 1;
        let not_observed = step
            .observed
            .as_ref()
            .is_some_and(|observed| observed.outcome == "not-observed");
        match step.preview {
            "check" => steps.check += 1,
            "cannot-preview" => steps.cannot_preview += 1,
            "unobserved" | "depends-on-earlier" => steps.unobserved += 1,
            _ if not_observed => steps.unobserved += 1,
            _ => {}
        }
        count_objects(step, &mut objects);
    }
    let destruction = Destruction::from_plan(plan);
    plan.summary = Summary {
        objects: (plan.mode == "live").then_some(objects),
        steps,
        machines_erased: destruction.machines_erased(),
        machines_power_cycled: destruction.machines_power_cycled(),
        disks_erased: destruction.disks_erased(),
    };
}

/// The effects a plan step shows (labels) and the disks it erases, for [`super::build`].
pub(super) fn for_plan_step(lab: &Lab, step: &StepSpec) -> (Vec<&'static str>, Vec<Disk>) {
    let (effects, _, disks) = step_effects(lab, step);
    (effects.into_iter().map(Effect::label).collect(), disks)
}

/// The summary as text: one line of objects (live) or steps (offline), one of machines.
pub fn render_summary(plan: &Plan) -> String {
    let summary = &plan.summary;
    let steps = &summary.steps;
    let mut out = String::new();
    let mut work = Vec::new();
    if let Some(objects) = &summary.objects {
        work.push(format!(
            "{} to create, {} to change, {} to delete, {} unchanged (observed)",
            count(objects.create, "object"),
            objects.change,
            objects.delete,
            objects.unchanged
        ));
    }
    let mut kinds = Vec::new();
    if steps.unobserved > 0 {
        kinds.push(format!(
            "{} {} objects (not observed{})",
            steps.unobserved,
            if steps.unobserved == 1 {
                "writes"
            } else {
                "write"
            },
            if plan.mode == "live" { "" } else { " offline" }
        ));
    }
    if steps.check > 0 {
        kinds.push(format!("{} read-only", steps.check));
    }
    if steps.cannot_preview > 0 {
        kinds.push(format!("{} cannot be previewed", steps.cannot_preview));
    }
    let mut line = format!("{} to run", count(steps.to_run, "step"));
    if !kinds.is_empty() {
        let _ = write!(line, ": {}", kinds.join(", "));
    }
    let _ = write!(line, "; {} done (left alone)", steps.done);
    work.push(line);
    let _ = writeln!(out, "Plan: {}.", work.join("; "));
    if summary.machines_erased.is_empty() && summary.machines_power_cycled.is_empty() {
        let _ = writeln!(out, "No machine will be erased or power-cycled.");
        return out;
    }
    let mut by_machine: BTreeMap<&str, Vec<&Disk>> = BTreeMap::new();
    for disk in &summary.disks_erased {
        by_machine.entry(&disk.machine).or_default().push(disk);
    }
    if !summary.machines_erased.is_empty() {
        let machines: Vec<String> = summary
            .machines_erased
            .iter()
            .map(|machine| {
                let disks: Vec<String> = by_machine
                    .get(machine.as_str())
                    .map(|disks| disks.iter().map(|disk| disk.device.clone()).collect())
                    .unwrap_or_default();
                if disks.is_empty() {
                    machine.clone()
                } else {
                    format!("{machine} ({})", disks.join(", "))
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "{MARKER} {} will be erased: {}.",
            count(summary.machines_erased.len(), "machine"),
            machines.join(", ")
        );
    }
    if !summary.machines_power_cycled.is_empty() {
        let _ = writeln!(
            out,
            "{MARKER} {} will be power-cycled: {}.",
            count(summary.machines_power_cycled.len(), "machine"),
            summary.machines_power_cycled.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests;
