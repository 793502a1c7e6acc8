//! The journal's chunk Secrets: names, objects, and reading, writing and deleting them.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Preconditions};

use super::base::{
    CHUNK_KEY, CHUNK_PREFIX, KubeStateError, MANAGER, STATE_LABEL, api_error, is_code, post_params,
};

/// One chunk Secret as read.
#[derive(Clone, Debug)]
pub(crate) struct Chunk {
    pub(crate) index: usize,
    pub(crate) data: Vec<u8>,
    pub(crate) resource_version: Option<String>,
}

fn chunk_name(index: usize) -> String {
    format!("{CHUNK_PREFIX}{index:04}")
}

fn chunk_index(name: &str) -> Option<usize> {
    name.strip_prefix(CHUNK_PREFIX)?.parse().ok()
}

fn chunk_object(namespace: &str, index: usize, data: &[u8], rv: Option<String>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(chunk_name(index)),
            namespace: Some(namespace.to_owned()),
            resource_version: rv,
            labels: Some(BTreeMap::from([
                (
                    "app.kubernetes.io/managed-by".to_owned(),
                    MANAGER.to_owned(),
                ),
                (STATE_LABEL.to_owned(), "journal".to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([(
            CHUNK_KEY.to_owned(),
            ByteString(data.to_vec()),
        )])),
        ..Secret::default()
    }
}

/// Every chunk in index order; a gap in the indices is damage.
pub(crate) async fn fetch_chunks(
    client: kube::Client,
    namespace: String,
) -> Result<Vec<Chunk>, KubeStateError> {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let list = api
        .list(&ListParams::default().labels(&format!("{STATE_LABEL}=journal")))
        .await
        .map_err(api_error(format!(
            "cannot list the journal's Secrets in namespace {namespace}"
        )))?;
    let mut chunks: Vec<Chunk> = list
        .items
        .into_iter()
        .filter_map(|secret| {
            let index = chunk_index(secret.metadata.name.as_deref()?)?;
            let data = secret
                .data
                .and_then(|mut data| data.remove(CHUNK_KEY))
                .map(|bytes| bytes.0)
                .unwrap_or_default();
            Some(Chunk {
                index,
                data,
                resource_version: secret.metadata.resource_version,
            })
        })
        .collect();
    chunks.sort_by_key(|chunk| chunk.index);
    for (expected, chunk) in chunks.iter().enumerate() {
        if chunk.index != expected {
            return Err(KubeStateError::Damaged {
                namespace,
                problem: format!(
                    "Secret {} is missing (found {} after it)",
                    chunk_name(expected),
                    chunk_name(chunk.index)
                ),
            });
        }
    }
    Ok(chunks)
}

pub(crate) async fn ensure_namespace(
    client: kube::Client,
    namespace: String,
) -> Result<(), KubeStateError> {
    let api: Api<Namespace> = Api::all(client);
    let object = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.clone()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                MANAGER.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    // Read first: an operator may grant genesis its namespace without the right to create one.
    if let Ok(Some(_)) = api.get_opt(&namespace).await {
        return Ok(());
    }
    match api.create(&post_params(), &object).await {
        Ok(_) => Ok(()),
        Err(error) if is_code(&error, 409) => Ok(()),
        Err(source) => Err(KubeStateError::Api {
            what: format!("cannot create the namespace {namespace} for genesis's state"),
            source,
        }),
    }
}

/// Writes chunk `index` with `data`: a create when `rv` is `None`, else an update that fails
/// if the chunk changed since `rv`. Returns the new resourceVersion.
pub(crate) async fn write_chunk(
    client: kube::Client,
    namespace: String,
    index: usize,
    data: Vec<u8>,
    rv: Option<String>,
) -> Result<Option<String>, KubeStateError> {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let name = chunk_name(index);
    let what = format!("cannot write the journal's Secret {namespace}/{name}");
    let written = match rv {
        None => {
            api.create(
                &post_params(),
                &chunk_object(&namespace, index, &data, None),
            )
            .await
        }
        Some(rv) => {
            api.replace(
                &name,
                &post_params(),
                &chunk_object(&namespace, index, &data, Some(rv)),
            )
            .await
        }
    }
    .map_err(api_error(what))?;
    Ok(written.metadata.resource_version)
}

/// Deletes chunk `index` if it is still at resourceVersion `rv` (a 409 otherwise, as for writes).
pub(crate) async fn delete_chunk(
    client: kube::Client,
    namespace: String,
    index: usize,
    rv: Option<String>,
) -> Result<(), KubeStateError> {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let name = chunk_name(index);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            resource_version: rv,
            uid: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(error) if is_code(&error, 404) => Ok(()),
        Err(source) => Err(api_error(format!(
            "cannot delete the journal's Secret {namespace}/{name}"
        ))(source)),
    }
}
