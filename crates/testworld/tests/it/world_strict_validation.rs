//! Cluster test: the real kube-apiserver enforces the upstream CRDs. A field
//! the CRD does not have is rejected under strict field validation, a value
//! outside an enum is rejected always, and a correct object is accepted.

use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{World, WorldOptions};
use serde_json::json;

fn api_error(result: Result<kube::api::DynamicObject, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        Err(other) => panic!("expected an API error, got {other:?}"),
        Ok(object) => panic!(
            "expected a rejection, the server accepted {:?}",
            object.metadata.name
        ),
    }
}

#[tokio::test]
async fn cluster_rejects_unknown_and_invalid_fields() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    eprintln!(
        "apiserver start-up: platform {:?} (server says {} ms), harvester {:?}; world {:?}",
        world.platform.server.startup,
        world.platform.server.ready.startup_ms,
        world.harvester.server.startup,
        world.startup
    );
    assert_eq!(world.platform.server.ready.kubernetes_version, "v1.37.2");
    assert_eq!(
        world.platform.server.ready.crds, 10,
        "tinkerbell 6 + harvester 1 + multus 1 + kubevirt 2"
    );
    let client = &world.platform.client;
    lab::ensure_namespace(client, TINK_NAMESPACE).await.unwrap();

    // Correct objects are accepted.
    let workflow_resource = lab::workflow_resource();
    lab::create_strict(
        client,
        &workflow_resource,
        &lab::workflow("ok", "hv-1", "install", 1),
    )
    .await
    .unwrap();

    // A misspelt field is rejected under strict validation...
    let mut typo = lab::workflow("typo", "hv-1", "install", 1);
    typo.data["spec"]["hardwareReff"] = json!("hv-1");
    let status = api_error(lab::create_strict(client, &workflow_resource, &typo).await);
    assert!(
        status
            .message
            .contains("unknown field \"spec.hardwareReff\""),
        "{}",
        status.message
    );
    // (server-side apply refuses it as well)...
    let status = api_error(lab::apply_strict(client, &workflow_resource, &typo).await);
    assert!(
        status.message.contains("hardwareReff"),
        "{}",
        status.message
    );
    // ...while without strict validation the server silently drops it: the CRD's schema prunes it.
    let dropped = lab::create_with_validation(client, &workflow_resource, &typo, "Ignore")
        .await
        .unwrap();
    assert!(
        dropped.data["spec"].get("hardwareReff").is_none(),
        "{:?}",
        dropped.data
    );
    assert_eq!(dropped.data["spec"]["hardwareRef"], "hv-1");

    // ...nested ones too (Hardware dhcp keys are snake_case upstream).
    let hardware_resource = lab::hardware_resource();
    let mut camel = lab::hardware("camel", 1);
    camel.data["spec"]["interfaces"][0]["dhcp"]["leaseTime"] = json!(86400);
    let status = api_error(lab::create_strict(client, &hardware_resource, &camel).await);
    assert!(status.message.contains("leaseTime"), "{}", status.message);

    // An enum violation is rejected even without strict validation.
    let mut floppy = lab::workflow("floppy", "hv-1", "install", 1);
    floppy.data["spec"]["bootOptions"]["bootMode"] = json!("floppy");
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client.clone(), TINK_NAMESPACE, &workflow_resource);
    let status = api_error(api.create(&kube::api::PostParams::default(), &floppy).await);
    assert_eq!(status.code, 422, "{status:?}");
    assert!(status.message.contains("bootMode"), "{}", status.message);

    // The wrapped KubeVirt CRDs enforce their schema on the Harvester server.
    let harvester = &world.harvester.client;
    let vm_resource = lab::virtual_machine_resource();
    lab::create_strict(
        harvester,
        &vm_resource,
        &lab::virtual_machine("cp-2", "default"),
    )
    .await
    .unwrap();
    let mut running_typo = lab::virtual_machine("cp-3", "default");
    running_typo.data["spec"]["runStrategyy"] = json!("Always");
    let status = api_error(lab::create_strict(harvester, &vm_resource, &running_typo).await);
    assert!(
        status.message.contains("runStrategyy"),
        "{}",
        status.message
    );

    // The legacy tinkerbell CRDs were not installed: their names clash with the current ones.
    let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        kube::Api::all(client.clone());
    let workflows_crd = crds.get("workflows.tinkerbell.org").await.unwrap();
    let schema = serde_json::to_value(&workflows_crd.spec.versions[0].schema).unwrap();
    assert!(
        schema
            .pointer("/openAPIV3Schema/properties/status/properties/currentState")
            .is_some(),
        "the monorepo Workflow CRD (with status.currentState) must be the one installed"
    );
    world.shutdown().await;
}
