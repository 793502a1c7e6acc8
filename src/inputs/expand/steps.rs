//! From checked templates to the run's steps: fan-out over the inventory, interpolation,
//! needs resolved per item, secret references checked.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use genesis_engine::{StepId, StepSpec};
use serde_json::{Map, Value};

use crate::actions::catalog;
use crate::inputs::diagnostics::{Diagnostic, Diagnostics};
use crate::inputs::lab::Lab;
use crate::inputs::phases::{ForEach, StepTemplate};
use crate::inputs::validate::{at, dns_label_problem, dns_subdomain_problem};
use crate::secrets::Secrets;

use super::context::{
    Context, Instances, Item, control_plane_nodes, inventory, items, network_value,
};
use super::templates::{Checked, LoadedPhase, check_templates, closest};

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
    let values = LabValues::of(lab);
    // The items of each fan-out set, built once and shared by every template using it.
    let mut item_sets: HashMap<ForEach, Vec<Item>> = HashMap::new();
    for entry in &checked {
        if let Some(for_each) = &entry.template.for_each {
            item_sets
                .entry(for_each.value)
                .or_insert_with(|| items(lab, for_each.value));
        }
    }
    let (instances, expanded) = instances(&checked, &item_sets, out);
    let mut steps = Vec::new();
    let mut missing_secrets = BTreeSet::new();
    for (index, fan_out) in &expanded {
        let entry = &checked[*index];
        let singles = [None];
        let iterate: Vec<Option<&Item>> = if entry.template.for_each.is_some() {
            fan_out.iter().map(Some).collect()
        } else {
            singles.to_vec()
        };
        for item in iterate {
            let context = Context {
                phases_dir,
                lab: &values.lab,
                networks: &values.networks,
                create_machine: &values.create_machine,
                inventory: &values.inventory,
                item,
            };
            let step = Instance {
                entry,
                item,
                context: &context,
                instances: &instances,
            };
            if let Some(spec) = step.spec(lab, secrets, &mut missing_secrets, out) {
                steps.push(spec);
            }
        }
    }
    report_missing_secrets(missing_secrets, secrets, secrets_path, out);
    steps
}

/// The lab as `${…}` sees it, built once per expansion.
struct LabValues {
    lab: Value,
    networks: Value,
    inventory: Value,
    create_machine: Value,
}

impl LabValues {
    fn of(lab: &Lab) -> Self {
        Self {
            lab: serde_json::to_value(lab).unwrap_or(Value::Null),
            networks: Value::Object(
                lab.networks
                    .iter()
                    .map(|network| (network.name.value.clone(), network_value(network)))
                    .collect(),
            ),
            inventory: inventory(lab),
            create_machine: items(lab, ForEach::CreateMachines)
                .into_iter()
                .next()
                .map_or(Value::Null, |item| item.value),
        }
    }
}

/// The instances of each template, by template id.
type InstancesById<'c> = HashMap<&'c str, Instances>;

/// A secret reference to a name the secrets file lacks: file, line, column, field, name.
type MissingSecret = (PathBuf, u64, u64, String, String);

/// The step ids of every template (one per fan-out item), and each template with its items.
/// A fan-out over an empty set is reported: that step would not run at all.
fn instances<'c, 'i>(
    checked: &'c [Checked<'c>],
    item_sets: &'i HashMap<ForEach, Vec<Item>>,
    out: &mut Diagnostics,
) -> (InstancesById<'c>, Vec<(usize, &'i [Item])>) {
    let mut instances: HashMap<&str, Instances> = HashMap::new();
    let mut expanded: Vec<(usize, &[Item])> = Vec::new();
    for (index, entry) in checked.iter().enumerate() {
        let template = entry.template;
        let fan_out = template.for_each.as_ref().map(|for_each| {
            item_sets
                .get(&for_each.value)
                .map_or(&[][..], Vec::as_slice)
        });
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
        expanded.push((index, fan_out.unwrap_or(&[])));
    }
    (instances, expanded)
}

/// One step to make: a checked template, for one item (or none).
struct Instance<'a> {
    entry: &'a Checked<'a>,
    item: Option<&'a Item>,
    context: &'a Context<'a>,
    instances: &'a HashMap<&'a str, Instances>,
}

impl Instance<'_> {
    /// The step, with its parameters interpolated and its needs resolved; `None` (and a
    /// diagnostic) when its parameters cannot be interpolated.
    fn spec(
        &self,
        lab: &Lab,
        secrets: Option<&Secrets>,
        missing_secrets: &mut BTreeSet<MissingSecret>,
        out: &mut Diagnostics,
    ) -> Option<StepSpec> {
        let (entry, item) = (self.entry, self.item);
        let template = entry.template;
        let mut secrets_used = Vec::new();
        let params_position = template.params.as_ref().map_or(at(&template.kind), at);
        let params = match template.params.as_ref().map(|params| &params.value) {
            None => Value::Object(Map::new()),
            Some(value) => match self.context.interpolate(value, "params", &mut secrets_used) {
                Ok(value) => value,
                Err((key_path, message)) => {
                    out.push(
                        Diagnostic::new(entry.path, params_position, format!("steps[{}].{key_path}", template.id.value), message)
                            .help("`${…}` names a value of the lab: lab.<field>, networks.<name>, create_machine, inventory.<count>, or the fan-out item (machine, network, vm); `{file: …}` names a regular file below the phases directory"),
                    );
                    return None;
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
        Some(StepSpec {
            id,
            number,
            ordinal: template.number.value,
            name: template.name.clone(),
            phase: entry.phase,
            kind: template.kind.value.clone(),
            item: item.map(|item| item.name.clone()),
            params,
            needs: self.needs(),
            timeout: entry.timeout,
            retry: entry.retry.clone(),
            estimate: entry.estimate,
            secret_digests: Default::default(),
        })
    }

    /// The needed steps: the same item's instance when the needed step fans out over it too;
    /// otherwise every instance.
    fn needs(&self) -> Vec<StepId> {
        let mut needs = Vec::new();
        for need in &self.entry.template.needs {
            let Some(targets) = self.instances.get(need.value.as_str()) else {
                continue;
            };
            match self.item.and_then(|item| targets.by_item.get(&item.name)) {
                Some(&index) => needs.push(targets.ids[index].clone()),
                None => needs.extend(targets.ids.iter().cloned()),
            }
        }
        needs
    }
}

/// One diagnostic per secret name referenced but absent, with the nearest name present.
fn report_missing_secrets(
    missing_secrets: BTreeSet<MissingSecret>,
    secrets: Option<&Secrets>,
    secrets_path: &Path,
    out: &mut Diagnostics,
) {
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
