//! `tinkerbell.template` (step 5): the Harvester install `Template`, the lab's template file
//! with genesis's `${…}` filled in and Tinkerbell's `{{…}}` left for its controller.

use std::sync::Arc;

use genesis_engine::{ActionError, ErrorKind, Outputs, StepSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    DISK_IMAGE_ROLE, MANAGED_BY, OneObject, SingleObject, disk_image_compressed, template_resource,
};
use crate::actions::catalog::NameRule;
use crate::actions::catalog::{Build, Definition, ParamType, Preview, Target, display};
use crate::actions::support::params;
use crate::clients::kube::LazyClient;
use crate::clients::kube::apply::Object;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateParams {
    namespace: String,
    name: String,
    harvester_version: String,
    pxe_base_url: String,
    /// `endpoints.pxe.artifacts`: the one with role `disk-image` is what the machines stream.
    artifacts: Vec<TemplateArtifact>,
    metadata_url: String,
    /// The template text, read from the phases directory by the loader.
    template: String,
    image2disk_image: String,
    configure_image: String,
    reboot_image: String,
}

/// One `endpoints.pxe.artifacts` entry, as far as the Template needs it.
#[derive(Debug, Deserialize)]
struct TemplateArtifact {
    role: String,
    file: String,
}

/// The Go text/template actions the install Template may contain: each is rendered by
/// Tinkerbell's controller against the Workflow's `hardwareMap` and the Hardware
/// (tinkerbell/tinkerbell v0.25.0, tink/controller/internal/workflow/reconciler.go). Anything
/// else between double braces is a defect (see the test below and docs/actions.md).
pub const TEMPLATE_ACTIONS: &[&str] = &[
    // hardwareMap key that genesis's Workflow sets: the machine's PXE MAC.
    ".device_1",
    // The Hardware as a map of its JSON fields: the first disk's device path.
    "(index .hardware.spec.disks 0).device",
];

impl TemplateParams {
    /// The `disk-image` artifact's URL and whether image2disk must decompress it.
    fn disk_image(&self) -> Result<(String, bool), ActionError> {
        let artifact = self
            .artifacts
            .iter()
            .find(|artifact| artifact.role == DISK_IMAGE_ROLE)
            .ok_or_else(|| {
                ActionError::new(
                    ErrorKind::InvalidParams,
                    format!(
                        "endpoints.pxe.artifacts has no `{DISK_IMAGE_ROLE}`: the install Template streams the Harvester raw disk image named there"
                    ),
                )
            })?;
        let compressed = disk_image_compressed(&artifact.file).ok_or_else(|| {
            ActionError::new(
                ErrorKind::InvalidParams,
                format!(
                    "the {DISK_IMAGE_ROLE} `{}` ends in neither .raw/.img nor a compression image2disk reads (.gz, .xz, .zst, .bz2)",
                    artifact.file
                ),
            )
        })?;
        let url = format!(
            "{}/{}",
            self.pxe_base_url.trim_end_matches('/'),
            artifact.file.trim_start_matches('/')
        );
        Ok((url, compressed))
    }

    /// The template text with genesis's `${…}` filled in; Tinkerbell's `{{…}}` stay.
    fn rendered(&self) -> Result<String, ActionError> {
        let (disk_image_url, compressed) = self.disk_image()?;
        let text = [
            ("name", self.name.clone()),
            ("harvester_version", self.harvester_version.clone()),
            ("disk_image_url", disk_image_url),
            ("disk_image_compressed", compressed.to_string()),
            (
                "metadata_url",
                self.metadata_url.trim_end_matches('/').to_owned(),
            ),
            ("image2disk_image", self.image2disk_image.clone()),
            ("configure_image", self.configure_image.clone()),
            ("reboot_image", self.reboot_image.clone()),
        ]
        .iter()
        .fold(self.template.clone(), |text, (key, value)| {
            text.replace(&format!("${{{key}}}"), value)
        });
        Ok(text)
    }

    fn body(&self) -> Result<Value, ActionError> {
        Ok(json!({
            "apiVersion": "tinkerbell.org/v1alpha1",
            "kind": "Template",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": {MANAGED_BY: "genesis"}},
            "spec": {"data": self.rendered()?},
        }))
    }
}

/// The `tinkerbell.template` action.
#[derive(Debug)]
pub struct InstallTemplate {
    client: Arc<LazyClient>,
}

impl InstallTemplate {
    pub fn new(client: Arc<LazyClient>) -> Self {
        Self { client }
    }
}

impl SingleObject for InstallTemplate {
    fn client(&self) -> &LazyClient {
        &self.client
    }

