//! Tinkerbell (`tinkerbell.org/v1alpha1`) on the Platform cluster: its controllers and CRDs
//! (`tinkerbell.stack`, phase 2), the Harvester install `Template` (`tinkerbell.template`,
//! step 5), each machine's `Hardware` carrying its Harvester configuration
//! (`tinkerbell.hardware`, step 7), and the install itself, a `Workflow` that netboots the
//! machine through its BMC and streams Harvester onto its disk (`tinkerbell.install`, steps 8
//! and 10).

pub mod hardware;
pub mod install;
pub mod stack;
pub mod template;

use std::sync::Arc;

use genesis_engine::{
    Action, ActionError, Outputs, PlanContext, Planned, Ran, RunContext, StepSpec,
};
use kube::api::{ApiResource, GroupVersionKind};

use crate::clients::kube::LazyClient;
use crate::clients::kube::apply::{Object, plan_objects};

/// Label on install Workflows: the machine they install (`tinkerbell.install` sets it;
/// `genesis describe` finds a machine's Workflows by it).
pub(crate) const MACHINE_LABEL: &str = "genesis.dev/machine";

/// The label genesis puts on every object it writes.
pub(crate) const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("tinkerbell.org", "v1alpha1", kind),
        plural,
    )
}

pub fn template_resource() -> ApiResource {
    resource("Template", "templates")
}

pub fn hardware_resource() -> ApiResource {
    resource("Hardware", "hardware")
}

pub fn workflow_resource() -> ApiResource {
    resource("Workflow", "workflows")
}

/// The artifact role of the Harvester raw disk image that image2disk streams.
pub const DISK_IMAGE_ROLE: &str = "disk-image";

/// How image2disk reads a disk image file: with `COMPRESSED=true` it picks the decompressor by
/// the URL's extension (tinkerbell/actions image2disk/image/image.go `findDecompressor`), and
/// refuses any other extension; with `COMPRESSED=false` it writes the bytes as they come.
/// `None`: a name image2disk cannot stream as a disk image.
pub fn disk_image_compressed(file: &str) -> Option<bool> {
    let extension = file.rsplit_once('.').map(|(_, extension)| extension)?;
    match extension.to_ascii_lowercase().as_str() {
        "gz" | "xz" | "zs" | "zst" | "bz2" | "bzip2" => Some(true),
        "raw" | "img" => Some(false),
        _ => None,
    }
}

/// A kind that writes exactly one object on the Platform cluster and waits for nothing (the
/// Template, each Hardware): its plan previews that object, its run applies it; both go
/// through [`OneObject`]'s single code path.
pub(crate) trait SingleObject: std::fmt::Debug + Send + Sync + 'static {
    fn client(&self) -> &LazyClient;

    /// The object the step writes, and the outputs its run reports.
    fn object(&self, step: &StepSpec) -> Result<(Object, Outputs), ActionError>;
}

/// The action of a [`SingleObject`] kind.
#[derive(Debug)]
pub(crate) struct OneObject<T>(pub T);

impl<T: SingleObject> OneObject<T> {
    pub(crate) fn action(kind: T) -> Arc<dyn Action> {
        Arc::new(Self(kind))
    }
}

impl<T: SingleObject> Action for OneObject<T> {
    fn plan<'a>(&'a self, step: &'a StepSpec, _context: &'a PlanContext) -> Planned<'a> {
        Box::pin(async move {
            let (object, _) = self.0.object(step)?;
            let client = self.0.client().for_step().await?;
            plan_objects(&client, &[object]).await
        })
    }

    fn run<'a>(&'a self, step: &'a StepSpec, context: &'a RunContext) -> Ran<'a> {
        Box::pin(async move {
            let (object, outputs) = self.0.object(step)?;
            let client = self.0.client().for_step().await?;
            object.apply(&client, context).await?;
            Ok(outputs)
        })
    }
}
