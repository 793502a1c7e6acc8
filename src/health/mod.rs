//! `genesis health`: the lab as it stands, read once from each cluster with a short timeout,
//! never written to. Each check is green, yellow or red, and a check that is not green says
//! what to do. The JSON shape is documented in docs/health-json.md.
//!
//! - [`checks`]: the pure judgements (a node's roles and readiness, a VM's state, the
//!   certificate's days left), unit-tested;
//! - [`gather`]: the reading, every cluster at once under one deadline;
//! - this file: the report, its verdict and exit code, and its text form.

pub mod checks;
pub mod describe;
pub mod gather;
pub mod tree;

use serde::Serialize;

/// A check's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Green,
    /// Not finished or about to need care (a step not run yet, a certificate under 30 days):
    /// nothing is broken.
    Yellow,
    /// Broken or unreachable: the operator must act.
    Red,
}

impl Status {
    /// The mark the text form shows.
    pub fn mark(self) -> &'static str {
        match self {
            Self::Green => "ok",
            Self::Yellow => "warn",
            Self::Red => "FAIL",
        }
    }

    fn paint(self, text: &str) -> String {
        let code = match self {
            Self::Green => "32",
            Self::Yellow => "33",
            Self::Red => "1;31",
        };
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    }
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// A stable id: `platform.reachable`, `platform.node.cp-2`, `harvester.quorum`, ….
    pub id: String,
    /// The section it belongs to: `platform`, `harvester`, `argocd`, `vms`.
    pub group: &'static str,
    pub status: Status,
    /// What was found, in one line.
    pub summary: String,
    /// What to do, when not green.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The check found that an object is not there at all (a VM not created, a node not
    /// registered, the step-12 Secret missing): yellow before its step ran, red once the
    /// journal says the step finished ([`escalate_missing`]).
    #[serde(skip)]
    pub absent: bool,
}

impl Check {
    pub fn green(group: &'static str, id: impl Into<String>, summary: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            group,
            status: Status::Green,
            summary: summary.into(),
            fix: None,
            absent: false,
        }
    }

    /// Marks a check that found its object not there at all.
    pub fn absent(mut self) -> Self {
        self.absent = true;
        self
    }

    pub fn yellow(
        group: &'static str,
        id: impl Into<String>,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Yellow,
            fix: Some(fix.into()),
            ..Self::green(group, id, summary)
        }
    }

    pub fn red(
        group: &'static str,
        id: impl Into<String>,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            status: Status::Red,
            fix: Some(fix.into()),
            ..Self::green(group, id, summary)
        }
    }
}

/// How many checks of each colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub green: usize,
    pub yellow: usize,
    pub red: usize,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `genesis.health/v1`.
    pub schema: &'static str,
    pub lab: String,
    /// The worst check's colour.
    pub status: Status,
    pub counts: Counts,
    /// When the checks ran (RFC 3339, UTC).
    pub checked_at: String,
    pub duration_ms: u64,
    /// The deadline every cluster was read under.
    pub timeout_ms: u64,
    pub checks: Vec<Check>,
}

/// The group order and titles of the text form.
const GROUPS: [(&str, &str); 4] = [
    ("platform", "Platform cluster"),
    ("harvester", "Harvester cluster"),
    ("argocd", "Argo CD registration (step 12)"),
    ("vms", "Platform VMs on Harvester"),
];

impl Report {
    pub fn new(lab: String, checks: Vec<Check>, duration_ms: u64, timeout_ms: u64) -> Self {
        let mut counts = Counts::default();
        for check in &checks {
            match check.status {
                Status::Green => counts.green += 1,
                Status::Yellow => counts.yellow += 1,
                Status::Red => counts.red += 1,
            }
        }
        Self {
            schema: "genesis.health/v1",
            lab,
            status: overall(&checks),
            counts,
            checked_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            duration_ms,
            timeout_ms,
            checks,
        }
    }

    /// The exit code: 0 when every check is green or yellow, 1 when one is red.
    pub fn exit_code(&self) -> u8 {
        exit_code(self.status)
    }

