//! What `genesis health` reads: the Platform and Harvester clusters, each through one client,
//! everything at once, all under one deadline; then the step-12 Secret's own credentials
//! against its server. Nothing is written; the journal and the lock are not touched.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use tokio::time::Instant;

use super::{Check, checks};
use crate::actions::ClusterOptions;
use crate::actions::owned::{OwnedObject, Select};
use crate::clients::kube::{CallError, KubeTarget};
use crate::errors::error_chain;
use crate::inputs::Inputs;

/// What the graph says to look at.
struct Expected {
    /// The step-12 Secret (the first `argocd.cluster-secret` step's).
    secret: Option<(String, String)>,
    /// Per VM: its name, its VirtualMachine and the name of the Platform Node it becomes.
    vms: Vec<(String, OwnedObject, String)>,
    /// The quorum step's node count and the node that creates the cluster.
    quorum: Option<(usize, Option<String>)>,
}

fn expected(inputs: &Inputs) -> Expected {
    let steps = inputs.graph.steps();
    let secret = steps
        .iter()
        .filter(|step| step.kind == "argocd.cluster-secret")
        .flat_map(crate::actions::catalog::owned_objects)
        .find(OwnedObject::is_secret)
        .and_then(|object| match (object.namespace, object.select) {
            (Some(namespace), Select::Name(name)) => Some((namespace, name)),
            _ => None,
        });
    let mut vms = Vec::new();
    for step in steps.iter().filter(|step| step.kind == "kubevirt.vm") {
        let Some(vm) = crate::actions::catalog::owned_objects(step)
            .into_iter()
            .next()
        else {
            continue;
        };
        let name = step.item.clone().unwrap_or_else(|| step.id.to_string());
        // The Node the VM becomes: the `kube.node-joined` step for the same VM, else its name.
        let node = steps
            .iter()
            .filter(|other| other.kind == "kube.node-joined" && other.item == step.item)
            .flat_map(crate::actions::catalog::owned_objects)
            .find_map(|object| match object.select {
                Select::Name(node) => Some(node),
                Select::Labels(_) => None,
            })
            .unwrap_or_else(|| name.clone());
        vms.push((name, vm, node));
    }
    let quorum = steps
        .iter()
        .find(|step| step.kind == "harvester.quorum")
        .and_then(|step| step.params.get("nodes")?.as_u64())
        .map(|nodes| {
            let first = steps
                .iter()
                .find(|step| step.kind == "harvester.api")
                .and_then(|step| step.params.get("first_node")?.as_str())
                .map(str::to_owned);
            (usize::try_from(nodes).unwrap_or(usize::MAX), first)
        });
    Expected {
        secret,
        vms,
        quorum,
    }
}

/// `what` under the deadline; on expiry, the message says how long it waited.
pub(crate) async fn bounded<T>(
    deadline: Instant,
    timeout: Duration,
    what: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout_at(deadline, what)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {}",
                humantime::format_duration(timeout)
            ))
        })
}

/// A client of `target` whose API server answered a version request, or why not: the
/// server, context and kubeconfig named, the cause said once.
pub(crate) async fn reach(
    target: &KubeTarget,
    deadline: Instant,
    timeout: Duration,
) -> Result<(kube::Client, String), String> {
    let client = bounded(deadline, timeout, async {
        target.connect().await.map_err(|error| error_chain(&error))
    })
    .await?;
    let version = bounded(deadline, timeout, async {
        client
            .apiserver_version()
            .await
            .map_err(|error| CallError::new(&error).to_string())
    })
    .await
    .map_err(|error| {
        format!(
            "the {} API server at {} did not answer: {error}",
            target.cluster,
            target.describe_server()
        )
    })?;
    Ok((client, version.git_version))
}

async fn list_nodes(
    client: &kube::Client,
    deadline: Instant,
    timeout: Duration,
) -> Result<Vec<Node>, String> {
    bounded(deadline, timeout, async {
        Api::<Node>::all(client.clone())
            .list(&ListParams::default())
            .await
            .map(|list| list.items)
            .map_err(|error| CallError::new(&error).to_string())
    })
    .await
}

/// Reads everything and judges it.
pub async fn gather(inputs: &Inputs, options: &ClusterOptions, timeout: Duration) -> Vec<Check> {
    let deadline = Instant::now() + timeout;
    let expected = expected(inputs);
    let (platform, harvester) = tokio::join!(
        platform(inputs, options, &expected, deadline, timeout),
        harvester(inputs, options, &expected, deadline, timeout)
    );
    let (mut checks, platform_nodes) = platform;
    let (harvester_checks, vms) = harvester;
    checks.extend(harvester_checks);
    match (platform_nodes, vms) {
        (Some(nodes), Some(vms)) => {
            for ((name, _, node_name), vm) in expected.vms.iter().zip(vms) {
                let node = nodes
                    .iter()
                    .find(|node| node.metadata.name.as_deref() == Some(node_name.as_str()));
                checks.push(checks::vm(name, vm.as_ref(), node_name, node));
            }
        }
        _ if !expected.vms.is_empty() => checks.push(Check::yellow(
            "vms",
            "vms",
            "the VMs were not checked: a cluster above is not reachable",
            "fix the reachability above first",
        )),
        _ => {}
    }
    checks
}

