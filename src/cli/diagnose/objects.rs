//! The clusters' parts of the bundle: the objects genesis reads and writes, Secrets outlined
//! (names and keys, never values).

use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};

use crate::cli::common::Common;
use crate::errors::error_chain;
use crate::inputs::Inputs;

use super::bundle::{Bundle, Collect, harvester_kinds, platform_kinds};
use super::node::collect_node;

use super::args::DiagnoseArgs;

pub(crate) async fn collect_remote(
    bundle: &mut Bundle,
    inputs: &Inputs,
    common: &Common,
    args: &DiagnoseArgs,
) {
    let options = common.cluster_options();
    let platform = crate::plan::platform_target(inputs, &options);
    let connected = answering(args.timeout, async {
        platform
            .connect()
            .await
            .map_err(|error| error_chain(&error))
    })
    .await;
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
        answering(args.timeout, async {
            // Registers the kubeconfig's credentials with the scrubber before any use.
            crate::actions::harvester::harvester_client(kubeconfig.clone())
                .await
                .map_err(|error| error.full_message())
        })
        .await
    } else {
        Err(format!(
            "no Harvester kubeconfig at {}: {} has not run",
            kubeconfig.display(),
            crate::actions::harvester::ApiStep::of(&inputs.graph)
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

/// The client `connect` gives, once its API server answers a version request; all within
/// `timeout`.
async fn answering(
    timeout: Duration,
    connect: impl std::future::Future<Output = Result<kube::Client, String>>,
) -> Result<kube::Client, String> {
    tokio::time::timeout(timeout, async {
        let client = connect.await?;
        client
            .apiserver_version()
            .await
            .map_err(|error| error_chain(&error))?;
        Ok(client)
    })
    .await
    .unwrap_or_else(|_| {
        Err(format!(
            "no answer within {}",
            humantime::format_duration(timeout)
        ))
    })
}
