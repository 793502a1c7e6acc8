//! Cluster test: step 6 (`rufio.machine`) on the test world: the BMC credentials Secret and the
//! Rufio Machine are applied with strict validation against the upstream CRD, the simulated
//! Rufio makes each Machine Contactable, and a second run changes nothing.

mod cluster_support;

use cluster_support::{create_namespace, files_below, genesis};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmc_step_registers_each_machine_and_waits_until_contactable() {
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::with_simulator().expect("reference scenario")
    })
    .await
    .expect("test world starts");
    let client = world.platform.client.clone();
    create_namespace(&client, "tink-system").await;
    let kubeconfig = world.platform.kubeconfig_path().to_owned();
    let state = tempfile::tempdir().expect("state dir");

    let output = genesis(state.path(), &kubeconfig, &["up", "--only", "bmc"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("fake-amt-password"),
        "a BMC password reached stderr"
    );

    let machines: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "tink-system",
        &genesis::actions::rufio::machine_resource(),
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "tink-system");
    let mut versions = Vec::new();
    for (index, host) in ["ms-02-1", "ms-02-2", "ms-02-3"].iter().enumerate() {
        let machine = machines.get(host).await.expect("Machine exists");
        let connection = &machine.data["spec"]["connection"];
        assert_eq!(connection["host"], format!("10.10.10.11{}", index + 1));
        assert_eq!(connection["port"], 16992);
        assert_eq!(connection["authSecretRef"]["name"], format!("bmc-{host}"));
        assert_eq!(
            connection["providerOptions"]["preferredOrder"],
            serde_json::json!(["IntelAMT"])
        );
        assert_eq!(
            connection["providerOptions"]["intelAMT"]["hostScheme"],
            "http"
        );
        let conditions = machine.data["status"]["conditions"]
            .as_array()
            .expect("conditions");
        assert!(
            conditions
                .iter()
                .any(|c| c["type"] == "Contactable" && c["status"] == "True")
        );
        let managers: Vec<String> = machine
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|entry| entry.manager.clone())
            .collect();
        assert!(managers.contains(&"genesis".to_owned()), "{managers:?}");
        let secret = secrets
            .get(&format!("bmc-{host}"))
            .await
            .expect("Secret exists");
        let data = secret.data.expect("data");
        assert_eq!(data["username"].0, b"admin");
        assert_eq!(
            data["password"].0,
            format!("fake-amt-password-{}!", index + 1).as_bytes()
        );
        versions.push((
            machine.metadata.resource_version.clone(),
            secret.metadata.resource_version.clone(),
        ));
    }

    // Again, forced: the same objects, not rewritten.
    let output = genesis(state.path(), &kubeconfig, &["up", "--only", "bmc"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (index, host) in ["ms-02-1", "ms-02-2", "ms-02-3"].iter().enumerate() {
        let machine = machines.get(host).await.expect("Machine exists");
        let secret = secrets
            .get(&format!("bmc-{host}"))
            .await
            .expect("Secret exists");
        assert_eq!(
            (
                machine.metadata.resource_version.clone(),
                secret.metadata.resource_version.clone()
            ),
            versions[index],
            "{host}: a repeated apply rewrote the objects"
        );
    }
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).expect("journal");
    assert!(
        journal.contains("apply Machine tink-system/ms-02-2"),
        "intent journaled"
    );
    for (path, text) in files_below(state.path()) {
        assert!(
            !text.contains("fake-amt-password"),
            "a BMC password reached {}",
            path.display()
        );
    }
    world.shutdown().await;
}
