//! `harvester.vm-image` (step 14): a `harvesterhci.io/v1beta1` VirtualMachineImage that
//! Harvester downloads from a URL, then a watch until Harvester's image controller reports it
//! imported. The controller's status (UPSTREAM-APIS §4.2): `progress` (percent),
//! `storageClassName` (the StorageClass VM disks of this image use), `failed` (attempts that
//! failed) and conditions `Initialized`, `Imported` and `RetryLimitExceeded`.

use std::sync::Arc;

use genesis_engine::{
    ActionError, ErrorKind, Outputs, PlanContext, PlanOutcome, Planned, Ran, RunContext, StepSpec,
};
use kube::api::{Api, DynamicObject};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{HarvesterAccess, MANAGED_BY, image_resource, params, plan_apply};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target};
use crate::actions::watch::conditions::{self, explanation, is_true};
use crate::actions::watch::{self, Check};
use crate::clients::kube::apply::{Change, Object};
use crate::clients::kube::classify;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageParams {
    namespace: String,
    name: String,
    display_name: String,
    url: String,
    /// SHA-512 of the downloaded file, checked by Harvester.
    checksum: Option<String>,
}

impl ImageParams {
    /// Harvester stores a downloaded image as it comes, without decompressing it (harvester
    /// issues 681 and 2070; docs/actions.md): a compressed file would give the VM no bootable
    /// disk, so it is refused before Harvester downloads it.
    fn check(&self, step: &StepSpec) -> Result<(), ActionError> {
        match crate::inputs::talos::compressed_suffix(&self.url) {
            None => Ok(()),
            Some(suffix) => Err(ActionError::new(
                ErrorKind::InvalidParams,
                format!(
                    "step `{}`: image URL {} is a compressed file ({suffix}); Harvester imports it without decompressing, so the VM would not boot. Serve Talos Image Factory's nocloud-amd64.qcow2, or the raw image decompressed",
                    step.id, self.url
                ),
            )),
        }
    }

    fn object(&self) -> Object {
        Object::namespaced(
            image_resource(),
            &self.namespace,
            &self.name,
            self.body(),
            "VirtualMachineImage",
        )
    }

    fn body(&self) -> Value {
        let mut spec = json!({
            "displayName": self.display_name,
            "sourceType": "download",
            "url": self.url,
        });
        if let Some(checksum) = &self.checksum {
            spec["checksum"] = json!(checksum);
        }
        json!({
            "apiVersion": "harvesterhci.io/v1beta1",
            "kind": "VirtualMachineImage",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {MANAGED_BY.0: MANAGED_BY.1},
            },
            "spec": spec,
        })
    }
}

/// Where an image stands, from the status Harvester's image controller writes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ImageState {
    Imported {
        storage_class: Option<String>,
    },
    Importing(String),
    /// Harvester gave up (`RetryLimitExceeded`).
    Failed(String),
}

fn message(condition: Option<&Value>) -> String {
    explanation(condition).unwrap_or("no message").to_owned()
}

