//! Rufio (`bmc.tinkerbell.org/v1alpha1`) on the Platform cluster: each machine's BMC
//! (`rufio.machine`).

pub mod machine;

use kube::api::{ApiResource, GroupVersionKind};

pub fn machine_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bmc.tinkerbell.org", "v1alpha1", "Machine"),
        "machines",
    )
}
