//! Where the lab file's fields are (line and column), for the fields [`Lab`] keeps no position
//! for: read again from the file's text.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

/// Where a field of the lab is, for the fields [`Lab`] holds without a position. Parsed from
/// the same text as the lab (which has parsed), every field optional, so it never fails where
/// the lab did not.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct LabSpans {
    pub(crate) name: Place,
    pub(crate) endpoints: EndpointSpans,
    pub(crate) machines: Vec<MachineSpans>,
    pub(crate) vm_images: Vec<ImageSpans>,
    pub(crate) vms: Vec<VmSpans>,
}

type Place = Option<Spanned<IgnoredAny>>;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct EndpointSpans {
    pub(crate) tinkerbell: NamespaceSpans,
    pub(crate) argocd: ArgocdSpans,
    pub(crate) harvester: HarvesterSpans,
    pub(crate) pxe: PxeSpans,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NamespaceSpans {
    pub(crate) namespace: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ArgocdSpans {
    pub(crate) namespace: Place,
    pub(crate) cluster_name: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct HarvesterSpans {
    pub(crate) hostname: Place,
    pub(crate) api_port: Place,
    pub(crate) ssh_port: Place,
    version: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PxeSpans {
    pub(crate) artifacts: Vec<ArtifactSpans>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ArtifactSpans {
    pub(crate) size: Place,
    file: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MachineSpans {
    pub(crate) interface: Place,
    pub(crate) bmc: BmcSpans,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct BmcSpans {
    pub(crate) port: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ImageSpans {
    pub(crate) namespace: Place,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct VmSpans {
    pub(crate) namespace: Place,
    pub(crate) cpu_cores: Place,
}

pub(crate) fn place(place: &Place) -> (u64, u64) {
    place.as_ref().map_or((0, 0), at)
}

/// Line and column of a spanned value.
pub fn at<T>(spanned: &Spanned<T>) -> (u64, u64) {
    (spanned.referenced.line(), spanned.referenced.column())
}