pub(crate) fn image_state(image: &Value) -> ImageState {
    let imported = conditions::find(image, "Imported");
    if is_true(imported) {
        return ImageState::Imported {
            storage_class: image
                .pointer("/status/storageClassName")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
    }
    let exceeded = conditions::find(image, "RetryLimitExceeded");
    if is_true(exceeded) {
        return ImageState::Failed(message(exceeded).to_owned());
    }
    let progress = image.pointer("/status/progress").and_then(Value::as_i64);
    let failed = image
        .pointer("/status/failed")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut note = match (is_true(conditions::find(image, "Initialized")), progress) {
        (false, _) => "waiting for Harvester's image controller to take the image".to_owned(),
        (true, Some(percent)) => format!("downloading: {percent}%"),
        (true, None) => "download starting".to_owned(),
    };
    if let Some(imported) = imported.filter(|_| failed > 0) {
        note.push_str(&format!(
            " (attempt {} failed: {}; Harvester retries)",
            failed,
            message(Some(imported))
        ));
    }
    ImageState::Importing(note)
}

/// The `harvester.vm-image` action.
#[derive(Debug)]
pub struct VmImage {
    harvester: Arc<HarvesterAccess>,
}

impl VmImage {
    pub fn new(harvester: Arc<HarvesterAccess>) -> Self {
        Self { harvester }
    }
}

impl genesis_engine::Action for VmImage {
    fn plan<'a>(&'a self, step: &'a StepSpec, context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let params: ImageParams = params(step)?;
            params.check(step)?;
            let Some(client) = self.harvester.plan_client(&context.needs).await? else {
                return Ok(self.harvester.needs_kubeconfig(&format!(
                    "apply VirtualMachineImage {}/{} and wait for Harvester to import {}",
                    params.namespace, params.name, params.url
                )));
            };
            let (change, outcome) = plan_apply(&client, &params.object()).await?;
            let api: Api<DynamicObject> =
                Api::namespaced_with(client, &params.namespace, &image_resource());
            let current = match change {
                Change::Create => None,
                _ => api.get_opt(&params.name).await.map_err(|error| {
                    classify(error, format!("cannot read image {}", params.name))
                })?,
            };
            let state = current.map(|image| image_state(&image.data));
            Ok(match (outcome, state) {
                (PlanOutcome::NoChange { summary }, Some(ImageState::Imported { .. })) => {
                    PlanOutcome::NoChange {
                        summary: format!("{summary}; imported"),
                    }
                }
                (PlanOutcome::NoChange { summary }, Some(ImageState::Failed(why))) => {
                    PlanOutcome::WillChange {
                        summary: format!(
                            "{summary}; Harvester gave up importing it ({why}): the step will fail"
                        ),
                        diff: None,
                    }
                }
                (PlanOutcome::NoChange { summary }, Some(ImageState::Importing(note))) => {
                    PlanOutcome::WillChange {
                        summary: format!("{summary}; wait for the import ({note})"),
                        diff: None,
                    }
                }
                (PlanOutcome::WillChange { summary, diff }, _) => PlanOutcome::WillChange {
                    summary: format!(
                        "{summary}; then wait for Harvester to import {}",
                        params.url
                    ),
                    diff,
                },
                (other, _) => other,
            })
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let params: ImageParams = params(step)?;
            params.check(step)?;
            let client = self.harvester.client(step, context.needs()).await?;
            params.object().apply(&client, context).await?;
            let api: Api<DynamicObject> =
                Api::namespaced_with(client, &params.namespace, &image_resource());
            let what = format!(
                "Harvester to import image {}/{}",
                params.namespace, params.name
            );
            let storage_class = context
                .wait(
                    &what,
                    None,
                    watch::until_applied(
                        api,
                        "VirtualMachineImage",
                        &params.namespace,
                        &params.name,
                        "for its import",
                        context,
                        |image| {
                            Ok(match image_state(&image.data) {
                                ImageState::Imported { storage_class } => Check::Done(storage_class),
                                ImageState::Importing(note) => Check::Waiting(format!("image {note}")),
                                ImageState::Failed(why) => {
                                    return Err(ActionError::new(
                                        ErrorKind::Conflict,
                                        format!(
                                            "Harvester gave up importing {} ({why}). Check that the URL answers from the Harvester nodes, then delete the image (`kubectl -n {} delete virtualmachineimage {}`) and run the step again",
                                            params.url, params.namespace, params.name
                                        ),
                                    ));
                                }
                            })
                        },
                    ),
                )
                .await?;
            let mut outputs = Outputs::new();
            outputs.insert(
                "image".to_owned(),
                format!("{}/{}", params.namespace, params.name).into(),
            );
            if let Some(storage_class) = storage_class {
                outputs.insert("storage_class".to_owned(), storage_class.into());
            }
            Ok(outputs)
        })
    }
}

/// `harvester.vm-image`: a VM boot image.
/// The VirtualMachineImage the step applies (on the harvester cluster).
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    match (text(p, "namespace"), text(p, "name")) {
        (Some(namespace), Some(name)) => {
            vec![OwnedObject::named(
                Cluster::Harvester,
                super::image_resource(),
                namespace,
                name,
            )]
        }
        _ => Vec::new(),
    }
}

pub(crate) const KIND: Definition = Definition {
    name: "harvester.vm-image",
    summary: "a VM boot image downloaded by Harvester",
    target: Target::Harvester,
    preview: Preview::Apply,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<ImageParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("name", NameRule::Object),
    ],
    describe: |p| {
        vec![
            format!(
                "apply VirtualMachineImage {}/{}: download {}",
                p.text("namespace"),
                p.text("name"),
                p.text("url")
            ),
            "wait until the image is imported".to_owned(),
        ]
    },
    build: Build::Remote(|clusters| Arc::new(VmImage::new(Arc::clone(&clusters.harvester)))),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_harvesters_conditions() {
        let fresh = json!({"spec": {}});
        assert!(
            matches!(image_state(&fresh), ImageState::Importing(note) if note.contains("controller"))
        );
        let downloading = json!({"status": {"progress": 42, "conditions": [
            {"type": "Initialized", "status": "True"}]}});
        assert_eq!(
            image_state(&downloading),
            ImageState::Importing("downloading: 42%".into())
        );
        let retrying = json!({"status": {"progress": 0, "failed": 1, "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Imported", "status": "False", "message": "HTTP 404"}]}});
        assert!(
            matches!(image_state(&retrying), ImageState::Importing(note) if note.contains("attempt 1 failed: HTTP 404"))
        );
        let failed = json!({"status": {"failed": 3, "conditions": [
            {"type": "Imported", "status": "False", "message": "HTTP 404"},
            {"type": "RetryLimitExceeded", "status": "True", "message": "failed 3 times"}]}});
        assert_eq!(
            image_state(&failed),
            ImageState::Failed("failed 3 times".into())
        );
        let imported = json!({"status": {"progress": 100, "storageClassName": "longhorn-talos",
            "conditions": [{"type": "Imported", "status": "True"}]}});
        assert_eq!(
            image_state(&imported),
            ImageState::Imported {
                storage_class: Some("longhorn-talos".into())
            }
        );
    }
}