    fn object(&self, step: &StepSpec) -> Result<(Object, Outputs), ActionError> {
        let params: TemplateParams = params(step)?;
        let object = Object::namespaced(
            template_resource(),
            &params.namespace,
            &params.name,
            params.body()?,
            "Template",
        );
        let mut outputs = Outputs::new();
        outputs.insert("template".to_owned(), params.name.clone().into());
        Ok((object, outputs))
    }
}

/// `tinkerbell.template`: the install Template.
/// The Template the step applies (on the platform cluster).
fn owns(p: &serde_json::Value) -> Vec<crate::actions::owned::OwnedObject> {
    use crate::actions::owned::{Cluster, OwnedObject, text};
    match (text(p, "namespace"), text(p, "name")) {
        (Some(namespace), Some(name)) => {
            vec![OwnedObject::named(
                Cluster::Platform,
                super::template_resource(),
                namespace,
                name,
            )]
        }
        _ => Vec::new(),
    }
}

pub(crate) const KIND: Definition = Definition {
    name: "tinkerbell.template",
    summary: "the Harvester install Template",
    target: Target::Platform,
    preview: Preview::Apply,
    effects: &[],
    owns: Some(owns),
    params: ParamType::of::<TemplateParams>(),
    names: &[
        ("namespace", NameRule::Namespace),
        ("name", NameRule::Object),
    ],
    describe: |p| {
        let disk_image =
            p.0.get("artifacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|artifact| artifact.get("role").and_then(Value::as_str) == Some("disk-image"))
                .and_then(|artifact| artifact.get("file"))
                .map_or_else(|| "(no disk-image artifact)".to_owned(), display);
        vec![format!(
            "apply Template {}/{}: stream Harvester {} ({}/{disk_image}) to the install disk, configure it from {}, reboot",
            p.text("namespace"),
            p.text("name"),
            p.text("harvester_version"),
            p.text("pxe_base_url").trim_end_matches('/'),
            p.text("metadata_url")
        )]
    },
    build: Build::Remote(|clusters| {
        OneObject::action(InstallTemplate::new(Arc::clone(&clusters.platform)))
    }),
};

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED_TEMPLATE: &str = include_str!("../../../phases/templates/harvester-install.yaml");

    /// Every double-brace action of `text`, or the first stray brace pair.
    fn template_actions(text: &str) -> Result<Vec<String>, String> {
        let mut actions = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let before = &rest[..open];
            if before.contains("}}") {
                return Err(format!("a `}}}}` without its `{{{{`: {before:?}"));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("a `{{{{` that is never closed: {after:?}"))?;
            let inner = &after[..close];
            if inner.contains("{{") {
                return Err(format!("nested `{{{{` in {inner:?}"));
            }
            // Go's trim markers `{{-` and `-}}` only eat white space around the action.
            let inner = inner.strip_prefix("- ").unwrap_or(inner);
            let inner = inner.strip_suffix(" -").unwrap_or(inner);
            actions.push(inner.trim().to_owned());
            rest = &after[close + 2..];
        }
        if rest.contains("}}") {
            return Err(format!("a `}}}}` without its `{{{{`: {rest:?}"));
        }
        Ok(actions)
    }

    fn shipped_params() -> TemplateParams {
        TemplateParams {
            namespace: "tink-system".into(),
            name: "harvester-install-v1.7.0".into(),
            harvester_version: "v1.7.0".into(),
            pxe_base_url: "http://10.10.10.10:8080/harvester/v1.7.0/".into(),
            artifacts: vec![TemplateArtifact {
                role: DISK_IMAGE_ROLE.into(),
                file: "harvester-v1.7.0-amd64.raw.zst".into(),
            }],
            metadata_url: "http://10.10.10.10:7080".into(),
            template: SHIPPED_TEMPLATE.into(),
            image2disk_image: "quay.io/tinkerbell/actions/image2disk:latest".into(),
            configure_image: "gmehta3/configure-harvester:latest".into(),
            reboot_image: "ghcr.io/jacobweinstock/waitdaemon:0.4.3".into(),
        }
    }

    #[test]
    fn every_double_brace_in_the_template_is_an_action_the_controller_renders() {
        let actions = template_actions(SHIPPED_TEMPLATE).expect("balanced braces");
        assert!(
            !actions.is_empty(),
            "the template uses Tinkerbell's actions"
        );
        for action in &actions {
            assert!(
                TEMPLATE_ACTIONS.contains(&action.as_str()),
                "`{{{{{action}}}}}` is not one of the actions Tinkerbell's controller renders for this template: {TEMPLATE_ACTIONS:?}"
            );
        }
        // What genesis applies: its own placeholders filled, the same actions and no others.
        let rendered = shipped_params().rendered().expect("rendered");
        assert!(!rendered.contains("${"), "{rendered}");
        assert_eq!(template_actions(&rendered).expect("balanced"), actions);
    }

    #[test]
    fn the_guard_rejects_braces_that_are_not_actions() {
        assert!(template_actions("# Tinkerbell fills in `{{…}}` per machine\n").is_ok());
        let found = template_actions("# Tinkerbell fills in `{{…}}`\n").expect("balanced");
        assert!(!TEMPLATE_ACTIONS.contains(&found[0].as_str()));
        assert!(template_actions("a }} b").is_err());
        assert!(template_actions("a {{ .device_1 b").is_err());
    }

    /// The template as Tinkerbell's controller reads it after rendering: its `Workflow`, `Task`
    /// and `Action` (tink/controller/internal/workflow/types.go, v0.25.0), strictly.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Workflow {
        #[allow(dead_code)]
        version: String,
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        global_timeout: u64,
        tasks: Vec<Task>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Task {
        #[allow(dead_code)]
        name: String,
        worker: String,
        #[serde(default)]
        #[allow(dead_code)]
        volumes: Vec<String>,
        actions: Vec<WorkflowAction>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WorkflowAction {
        name: String,
        image: String,
        #[allow(dead_code)]
        timeout: u64,
        #[serde(default)]
        command: Vec<String>,
        #[serde(default)]
        volumes: Vec<String>,
        #[serde(default)]
        environment: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        pid: Option<String>,
    }

    /// The shipped template with Tinkerbell's actions replaced by a machine's values.
    fn as_rendered_for_a_machine() -> Workflow {
        let text = shipped_params()
            .rendered()
            .expect("rendered")
            .replace("{{ .device_1 }}", "02:00:00:0a:0a:0b")
            .replace(
                "{{ (index .hardware.spec.disks 0).device }}",
                "/dev/nvme0n1",
            );
        assert!(!text.contains("{{"), "{text}");
        serde_saphyr::from_str(&text).expect("the rendered template is a Tinkerbell workflow")
    }

    #[test]
    fn the_reboot_action_is_waitdaemon_with_its_command_and_the_docker_socket() {
        let workflow = as_rendered_for_a_machine();
        let task = &workflow.tasks[0];
        assert_eq!(task.worker, "02:00:00:0a:0a:0b");
        let reboot = task
            .actions
            .iter()
            .find(|action| action.name == "reboot-harvester")
            .expect("reboot action");
        assert!(
            reboot
                .image
                .starts_with("ghcr.io/jacobweinstock/waitdaemon:")
        );
        // waitdaemon runs the action's own command in IMAGE (main.go runUserImage).
        assert_eq!(reboot.command, ["reboot"]);
        assert_eq!(
            reboot.environment.get("IMAGE").map(String::as_str),
            Some("alpine")
        );
        assert!(
            !reboot.environment.contains_key("COMMAND"),
            "waitdaemon reads no COMMAND variable"
        );
        assert!(
            reboot
                .volumes
                .iter()
                .any(|volume| volume == "/var/run/docker.sock:/var/run/docker.sock"),
            "waitdaemon starts its containers through the Docker socket"
        );
        assert_eq!(reboot.pid.as_deref(), Some("host"));
    }

    #[test]
    fn the_streamed_image_is_the_labs_disk_image_artifact() {
        let workflow = as_rendered_for_a_machine();
        let stream = workflow.tasks[0]
            .actions
            .iter()
            .find(|action| action.name == "stream-harvester")
            .expect("stream action");
        assert_eq!(
            stream.environment["IMG_URL"],
            "http://10.10.10.10:8080/harvester/v1.7.0/harvester-v1.7.0-amd64.raw.zst"
        );
        assert_eq!(stream.environment["COMPRESSED"], "true");
        assert_eq!(stream.environment["DEST_DISK"], "/dev/nvme0n1");

        let mut params = shipped_params();
        params.artifacts[0].file = "harvester.raw".into();
        assert!(
            params
                .rendered()
                .expect("rendered")
                .contains("COMPRESSED: \"false\"")
        );
        params.artifacts[0].file = "harvester.iso".into();
        assert!(params.rendered().is_err(), "an ISO is not a disk image");
        params.artifacts[0].role = "iso".into();
        let error = params.rendered().expect_err("no disk image");
        assert!(error.to_string().contains("disk-image"), "{error}");
    }
}
