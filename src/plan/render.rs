//! The plan as text, for people.

use std::fmt::Write as _;

use super::effects::{self, MARKER, disk_list, paint};
use super::model::Plan;

fn preview_text(preview: &str) -> &'static str {
    match preview {
        "check" => "read-only check",
        "unobserved" => "will apply (current state not observed offline)",
        "depends-on-earlier" => "depends on what an earlier step discovers",
        "cannot-preview" => "cannot be previewed",
        "will-change" => "will change (observed)",
        "no-change" => "no change (observed)",
        _ => "nothing to do",
    }
}

/// The plan for people: phases, steps with number, id, kind, needs and actions. Lines that
/// name a destructive effect start with the `!!` mark ([`colorize`] paints them).
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.mode == "live" {
        let _ = writeln!(
            out,
            "genesis plan for lab `{}` (live mode: the Platform cluster was observed with server-side dry runs; nothing will change)",
            plan.lab
        );
    } else {
        let _ = writeln!(
            out,
            "genesis plan for lab `{}` ({} mode: nothing was contacted, nothing will change)",
            plan.lab, plan.mode
        );
    }
    let all_steps = || plan.phases.iter().flat_map(|phase| &phase.steps);
    let number_width = all_steps().map(|step| step.number.len()).max().unwrap_or(0);
    let id_width = all_steps().map(|step| step.id.len()).max().unwrap_or(0);
    let kind_width = all_steps().map(|step| step.kind.len()).max().unwrap_or(0);
    let indent = " ".repeat(number_width + 4);
    for phase in &plan.phases {
        // Left-out steps: one line per phase, not one each.
        let left_out = phase.steps.iter().filter(|step| !step.selected).count();
        if left_out == phase.steps.len() && left_out > 0 {
            let _ = writeln!(
                out,
                "\nPhase {}: {}: {}",
                phase.number,
                phase.name,
                not_selected(left_out)
            );
            continue;
        }
        let _ = writeln!(
            out,
            "\nPhase {}: {}  ({})",
            phase.number, phase.name, phase.file
        );
        for step in phase.steps.iter().filter(|step| step.selected) {
            let _ = writeln!(
                out,
                "  {:<number_width$}  {:<id_width$}  {:<kind_width$}  {} [{}]",
                step.number,
                step.id,
                step.kind,
                preview_text(step.preview),
                step.state
            );
            let _ = writeln!(out, "{indent}{}", step.name);
            if let Some(why) = &step.why {
                let _ = writeln!(out, "{indent}changed: {why}");
            }
            if !step.needs.is_empty() {
                let _ = writeln!(out, "{indent}needs: {}", step.needs.join(", "));
            }
            let machine = step.item.as_deref().unwrap_or("the machine");
            if step.effects.contains(&"erases-disks") {
                let line = format!("{MARKER} ERASES {machine}: {}", disk_list(&step.erases));
                let _ = writeln!(out, "{indent}{line}");
            }
            if step.effects.contains(&"power-cycles") {
                let line =
                    format!("{MARKER} POWER-CYCLES {machine} (BMC: off, one-time PXE boot, on)");
                let _ = writeln!(out, "{indent}{line}");
            }
            if let Some(observed) = &step.observed {
                if observed.outcome == "not-observed" {
                    let _ = writeln!(out, "{indent}not observed: {}", observed.summary);
                } else {
                    for line in observed.summary.split("; ") {
                        let _ = writeln!(out, "{indent}{line}");
                    }
                }
                for line in observed.diff.iter().flat_map(|diff| diff.lines()) {
                    let _ = writeln!(out, "{indent}  {line}");
                }
            }
            let show_actions = !matches!(step.preview, "nothing" | "no-change");
            if show_actions {
                for action in &step.actions {
                    let _ = writeln!(out, "{indent}- {action}");
                }
            }
        }
        if left_out > 0 {
            let _ = writeln!(
                out,
                "  phase {}: {left_out} other step{} not selected",
                phase.number,
                if left_out == 1 { "" } else { "s" }
            );
        }
    }
    if !plan.branches.is_empty() {
        let _ = writeln!(out, "\nBranches (one per machine or VM):");
        let selected: std::collections::HashSet<&str> = all_steps()
            .filter(|step| step.selected)
            .map(|step| step.id.as_str())
            .collect();
        for branch in &plan.branches {
            let steps: Vec<&str> = branch
                .steps
                .iter()
                .map(String::as_str)
                .filter(|step| selected.contains(step))
                .collect();
            if !steps.is_empty() {
                let _ = writeln!(out, "  {:<10} {}", branch.item, steps.join(" -> "));
            }
        }
    }
    if !plan.unobserved.is_empty() {
        let _ = writeln!(
            out,
            "\nNot observed{}:",
            if plan.mode == "live" {
                ""
            } else {
                " (offline)"
            }
        );
        for fact in &plan.unobserved {
            let _ = writeln!(out, "  - {fact}");
        }
    }
    if let Some(projection) = &plan.projection {
        out.push_str(&super::projection::render_text(projection));
    }
    let states: Vec<String> = plan
        .totals
        .by_state
        .iter()
        .map(|(state, count)| format!("{count} {state}"))
        .collect();
    if let Some(selected) = plan.totals.selected {
        let mut by_state = std::collections::BTreeMap::new();
        for step in all_steps().filter(|step| step.selected) {
            *by_state.entry(step.state.as_str()).or_insert(0) += 1;
        }
        let states: Vec<String> = by_state
            .iter()
            .map(|(state, count)| format!("{count} {state}"))
            .collect();
        let _ = writeln!(
            out,
            "\n{selected} of {} steps selected{}{}.",
            plan.totals.steps,
            if states.is_empty() { "" } else { ": " },
            states.join(", ")
        );
        return out;
    }
    let _ = writeln!(
        out,
        "\n{} steps in {} phases: {}.",
        plan.totals.steps,
        plan.totals.phases,
        states.join(", ")
    );
    let _ = write!(out, "{}", effects::render_summary(plan));
    out
}

/// `1 step not selected`, `9 steps not selected`.
fn not_selected(count: usize) -> String {
    format!(
        "{count} step{} not selected",
        if count == 1 { "" } else { "s" }
    )
}

/// Paints red every line that starts (after its indentation) with the `!!` mark. Call it on
/// text that is already sanitized for the terminal: the colour codes it adds are its own.
pub fn colorize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let rest = body.trim_start();
        if rest.starts_with(MARKER) {
            out.push_str(&body[..body.len() - rest.len()]);
            out.push_str(&paint(rest));
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod colour_tests {
    use super::colorize;

    #[test]
    fn only_marked_lines_are_painted_keeping_their_indentation() {
        let text = "  8  install  [pending]\n      !! ERASES a: install disk /dev/sda\n      - apply\n!! 1 machine will be erased: a.";
        assert_eq!(
            colorize(text),
            "  8  install  [pending]\n      \u{1b}[1;31m!! ERASES a: install disk /dev/sda\u{1b}[0m\n      - apply\n\u{1b}[1;31m!! 1 machine will be erased: a.\u{1b}[0m"
        );
    }
}
