//! RKE2's kube-apiserver serving certificate on the node that creates the Harvester cluster.
//!
//! On hardware the certificate carries RKE2's default names (localhost, 127.0.0.1, the
//! in-cluster `kubernetes…` names, the first service address), the node's own name and
//! addresses, and every `tls-san` of RKE2's configuration: `config.yaml` then the drop-ins in
//! `config.yaml.d/` in name order, a `tls-san+` key appending to what came before, a plain
//! `tls-san` replacing it (k3s-io/k3s pkg/configfilearg/parser.go `readConfigFile`).
//! harvester-installer writes `90-harvester-server.yaml` with `tls-san: [VIP, sans…]` on the
//! node that creates the cluster (pkg/config/cos.go, templates/rke2-90-harvester-server.yaml)
//! and the config's `os.write_files` on every node.
//!
//! Playing the installer of the first node, the simulator reads that node's Harvester
//! configuration from its Hardware's user data, works out the names as RKE2 would, and hands
//! them to the test world's Harvester API server (its serving-SANs file), which issues its
//! serving certificate again for RKE2's defaults plus these names and says when it presents
//! it. A `server` name genesis did not put on the certificate then fails verification in the
//! test world as it would on hardware.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::{Error, Shared};

/// Where harvester-installer and genesis put RKE2 config drop-ins.
const DROP_IN_DIR: &str = "/etc/rancher/rke2/config.yaml.d/";

