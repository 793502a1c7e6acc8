//! What dynamic shell completion offers for the selection flags (see [`super::completions`]):
//! the step ids and machine names of the lab and phase files of the command line being
//! completed, read without the secrets.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::StyledStr;
use clap_complete::CompletionCandidate;
use genesis_engine::Graph;
use genesis_engine::select;

use crate::inputs::InputPaths;

/// Step ids for `--only`, `--from`, `--skip`: each fan-out template (all its instances), then
/// every step, in run order.
pub fn steps() -> Vec<CompletionCandidate> {
    let Some(graph) = completion_graph() else {
        return Vec::new();
    };
    let help = |text: String| Some(StyledStr::from(text));
    let mut candidates = Vec::new();
    for template in select::templates(&graph) {
        let instances = select::matches(&graph, &template);
        if let Some(&first) = instances.first()
            && graph.step(first).item.is_some()
        {
            candidates.push(CompletionCandidate::new(&template).help(help(format!(
                "{} ({} steps)",
                graph.step(first).name,
                instances.len()
            ))));
        }
    }
    for &position in graph.order() {
        let step = graph.step(position);
        candidates.push(
            CompletionCandidate::new(step.id.as_str())
                .help(help(format!("step {}: {}", step.number, step.name))),
        );
    }
    candidates
}

/// Machine and VM names for `--machine`.
pub fn machines() -> Vec<CompletionCandidate> {
    let Some(graph) = completion_graph() else {
        return Vec::new();
    };
    select::machines(&graph)
        .into_iter()
        .map(|machine| {
            let count = graph
                .steps()
                .iter()
                .filter(|step| step.item.as_deref() == Some(machine.as_str()))
                .count();
            CompletionCandidate::new(&machine)
                .help(Some(StyledStr::from(format!("{count} steps fanned out"))))
        })
        .collect()
}

/// The steps of the lab and phases of the command line being completed.
fn completion_graph() -> Option<Graph> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let paths = InputPaths {
        lab: flag_value(&args, "--lab", "GENESIS_LAB", "hardware/lab.yaml"),
        phases: flag_value(&args, "--phases", "GENESIS_PHASES", "phases"),
        secrets: PathBuf::new(),
    };
    crate::inputs::load_graph(&paths)
}

/// The value of `--flag VALUE` or `--flag=VALUE` (the last one given), else the variable,
/// else the default: the way clap would read it for the real command.
pub fn flag_value(args: &[OsString], flag: &str, variable: &str, default: &str) -> PathBuf {
    let mut found = None;
    let with_equals = format!("{flag}=");
    for (index, arg) in args.iter().enumerate() {
        let Some(text) = arg.to_str() else {
            continue;
        };
        if text == flag {
            if let Some(value) = args.get(index + 1) {
                found = Some(PathBuf::from(value));
            }
        } else if let Some(value) = text.strip_prefix(&with_equals) {
            found = Some(PathBuf::from(value));
        }
    }
    found
        .or_else(|| {
            std::env::var_os(variable)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_in_either_form_the_last_one_counts() {
        let args: Vec<OsString> = [
            "genesis",
            "--",
            "genesis",
            "--lab",
            "a.yaml",
            "plan",
            "--lab=b.yaml",
            "--only",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(
            flag_value(
                &args,
                "--lab",
                "GENESIS_TEST_UNSET_VARIABLE",
                "hardware/lab.yaml"
            ),
            PathBuf::from("b.yaml")
        );
        assert_eq!(
            flag_value(&args, "--phases", "GENESIS_TEST_UNSET_VARIABLE", "phases"),
            PathBuf::from("phases")
        );
    }
}
