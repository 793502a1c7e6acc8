//! The judgements of `genesis health`, from what was read: pure functions, tested without a
//! cluster.

use std::collections::BTreeMap;
use std::time::SystemTime;

use k8s_openapi::api::core::v1::Node;
use serde_json::Value;

use super::Check;
use crate::actions::argocd::credentials::{self, RENEW_WITHIN_DAYS};
use crate::actions::watch::conditions::node_ready;

/// The label prefix of a node's roles (`node-role.kubernetes.io/control-plane`).
const ROLE_PREFIX: &str = "node-role.kubernetes.io/";

/// A node's roles from its `node-role.kubernetes.io/<role>` labels (any value: Talos sets an
/// empty one); `worker` when it has none, as kubectl shows `<none>` for a plain worker.
pub fn roles(node: &Node) -> Vec<String> {
    let roles: Vec<String> = node
        .metadata
        .labels
        .iter()
        .flatten()
        .filter_map(|(key, _)| key.strip_prefix(ROLE_PREFIX))
        .filter(|role| !role.is_empty())
        .map(str::to_owned)
        .collect();
    if roles.is_empty() {
        vec!["worker".to_owned()]
    } else {
        roles
    }
}

/// Whether the node has the control-plane role (or its former name, `master`).
pub fn is_control_plane(node: &Node) -> bool {
    roles(node)
        .iter()
        .any(|role| role == "control-plane" || role == "master")
}

/// `Ready`, or `NotReady (reason: message)` from the node's Ready condition.
fn readiness(node: &Node) -> Result<(), String> {
    match node_ready(node) {
        Some(condition) if condition.status == "True" => Ok(()),
        Some(condition) => {
            let why = [condition.reason.as_deref(), condition.message.as_deref()]
                .into_iter()
                .flatten()
                .filter(|text| !text.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            Err(if why.is_empty() {
                format!("NotReady (Ready={})", condition.status)
            } else {
                format!("NotReady (Ready={}, {why})", condition.status)
            })
        }
        None => Err("NotReady (no Ready condition posted)".to_owned()),
    }
}

fn name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}

/// One check per Platform node, the lab's own Platform node expected among them, and the
/// control-plane count against the HA goal (the Platform node and the lab's VMs).
pub fn platform_nodes(nodes: &[Node], platform_node: &str, goal: usize) -> Vec<Check> {
    let mut checks = Vec::new();
    if !nodes.iter().any(|node| name(node) == platform_node) {
        checks.push(Check::yellow(
            "platform",
            format!("platform.node.{platform_node}"),
            format!("node {platform_node} (the lab's platform_node) is not a node of the cluster"),
            "check platform_node.hostname in the lab file against `kubectl get nodes`",
        ));
    }
    let mut ready_control_plane = 0;
    for node in nodes {
        let node_name = name(node);
        let roles = roles(node).join(",");
        let id = format!("platform.node.{node_name}");
        match readiness(node) {
            Ok(()) => {
                if is_control_plane(node) {
                    ready_control_plane += 1;
                }
                checks.push(Check::green(
                    "platform",
                    id,
                    format!("node {node_name}: {roles}, Ready"),
                ));
            }
            Err(state) => checks.push(Check::red(
                "platform",
                id,
                format!("node {node_name}: {roles}, {state}"),
                format!(
                    "look at the node (`kubectl describe node {node_name}`); for a VM of the lab, `genesis describe {node_name}` shows its objects"
                ),
            )),
        }
    }
    let summary =
        format!("{ready_control_plane}/{goal} control-plane nodes Ready (HA goal {goal})");
    checks.push(if ready_control_plane >= goal {
        Check::green("platform", "platform.control-plane", summary)
    } else {
        Check::yellow(
            "platform",
            "platform.control-plane",
            summary,
            "run `genesis up`: phase 4 adds the lab's VMs as control-plane nodes; a node above that is not Ready needs looking at first",
        )
    });
    checks
}

