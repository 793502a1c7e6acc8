//! `genesis diagnose`: a bundle for a failed run (or on demand). A directory and the same as a
//! `.tar.gz`, both printed: the journal, the run logs, `genesis status`, the objects genesis
//! works with on both clusters, and the first Harvester node's service logs over SSH. Every
//! file passes through the scrubber with the secrets registered; Secret values are never
//! collected (Argo CD cluster Secrets appear as metadata and key names). Each part is best
//! effort: what cannot be collected is recorded in the bundle with the reason, and the bundle
//! is still written. See docs/diagnose.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use genesis_engine::Scrubber;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde_json::{Value, json};

use super::common::Common;
use super::error::{CliError, CliResult, exit};
use crate::clients::ssh::{SshTarget, known_hosts_path};
use crate::errors::error_chain;
use crate::inputs::Inputs;

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Directory to create the bundle in (default: `<state dir>/diagnose`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Bound on reaching each cluster, each list and each SSH command.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "20s", value_name = "DURATION")]
    pub timeout: Duration,
    /// Do not log in to the Harvester node.
    #[arg(long)]
    pub no_ssh: bool,
}

/// The commands run on the first Harvester node; a failing one is recorded, not fatal.
pub const NODE_COMMANDS: &[(&str, &str)] = &[
    (
        "journal-rke2-server",
        "journalctl -u rke2-server --no-pager -n 500",
    ),
    (
        "journal-rancherd",
        "journalctl -u rancherd --no-pager -n 300",
    ),
    (
        "journal-rancher-system-agent",
        "journalctl -u rancher-system-agent --no-pager -n 300",
    ),
    (
        "systemctl-status",
        "systemctl status rke2-server rancherd rancher-system-agent --no-pager",
    ),
    (
        "kubelet-log",
        "tail -n 300 /var/lib/rancher/rke2/agent/logs/kubelet.log",
    ),
    ("uptime", "uptime"),
    ("disk", "df -h"),
];

/// One kind of object to collect.
struct Collect {
    file: &'static str,
    resource: ApiResource,
    /// `None`: every namespace.
    namespace: Option<String>,
    labels: Option<&'static str>,
    /// Secrets: metadata and key names only.
    secret: bool,
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn platform_kinds(inputs: &Inputs) -> Vec<Collect> {
    let tink = Some(inputs.lab.endpoints.tinkerbell.namespace.clone());
    let plain = |file, resource, namespace: Option<String>| Collect {
        file,
        resource,
        namespace,
        labels: None,
        secret: false,
    };
    vec![
        plain(
            "hardware",
            crate::actions::tinkerbell::hardware_resource(),
            tink.clone(),
        ),
        plain(
            "templates",
            crate::actions::tinkerbell::template_resource(),
            tink.clone(),
        ),
        plain(
            "workflows",
            crate::actions::tinkerbell::workflow_resource(),
            tink.clone(),
        ),
        plain(
            "rufio-machines",
            crate::actions::rufio::machine_resource(),
            tink.clone(),
        ),
        plain(
            "rufio-jobs",
            resource("bmc.tinkerbell.org", "v1alpha1", "Job", "jobs"),
            tink,
        ),
        Collect {
            file: "argocd-cluster-secrets",
            resource: resource("", "v1", "Secret", "secrets"),
            namespace: Some(inputs.lab.endpoints.argocd.namespace.clone()),
            labels: Some("argocd.argoproj.io/secret-type=cluster"),
            secret: true,
        },
        plain("nodes", resource("", "v1", "Node", "nodes"), None),
    ]
}

fn harvester_kinds() -> Vec<Collect> {
    let plain = |file, resource| Collect {
        file,
        resource,
        namespace: None,
        labels: None,
        secret: false,
    };
    vec![
        plain("nodes", resource("", "v1", "Node", "nodes")),
        plain(
            "virtualmachineimages",
            resource(
                "harvesterhci.io",
                "v1beta1",
                "VirtualMachineImage",
                "virtualmachineimages",
            ),
        ),
        plain(
            "network-attachment-definitions",
            resource(
                "k8s.cni.cncf.io",
                "v1",
                "NetworkAttachmentDefinition",
                "network-attachment-definitions",
            ),
        ),
        plain(
            "virtualmachines",
            resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines"),
        ),
        plain(
            "virtualmachineinstances",
            resource(
                "kubevirt.io",
                "v1",
                "VirtualMachineInstance",
                "virtualmachineinstances",
            ),
        ),
    ]
}

/// The bundle being written: every file goes through the scrubber.
struct Bundle {
    dir: PathBuf,
    scrubber: Scrubber,
    /// Part → `ok` or what went wrong, for `summary.json`.
    parts: BTreeMap<String, String>,
}

impl Bundle {
    /// Writes one file of the bundle: directories 0700, files 0600, never through a link.
    fn write(&mut self, relative: &str, text: &str) {
        let path = self.dir.join(relative);
        let result = path
            .parent()
            .map_or(Ok(()), genesis_engine::state_dir::prepare)
            .and_then(|()| genesis_engine::state_dir::open_private(&path))
            .and_then(|mut file| {
                use std::io::Write;
                file.set_len(0)?;
                file.write_all(self.scrubber.scrub(text).as_bytes())
            });
        if let Err(error) = result {
            self.parts
                .insert(relative.to_owned(), format!("cannot write: {error}"));
        }
    }