    /// The text form: one section per group, one line per check, a `fix:` line under each
    /// check that is not green, and a last line with the verdict. `color` paints the marks;
    /// every text from outside is sanitized for the terminal first.
    pub fn render_text(&self, color: bool) -> String {
        use crate::ui::term::line;
        let mut out = String::new();
        for (group, title) in GROUPS {
            let checks: Vec<&Check> = self
                .checks
                .iter()
                .filter(|check| check.group == group)
                .collect();
            if checks.is_empty() {
                continue;
            }
            out.push_str(title);
            out.push('\n');
            for check in checks {
                let mark = format!("{:<4}", check.status.mark());
                let mark = if color {
                    check.status.paint(&mark)
                } else {
                    mark
                };
                out.push_str(&format!("  {mark}  {}\n", line(&check.summary)));
                if let Some(fix) = &check.fix {
                    out.push_str(&format!("        fix: {}\n", line(fix)));
                }
            }
            out.push('\n');
        }
        let verdict = match self.status {
            Status::Green => "healthy",
            Status::Yellow => "healthy, with warnings",
            Status::Red => "NOT healthy",
        };
        let verdict = if color {
            self.status.paint(verdict)
        } else {
            verdict.to_owned()
        };
        out.push_str(&format!(
            "{}: {verdict} ({} green, {} yellow, {} red; {} ms)\n",
            line(&self.lab),
            self.counts.green,
            self.counts.yellow,
            self.counts.red,
            self.duration_ms
        ));
        out
    }
}

/// The worst colour of `checks` (green when there are none).
pub fn overall(checks: &[Check]) -> Status {
    checks
        .iter()
        .map(|check| check.status)
        .max()
        .unwrap_or(Status::Green)
}

/// 0 for green or yellow (warnings do not fail a script), 1 for red.
pub fn exit_code(status: Status) -> u8 {
    match status {
        Status::Green | Status::Yellow => crate::cli::error::exit::OK,
        Status::Red => crate::cli::error::exit::STEP_FAILED,
    }
}

/// The step that makes the object of a check that can find it absent: `vm.NAME` (the VM's
/// `kubevirt.vm` step), `harvester.node.MACHINE` (its install), `argocd.secret` (step 12).
pub fn step_of(graph: &genesis_engine::Graph, check: &str) -> Option<String> {
    let (kind, item) = if let Some(vm) = check.strip_prefix("vm.") {
        ("kubevirt.vm", Some(vm))
    } else if let Some(machine) = check.strip_prefix("harvester.node.") {
        ("tinkerbell.install", Some(machine))
    } else if check == "argocd.secret" {
        ("argocd.cluster-secret", None)
    } else {
        return None;
    };
    graph
        .steps()
        .iter()
        .find(|step| {
            step.kind == kind && item.is_none_or(|item| step.item.as_deref() == Some(item))
        })
        .map(|step| step.id.to_string())
}

