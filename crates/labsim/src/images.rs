//! Harvester's image controller: a `VirtualMachineImage` with `sourceType: download` is taken
//! on (`Initialized`, its StorageClass `longhorn-<name>` and the applied URL set), downloads
//! over `harvester.image_import` of scenario time (progress 0 → 50 → 100), then reports
//! `Imported=True` with its size. The CRD has no status subresource, so the status is
//! merge-patched on the object itself, as Harvester's controller updates it.
//!
//! With the `image_import_fails` fault every attempt fails (`Imported=False`, `failed` counting
//! up to `spec.retry`, default 3) and the image ends with `RetryLimitExceeded=True`.
//!
//! A compressed file (`.xz`, `.gz`, `.zst`, `.bz2`, …) is stored as it comes, as Harvester does:
//! it never decompresses a download (harvester/harvester issues 681 and 2070). The import reports
//! `Imported=True`, and a VM whose root disk is made from it never boots its guest
//! (`kubevirt.rs`), so nothing joins the Platform cluster.

use std::sync::Arc;

use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::resources::{self, namespaced};
use crate::util::{key, log_error, name, now_rfc3339, uid, watch_objects};
use crate::{Error, Fault, Shared};

/// The size the simulated download reports (a Talos nocloud raw image is about this big).
const IMAGE_SIZE: u64 = 1_306_525_696;

/// Suffixes of compressed files, which Harvester stores without decompressing.
const COMPRESSED: [&str; 6] = [".xz", ".gz", ".zst", ".bz2", ".tgz", ".zip"];

/// Whether the URL names a compressed file.
pub(crate) fn compressed(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    COMPRESSED.iter().any(|suffix| path.ends_with(suffix))
}

pub async fn run_images(shared: Arc<Shared>) {
    let api = resources::all(&shared.world.harvester, &resources::virtual_machine_image());
    let handler = shared.clone();
    watch_objects(
        "harvester virtualmachineimages",
        api,
        move |image: DynamicObject| {
            let download = image.data["spec"]["sourceType"].as_str() == Some("download");
            if download && !imported(&image.data) && handler.claim("image-import", &uid(&image)) {
                let shared = handler.clone();
                handler.spawn(async move {
                    log_error("harvester image import", import(&shared, image).await);
                });
            }
        },
    )
    .await;
}

fn imported(image: &Value) -> bool {
    image["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|condition| condition["type"] == "Imported" && condition["status"] == "True")
}

fn condition(kind: &str, status: &str, message: &str) -> Value {
    let now = now_rfc3339();
    json!({ "type": kind, "status": status, "message": message,
            "lastUpdateTime": now, "lastTransitionTime": now })
}

async fn set_status(shared: &Shared, image: &DynamicObject, status: Value) -> Result<(), Error> {
    let api = namespaced(
        &shared.world.harvester,
        image.metadata.namespace.as_deref().unwrap_or(""),
        &resources::virtual_machine_image(),
    );
    let body = json!({ "status": status });
    retry_transient!(api.patch(&name(image), &PatchParams::default(), &Patch::Merge(&body)))
        .map(|_| ())
        .map_err(|source| Error::Kube {
            context: format!("patch status of image {}", key(image)),
            source,
        })
}

async fn import(shared: &Shared, image: DynamicObject) -> Result<(), Error> {
    let url = image.data["spec"]["url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let storage_class = format!("longhorn-{}", name(&image));
    let initialized = condition("Initialized", "True", "");
    set_status(
        shared,
        &image,
        json!({ "appliedUrl": url, "storageClassName": storage_class, "progress": 0,
                "conditions": [initialized.clone()] }),
    )
    .await?;
    shared.record("harvester", "image.initialized", &key(&image), &url);
    let image_name = name(&image);
    if shared.has_fault(|f| matches!(f, Fault::ImageImportFails { image } if *image == image_name))
    {
        return fail(shared, &image, initialized, &url).await;
    }
    let half = shared
        .scenario
        .scaled(shared.scenario.harvester.image_import)
        / 2;
    tokio::time::sleep(half).await;
    set_status(shared, &image, json!({ "progress": 50 })).await?;
    shared.record("harvester", "image.progress", &key(&image), "50");
    tokio::time::sleep(half).await;
    set_status(
        shared,
        &image,
        json!({ "progress": 100, "size": IMAGE_SIZE, "virtualSize": IMAGE_SIZE,
                "conditions": [initialized, condition("Imported", "True", "")] }),
    )
    .await?;
    if compressed(&url) {
        shared.record(
            "harvester",
            "image.stored_compressed",
            &key(&image),
            format!("{url} stored as it came, not decompressed: no bootable disk"),
        );
    }
    shared.record("harvester", "image.imported", &key(&image), storage_class);
    Ok(())
}

/// Every attempt fails: `failed` counts up to the image's retry limit, then Harvester gives up.
async fn fail(
    shared: &Shared,
    image: &DynamicObject,
    initialized: Value,
    url: &str,
) -> Result<(), Error> {
    let retries = image.data["spec"]["retry"].as_u64().unwrap_or(3).max(1);
    let attempt = shared
        .scenario
        .scaled(shared.scenario.harvester.image_import)
        / 4;
    let message = format!("failed to download {url}: 404 Not Found");
    for failed in 1..=retries {
        tokio::time::sleep(attempt).await;
        let mut conditions = vec![
            initialized.clone(),
            condition("Imported", "False", &message),
        ];
        if failed == retries {
            conditions.push(condition(
                "RetryLimitExceeded",
                "True",
                &format!("the image failed {failed} times, the limit"),
            ));
        }
        set_status(
            shared,
            image,
            json!({ "progress": 0, "failed": failed, "conditions": conditions }),
        )
        .await?;
        shared.record("harvester", "image.failed", &key(image), failed.to_string());
    }
    Ok(())
}