/// The Platform: reachable, its Nodes, the step-12 Secret and its credentials.
async fn platform(
    inputs: &Inputs,
    options: &ClusterOptions,
    expected: &Expected,
    deadline: Instant,
    timeout: Duration,
) -> (Vec<Check>, Option<Vec<Node>>) {
    let target = options.platform_target(&inputs.lab);
    let (client, version) = match reach(&target, deadline, timeout).await {
        Ok(reached) => reached,
        Err(error) => {
            return (
                vec![Check::red(
                    "platform",
                    "platform.reachable",
                    format!("the Platform cluster is not reachable: {error}"),
                    "check that the cluster is up and that --kubeconfig/--context (or endpoints.platform in the lab file) point at it; its nodes, the Argo CD Secret and the VMs' joins were not checked",
                )],
                None,
            );
        }
    };
    let mut checks = vec![Check::green(
        "platform",
        "platform.reachable",
        format!(
            "reachable at {} (Kubernetes {version})",
            target.describe_server()
        ),
    )];
    let secret = async {
        match &expected.secret {
            Some((namespace, name)) => {
                Some(argocd_secret(&client, namespace, name, deadline, timeout).await)
            }
            None => None,
        }
    };
    let (nodes, secret) = tokio::join!(list_nodes(&client, deadline, timeout), secret);
    let nodes = match nodes {
        Ok(nodes) => {
            let goal = 1 + inputs.lab.vms.len();
            checks.extend(checks::platform_nodes(
                &nodes,
                &inputs.lab.platform_node.hostname.value,
                goal,
            ));
            Some(nodes)
        }
        Err(error) => {
            checks.push(Check::red(
                "platform",
                "platform.nodes",
                format!("cannot list the Platform nodes: {error}"),
                "the credentials need to read nodes (genesis needs cluster-admin on the Platform)",
            ));
            None
        }
    };
    checks.extend(secret.unwrap_or_default());
    (checks, nodes)
}

/// The step-12 Secret: there, its credentials working against its server, its client
/// certificate's days left. Its values are registered for scrubbing and never shown.
async fn argocd_secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    deadline: Instant,
    timeout: Duration,
) -> Vec<Check> {
    let shown = format!("Secret {namespace}/{name}");
    let read = bounded(deadline, timeout, async {
        Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|error| CallError::new(&error).to_string())
    })
    .await;
    let secret = match read {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return vec![
                Check::yellow(
                    "argocd",
                    "argocd.secret",
                    format!("{shown} is not there: Harvester is not registered with Argo CD"),
                    "`genesis up` registers it (step 12, argocd.cluster-secret)",
                )
                .absent(),
            ];
        }
        Err(error) => {
            return vec![Check::red(
                "argocd",
                "argocd.secret",
                format!("cannot read {shown}: {error}"),
                "the Platform credentials need to read Secrets in the Argo CD namespace",
            )];
        }
    };
    let data = secret.data.unwrap_or_default();
    let text = |key: &str| {
        data.get(key)
            .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
    };
    let (Some(server), Some(config)) = (text("server"), text("config")) else {
        return vec![Check::red(
            "argocd",
            "argocd.secret",
            format!("{shown} lacks `server` or `config`: Argo CD cannot use it"),
            "`genesis up --only register-argocd` writes it again",
        )];
    };
    let Ok(config) = serde_json::from_str::<Value>(&config) else {
        return vec![Check::red(
            "argocd",
            "argocd.secret",
            format!("the `config` of {shown} is not JSON"),
            "`genesis up --only register-argocd` writes it again",
        )];
    };
    register_config_secrets(&config);
    let mut checks = vec![Check::green(
        "argocd",
        "argocd.secret",
        format!("{shown} registers {server}"),
    )];
    let reached = bounded(deadline, timeout, async {
        crate::actions::argocd::cluster_secret::reach_with_config(&server, &config, &shown)
            .await
            .map_err(|error| error.full_message())
    })
    .await;
    checks.push(match reached {
        Ok(proof) => Check::green(
            "argocd",
            "argocd.credentials",
            format!("its credentials work: {proof}"),
        ),
        Err(error) => Check::red(
            "argocd",
            "argocd.credentials",
            format!("its credentials do not work: {error}"),
            "if Harvester's certificates or address changed, `genesis up` mints the Secret again from the current Harvester kubeconfig",
        ),
    });
    checks.push(checks::certificate(&config, SystemTime::now()));
    checks
}

