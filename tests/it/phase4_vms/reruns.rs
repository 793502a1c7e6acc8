//! What follows a finished phase 4: a second run, a forced one, the operator's GitOps
//! manifest instead of the built VMs, and an image Harvester cannot download (moved from
//! phase4_vms.rs).

use genesis_testworld::World;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ListParams};

use super::{
    Outputs, PHASE_4, Setup, get, gitops_phases, image, is_phase_4, managed_by_genesis, nad,
    phases_copy, vm,
};

/// Re-run: everything is done, nothing is started; forced, the applies change nothing.
pub(super) async fn second_and_forced_runs(world: &World, setup: &Setup, outputs: &mut Outputs) {
    let harvester = world.harvester.client.clone();
    let secrets: Api<Secret> = Api::namespaced(harvester.clone(), "default");
    let versions = |objects: Vec<DynamicObject>| -> Vec<(String, String)> {
        objects
            .into_iter()
            .map(|object| {
                (
                    object.metadata.name.unwrap_or_default(),
                    object.metadata.resource_version.unwrap_or_default(),
                )
            })
            .collect()
    };
    let snapshot = || async {
        let mut all = Vec::new();
        for resource in [nad(), image(), vm()] {
            let list = Api::<DynamicObject>::all_with(harvester.clone(), &resource)
                .list(&ListParams::default())
                .await
                .expect("list");
            all.push(versions(list.items));
        }
        let secrets = secrets
            .list(&ListParams::default().labels("app.kubernetes.io/managed-by=genesis"))
            .await
            .expect("list Secrets");
        all.push(
            secrets
                .items
                .into_iter()
                .map(|secret| {
                    (
                        secret.metadata.name.unwrap_or_default(),
                        secret.metadata.resource_version.unwrap_or_default(),
                    )
                })
                .collect(),
        );
        all
    };
    let before = snapshot().await;
    assert_eq!(
        before.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![1, 1, 2, 2],
        "one network, one image, two VMs, two Secrets: {before:?}"
    );
    let records_before = setup.journal().len();
    let again = setup.genesis(&["up"]).await;
    let (_, stderr_again) = outputs.add("2nd run", &again);
    assert_eq!(again.status.code(), Some(0), "{stderr_again}");
    let started_again = setup.journal()[records_before..]
        .iter()
        .filter(|record| {
            record["record"] == "step_attempt" && record["step"].as_str().is_some_and(is_phase_4)
        })
        .count();
    assert_eq!(started_again, 0, "a second run starts no phase-4 step");
    assert_eq!(snapshot().await, before, "nothing rewritten");

    // Forced: every phase-4 step runs again; the applies change nothing.
    let mut only = Vec::new();
    for id in PHASE_4 {
        only.extend(["--only", id]);
    }
    let forced = setup.genesis(&[&["up"], only.as_slice()].concat()).await;
    let (_, stderr_forced) = outputs.add("forced", &forced);
    assert_eq!(forced.status.code(), Some(0), "{stderr_forced}");
    assert_eq!(snapshot().await, before, "a forced re-run rewrites nothing");
}

/// The operator's GitOps manifest (both VMs in one YAML stream) instead of the built VM:
/// applied unchanged, waited for the same way.
pub(super) async fn gitops_manifest(world: &World, setup: &Setup, outputs: &mut Outputs) {
    let harvester = world.harvester.client.clone();
    let phases = gitops_phases(setup);
    let phases_arg = phases.path().join("phases");
    let gitops = setup
        .genesis(&[
            "--phases",
            phases_arg.to_str().expect("utf-8"),
            "up",
            "--only",
            "vm",
        ])
        .await;
    let (stdout_gitops, stderr_gitops) = outputs.add("gitops", &gitops);
    assert_eq!(
        gitops.status.code(),
        Some(0),
        "{stdout_gitops}\n{stderr_gitops}"
    );
    for vm_name in ["cp-2", "cp-3"] {
        let machine = get(&harvester, &vm(), vm_name).await;
        let labels = machine.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get("example.org/source").map(String::as_str),
            Some("gitops")
        );
        let template = &machine.data["spec"]["template"]["spec"];
        assert_eq!(template["domain"]["memory"]["guest"], "8Gi");
        assert_eq!(template["domain"]["cpu"]["cores"], 2);
        assert_eq!(machine.data["spec"]["runStrategy"], "Always");
        assert_eq!(machine.data["status"]["printableStatus"], "Running");
        assert!(managed_by_genesis(&machine));
    }
    let journal = setup.journal();
    let last_vm = journal
        .iter()
        .rev()
        .find(|record| record["record"] == "step_succeeded" && record["step"] == "vm/cp-3")
        .expect("vm/cp-3 succeeded again");
    assert_eq!(last_vm["outputs"]["source"], "manifest");
}

/// An image Harvester cannot download (the simulator's `image_import_fails` fault): step 14
/// fails for good, saying what to do, and is not retried.
pub(super) async fn an_image_that_cannot_be_downloaded(
    world: &World,
    setup: &Setup,
    outputs: &mut Outputs,
) {
    let events = world
        .simulator
        .as_ref()
        .expect("simulator")
        .event_log()
        .clone();
    let broken = tempfile::tempdir().expect("temp dir");
    let broken_phases = phases_copy(broken.path(), |text| {
        text.replace("name: ${lab.vm_images.0.name}", "name: broken-image")
    });
    let records_before = setup.journal().len();
    let failing = setup
        .genesis(&[
            "--phases",
            broken_phases.to_str().expect("utf-8"),
            "up",
            "--only",
            "vm-image",
        ])
        .await;
    let (stdout_failing, stderr_failing) = outputs.add("failing image", &failing);
    assert_eq!(
        failing.status.code(),
        Some(1),
        "{stdout_failing}\n{stderr_failing}"
    );
    let journal = setup.journal();
    let failure = journal[records_before..]
        .iter()
        .find(|record| record["record"] == "step_failed" && record["step"] == "vm-image")
        .unwrap_or_else(|| panic!("step 14 failed in the journal: {journal:?}"))
        .to_string();
    assert!(
        failure.contains("gave up importing")
            && failure.contains("delete virtualmachineimage broken-image"),
        "{failure}"
    );
    assert!(failure.contains("\"permanent\""), "{failure}");
    assert!(
        !journal[records_before..]
            .iter()
            .any(|record| record["record"] == "step_retrying"),
        "a permanent failure is not retried"
    );
    let failed_attempts = events
        .snapshot()
        .iter()
        .filter(|event| event.kind == "image.failed" && event.object == "default/broken-image")
        .count();
    assert_eq!(
        failed_attempts, 3,
        "Harvester's three attempts, then genesis stopped"
    );
}
