//! What `${…}` can name: the lab, its networks, the inventory's counts and the fan-out item;
//! and interpolation of a step's parameters in that context.

use std::collections::HashMap;
use std::path::Path;

use genesis_engine::StepId;
use serde_json::{Map, Value};

use crate::inputs::lab::{Lab, Network, Role};
use crate::inputs::phases::ForEach;

/// The instances of one template, and which instance belongs to which item.
pub(crate) struct Instances {
    pub(crate) ids: Vec<StepId>,
    pub(crate) by_item: HashMap<String, usize>,
}

/// One inventory item a step fans out over, as interpolation sees it.
pub(crate) struct Item {
    pub(crate) name: String,
    pub(crate) variable: &'static str,
    pub(crate) value: Value,
    /// Name of the item's network, a key of `Context::networks`.
    pub(crate) network: Option<String>,
}

/// The values `${…}` can name. Shared parts are borrowed, so expansion stays linear in the
/// inventory's size.
pub(crate) struct Context<'a> {
    /// Directory of the phase files; `{file: …}` parameters are read relative to it.
    pub(crate) phases_dir: &'a Path,
    pub(crate) lab: &'a Value,
    pub(crate) networks: &'a Value,
    pub(crate) create_machine: &'a Value,
    /// Counts derived from the lab (`inventory.machines`, `inventory.control_plane_nodes`, …).
    pub(crate) inventory: &'a Value,
    pub(crate) item: Option<&'a Item>,
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
    pub(crate) fn interpolate(
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
                crate::inputs::read::read_contained_file(
                    self.phases_dir,
                    relative,
                    crate::inputs::read::MAX_INPUT_BYTES,
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

pub(crate) fn network_value(network: &Network) -> Value {
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

pub(crate) fn items(lab: &Lab, for_each: ForEach) -> Vec<Item> {
    let machine_item = |machine: &crate::inputs::lab::Machine| {
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

/// How many control-plane nodes Harvester ends up with: it promotes two more nodes to the
/// control plane only once the cluster has three nodes (`defaultSpecManagementNumber = 3`,
/// harvester@3d63c2af:pkg/controller/master/node/promote_controller.go; see
/// /work/shared/UPSTREAM-APIS.md), so a lab of one or two machines keeps the first node alone.
pub fn control_plane_nodes(machines: usize) -> usize {
    if machines >= 3 { 3 } else { machines.min(1) }
}

/// The counts `${inventory.…}` names.
pub(crate) fn inventory(lab: &Lab) -> Value {
    serde_json::json!({
        "machines": lab.machines.len(),
        "vms": lab.vms.len(),
        "control_plane_nodes": control_plane_nodes(lab.machines.len()),
    })
}
