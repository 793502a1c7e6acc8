//! Checks of the step templates as written: ids, numbers, kinds, needs, timeouts, retries and
//! parameters, before anything is expanded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use genesis_engine::{RetryPolicy, find_cycles};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::actions::catalog;
use crate::inputs::diagnostics::{Diagnostic, Diagnostics};
use crate::inputs::phases::{PhaseFile, StepTemplate};
use crate::inputs::validate::at;

/// A parsed phase file and where it came from.
pub struct LoadedPhase {
    pub path: PathBuf,
    pub file: PhaseFile,
}

/// A template with what the checks resolved about it.
pub(crate) struct Checked<'a> {
    pub(crate) path: &'a Path,
    pub(crate) phase: u32,
    pub(crate) template: &'a StepTemplate,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) estimate: Option<Duration>,
}

/// Checks the templates of every phase; returns the ones fit for expansion, in file order.
pub(crate) fn check_templates<'a>(
    phases: &'a [LoadedPhase],
    out: &mut Diagnostics,
) -> Vec<Checked<'a>> {
    let mut checked = Vec::new();
    let mut phase_numbers: HashMap<u32, &Path> = HashMap::new();
    let mut ids: HashMap<&str, (&Path, u64)> = HashMap::new();
    let mut numbers: HashMap<u32, (&Path, &str)> = HashMap::new();
    for loaded in phases {
        let path = loaded.path.as_path();
        let phase = loaded.file.phase.value;
        if let Some(first) = phase_numbers.insert(phase, path) {
            out.push(
                Diagnostic::new(
                    path,
                    at(&loaded.file.phase),
                    "phase",
                    format!("phase {phase} is also defined in {}", first.display()),
                )
                .help("each phase file needs its own phase number"),
            );
        }
        for (index, template) in loaded.file.steps.iter().enumerate() {
            let field = format!("steps[{index}]");
            let id = template.id.value.as_str();
            if !is_step_id(id) {
                out.push(
                    Diagnostic::new(
                        path,
                        at(&template.id),
                        format!("{field}.id"),
                        format!("`{id}` is not a valid step id"),
                    )
                    .help("use lowercase letters, digits and `-`, starting with a letter"),
                );
            }
            if let Some((first_path, first_line)) =
                ids.insert(id, (path, template.id.referenced.line()))
            {
                out.push(
                    Diagnostic::new(
                        path,
                        at(&template.id),
                        format!("{field}.id"),
                        format!(
                            "step id `{id}` is already used at {}:{first_line}",
                            first_path.display()
                        ),
                    )
                    .help("step ids are unique across all phases"),
                );
            }
            let number = template.number.value;
            if let Some((first_path, first_id)) = numbers.insert(number, (path, id)) {
                out.push(
                    Diagnostic::new(
                        path,
                        at(&template.number),
                        format!("{field}.number"),
                        format!(
                            "step number {number} is already used by `{first_id}` in {}",
                            first_path.display()
                        ),
                    )
                    .help("number the steps 1, 2, 3, … in the order an operator reads them"),
                );
            }
            match catalog::find(&template.kind.value) {
                None => {
                    let help = match closest(&template.kind.value, catalog::names()) {
                        Some(near) => format!(
                            "did you mean `{near}`? Known kinds: {}",
                            catalog::names().collect::<Vec<_>>().join(", ")
                        ),
                        None => format!(
                            "known kinds: {}",
                            catalog::names().collect::<Vec<_>>().join(", ")
                        ),
                    };
                    out.push(
                        Diagnostic::new(
                            path,
                            at(&template.kind),
                            format!("{field}.kind"),
                            format!("unknown step kind `{}`", template.kind.value),
                        )
                        .help(help),
                    );
                }
                Some(kind) => check_params(path, &field, template, kind, out),
            }
            let timeout = duration(
                path,
                &format!("{field}.timeout"),
                &template.timeout,
                MAX_STEP_TIMEOUT,
                out,
            );
            // `None` inside: written but not a duration (reported); outer `None`: not written.
            let estimate = template.estimate.as_ref().map(|value| {
                duration(
                    path,
                    &format!("{field}.estimate"),
                    value,
                    MAX_STEP_TIMEOUT,
                    out,
                )
            });
            if let (Some(timeout), Some(Some(estimate)), Some(value)) =
                (timeout, estimate, template.estimate.as_ref())
                && estimate > timeout
            {
                out.push(
                    Diagnostic::new(
                        path,
                        at(value),
                        format!("{field}.estimate"),
                        format!(
                            "the estimate `{}` is longer than the step's timeout `{}`: the step would always time out",
                            value.value, template.timeout.value
                        ),
                    )
                    .help("raise the timeout, or correct the estimate"),
                );
            }
            let retry = match &template.retry {
                None => Some(RetryPolicy::default()),
                Some(retry) => {
                    if retry.attempts.value == 0 {
                        out.push(
                            Diagnostic::new(
                                path,
                                at(&retry.attempts),
                                format!("{field}.retry.attempts"),
                                "0 attempts would never run the step",
                            )
                            .help("attempts counts the first try: use 1 for no retry"),
                        );
                    } else if retry.attempts.value > MAX_ATTEMPTS {
                        out.push(
                            Diagnostic::new(
                                path,
                                at(&retry.attempts),
                                format!("{field}.retry.attempts"),
                                format!(
                                    "{} attempts is more than the maximum of {MAX_ATTEMPTS}",
                                    retry.attempts.value
                                ),
                            )
                            .help("a step that fails that often needs fixing, not retrying; raise its timeout instead"),
                        );
                    }
                    let defaults = RetryPolicy::default();
                    let backoff =
                        retry
                            .backoff
                            .as_ref()
                            .map_or(Some(defaults.initial_backoff), |value| {
                                duration(
                                    path,
                                    &format!("{field}.retry.backoff"),
                                    value,
                                    MAX_BACKOFF,
                                    out,
                                )
                            });
                    let max_backoff =
                        retry
                            .max_backoff
                            .as_ref()
                            .map_or(Some(defaults.max_backoff), |value| {
                                duration(
                                    path,
                                    &format!("{field}.retry.max_backoff"),
                                    value,
                                    MAX_BACKOFF,
                                    out,
                                )
                            });
                    match (backoff, max_backoff) {
                        (Some(initial), Some(max)) if initial > max => {
                            let position =
                                retry.max_backoff.as_ref().map_or(at(&retry.attempts), at);
                            out.push(
                                Diagnostic::new(path, position, format!("{field}.retry.max_backoff"), "max_backoff is shorter than backoff")
                                    .help("max_backoff caps the growing delay, so it must be at least backoff"),
                            );
                            None
                        }
                        (Some(initial), Some(max)) => Some(RetryPolicy {
                            attempts: retry.attempts.value.max(1),
                            initial_backoff: initial,
                            max_backoff: max,
                        }),
                        _ => None,
                    }
                }
            };
            if let (Some(timeout), Some(retry), Some(estimate)) = (
                timeout,
                retry,
                estimate.map_or(Some(None), |parsed| parsed.map(Some)),
            ) {
                checked.push(Checked {
                    path,
                    phase,
                    template,
                    timeout,
                    retry,
                    estimate,
                });
            }
        }
    }

    // Needs: known, earlier in the global order, no cycles.
    let by_id: HashMap<&str, (&Path, u32, u32)> = phases
        .iter()
        .flat_map(|loaded| {
            loaded.file.steps.iter().map(move |template| {
                (
                    template.id.value.as_str(),
                    (
                        loaded.path.as_path(),
                        loaded.file.phase.value,
                        template.number.value,
                    ),
                )
            })
        })
        .collect();
    let mut edges = Vec::new();
    let all: Vec<(&Path, &StepTemplate)> = phases
        .iter()
        .flat_map(|loaded| {
            loaded
                .file
                .steps
                .iter()
                .map(move |template| (loaded.path.as_path(), template))
        })
        .collect();
    let position: HashMap<&str, usize> = all
        .iter()
        .enumerate()
        .map(|(index, (_, template))| (template.id.value.as_str(), index))
        .collect();
    for (index, (path, template)) in all.iter().enumerate() {
        let phase = by_id
            .get(template.id.value.as_str())
            .map_or(0, |entry| entry.1);
        for (need_index, need) in template.needs.iter().enumerate() {
            let field = format!(
                "steps[{}].needs[{need_index}]",
                step_index(phases, template)
            );
            match by_id.get(need.value.as_str()) {
                None => {
                    let help = match closest(&need.value, by_id.keys().copied()) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => "name the id of a step in one of the phase files".to_owned(),
                    };
                    out.push(
                        Diagnostic::new(
                            path,
                            at(need),
                            field,
                            format!("needs `{}`, which is not a step", need.value),
                        )
                        .help(help),
                    );
                }
                Some(&(_, need_phase, need_number)) => {
                    if need_phase > phase {
                        out.push(
                            Diagnostic::new(path, at(need), field, format!("needs `{}` of the later phase {need_phase}", need.value))
                                .help("phases run in order: a step can only need steps of its own or an earlier phase"),
                        );
                    } else if need_number >= template.number.value
                        && need.value != template.id.value
                    {
                        out.push(
                            Diagnostic::new(path, at(need), field, format!("step {} needs `{}`, which is numbered later ({need_number})", template.number.value, need.value))
                                .help("numbers give the global order: number the needed step before this one"),
                        );
                    }
                    if let Some(&need_position) = position.get(need.value.as_str()) {
                        edges.push((index, need_position));
                    }
                }
            }
        }
    }
    for cycle in find_cycles(all.len(), edges) {
        let (path, template) = all[cycle[0]];
        let mut names: Vec<&str> = cycle
            .iter()
            .map(|&node| all[node].1.id.value.as_str())
            .collect();
        names.push(template.id.value.as_str());
        out.push(
            Diagnostic::new(
                path,
                at(&template.id),
                format!("steps[{}].needs", step_index(phases, template)),
                format!("dependency cycle: {}", names.join(" needs ")),
            )
            .help("remove one of these needs so that the steps can run in some order"),
        );
    }
    checked
}