    fn record(&mut self, part: &str, outcome: Result<(), String>) {
        let text = match outcome {
            Ok(()) => "ok".to_owned(),
            Err(error) => {
                self.write(&format!("{part}.error.txt"), &format!("{error}\n"));
                error
            }
        };
        let text = self.scrubber.scrub(&text).into_owned();
        self.parts.insert(part.to_owned(), text);
    }
}

pub fn run(args: DiagnoseArgs, common: &Common) -> CliResult {
    // The inputs name the clusters, the node and the secrets; without them only the local
    // files can be collected.
    let inputs = match crate::inputs::load_with(&common.input_paths(), &common.load_options()) {
        Ok(inputs) => Some(inputs),
        Err(_) => {
            crate::errln!(
                "note: the inputs do not load (see `genesis validate`); collecting the local files only"
            );
            None
        }
    };
    let scrubber = Scrubber::new(
        inputs
            .iter()
            .flat_map(|inputs| inputs.secrets.values().map(|value| value.expose())),
    );
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let parent = args
        .out
        .clone()
        .unwrap_or_else(|| common.state_dir.join("diagnose"));
    let name = format!("genesis-diagnose-{stamp}");
    let dir = parent.join(&name);
    // The bundle holds the journal and the run logs: the state directory (when the bundle
    // goes there) and the bundle's directory are private (0700), its files 0600.
    let prepared = if args.out.is_none() {
        genesis_engine::state_dir::prepare(&common.state_dir)
    } else {
        Ok(())
    }
    .and_then(|()| genesis_engine::state_dir::prepare(&dir));
    if let Err(error) = prepared {
        let code = if genesis_engine::state_dir::unsafe_reason(&error).is_some() {
            exit::BAD_INPUT
        } else {
            exit::STEP_FAILED
        };
        return Err(CliError::new(
            code,
            format!("cannot create {}: {error}", dir.display()),
        ));
    }
    let mut bundle = Bundle {
        dir: dir.clone(),
        scrubber,
        parts: BTreeMap::new(),
    };

    collect_local(&mut bundle, common);
    if let Some(inputs) = &inputs {
        match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                runtime.block_on(collect_remote(&mut bundle, inputs, common, &args));
                runtime.shutdown_timeout(Duration::from_millis(200));
            }
            Err(error) => bundle.record(
                "clusters",
                Err(format!("could not start the async runtime: {error}")),
            ),
        }
    }
    let summary = json!({
        "schema": "genesis.diagnose/v1",
        "created": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "lab": inputs.as_ref().map(|inputs| inputs.lab.name.clone()),
        "parts": bundle.parts,
    });
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
    bundle.write("summary.json", &text);

    let archive = parent.join(format!("{name}.tar.gz"));
    write_archive(&dir, &name, &archive).map_err(|error| {
        CliError::failed(format!(
            "cannot write {}: {error}; the bundle directory is {}",
            archive.display(),
            dir.display()
        ))
    })?;
    let failed: Vec<&String> = bundle
        .parts
        .iter()
        .filter(|(_, outcome)| outcome.as_str() != "ok")
        .map(|(part, _)| part)
        .collect();
    if !failed.is_empty() {
        crate::errln!(
            "note: not collected (reasons in the bundle): {}",
            failed
                .iter()
                .map(|part| part.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    crate::outln!("diagnose bundle: {}", dir.display());
    crate::outln!("archive: {}", archive.display());
    Ok(())
}

/// The journal, the run logs and `genesis status`.
fn collect_local(bundle: &mut Bundle, common: &Common) {
    // The journal from the selected state backend (the state directory or, with
    // `--state kubernetes`, the Platform cluster's chunk Secrets).
    let outcome = super::state::options(common)
        .backend()
        .map_err(|error| error_chain(&error))
        .and_then(|backend| {
            backend.read_journal().map_err(|error| {
                format!(
                    "cannot read {}: {}",
                    backend.describe(),
                    error_chain(&error)
                )
            })
        })
        .map(|bytes| bundle.write("journal.ndjson", &String::from_utf8_lossy(&bytes)));
    bundle.record("journal", outcome);

    let logs = common.state_dir.join("logs");
    let outcome = match std::fs::read_dir(&logs) {
        Ok(entries) => {
            let mut names: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect();
            names.sort();
            for path in names {
                // Only regular files of this user, never through a link.
                if let (Some(name), Ok(Some(bytes))) = (
                    path.file_name(),
                    genesis_engine::state_dir::read_existing(&path),
                ) {
                    let relative = format!("logs/{}", name.to_string_lossy());
                    bundle.write(&relative, &String::from_utf8_lossy(&bytes));
                }
            }
            Ok(())
        }
        Err(error) => Err(format!("cannot read {}: {error}", logs.display())),
    };
    bundle.record("logs", outcome);

    // `genesis status` exactly as the operator would see it.
    let outcome = std::env::current_exe()
        .map_err(|error| format!("cannot find the genesis binary: {error}"))
        .and_then(|exe| {
            let mut command = std::process::Command::new(exe);
            command
                .arg("--lab")
                .arg(&common.lab)
                .arg("--phases")
                .arg(&common.phases)
                .arg("--secrets")
                .arg(&common.secrets)
                .arg("--state-dir")
                .arg(&common.state_dir);
            if let Some(identity) = &common.age_identity {
                command.arg("--age-identity").arg(identity);
            }
            command
                .args(["--color", "never", "status"])
                .env("NO_COLOR", "1")
                .output()
                .map_err(|error| format!("cannot run `genesis status`: {error}"))
        })
        .map(|output| {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !stderr.is_empty() {
                text.push_str("\n--- stderr ---\n");
                text.push_str(&stderr);
            }
            bundle.write("status.txt", &text);
        });
    bundle.record("status", outcome);
}

async fn collect_remote(
    bundle: &mut Bundle,
    inputs: &Inputs,
    common: &Common,
    args: &DiagnoseArgs,
) {
    let options = common.cluster_options();
    let platform = crate::plan::platform_target(inputs, &options);
    let connected = tokio::time::timeout(args.timeout, async {
        let client = platform
            .connect()
            .await
            .map_err(|error| error_chain(&error))?;
        client
            .apiserver_version()
            .await
            .map_err(|error| error_chain(&error))?;
        Ok::<_, String>(client)
    })
    .await
    .unwrap_or_else(|_| {
        Err(format!(
            "no answer within {}",
            humantime::format_duration(args.timeout)
        ))
    });
    match connected {
        Ok(client) => {
            bundle.record("platform", Ok(()));
            collect_objects(
                bundle,
                "platform",
                &client,
                platform_kinds(inputs),
                args.timeout,
            )
            .await;
        }
        Err(error) => bundle.record(
            "platform",
            Err(format!(
                "the Platform cluster (context `{}`) is not reachable: {error}",
                platform.context.as_deref().unwrap_or("(current)")
            )),
        ),
    }

    let kubeconfig = common
        .state_dir
        .join(crate::actions::harvester::KUBECONFIG_FILE);
    let harvester = if kubeconfig.is_file() {
        tokio::time::timeout(args.timeout, async {
            // Registers the kubeconfig's credentials with the scrubber before any use.
            let client = crate::actions::harvester::harvester_client(kubeconfig.clone())
                .await
                .map_err(|error| error.full_message())?;
            client
                .apiserver_version()
                .await
                .map_err(|error| error_chain(&error))?;
            Ok::<_, String>(client)
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {}",
                humantime::format_duration(args.timeout)
            ))
        })
    } else {
        Err(format!(
            "no Harvester kubeconfig at {}: step 9 (harvester-api) has not run",
            kubeconfig.display()
        ))
    };
    match harvester {
        Ok(client) => {
            bundle.record("harvester", Ok(()));
            collect_objects(
                bundle,
                "harvester",
                &client,
                harvester_kinds(),
                args.timeout,
            )
            .await;
        }
        Err(error) => bundle.record(
            "harvester",
            Err(format!("the Harvester cluster is not reachable: {error}")),
        ),
    }

    if args.no_ssh {
        bundle.record("node", Err("skipped (--no-ssh)".to_owned()));
    } else {
        collect_node(bundle, inputs, common, args.timeout).await;
    }
}

