//! The first Harvester node's part of the bundle: its service logs over SSH.

use std::time::Duration;

use serde_json::Value;

use crate::cli::common::Common;
use crate::clients::ssh::{SshTarget, known_hosts_path};
use crate::errors::error_chain;
use crate::inputs::Inputs;

use super::bundle::Bundle;

use super::args::NODE_COMMANDS;

/// The first Harvester node's service logs, with the SSH settings of step 9 (`harvester.api`)
/// and the host key pinned in the state directory.
pub(crate) async fn collect_node(
    bundle: &mut Bundle,
    inputs: &Inputs,
    common: &Common,
    timeout: Duration,
) {
    let graph = &inputs.graph;
    let Some(step) = graph
        .order()
        .iter()
        .map(|&position| graph.step(position))
        .find(|step| step.kind == "harvester.api")
    else {
        bundle.record(
            "node",
            Err("no harvester.api step in the phases: the node's address is unknown".to_owned()),
        );
        return;
    };
    let text = |name: &str| {
        step.params
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let key = step
        .params
        .pointer("/ssh_key/secret")
        .and_then(Value::as_str)
        .and_then(|name| inputs.secrets.get(name));
    let (Some(host), Some(user), Some(key)) = (text("first_node_ip"), text("ssh_user"), key) else {
        bundle.record(
            "node",
            Err(format!(
                "step `{}` does not name first_node_ip, ssh_user and an ssh_key secret",
                step.id
            )),
        );
        return;
    };
    let port = step
        .params
        .get("ssh_port")
        .and_then(Value::as_u64)
        .and_then(|port| u16::try_from(port).ok())
        .unwrap_or(22);
    let target = SshTarget {
        host: host.clone(),
        port,
        user: user.clone(),
        known_hosts: known_hosts_path(&common.state_dir),
    };
    let node = text("first_node").unwrap_or_else(|| host.clone());
    let mut index = format!("node {node} ({user}@{host}:{port})\n");
    let mut reached = false;
    for (name, command) in NODE_COMMANDS {
        let part = format!("node/{name}");
        let result = tokio::time::timeout(timeout, target.run(key.expose(), command)).await;
        let outcome = match result {
            Ok(Ok(output)) => {
                reached = true;
                let status = output
                    .exit_status
                    .map_or_else(|| "none".to_owned(), |code| code.to_string());
                let mut text = format!("$ {command}\nexit status: {status}\n");
                if let crate::clients::ssh::HostKey::Learned { fingerprint } = &output.host_key {
                    text.push_str(&format!(
                        "note: first contact with this host; its key {fingerprint} was recorded\n"
                    ));
                }
                text.push_str("--- stdout ---\n");
                text.push_str(&String::from_utf8_lossy(&output.stdout));
                text.push_str("\n--- stderr ---\n");
                text.push_str(&output.stderr);
                bundle.write(&format!("{part}.txt"), &text);
                index.push_str(&format!("{name}: exit {status}: {command}\n"));
                if output.exit_status == Some(0) {
                    Ok(())
                } else {
                    Err(format!("`{command}` ended with exit status {status}"))
                }
            }
            Ok(Err(error)) => Err(error_chain(&error)),
            Err(_) => Err(format!(
                "`{command}` gave no answer within {}",
                humantime::format_duration(timeout)
            )),
        };
        if let Err(error) = &outcome {
            index.push_str(&format!("{name}: {error}\n"));
        }
        let unreachable = !reached && outcome.is_err();
        bundle.record(&part, outcome);
        if unreachable {
            // Not even the first command got through: the others would fail the same way.
            break;
        }
    }
    bundle.write("node/index.txt", &index);
    bundle.record(
        "node",
        if reached {
            Ok(())
        } else {
            Err(format!("cannot log in to {user}@{host}:{port}"))
        },
    );
}