/// The names, besides RKE2's built-in ones, that RKE2 would put on the serving certificate of
/// the node configured by `config` (the Harvester config in its Hardware's user data).
pub fn extra_sans(config: &Value) -> Vec<String> {
    // (file name, RKE2 config) in the order RKE2 reads them.
    let mut files: Vec<(String, Value)> = Vec::new();
    let server_url = config
        .get("server_url")
        .or_else(|| config.get("serverUrl"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if server_url.is_empty() {
        // templates/rke2-90-harvester-server.yaml: the VIP, then the config's `sans`.
        let mut sans = Vec::new();
        if let Some(vip) = config.pointer("/install/vip").and_then(Value::as_str) {
            sans.push(Value::from(vip));
        }
        if let Some(extra) = config.get("sans").and_then(Value::as_array) {
            sans.extend(extra.iter().cloned());
        }
        files.push((
            "90-harvester-server.yaml".to_owned(),
            serde_json::json!({ "tls-san": sans }),
        ));
    }
    let write_files = config
        .pointer("/os/write_files")
        .or_else(|| config.pointer("/os/writeFiles"))
        .and_then(Value::as_array);
    for file in write_files.into_iter().flatten() {
        let Some(path) = file.get("path").and_then(Value::as_str) else {
            continue;
        };
        let Some(name) = path.strip_prefix(DROP_IN_DIR) else {
            continue;
        };
        if name.contains('/') || !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let content = file.get("content").and_then(Value::as_str).unwrap_or("");
        if let Ok(parsed) = serde_saphyr::from_str::<Value>(content) {
            files.push((name.to_owned(), parsed));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let mut tls_san: Vec<String> = Vec::new();
    for (_, file) in &files {
        let Some(map) = file.as_object() else {
            continue;
        };
        for (key, value) in map {
            let values = flag_values(value);
            match key.as_str() {
                "tls-san" => tls_san = values,
                "tls-san+" => tls_san.extend(values),
                _ => {}
            }
        }
    }

    let mut names = Vec::new();
    // k3s pkg/cli/server/server.go: the node's name and its addresses.
    if let Some(hostname) = config.pointer("/os/hostname").and_then(Value::as_str) {
        names.push(hostname.to_owned());
    }
    if let Some(ip) = config
        .pointer("/install/management_interface/ip")
        .or_else(|| config.pointer("/install/managementInterface/ip"))
        .and_then(Value::as_str)
    {
        names.push(ip.to_owned());
    }
    names.extend(tls_san);
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| !name.is_empty() && seen.insert(name.clone()));
    names
}

/// A string-slice flag's values as RKE2 reads them from a config file: a list, or one string
/// of comma-separated values.
fn flag_values(value: &Value) -> Vec<String> {
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match value {
        Value::Array(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        other => text(other)
            .split(',')
            .map(|part| part.trim().to_owned())
            .filter(|part| !part.is_empty())
            .collect(),
    }
}

/// Gives the test world's Harvester API server the certificate RKE2 would issue on `node`
/// (the first node), and returns once the server presents it. Nothing to do when the world has
/// no serving-SANs file.
pub async fn issue_for_first_node(shared: &Arc<Shared>, node: &str) -> Result<(), Error> {
    let Some(sans_file) = shared.world.node_files.harvester_serving_sans.clone() else {
        return Ok(());
    };
    let hardware: Api<DynamicObject> =
        Api::all_with(shared.world.platform.clone(), &crate::resources::hardware());
    let list = hardware
        .list(&ListParams::default())
        .await
        .map_err(|source| Error::Kube {
            context: format!("list Hardware to find {node}"),
            source,
        })?;
    let user_data = list
        .items
        .iter()
        .find(|item| item.metadata.name.as_deref() == Some(node))
        .and_then(|item| item.data.pointer("/spec/userData"))
        .and_then(Value::as_str)
        .ok_or_else(|| Error::Invalid(format!("Hardware {node} has no userData")))?;
    let config: Value = serde_saphyr::from_str(user_data)
        .map_err(|error| Error::Invalid(format!("the user data of {node}: {error}")))?;
    let names = extra_sans(&config);
    if names.is_empty() {
        // Nothing beyond RKE2's default names, which the server's certificate carries from
        // its start: nothing to issue again.
        shared.record(
            "harvester",
            "rke2.serving_certificate",
            node,
            "RKE2's default names only",
        );
        return Ok(());
    }
    let content: String = names.iter().map(|name| format!("{name}\n")).collect();
    write(&sans_file, &content)?;
    wait_served(&sans_file, &content).await?;
    shared.record(
        "harvester",
        "rke2.serving_certificate",
        node,
        format!("RKE2's default names and {}", names.join(", ")),
    );
    Ok(())
}

fn write(path: &Path, content: &str) -> Result<(), Error> {
    std::fs::write(path, content).map_err(|source| Error::NodeFile {
        path: path.to_owned(),
        source,
    })
}

/// Waits for `<file>.served` to hold `content`: the API server writes it once it presents the
/// certificate for these names. A local file the server writes, read every 50 ms.
async fn wait_served(sans_file: &Path, content: &str) -> Result<(), Error> {
    let mut served = sans_file.as_os_str().to_owned();
    served.push(".served");
    let served = std::path::PathBuf::from(served);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        if std::fs::read_to_string(&served).is_ok_and(|text| text == content) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Timeout(format!(
                "the Harvester API server to present its re-issued serving certificate ({})",
                served.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_follow_rke2s_drop_in_order_and_append_rule() {
        let create = json!({
            "os": {
                "hostname": "ms-02-1",
                "write_files": [
                    {"path": "/etc/rancher/rke2/config.yaml.d/95-genesis-tls-san.yaml",
                     "content": "tls-san+:\n  - harvester.lab.local\n"},
                    {"path": "/etc/other.yaml", "content": "tls-san: [ignored]\n"},
                ],
            },
            "install": {"mode": "create", "vip": "10.10.10.20",
                        "management_interface": {"ip": "10.10.10.11"}},
        });
        assert_eq!(
            extra_sans(&create),
            [
                "ms-02-1",
                "10.10.10.11",
                "10.10.10.20",
                "harvester.lab.local"
            ]
        );
        // Without genesis's drop-in: only the VIP and the node's own names.
        let mut plain = create.clone();
        plain["os"]["write_files"] = json!([]);
        assert_eq!(
            extra_sans(&plain),
            ["ms-02-1", "10.10.10.11", "10.10.10.20"]
        );
        // A plain `tls-san` in a later drop-in replaces the VIP; `sans` adds to it.
        let mut replaced = create.clone();
        replaced["sans"] = json!(["extra.example"]);
        replaced["os"]["write_files"] = json!([{
            "path": "/etc/rancher/rke2/config.yaml.d/99-x.yaml",
            "content": "tls-san: a.example,b.example\n",
        }]);
        assert_eq!(
            extra_sans(&replaced),
            ["ms-02-1", "10.10.10.11", "a.example", "b.example"]
        );
        let mut with_sans = plain.clone();
        with_sans["sans"] = json!(["extra.example"]);
        assert_eq!(
            extra_sans(&with_sans),
            ["ms-02-1", "10.10.10.11", "10.10.10.20", "extra.example"]
        );
    }
}