async fn collect_objects(
    bundle: &mut Bundle,
    cluster: &str,
    client: &kube::Client,
    kinds: Vec<Collect>,
    timeout: Duration,
) {
    for kind in kinds {
        let part = format!("{cluster}/{}", kind.file);
        let api: Api<DynamicObject> = match &kind.namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &kind.resource),
            None => Api::all_with(client.clone(), &kind.resource),
        };
        let mut params = ListParams::default();
        if let Some(labels) = kind.labels {
            params = params.labels(labels);
        }
        let listed = match tokio::time::timeout(timeout, api.list(&params)).await {
            Ok(Ok(list)) => Ok(list),
            Ok(Err(error)) => Err(error_chain(&error)),
            Err(_) => Err(format!(
                "no answer within {}",
                humantime::format_duration(timeout)
            )),
        };
        let outcome = listed.map(|list| {
            let items: Vec<Value> = list
                .items
                .into_iter()
                .map(|object| {
                    if kind.secret {
                        secret_outline(&object)
                    } else {
                        without_bookkeeping(&object)
                    }
                })
                .collect();
            let text = serde_json::to_string_pretty(&json!({
                "apiVersion": kind.resource.api_version,
                "kind": kind.resource.kind,
                "namespace": kind.namespace,
                "items": items,
            }))
            .unwrap_or_default();
            bundle.write(&format!("{part}.json"), &(text + "\n"));
        });
        bundle.record(&part, outcome);
    }
}

