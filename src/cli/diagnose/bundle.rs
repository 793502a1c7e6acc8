//! The bundle: what is collected from each cluster, the directory its parts are written into
//! (scrubbed, private), and the archive made of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genesis_engine::Scrubber;
use kube::api::{ApiResource, GroupVersionKind};

use crate::inputs::Inputs;

/// One kind of object to collect.
pub(crate) struct Collect {
    pub(crate) file: &'static str,
    pub(crate) resource: ApiResource,
    /// `None`: every namespace.
    pub(crate) namespace: Option<String>,
    pub(crate) labels: Option<&'static str>,
    /// Secrets: metadata and key names only.
    pub(crate) secret: bool,
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub(crate) fn platform_kinds(inputs: &Inputs) -> Vec<Collect> {
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

pub(crate) fn harvester_kinds() -> Vec<Collect> {
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
pub(crate) struct Bundle {
    pub(crate) dir: PathBuf,
    pub(crate) scrubber: Scrubber,
    /// Part → `ok` or what went wrong, for `summary.json`.
    pub(crate) parts: BTreeMap<String, String>,
}

impl Bundle {
    /// Writes one file of the bundle: directories 0700, files 0600, never through a link.
    pub(crate) fn write(&mut self, relative: &str, text: &str) {
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

    pub(crate) fn record(&mut self, part: &str, outcome: Result<(), String>) {
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

/// `<name>.tar.gz` of the bundle directory, entries below `<name>/`.
pub(crate) fn write_archive(dir: &Path, name: &str, archive: &Path) -> std::io::Result<()> {
    let file = genesis_engine::state_dir::create_new_private(archive)?;
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    builder.mode(tar::HeaderMode::Deterministic);
    builder.append_dir_all(name, dir)?;
    builder.into_inner()?.finish()?.sync_all()
}