/// One check per machine of the lab: its Harvester Node registered and Ready.
pub fn harvester_nodes(nodes: &[Node], machines: &[String]) -> Vec<Check> {
    machines
        .iter()
        .map(|machine| {
            let id = format!("harvester.node.{machine}");
            match nodes.iter().find(|node| name(node) == machine) {
                None => Check::yellow(
                    "harvester",
                    id,
                    format!("node {machine}: not registered"),
                    format!(
                        "if its install has not run, `genesis up` runs it; otherwise `genesis describe {machine}` shows its Workflow"
                    ),
                )
                .absent(),
                Some(node) => {
                    let roles = roles(node).join(",");
                    match readiness(node) {
                        Ok(()) => Check::green(
                            "harvester",
                            id,
                            format!("node {machine}: {roles}, Ready"),
                        ),
                        Err(state) => Check::red(
                            "harvester",
                            id,
                            format!("node {machine}: {roles}, {state}"),
                            format!(
                                "look at the machine (`kubectl describe node {machine}` on Harvester, its console, `genesis diagnose`)"
                            ),
                        ),
                    }
                }
            }
        })
        .collect()
}

/// The quorum as step 11 judges it (`harvester.quorum`'s own assessment).
pub fn quorum(nodes: &[Node], wanted: usize, cluster_init: Option<&str>) -> Check {
    let by_name: BTreeMap<String, Node> = nodes
        .iter()
        .map(|node| (name(node).to_owned(), node.clone()))
        .collect();
    match crate::actions::harvester::quorum::assess(&by_name, wanted, cluster_init) {
        Ok(Ok(members)) => Check::green(
            "harvester",
            "harvester.quorum",
            format!(
                "quorum: {}/{wanted} control-plane members ({})",
                members.len(),
                members.join(", ")
            ),
        ),
        Ok(Err(note)) => Check::red(
            "harvester",
            "harvester.quorum",
            format!("quorum not met: {note}"),
            "bring the nodes above back (genesis never repairs etcd); while the bootstrap is unfinished, `genesis up` waits for the quorum",
        ),
        Err(error) => Check::red(
            "harvester",
            "harvester.quorum",
            "quorum: a promotion went wrong",
            error.to_string(),
        ),
    }
}

/// The VM's state on Harvester and its join to the Platform: `vm` is the VirtualMachine as
/// read (`None`: not there), `node` its Platform Node.
pub fn vm(vm_name: &str, vm: Option<&Value>, node_name: &str, node: Option<&Node>) -> Check {
    let id = format!("vm.{vm_name}");
    let Some(vm) = vm else {
        return Check::yellow(
            "vms",
            id,
            format!("VM {vm_name}: not created"),
            "`genesis up` creates it (phase 4)",
        )
        .absent();
    };
    let printable = vm
        .pointer("/status/printableStatus")
        .and_then(Value::as_str)
        .unwrap_or("(no status yet)");
    let ready = vm.pointer("/status/ready").and_then(Value::as_bool) == Some(true);
    let state = format!(
        "VM {vm_name}: {printable}{}",
        if ready { ", ready" } else { "" }
    );
    let describe = format!("`genesis describe {vm_name}` shows its objects and conditions");
    match printable {
        "Running" if ready => {}
        "Provisioning"
        | "Starting"
        | "WaitingForVolumeBinding"
        | "Migrating"
        | "Running"
        | "(no status yet)" => {
            return Check::yellow(
                "vms",
                id,
                state,
                format!("it is on its way; if it stays so, {describe}"),
            );
        }
        _ => {
            return Check::red(
                "vms",
                id,
                state,
                format!("KubeVirt reports a problem: {describe}"),
            );
        }
    }
    match node.map(readiness) {
        Some(Ok(())) => Check::green(
            "vms",
            id,
            format!("{state}; joined the Platform as node {node_name}, Ready"),
        ),
        Some(Err(node_state)) => Check::red(
            "vms",
            id,
            format!("{state}; its Platform node {node_name} is {node_state}"),
            format!("look at the node (`kubectl describe node {node_name}`) and the VM's console"),
        ),
        None => Check::red(
            "vms",
            id,
            format!("{state}; not joined the Platform (no node {node_name})"),
            format!(
                "the VM runs but Talos did not join: check its machine configuration and console; `genesis up` waits for the join ({describe})"
            ),
        ),
    }
}