/// An object without managedFields (noise for diagnosis).
fn without_bookkeeping(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    value
}

/// A Secret as metadata and key names: no values, no annotations' values (a last-applied
/// annotation would carry the data).
fn secret_outline(object: &DynamicObject) -> Value {
    let keys = |field: &str| -> Vec<String> {
        object
            .data
            .get(field)
            .and_then(Value::as_object)
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default()
    };
    let metadata = &object.metadata;
    json!({
        "metadata": {
            "name": metadata.name,
            "namespace": metadata.namespace,
            "labels": metadata.labels,
            "annotations": metadata.annotations.as_ref().map(|map| map.keys().cloned().collect::<Vec<_>>()),
            "creationTimestamp": metadata.creation_timestamp,
            "resourceVersion": metadata.resource_version,
        },
        "type": object.data.get("type"),
        "dataKeys": keys("data"),
    })
}

/// The first Harvester node's service logs, with the SSH settings of step 9 (`harvester.api`)
/// and the host key pinned in the state directory.
async fn collect_node(bundle: &mut Bundle, inputs: &Inputs, common: &Common, timeout: Duration) {
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

/// `<name>.tar.gz` of the bundle directory, entries below `<name>/`.
fn write_archive(dir: &Path, name: &str, archive: &Path) -> std::io::Result<()> {
    let file = genesis_engine::state_dir::create_new_private(archive)?;
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    builder.mode(tar::HeaderMode::Deterministic);
    builder.append_dir_all(name, dir)?;
    builder.into_inner()?.finish()?.sync_all()
}
