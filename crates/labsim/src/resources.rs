//! The custom resources the simulator plays, by group/version/kind.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub fn machine() -> ApiResource {
    resource("bmc.tinkerbell.org", "v1alpha1", "Machine", "machines")
}
pub fn job() -> ApiResource {
    resource("bmc.tinkerbell.org", "v1alpha1", "Job", "jobs")
}
pub fn workflow() -> ApiResource {
    resource("tinkerbell.org", "v1alpha1", "Workflow", "workflows")
}
pub fn template() -> ApiResource {
    resource("tinkerbell.org", "v1alpha1", "Template", "templates")
}
pub fn hardware() -> ApiResource {
    resource("tinkerbell.org", "v1alpha1", "Hardware", "hardware")
}
pub fn virtual_machine() -> ApiResource {
    resource("kubevirt.io", "v1", "VirtualMachine", "virtualmachines")
}
pub fn virtual_machine_instance() -> ApiResource {
    resource(
        "kubevirt.io",
        "v1",
        "VirtualMachineInstance",
        "virtualmachineinstances",
    )
}

pub fn virtual_machine_image() -> ApiResource {
    resource(
        "harvesterhci.io",
        "v1beta1",
        "VirtualMachineImage",
        "virtualmachineimages",
    )
}

pub fn all(client: &kube::Client, resource: &ApiResource) -> Api<DynamicObject> {
    Api::all_with(client.clone(), resource)
}

pub fn namespaced(
    client: &kube::Client,
    namespace: &str,
    resource: &ApiResource,
) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, resource)
}