fn step_index(phases: &[LoadedPhase], template: &StepTemplate) -> usize {
    phases
        .iter()
        .find_map(|loaded| {
            loaded
                .file
                .steps
                .iter()
                .position(|candidate| std::ptr::eq(candidate, template))
        })
        .unwrap_or(0)
}

fn check_params(
    path: &Path,
    field: &str,
    template: &StepTemplate,
    kind: &catalog::Kind,
    out: &mut Diagnostics,
) {
    let position = template.params.as_ref().map_or(at(&template.kind), at);
    let empty = Map::new();
    let params = match template.params.as_ref().map(|params| &params.value) {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => {
            out.push(
                Diagnostic::new(
                    path,
                    position,
                    format!("{field}.params"),
                    "params must be a mapping",
                )
                .help("write `params:` followed by `name: value` lines"),
            );
            return;
        }
    };
    for required in kind.required {
        if !params.contains_key(*required) {
            out.push(
                Diagnostic::new(
                    path,
                    position,
                    format!("{field}.params"),
                    format!("kind `{}` needs parameter `{required}`", kind.name),
                )
                .help(format!(
                    "`{}` takes: {}",
                    kind.name,
                    kind.required
                        .iter()
                        .chain(kind.optional)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }
    for name in params.keys() {
        if !kind.required.contains(&name.as_str()) && !kind.optional.contains(&name.as_str()) {
            let known = kind.required.iter().chain(kind.optional).copied();
            let help = match closest(name, known.clone()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "`{}` takes: {}",
                    kind.name,
                    known.collect::<Vec<_>>().join(", ")
                ),
            };
            out.push(
                Diagnostic::new(
                    path,
                    position,
                    format!("{field}.params.{name}"),
                    format!("kind `{}` has no parameter `{name}`", kind.name),
                )
                .help(help),
            );
        }
    }
}

/// The longest step timeout: a week. Longer is a typo, and a deadline that far away (up to
/// `u64::MAX` seconds) overflows the clock arithmetic of the run.
pub const MAX_STEP_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The longest retry delay: an hour.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);
/// The most attempts a step may have.
pub const MAX_ATTEMPTS: u32 = 100;

fn duration(
    path: &Path,
    field: &str,
    value: &Spanned<String>,
    max: Duration,
    out: &mut Diagnostics,
) -> Option<Duration> {
    match humantime::parse_duration(&value.value) {
        Ok(parsed) if parsed > max => {
            out.push(
                Diagnostic::new(
                    path,
                    at(value),
                    field,
                    format!(
                        "`{}` is longer than the maximum of {}",
                        value.value,
                        humantime::format_duration(max)
                    ),
                )
                .help(format!(
                    "write a duration of at most {}, such as 30s, 5m or 1h",
                    humantime::format_duration(max)
                )),
            );
            None
        }
        Ok(parsed) if !parsed.is_zero() => Some(parsed),
        Ok(_) => {
            out.push(
                Diagnostic::new(path, at(value), field, "a zero duration")
                    .help("write a positive duration such as 30s, 5m or 1h"),
            );
            None
        }
        Err(error) => {
            out.push(
                Diagnostic::new(
                    path,
                    at(value),
                    field,
                    format!("`{}` is not a duration: {error}", value.value),
                )
                .help("write a duration such as 30s, 5m or 1h30m"),
            );
            None
        }
    }
}

fn is_step_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The known name closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min()
        .map(|(_, candidate)| candidate)
}
