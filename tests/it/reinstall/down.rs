//! `genesis down` on the world the reinstall test leaves: a dry run and a refused run write
//! nothing; an object whose ownership label was removed is left alone and reported; `down`
//! then `up` returns every object genesis owns to what it was (server-made fields aside).

use std::collections::BTreeMap;

use genesis::actions::rufio::machine_resource;
use genesis::actions::tinkerbell::{hardware_resource, template_resource, workflow_resource};
use genesis_harness::loopback::{LoopbackLab, text};
use genesis_testworld::World;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::{Value, json};

use super::{NS, teardowns, vm_resource};

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

fn secret() -> ApiResource {
    resource("", "v1", "Secret", "secrets")
}

/// Where to look: (cluster, namespace, resource).
fn places(world: &World) -> Vec<(&'static str, kube::Client, &'static str, ApiResource)> {
    let platform = world.platform.client.clone();
    let harvester = world.harvester.client.clone();
    vec![
        ("platform", platform.clone(), NS, template_resource()),
        ("platform", platform.clone(), NS, machine_resource()),
        ("platform", platform.clone(), NS, hardware_resource()),
        ("platform", platform.clone(), NS, workflow_resource()),
        ("platform", platform.clone(), NS, secret()),
        ("platform", platform, "argocd", secret()),
        (
            "harvester",
            harvester.clone(),
            "default",
            resource(
                "k8s.cni.cncf.io",
                "v1",
                "NetworkAttachmentDefinition",
                "network-attachment-definitions",
            ),
        ),
        (
            "harvester",
            harvester.clone(),
            "default",
            resource(
                "harvesterhci.io",
                "v1beta1",
                "VirtualMachineImage",
                "virtualmachineimages",
            ),
        ),
        ("harvester", harvester.clone(), "default", vm_resource()),
        ("harvester", harvester, "default", secret()),
    ]
}

/// Every object genesis owns (and the Template whose label the test removed), by
/// `cluster Kind namespace/name`: its labels and what the client wrote (`spec`, or a Secret's
/// `type` and `data`), without the fields the servers make; and, separately, its
/// resourceVersion, to show that nothing was written.
async fn objects(world: &World) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    let mut content = BTreeMap::new();
    let mut versions = BTreeMap::new();
    for (cluster, client, namespace, resource) in places(world) {
        let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &resource);
        for object in api.list(&ListParams::default()).await.expect("list") {
            let labels = object.metadata.labels.clone().unwrap_or_default();
            let ours = labels.get(MANAGED_BY).map(String::as_str) == Some("genesis");
            if !ours && resource.kind != "Template" {
                continue;
            }
            let name = object.metadata.name.clone().unwrap_or_default();
            let key = format!("{cluster} {} {namespace}/{name}", resource.kind);
            let written = if resource.kind == "Secret" {
                json!({"type": object.data["type"], "data": object.data["data"]})
            } else {
                object.data["spec"].clone()
            };
            content.insert(key.clone(), json!({"labels": labels, "written": written}));
            versions.insert(key, object.metadata.resource_version.unwrap_or_default());
        }
    }
    (content, versions)
}

pub(super) async fn down_then_up(world: &World, lab: &LoopbackLab) {
    // The Template loses genesis's label: `down` must leave it alone.
    let templates: Api<DynamicObject> =
        Api::namespaced_with(world.platform.client.clone(), NS, &template_resource());
    let template = templates
        .list(&ListParams::default())
        .await
        .expect("Templates")
        .items
        .pop()
        .expect("the install Template");
    let template_name = template.metadata.name.clone().expect("name");
    templates
        .patch(
            &template_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {MANAGED_BY: null}}})),
        )
        .await
        .expect("remove the label");
    let (before, versions) = objects(world).await;
    assert!(before.len() >= 17, "{:#?}", before.keys());
    let journal = || std::fs::read(lab.state.join("journal.ndjson")).expect("journal");
    let journal_before = journal();

    // --dry-run: the list, nothing written.
    let output = lab.genesis(&["down", "--dry-run"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for expected in [
        "step 16/cp-3 vm/cp-3: delete Harvester VirtualMachine default/cp-3",
        "power ms-02-2 off through its BMC (its disks are not erased)",
        "delete Platform Workflows in tink-system labelled genesis.dev/machine=ms-02-2",
        "nothing to delete for platform-api",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    // The list is in reverse dependency order: the VMs before the machines, the Workflows
    // before the Hardware, the Hardware before the BMC.
    let at = |text: &str| {
        stderr
            .find(text)
            .unwrap_or_else(|| panic!("{text}: {stderr}"))
    };
    assert!(at("vm/cp-2:") < at("register-argocd:"));
    assert!(at("join-cluster/ms-02-2:") < at("hardware/ms-02-2:"));
    assert!(at("hardware/ms-02-2:") < at("bmc/ms-02-2:"));
    assert_eq!(journal(), journal_before, "--dry-run writes nothing");
    // No terminal, no --yes: refused, nothing written.
    let output = lab
        .command()
        .env_remove("GENESIS_YES")
        .stdin(std::process::Stdio::null())
        .arg("down")
        .output()
        .await
        .expect("genesis runs");
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no terminal to confirm on"), "{stderr}");
    assert_eq!(journal(), journal_before, "a refused down writes nothing");
    assert_eq!(
        objects(world).await.1,
        versions,
        "a refused down changes nothing"
    );

    // down.
    let output = lab.genesis(&["down"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "left alone: Platform Template {NS}/{template_name} has no"
        )),
        "{stderr}"
    );
    let (left, _) = objects(world).await;
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        [&format!("platform Template {NS}/{template_name}")],
        "only the Template without genesis's label is left"
    );
    let records = lab.journal();
    let whats = teardowns(&records);
    for machine in ["ms-02-1", "ms-02-2", "ms-02-3"] {
        let off = format!("power {machine} off through Rufio Job {NS}/genesis-power-off-{machine}");
        let off = whats
            .iter()
            .position(|what| *what == off)
            .expect("power-off");
        let bmc = whats
            .iter()
            .position(|what| *what == format!("delete Platform Machine {NS}/{machine}"))
            .expect("Machine deleted");
        assert!(off < bmc, "powered off before its Rufio Machine goes");
    }
    let events = world.simulator.as_ref().expect("simulator").events();
    let powered_off = events
        .iter()
        .filter(|event| {
            event.kind == "job.completed" && event.object.contains("genesis-power-off-")
        })
        .count();
    assert!(
        powered_off >= 4,
        "three machines and the reinstall: {powered_off}"
    );
    let reset = |step: &str| {
        records
            .iter()
            .skip(journal_before.iter().filter(|byte| **byte == b'\n').count())
            .any(|record| record["record"] == "step_reset" && record["step"] == step)
    };
    assert!(reset("vm/cp-3") && reset("join-cluster/ms-02-2") && reset("quorum"));
    assert!(
        !reset("install-template"),
        "its Template was left: still done"
    );
    assert!(!reset("platform-api"), "phase 2 only checks: still done");

    // up: the same objects again.
    let output = lab.genesis(&["up"]).await;
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let (after, _) = objects(world).await;
    assert_eq!(after, before, "down then up returns to the same objects");
}