/// The client certificate of the step-12 Secret's `config`: days left, yellow under
/// [`RENEW_WITHIN_DAYS`], red once expired or unreadable.
pub fn certificate(config: &Value, now: SystemTime) -> Check {
    const ID: &str = "argocd.certificate";
    let renew = "run `genesis up`: it mints the Secret again from the Harvester kubeconfig (renew Harvester's certificates first if they are as old)";
    match credentials::from_argocd_config(config) {
        Ok(None) => Check::green(
            "argocd",
            ID,
            "no client certificate (the config authenticates another way)",
        ),
        Ok(Some(certificate)) => match certificate.days_left(now) {
            None => Check::red(
                "argocd",
                ID,
                format!(
                    "the client certificate ({}) has expired",
                    certificate.subject
                ),
                renew,
            ),
            Some(days) if certificate.needs_renewal(now) => Check::yellow(
                "argocd",
                ID,
                format!(
                    "the client certificate ({}) expires in {days} days (under {RENEW_WITHIN_DAYS})",
                    certificate.subject
                ),
                renew,
            ),
            Some(days) => Check::green(
                "argocd",
                ID,
                format!(
                    "the client certificate ({}) expires in {days} days",
                    certificate.subject
                ),
            ),
        },
        Err(error) => Check::red(
            "argocd",
            ID,
            format!("the client certificate cannot be read: {error}"),
            renew,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Status;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    use serde_json::json;

    fn node(name: &str, roles: &[&str], ready: Option<bool>) -> Node {
        let mut node = Node::default();
        node.metadata.name = Some(name.to_owned());
        node.metadata.labels = Some(
            roles
                .iter()
                .map(|role| (format!("{ROLE_PREFIX}{role}"), String::new()))
                .collect(),
        );
        node.status = ready.map(|ready| NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".to_owned(),
                status: if ready { "True" } else { "False" }.to_owned(),
                reason: (!ready).then(|| "KubeletNotReady".to_owned()),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        });
        node
    }

    fn statuses(checks: &[Check]) -> Vec<(String, Status)> {
        checks
            .iter()
            .map(|check| (check.id.clone(), check.status))
            .collect()
    }

    #[test]
    fn roles_come_from_the_node_role_labels() {
        assert_eq!(roles(&node("a", &["control-plane", "etcd"], None)).len(), 2);
        assert_eq!(roles(&node("b", &[], None)), ["worker"]);
        assert!(is_control_plane(&node("c", &["master"], None)));
        assert!(!is_control_plane(&node("d", &["worker"], None)));
    }

    #[test]
    fn a_not_ready_platform_node_is_red_and_the_ha_goal_counts_ready_control_planes() {
        let all = [
            node("um760", &["control-plane"], Some(true)),
            node("cp-2", &["control-plane"], Some(true)),
            node("cp-3", &["control-plane"], Some(true)),
        ];
        let checks = platform_nodes(&all, "um760", 3);
        assert!(checks.iter().all(|check| check.status == Status::Green));
        let one_down = [
            node("um760", &["control-plane"], Some(true)),
            node("cp-2", &["control-plane"], Some(false)),
            node("cp-3", &["control-plane"], None),
        ];
        let checks = platform_nodes(&one_down, "um760", 3);
        assert_eq!(
            statuses(&checks),
            [
                ("platform.node.um760".to_owned(), Status::Green),
                ("platform.node.cp-2".to_owned(), Status::Red),
                ("platform.node.cp-3".to_owned(), Status::Red),
                ("platform.control-plane".to_owned(), Status::Yellow),
            ]
        );
        assert!(
            checks[1]
                .summary
                .contains("NotReady (Ready=False, KubeletNotReady)"),
            "{}",
            checks[1].summary
        );
        assert!(
            checks[3].summary.starts_with("1/3"),
            "{}",
            checks[3].summary
        );
        // The lab's Platform node missing is said, yellow.
        let checks = platform_nodes(&all[1..], "um760", 3);
        assert_eq!(checks[0].status, Status::Yellow);
    }

    #[test]
    fn a_vm_is_green_only_running_ready_and_joined() {
        let running = json!({"status": {"printableStatus": "Running", "ready": true}});
        let joined = node("cp-2", &["control-plane"], Some(true));
        assert_eq!(
            vm("cp-2", Some(&running), "cp-2", Some(&joined)).status,
            Status::Green
        );
        assert_eq!(vm("cp-2", None, "cp-2", None).status, Status::Yellow);
        let starting = json!({"status": {"printableStatus": "Starting"}});
        assert_eq!(
            vm("cp-2", Some(&starting), "cp-2", None).status,
            Status::Yellow
        );
        let broken = json!({"status": {"printableStatus": "ErrorUnschedulable"}});
        assert_eq!(vm("cp-2", Some(&broken), "cp-2", None).status, Status::Red);
        let not_joined = vm("cp-2", Some(&running), "cp-2", None);
        assert_eq!(not_joined.status, Status::Red);
        assert!(not_joined.summary.contains("not joined"));
        let down = node("cp-2", &["control-plane"], Some(false));
        assert_eq!(
            vm("cp-2", Some(&running), "cp-2", Some(&down)).status,
            Status::Red
        );
    }

    #[test]
    fn harvester_nodes_are_checked_per_machine() {
        let nodes = [
            node("ms-02-1", &["control-plane"], Some(true)),
            node("ms-02-2", &["control-plane"], Some(false)),
        ];
        let machines = ["ms-02-1", "ms-02-2", "ms-02-3"].map(str::to_owned);
        assert_eq!(
            harvester_nodes(&nodes, &machines)
                .iter()
                .map(|check| check.status)
                .collect::<Vec<_>>(),
            [Status::Green, Status::Red, Status::Yellow]
        );
        let check = quorum(&nodes, 3, Some("ms-02-1"));
        assert_eq!(check.status, Status::Red);
        assert!(
            check.summary.contains("quorum not met"),
            "{}",
            check.summary
        );
    }

    fn config_with_certificate(days: i64) -> Value {
        use base64::Engine as _;
        let pem = crate::actions::argocd::credentials::test_certificate(days);
        json!({"tlsClientConfig": {"certData": base64::engine::general_purpose::STANDARD.encode(pem)}})
    }

    #[test]
    fn the_certificate_is_yellow_under_thirty_days_and_red_once_expired() {
        let now = SystemTime::now();
        let year = certificate(&config_with_certificate(365), now);
        assert_eq!(year.status, Status::Green);
        assert!(year.summary.contains("expires in 36"), "{}", year.summary);
        let soon = certificate(&config_with_certificate(10), now);
        assert_eq!(soon.status, Status::Yellow);
        assert!(soon.summary.contains("(under 30)"), "{}", soon.summary);
        assert!(
            soon.fix
                .as_deref()
                .is_some_and(|fix| fix.contains("genesis up"))
        );
        let later = now + std::time::Duration::from_secs(20 * 86_400);
        assert_eq!(
            certificate(&config_with_certificate(10), later).status,
            Status::Red
        );
    }

    #[test]
    fn a_token_config_has_no_certificate_to_watch_and_garbage_is_red() {
        let now = SystemTime::now();
        assert_eq!(
            certificate(&json!({"bearerToken": "x"}), now).status,
            Status::Green
        );
        let garbage = certificate(&json!({"tlsClientConfig": {"certData": "%%"}}), now);
        assert_eq!(garbage.status, Status::Red);
    }
}
