//! Offline preflight warnings: what `genesis validate` can see in the inputs that works today
//! but will hurt on hardware. They are warnings, not problems: the shipped reference lab has
//! some of them on purpose (docs/runbook.md, "What to prepare").
//!
//! Moving image tags. Every step parameter whose name ends in `_image` is a container image a
//! machine pulls while it installs (the Tinkerbell actions of `tinkerbell.template`). An image
//! on `latest` or on no tag (which container runtimes read as `latest`) can change between the
//! install of one machine and the next, or between a first run and a reinstall; a digest
//! (`@sha256:…`) cannot. A fixed release tag is accepted: it is a promise of the publisher,
//! weaker than a digest, and said so in the runbook.

use std::collections::BTreeSet;

use genesis_engine::StepSpec;
use serde_json::Value;

use super::PhaseInfo;

/// One warning per moving image, deduplicated over the fanned-out instances of a step.
pub fn moving_images(phases: &[PhaseInfo], steps: &[StepSpec]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for step in steps {
        let Value::Object(params) = &step.params else {
            continue;
        };
        for (name, value) in params {
            let Some(image) = value.as_str() else {
                continue;
            };
            if !name.ends_with("_image") || !is_moving(image) {
                continue;
            }
            if !seen.insert((name.clone(), image.to_owned())) {
                continue;
            }
            let file = phases.iter().find(|phase| phase.number == step.phase);
            let place = file.map_or_else(
                || format!("phase {}", step.phase),
                |phase| {
                    let path = phase.file.display().to_string();
                    match line_of(&phase.file, name) {
                        Some(line) => format!("{path}:{line}"),
                        None => path,
                    }
                },
            );
            out.push(format!(
                "{place}: `{name}` of step `{}` is `{image}`, a moving tag: two installs may run different images; pin it by digest (`{}@sha256:…`, from your registry mirror)",
                template_id(step),
                repository(image),
            ));
        }
    }
    out
}

/// `latest` or no tag, and no digest.
pub fn is_moving(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    match tag(image) {
        None => true,
        Some(tag) => tag == "latest",
    }
}

/// The tag: after the last `:` of the last path segment (a registry's `host:port` is in an
/// earlier segment).
fn tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag)
}

/// The image without its tag.
fn repository(image: &str) -> &str {
    match tag(image) {
        Some(tag) => &image[..image.len() - tag.len() - 1],
        None => image,
    }
}

/// A fanned-out step's template id (`hardware/ms-02-1` → `hardware`).
fn template_id(step: &StepSpec) -> &str {
    let id = step.id.as_str();
    id.split_once('/').map_or(id, |(template, _)| template)
}

/// The first line of `path` that sets `name:` (1-based).
fn line_of(path: &std::path::Path, name: &str) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let key = format!("{name}:");
    text.lines()
        .position(|line| line.trim_start().starts_with(&key))
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_and_untagged_move_digests_and_release_tags_do_not() {
        assert!(is_moving("quay.io/tinkerbell/actions/image2disk:latest"));
        assert!(is_moving("gmehta3/configure-harvester"));
        assert!(is_moving("registry.lab:5000/actions/image2disk"));
        assert!(!is_moving("registry.lab:5000/actions/image2disk:v1.0.0"));
        assert!(!is_moving("ghcr.io/jacobweinstock/waitdaemon:0.4.3"));
        assert!(!is_moving(
            "quay.io/tinkerbell/actions/image2disk@sha256:0123456789abcdef"
        ));
        assert_eq!(
            repository("registry.lab:5000/actions/image2disk:latest"),
            "registry.lab:5000/actions/image2disk"
        );
    }

    #[test]
    fn the_reference_lab_warns_about_its_two_latest_images_once_each() {
        let inputs = crate::inputs::reference_lab();
        let warnings = moving_images(&inputs.phases, inputs.graph.steps());
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(
            warnings[0].starts_with("phases/phase-3.yaml:"),
            "{warnings:#?}"
        );
        assert!(
            warnings
                .iter()
                .any(|warning| warning.contains("image2disk:latest"))
        );
        assert!(
            !warnings
                .iter()
                .any(|warning| warning.contains("waitdaemon"))
        );
    }
}
