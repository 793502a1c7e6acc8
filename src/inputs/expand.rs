//! From phase files and the lab to the run's steps: checks of the step templates, fan-out over
//! the inventory, `${…}` interpolation and secret references.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use genesis_engine::{RetryPolicy, StepId, StepSpec, find_cycles};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::diagnostics::{Diagnostic, Diagnostics};
use super::lab::{Lab, Network, Role};
use super::phases::{ForEach, PhaseFile, StepTemplate};
use super::validate::{at, dns_label_problem, dns_subdomain_problem};
use crate::actions::catalog;
use crate::secrets::Secrets;

/// A parsed phase file and where it came from.
pub struct LoadedPhase {
    pub path: PathBuf,
    pub file: PhaseFile,
}

/// A template with what the checks resolved about it.
struct Checked<'a> {
    path: &'a Path,
    phase: u32,
    template: &'a StepTemplate,
    timeout: Duration,
    retry: RetryPolicy,
}

/// Checks the templates of every phase; returns the ones fit for expansion, in file order.
fn check_templates<'a>(phases: &'a [LoadedPhase], out: &mut Diagnostics) -> Vec<Checked<'a>> {
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
            if let (Some(timeout), Some(retry)) = (timeout, retry) {
                checked.push(Checked {
                    path,
                    phase,
                    template,
                    timeout,
                    retry,
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

/// The instances of one template, and which instance belongs to which item.
struct Instances {
    ids: Vec<StepId>,
    by_item: HashMap<String, usize>,
}

/// One inventory item a step fans out over, as interpolation sees it.
struct Item {
    name: String,
    variable: &'static str,
    value: Value,
    /// Name of the item's network, a key of `Context::networks`.
    network: Option<String>,
}

/// The values `${…}` can name. Shared parts are borrowed, so expansion stays linear in the
/// inventory's size.
struct Context<'a> {
    /// Directory of the phase files; `{file: …}` parameters are read relative to it.
    phases_dir: &'a Path,
    lab: &'a Value,
    networks: &'a Value,
    create_machine: &'a Value,
    /// Counts derived from the lab (`inventory.machines`, `inventory.control_plane_nodes`, …).
    inventory: &'a Value,
    item: Option<&'a Item>,
}

impl Context<'_> {
    fn lookup(&self, path: &str) -> Result<&Value, String> {
        let mut segments = path.split('.');
        let root = segments.next().unwrap_or_default();
        let mut current = match (root, self.item) {
            ("lab", _) => self.lab,
            ("networks", _) => self.networks,
            ("create_machine", _) => self.create_machine,
            ("inventory", _) => self.inventory,
            (variable, Some(item)) if variable == item.variable => &item.value,
            (
                "network",
                Some(Item {
                    network: Some(network),
                    ..
                }),
            ) => self
                .networks
                .get(network)
                .ok_or_else(|| format!("network `{network}` is not defined"))?,
            _ => {
                let mut roots = vec!["lab", "networks", "create_machine", "inventory"];
                if let Some(item) = self.item {
                    roots.push(item.variable);
                    if item.network.is_some() {
                        roots.push("network");
                    }
                }
                return Err(format!(
                    "`{root}` is not known here (known: {})",
                    roots.join(", ")
                ));
            }
        };
        let mut walked = root.to_owned();
        for segment in segments {
            let next = match current {
                Value::Object(map) => map.get(segment),
                Value::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| items.get(index)),
                _ => None,
            };
            current = next.ok_or_else(|| format!("`{walked}` has no `{segment}`"))?;
            walked.push('.');
            walked.push_str(segment);
        }
        Ok(current)
    }

    /// Replaces `${path}` in every string. A string that is exactly one `${path}` takes the
    /// named value with its type; `$${` writes a literal `${`.
    fn interpolate(
        &self,
        value: &Value,
        key_path: &str,
        secrets_used: &mut Vec<(String, String)>,
    ) -> Result<Value, (String, String)> {
        match value {
            Value::String(text) => self
                .interpolate_text(text)
                .map_err(|message| (key_path.to_owned(), message)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    self.interpolate(item, &format!("{key_path}[{index}]"), secrets_used)
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(map) if map.len() == 1 && map.contains_key("file") => {
                let Some(Value::String(relative)) = map.get("file") else {
                    return Err((
                        key_path.to_owned(),
                        "a file reference is `{file: <path below the phases directory>}`"
                            .to_owned(),
                    ));
                };
                super::read::read_contained_file(
                    self.phases_dir,
                    relative,
                    super::read::MAX_INPUT_BYTES,
                )
                .map(Value::String)
                .map_err(|error| (key_path.to_owned(), error.to_string()))
            }
            Value::Object(map) if map.len() == 1 && map.contains_key("secret") => {
                let name = match map.get("secret") {
                    Some(Value::String(name)) => self
                        .interpolate_text(name)
                        .map_err(|message| (key_path.to_owned(), message))?,
                    _ => {
                        return Err((
                            key_path.to_owned(),
                            "a secret reference is `{secret: <dotted name>}`".to_owned(),
                        ));
                    }
                };
                let Value::String(name) = name else {
                    return Err((key_path.to_owned(), "a secret name must be text".to_owned()));
                };
                secrets_used.push((key_path.to_owned(), name.clone()));
                Ok(serde_json::json!({ "secret": name }))
            }
            Value::Object(map) => map
                .iter()
                .map(|(key, item)| {
                    Ok((
                        key.clone(),
                        self.interpolate(item, &format!("{key_path}.{key}"), secrets_used)?,
                    ))
                })
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    fn interpolate_text(&self, text: &str) -> Result<Value, String> {
        if let Some(path) = text
            .strip_prefix("${")
            .and_then(|rest| rest.strip_suffix('}'))
            && !path.contains(['$', '{', '}'])
        {
            return self.lookup(path).cloned();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('$') {
            out.push_str(&rest[..start]);
            let after = &rest[start..];
            if let Some(literal) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = literal;
            } else if let Some(open) = after.strip_prefix("${") {
                let end = open
                    .find('}')
                    .ok_or_else(|| format!("`${{` without a closing `}}` in `{text}`"))?;
                let path = &open[..end];
                match self.lookup(path)? {
                    Value::String(value) => out.push_str(value),
                    Value::Number(value) => out.push_str(&value.to_string()),
                    Value::Bool(value) => out.push_str(&value.to_string()),
                    Value::Null => {
                        return Err(format!(
                            "`${{{path}}}` is empty, so it cannot be part of `{text}`"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "`${{{path}}}` is a list or mapping, so it cannot be part of `{text}`"
                        ));
                    }
                }
                rest = &open[end + 1..];
            } else {
                out.push('$');
                rest = &after[1..];
            }
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }
}

fn network_value(network: &Network) -> Value {
    let mut value = serde_json::to_value(network).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "netmask".to_owned(),
            Value::String(network.subnet.value.netmask().to_string()),
        );
        map.insert(
            "prefix_len".to_owned(),
            Value::from(network.subnet.value.prefix_len()),
        );
    }
    value
}

fn items(lab: &Lab, for_each: ForEach) -> Vec<Item> {
    let machine_item = |machine: &super::lab::Machine| {
        let mut value = serde_json::to_value(machine).unwrap_or(Value::Null);
        if let Some(bmc) = value.get_mut("bmc").and_then(Value::as_object_mut) {
            bmc.insert(
                "port".to_owned(),
                Value::from(
                    machine
                        .bmc
                        .port
                        .unwrap_or(machine.bmc.protocol.default_port()),
                ),
            );
        }
        Item {
            name: machine.hostname.value.clone(),
            variable: "machine",
            value,
            network: Some(machine.network.value.clone()),
        }
    };
    match for_each {
        ForEach::Machines => lab.machines.iter().map(machine_item).collect(),
        ForEach::CreateMachines => lab
            .machines_with_role(Role::Create)
            .map(machine_item)
            .collect(),
        ForEach::JoinMachines => lab
            .machines_with_role(Role::Join)
            .map(machine_item)
            .collect(),
        ForEach::Vms => lab
            .vms
            .iter()
            .map(|vm| Item {
                name: vm.name.value.clone(),
                variable: "vm",
                value: serde_json::to_value(vm).unwrap_or(Value::Null),
                network: Some(vm.network.value.clone()),
            })
            .collect(),
    }
}

/// Checks the templates and, if the lab is usable, expands them into the run's steps.
pub fn expand(
    phases_dir: &Path,
    phases: &[LoadedPhase],
    lab: Option<&Lab>,
    secrets: Option<&Secrets>,
    secrets_path: &Path,
    out: &mut Diagnostics,
) -> Vec<StepSpec> {
    let checked = check_templates(phases, out);
    let Some(lab) = lab else {
        return Vec::new();
    };
    let lab_value = serde_json::to_value(lab).unwrap_or(Value::Null);
    let networks: Value = Value::Object(
        lab.networks
            .iter()
            .map(|network| (network.name.value.clone(), network_value(network)))
            .collect(),
    );
    let inventory = inventory(lab);
    let create_machine = items(lab, ForEach::CreateMachines)
        .into_iter()
        .next()
        .map_or(Value::Null, |item| item.value);

    // The items of each fan-out set, built once and shared by every template using it.
    let mut item_sets: HashMap<ForEach, Vec<Item>> = HashMap::new();
    for entry in &checked {
        if let Some(for_each) = &entry.template.for_each {
            item_sets
                .entry(for_each.value)
                .or_insert_with(|| items(lab, for_each.value));
        }
    }
    let no_items = Vec::new();

    // Instances per template id, to resolve needs.
    let mut instances: HashMap<&str, Instances> = HashMap::new();
    let mut expanded: Vec<(usize, &Vec<Item>)> = Vec::new();
    for (index, entry) in checked.iter().enumerate() {
        let template = entry.template;
        let fan_out = template
            .for_each
            .as_ref()
            .map(|for_each| item_sets.get(&for_each.value).unwrap_or(&no_items));
        let ids = match &fan_out {
            None => vec![(None, StepId::new(template.id.value.clone()))],
            Some(list) => list
                .iter()
                .map(|item| {
                    (
                        Some(item.name.clone()),
                        StepId::new(format!("{}/{}", template.id.value, item.name)),
                    )
                })
                .collect(),
        };
        if let (Some(list), Some(for_each)) = (&fan_out, &template.for_each)
            && list.is_empty()
        {
            out.push(
                Diagnostic::new(
                    entry.path,
                    at(for_each),
                    "for_each",
                    format!(
                        "`{}` is empty in this lab, so step `{}` would not run at all",
                        for_each.value.as_str(),
                        template.id.value
                    ),
                )
                .help("add the items to the lab file, or remove the step"),
            );
        }
        let by_item = ids
            .iter()
            .enumerate()
            .filter_map(|(index, (item, _))| item.clone().map(|item| (item, index)))
            .collect();
        instances.insert(
            template.id.value.as_str(),
            Instances {
                ids: ids.into_iter().map(|(_, id)| id).collect(),
                by_item,
            },
        );
        expanded.push((index, fan_out.unwrap_or(&no_items)));
    }

    let mut steps = Vec::new();
    let mut missing_secrets: BTreeSet<(PathBuf, u64, u64, String, String)> = BTreeSet::new();
    for (index, fan_out) in &expanded {
        let entry = &checked[*index];
        let template = entry.template;
        let singles = [None];
        let iterate: Vec<Option<&Item>> = if template.for_each.is_some() {
            fan_out.iter().map(Some).collect()
        } else {
            singles.to_vec()
        };
        for item in iterate {
            let context = Context {
                phases_dir,
                lab: &lab_value,
                networks: &networks,
                create_machine: &create_machine,
                inventory: &inventory,
                item,
            };
            let mut secrets_used = Vec::new();
            let params_position = template.params.as_ref().map_or(at(&template.kind), at);
            let params = match template.params.as_ref().map(|params| &params.value) {
                None => Value::Object(Map::new()),
                Some(value) => match context.interpolate(value, "params", &mut secrets_used) {
                    Ok(value) => value,
                    Err((key_path, message)) => {
                        out.push(
                            Diagnostic::new(entry.path, params_position, format!("steps[{}].{key_path}", template.id.value), message)
                                .help("`${…}` names a value of the lab: lab.<field>, networks.<name>, create_machine, inventory.<count>, or the fan-out item (machine, network, vm); `{file: …}` names a regular file below the phases directory"),
                        );
                        continue;
                    }
                },
            };
            check_expanded(entry.path, params_position, template, &params, lab, out);
            // Without a usable secrets file its own error is reported, not every reference.
            for (key_path, name) in secrets_used {
                if secrets.is_some_and(|secrets| !secrets.contains(&name)) {
                    missing_secrets.insert((
                        entry.path.to_owned(),
                        params_position.0,
                        params_position.1,
                        format!("steps[{}].{key_path}", template.id.value),
                        name,
                    ));
                }
            }
            let (id, number) = match item {
                None => (
                    StepId::new(template.id.value.clone()),
                    template.number.value.to_string(),
                ),
                Some(item) => (
                    StepId::new(format!("{}/{}", template.id.value, item.name)),
                    format!("{}/{}", template.number.value, item.name),
                ),
            };
            let mut needs = Vec::new();
            for need in &template.needs {
                let Some(targets) = instances.get(need.value.as_str()) else {
                    continue;
                };
                // The same machine's instance when the needed step fans out over it too;
                // otherwise every instance.
                match item.and_then(|item| targets.by_item.get(&item.name)) {
                    Some(&index) => needs.push(targets.ids[index].clone()),
                    None => needs.extend(targets.ids.iter().cloned()),
                }
            }
            steps.push(StepSpec {
                id,
                number,
                ordinal: template.number.value,
                name: template.name.clone(),
                phase: entry.phase,
                kind: template.kind.value.clone(),
                item: item.map(|item| item.name.clone()),
                params,
                needs,
                timeout: entry.timeout,
                retry: entry.retry.clone(),
            });
        }
    }
    for (path, line, column, field, name) in missing_secrets {
        let help = match secrets.and_then(|secrets| closest(&name, secrets.names())) {
            Some(near) => format!(
                "add `{name}` to {}; did you mean `{near}`?",
                secrets_path.display()
            ),
            None => format!(
                "add `{name}` to {} (see secrets.example)",
                secrets_path.display()
            ),
        };
        out.push(
            Diagnostic::new(
                &path,
                (line, column),
                field,
                format!(
                    "secret `{name}` is referenced but absent from {}",
                    secrets_path.display()
                ),
            )
            .help(help),
        );
    }
    steps
}

/// How many control-plane nodes Harvester ends up with: it promotes two more nodes to the
/// control plane only once the cluster has three nodes (`defaultSpecManagementNumber = 3`,
/// harvester@3d63c2af:pkg/controller/master/node/promote_controller.go; see
/// /work/shared/UPSTREAM-APIS.md), so a lab of one or two machines keeps the first node alone.
pub fn control_plane_nodes(machines: usize) -> usize {
    if machines >= 3 { 3 } else { machines.min(1) }
}

/// The counts `${inventory.…}` names.
fn inventory(lab: &Lab) -> Value {
    serde_json::json!({
        "machines": lab.machines.len(),
        "vms": lab.vms.len(),
        "control_plane_nodes": control_plane_nodes(lab.machines.len()),
    })
}

/// Checks of one step's parameters after expansion: each has the type its kind's action reads
/// it as, names that become Kubernetes names follow their rules, and a quorum can be reached
/// by the lab's machines. Reported once per template (fan-out instances repeat them).
fn check_expanded(
    path: &Path,
    position: (u64, u64),
    template: &StepTemplate,
    params: &Value,
    lab: &Lab,
    out: &mut Diagnostics,
) {
    let Some(kind) = catalog::find(&template.kind.value) else {
        return;
    };
    let Value::Object(map) = params else {
        return;
    };
    let id = &template.id.value;
    // Missing and unknown parameters were reported by the template checks, in their words.
    let complete = kind.required.iter().all(|name| map.contains_key(*name))
        && map.keys().all(|name| {
            kind.required.contains(&name.as_str()) || kind.optional.contains(&name.as_str())
        });
    if complete && let Some(Err(error)) = catalog::check_types(kind.name, params) {
        let field = if error.param.is_empty() {
            format!("steps[{id}].params")
        } else {
            format!("steps[{id}].params.{}", error.param)
        };
        let what = params_path_value(params, &error.param)
            .map_or_else(String::new, |shown| format!(" is {shown}"));
        let param = if error.param.is_empty() {
            "params"
        } else {
            error.param.as_str()
        };
        out.push(
            Diagnostic::new(
                path,
                position,
                field,
                format!(
                    "step `{id}` (kind `{}`): parameter `{param}`{what}: {}",
                    kind.name, error.message
                ),
            )
            .help(format!(
                "give `{param}` the type `{}` reads it as (see docs/actions.md)",
                kind.name
            )),
        );
    }
    for (name, rule) in catalog::name_params(kind.name) {
        let Some(Value::String(value)) = map.get(*name) else {
            continue;
        };
        let problem = match rule {
            catalog::NameRule::Namespace => dns_label_problem(value)
                .map(|problem| format!("`{value}` is not a valid Kubernetes namespace: {problem}")),
            catalog::NameRule::Object => dns_subdomain_problem(value)
                .map(|problem| format!("`{value}` is not a valid Kubernetes object name: {problem}")),
            catalog::NameRule::ObjectRef => {
                let (namespace, object) = value.split_once('/').unwrap_or(("", value));
                let namespace_problem = if namespace.is_empty() {
                    None
                } else {
                    dns_label_problem(namespace)
                };
                namespace_problem
                    .map(|problem| format!("the namespace of `{value}` is not valid: {problem}"))
                    .or_else(|| {
                        dns_subdomain_problem(object).map(|problem| {
                            format!("`{value}` does not name a Kubernetes object: {problem}")
                        })
                    })
            }
            catalog::NameRule::ArgocdCluster => dns_subdomain_problem(&format!("cluster-{value}"))
                .map(|problem| {
                    format!("`{value}` cannot name Argo CD's cluster Secret `cluster-{value}`: {problem}")
                }),
        };
        if let Some(problem) = problem {
            out.push(
                Diagnostic::new(path, position, format!("steps[{id}].params.{name}"), problem)
                    .help("Kubernetes names are lowercase letters, digits and `-` (object names also `.`), starting and ending with a letter or digit; fix the value here or the lab field it comes from"),
            );
        }
    }
    if kind.name == "harvester.quorum"
        && let Some(nodes) = map.get("nodes").and_then(Value::as_u64)
    {
        let machines = lab.machines.len();
        let most = control_plane_nodes(machines);
        if nodes == 0 || nodes > most as u64 {
            out.push(
                Diagnostic::new(
                    path,
                    position,
                    format!("steps[{id}].params.nodes"),
                    format!(
                        "a quorum of {nodes} control-plane nodes cannot be reached: the lab has {machines} machine{}, and Harvester runs {most} control-plane node{} with that many (it promotes nodes only from three up)",
                        if machines == 1 { "" } else { "s" },
                        if most == 1 { "" } else { "s" },
                    ),
                )
                .help("write `nodes: ${inventory.control_plane_nodes}`, or list at least three machines in the lab for a three-node control plane"),
            );
        }
    }
}

/// The value at `path` (as serde_path_to_error writes it: `a.b[0].c`) below `params`, shown
/// briefly: its JSON type, never its text (which may be long, or a secret's name).
fn params_path_value(params: &Value, path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return None;
    }
    let mut current = params;
    for segment in path.split('.') {
        let (key, indexes) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        for index in indexes.split(['[', ']']).filter(|part| !part.is_empty()) {
            current = current.get(index.parse::<usize>().ok()?)?;
        }
    }
    Some(match current {
        Value::Null => "empty",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    })
}