/// Turns "not there yet" into "gone": an absent object whose step the journal says finished
/// was there once and has been removed since. `step_of` names the step that makes a check's
/// object (by check id); `done` says whether the journal has it finished.
pub fn escalate_missing(
    checks: &mut [Check],
    step_of: &dyn Fn(&str) -> Option<String>,
    done: &dyn Fn(&str) -> bool,
) {
    for check in checks.iter_mut() {
        if !check.absent || check.status != Status::Yellow {
            continue;
        }
        let Some(step) = step_of(&check.id) else {
            continue;
        };
        if !done(&step) {
            continue;
        }
        check.status = Status::Red;
        check.summary = format!(
            "{}, though step `{step}` finished: it was removed since",
            check.summary
        );
        check.fix = Some(format!(
            "`genesis reset {step}` then `genesis up` makes it again (for a machine or VM, `genesis up --reinstall NAME` redoes its whole branch)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[Status]) -> Report {
        let checks = statuses
            .iter()
            .enumerate()
            .map(|(index, status)| Check {
                status: *status,
                fix: (*status != Status::Green).then(|| "do this".to_owned()),
                ..Check::green("platform", format!("c{index}"), format!("check {index}"))
            })
            .collect();
        Report::new("lab".into(), checks, 12, 5000)
    }

    #[test]
    fn an_absent_object_is_red_once_its_step_finished() {
        let mut checks = vec![
            Check::yellow("vms", "vm.cp-2", "VM cp-2: not created", "up").absent(),
            Check::yellow("vms", "vm.cp-3", "VM cp-3: not created", "up").absent(),
            Check::yellow("vms", "vm.cp-4", "VM cp-4: Provisioning", "wait"),
        ];
        let step_of = |check: &str| check.strip_prefix("vm.").map(|vm| format!("vm/{vm}"));
        escalate_missing(&mut checks, &step_of, &|step| step != "vm/cp-3");
        assert_eq!(checks[0].status, Status::Red);
        assert!(
            checks[0]
                .summary
                .ends_with("though step `vm/cp-2` finished: it was removed since"),
            "{}",
            checks[0].summary
        );
        assert!(
            checks[0]
                .fix
                .as_deref()
                .is_some_and(|fix| fix.contains("genesis reset vm/cp-2"))
        );
        // Not run yet: still yellow; present but on its way: not an absence.
        assert_eq!(checks[1].status, Status::Yellow);
        assert_eq!(checks[2].status, Status::Yellow);
    }

    #[test]
    fn absent_checks_name_the_steps_of_the_reference_lab() {
        let inputs = crate::inputs::reference_lab();
        let graph = &inputs.graph;
        assert_eq!(step_of(graph, "vm.cp-2").as_deref(), Some("vm/cp-2"));
        assert_eq!(
            step_of(graph, "harvester.node.ms-02-3").as_deref(),
            Some("join-cluster/ms-02-3")
        );
        assert_eq!(
            step_of(graph, "harvester.node.ms-02-1").as_deref(),
            Some("create-cluster/ms-02-1")
        );
        assert_eq!(
            step_of(graph, "argocd.secret").as_deref(),
            Some("register-argocd")
        );
        assert_eq!(step_of(graph, "platform.control-plane"), None);
    }

    #[test]
    fn the_worst_check_decides_and_only_red_fails() {
        assert_eq!(report(&[]).status, Status::Green);
        let green = report(&[Status::Green, Status::Green]);
        assert_eq!((green.status, green.exit_code()), (Status::Green, 0));
        let yellow = report(&[Status::Green, Status::Yellow]);
        assert_eq!((yellow.status, yellow.exit_code()), (Status::Yellow, 0));
        let red = report(&[Status::Yellow, Status::Red, Status::Green]);
        assert_eq!((red.status, red.exit_code()), (Status::Red, 1));
        assert_eq!(
            red.counts,
            Counts {
                green: 1,
                yellow: 1,
                red: 1
            }
        );
    }

    #[test]
    fn text_shows_a_fix_under_each_check_that_is_not_green_and_paints_only_with_colour() {
        let red = report(&[Status::Green, Status::Red]);
        let plain = red.render_text(false);
        assert_eq!(
            plain,
            "Platform cluster\n  ok    check 0\n  FAIL  check 1\n        fix: do this\n\nlab: NOT healthy (1 green, 0 yellow, 1 red; 12 ms)\n"
        );
        assert!(!plain.contains('\u{1b}'));
        let painted = red.render_text(true);
        assert!(painted.contains("\u{1b}[1;31mFAIL\u{1b}[0m"), "{painted}");
        assert!(painted.contains("\u{1b}[32mok  \u{1b}[0m"), "{painted}");
    }

    #[test]
    fn text_from_outside_cannot_forge_lines_or_escape_sequences() {
        let mut hostile = report(&[Status::Red]);
        hostile.checks[0].summary = "node x\n  ok    forged\u{1b}[2J".into();
        let text = hostile.render_text(false);
        assert!(!text.contains("\n  ok    forged"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let value = serde_json::to_value(report(&[Status::Yellow])).expect("json");
        assert_eq!(value["schema"], "genesis.health/v1");
        assert_eq!(value["status"], "yellow");
        assert_eq!(value["counts"]["yellow"], 1);
        assert_eq!(value["checks"][0]["group"], "platform");
        assert_eq!(value["checks"][0]["fix"], "do this");
        for field in ["lab", "checked_at", "duration_ms", "timeout_ms"] {
            assert!(value.get(field).is_some(), "{field}");
        }
    }
}