/// The credential values of an Argo CD cluster `config`, registered with the scrubber so that
/// no message can show them.
fn register_config_secrets(config: &Value) {
    let values = [
        "/tlsClientConfig/keyData",
        "/tlsClientConfig/certData",
        "/bearerToken",
        "/password",
    ]
    .iter()
    .filter_map(|pointer| config.pointer(pointer)?.as_str())
    .filter(|value| !value.is_empty())
    .map(str::to_owned)
    .collect::<Vec<_>>();
    genesis_engine::register_runtime_secrets(values);
}

/// How Harvester is reached: `--harvester-context` in the Platform's kubeconfig, else the
/// kubeconfig step 9 wrote into the state directory (its credentials registered for
/// scrubbing); `Err` says why there is none.
pub(crate) fn harvester_target(
    inputs: &Inputs,
    options: &ClusterOptions,
) -> Result<KubeTarget, String> {
    if let Some(context) = &options.harvester_context {
        return Ok(KubeTarget {
            cluster: "harvester".to_owned(),
            kubeconfig: options.platform_target(&inputs.lab).kubeconfig,
            context: Some(context.clone()),
        });
    }
    let kubeconfig = options
        .state_dir
        .join(crate::actions::harvester::KUBECONFIG_FILE);
    if !kubeconfig.is_file() {
        let api_step = crate::actions::harvester::ApiStep::of(&inputs.graph);
        return Err(format!(
            "no Harvester kubeconfig at {}: {api_step} has not run in this state directory",
            kubeconfig.display()
        ));
    }
    if let Ok(text) = std::fs::read_to_string(&kubeconfig)
        && let Ok(parsed) = serde_saphyr::from_str::<Value>(&text)
    {
        crate::actions::harvester::register_secrets(&parsed);
    }
    Ok(KubeTarget {
        cluster: "harvester".to_owned(),
        kubeconfig: Some(kubeconfig),
        context: None,
    })
}

/// Harvester: reachable, each machine's Node, the quorum, and each VM as read.
async fn harvester(
    inputs: &Inputs,
    options: &ClusterOptions,
    expected: &Expected,
    deadline: Instant,
    timeout: Duration,
) -> (Vec<Check>, Option<Vec<Option<Value>>>) {
    let target = match harvester_target(inputs, options) {
        Ok(target) => target,
        Err(missing) => {
            return (
                vec![Check::yellow(
                    "harvester",
                    "harvester.reachable",
                    missing,
                    "`genesis up` fetches it; or pass --harvester-context CONTEXT to read Harvester through your own kubeconfig",
                )],
                None,
            );
        }
    };
    let (client, version) = match reach(&target, deadline, timeout).await {
        Ok(reached) => reached,
        Err(error) => {
            return (
                vec![Check::red(
                    "harvester",
                    "harvester.reachable",
                    format!("the Harvester cluster is not reachable: {error}"),
                    "check that the Harvester VIP answers (its nodes up, the VIP on the management network); its nodes, quorum and VMs were not checked",
                )],
                None,
            );
        }
    };
    let mut checks = vec![Check::green(
        "harvester",
        "harvester.reachable",
        format!(
            "reachable at {} (Kubernetes {version})",
            target.describe_server()
        ),
    )];
    let vms = futures::future::join_all(
        expected
            .vms
            .iter()
            .map(|(_, vm, _)| read_object(&client, vm, deadline, timeout)),
    );
    let (nodes, vms) = tokio::join!(list_nodes(&client, deadline, timeout), vms);
    match nodes {
        Ok(nodes) => {
            let machines: Vec<String> = inputs
                .lab
                .machines
                .iter()
                .map(|machine| machine.hostname.value.clone())
                .collect();
            checks.extend(checks::harvester_nodes(&nodes, &machines));
            if let Some((wanted, first)) = &expected.quorum {
                checks.push(checks::quorum(&nodes, *wanted, first.as_deref()));
            }
        }
        Err(error) => checks.push(Check::red(
            "harvester",
            "harvester.nodes",
            format!("cannot list the Harvester nodes: {error}"),
            "the Harvester credentials need to read nodes",
        )),
    }
    let mut read = Vec::new();
    for ((name, _, _), vm) in expected.vms.iter().zip(vms) {
        match vm {
            Ok(vm) => read.push(vm),
            Err(error) => {
                checks.push(Check::red(
                    "vms",
                    format!("vm.{name}"),
                    format!("cannot read VM {name}: {error}"),
                    "the Harvester credentials need to read VirtualMachines",
                ));
                return (checks, None);
            }
        }
    }
    (checks, Some(read))
}

/// One object by name (`None` when it is not there).
async fn read_object(
    client: &kube::Client,
    object: &OwnedObject,
    deadline: Instant,
    timeout: Duration,
) -> Result<Option<Value>, String> {
    let Select::Name(name) = &object.select else {
        return Ok(None);
    };
    bounded(deadline, timeout, async {
        let api: Api<DynamicObject> = match &object.namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &object.resource),
            None => Api::all_with(client.clone(), &object.resource),
        };
        api.get_opt(name)
            .await
            .map(|found| found.and_then(|object| serde_json::to_value(object).ok()))
            .map_err(|error| CallError::new(&error).to_string())
    })
    .await
}
