//! Cluster test: steps 5–8 on the test world. The install Template, the BMCs, the Hardware
//! with each machine's Harvester configuration, and the first node's install Workflow are
//! accepted by the real API server with the upstream CRDs under strict validation; the
//! simulated Tinkerbell netboots the machine through Rufio and runs the Workflow to success.
//! A Workflow that fails once is retried as a new Workflow.

use crate::GENESIS;
use genesis::actions::tinkerbell::{hardware_resource, template_resource, workflow_resource};
use genesis_harness::{create_namespace, files_below, genesis, genesis_with};
use genesis_testworld::{World, WorldOptions};
use kube::api::{Api, DynamicObject};
use serde_json::Value;

async fn world(faults: &str) -> World {
    let mut options = WorldOptions::with_simulator().expect("reference scenario");
    options.ssh = false;
    if !faults.is_empty() {
        let reference = include_str!("../../crates/labsim/scenarios/reference.yaml");
        let text = reference.replace("faults: []", &format!("faults:\n{faults}"));
        options.scenario = Some(labsim::Scenario::from_yaml(&text).expect("scenario with a fault"));
    }
    let world = World::start_with(options).await.expect("test world starts");
    create_namespace(&world.platform.client, "tink-system").await;
    world
}

fn workflows(world: &World) -> Api<DynamicObject> {
    Api::namespaced_with(
        world.platform.client.clone(),
        "tink-system",
        &workflow_resource(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_node_installs_through_a_netbooted_workflow() {
    let world = world("").await;
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis(
        GENESIS,
        state.path(),
        world.platform.kubeconfig_path(),
        &[
            "up",
            "--only",
            "install-template",
            "--only",
            "bmc",
            "--only",
            "hardware",
            "--only",
            "create-cluster",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let client = world.platform.client.clone();
    let template =
        Api::<DynamicObject>::namespaced_with(client.clone(), "tink-system", &template_resource())
            .get("harvester-install-v1.7.0")
            .await
            .expect("Template exists");
    let data = template.data["spec"]["data"]
        .as_str()
        .expect("template data");
    assert!(
        !data.contains("${"),
        "every genesis placeholder is filled:\n{data}"
    );
    assert!(data.contains(
        "IMG_URL: http://10.10.10.10:8080/harvester/v1.7.0/harvester-v1.7.0-amd64.raw.zst"
    ));
    assert!(data.contains("COMPRESSED: \"true\""), "{data}");
    assert!(
        data.contains("worker: \"{{ .device_1 }}\""),
        "Tinkerbell's own placeholders stay"
    );

    let hardware_api =
        Api::<DynamicObject>::namespaced_with(client.clone(), "tink-system", &hardware_resource());
    for (machine, mode) in [
        ("ms-02-1", "create"),
        ("ms-02-2", "join"),
        ("ms-02-3", "join"),
    ] {
        let hardware = hardware_api.get(machine).await.expect("Hardware exists");
        let spec = &hardware.data["spec"];
        assert_eq!(spec["bmcRef"]["name"], machine);
        assert_eq!(spec["disks"][0]["device"], "/dev/nvme0n1");
        let config: Value =
            serde_saphyr::from_str(spec["userData"].as_str().expect("user data")).expect("YAML");
        assert_eq!(config["install"]["mode"], mode);
        assert_eq!(config["os"]["hostname"], machine);
        assert_eq!(config["token"], "fake-harvester-cluster-token");
        if mode == "create" {
            assert_eq!(config["install"]["vip"], "10.10.10.20");
        } else {
            assert_eq!(config["server_url"], "https://10.10.10.20:443");
        }
        // Every node's RKE2 gets the lab's API host name as an extra certificate name.
        let file = &config["os"]["write_files"][0];
        assert_eq!(
            file["path"],
            "/etc/rancher/rke2/config.yaml.d/95-genesis-tls-san.yaml"
        );
        assert!(
            file["content"]
                .as_str()
                .is_some_and(|content| content.contains("tls-san+:")
                    && content.contains("harvester.lab.local")),
            "{file}"
        );
    }

    let workflow = workflows(&world)
        .get("harvester-install-ms-02-1-1")
        .await
        .expect("Workflow exists");
    assert_eq!(workflow.data["status"]["state"], "SUCCESS");
    assert_eq!(workflow.data["spec"]["bootOptions"]["bootMode"], "netboot");
    let events = world.simulator.as_ref().expect("simulator").events();
    assert!(
        events.iter().any(|event| event.kind == "job.completed"
            && event.object.contains("netboot-harvester-install-ms-02-1-1")),
        "the controller's netboot Job ran"
    );
    for (path, text) in files_below(state.path()) {
        assert!(
            !text.contains("fake-harvester-cluster-token"),
            "the cluster token reached {}",
            path.display()
        );
        assert!(
            !text.contains("fake-rancher-password"),
            "the OS password reached {}",
            path.display()
        );
    }
    assert!(
        !stderr.contains("fake-harvester-cluster-token")
            && !stderr.contains("fake-rancher-password")
    );

    // Issue 11, defect 4: the installed first node's API certificate is RKE2's, and it carries
    // the lab's API host name (step 12's `server`), which RKE2 does not carry by default.
    wait_for_event(&world, "rke2.serving_certificate").await;
    let port = world
        .harvester
        .url()
        .rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse::<u16>().ok())
        .expect("harvester port");
    let ca = harvester_ca(&world);
    handshake(&ca, "harvester.lab.local", port)
        .await
        .expect("the certificate carries harvester.lab.local");
    // The check can fail: a name nobody configured is refused.
    let refused = handshake(&ca, "not-configured.lab.local", port).await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|error| error.contains("NotValidForName")),
        "{refused:?}"
    );
    world.shutdown().await;
}

/// Waits (up to 60 s) for a simulator event of `kind`.
async fn wait_for_event(world: &World, kind: &str) {
    let simulator = world.simulator.as_ref().expect("simulator");
    let mut changes = simulator.event_log().subscribe();
    let found = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            if simulator.events().iter().any(|event| event.kind == kind) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        found.is_ok() && simulator.events().iter().any(|event| event.kind == kind),
        "no `{kind}` event: {:?}",
        simulator.events()
    );
}

/// The Harvester API server's CA, from its admin kubeconfig.
fn harvester_ca(world: &World) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use base64::Engine as _;
    use rustls::pki_types::pem::PemObject as _;
    let text = std::fs::read_to_string(world.harvester.kubeconfig_path()).expect("kubeconfig");
    let kubeconfig: Value = serde_saphyr::from_str(&text).expect("kubeconfig YAML");
    let data = kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
        .as_str()
        .expect("certificate-authority-data");
    let pem = base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("base64");
    rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .expect("CA PEM")
}

/// A TLS handshake with 127.0.0.1:`port` as `name`, verified against `ca` (as Argo CD would
/// connect to `https://<name>:<port>` with the cluster Secret's `caData`).
async fn handshake(
    ca: &[rustls::pki_types::CertificateDer<'static>],
    name: &str,
    port: u16,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in ca {
        roots.add(certificate.clone()).expect("CA certificate");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|error| error.to_string())?;
    let server_name = rustls::pki_types::ServerName::try_from(name.to_owned())
        .map_err(|error| error.to_string())?;
    connector
        .connect(server_name, stream)
        .await
        .map(|_| ())
        .map_err(|error| format!("{error:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_that_fails_once_is_retried_as_a_new_workflow() {
    let world = world("  - workflow_fails_once: {workflow: harvester-install-ms-02-1-1, action: stream-harvester}\n").await;
    // The shipped retry waits 30 s before the second attempt; the test shortens it.
    let phases = tempfile::tempdir().expect("phases dir");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("phases");
    for name in ["phase-2.yaml", "phase-3.yaml", "phase-4.yaml"] {
        let text = std::fs::read_to_string(source.join(name)).expect("phase file");
        std::fs::write(
            phases.path().join(name),
            text.replace("{attempts: 2, backoff: 30s", "{attempts: 2, backoff: 1s"),
        )
        .expect("write");
    }
    std::fs::create_dir_all(phases.path().join("templates")).expect("templates dir");
    std::fs::copy(
        source.join("templates/harvester-install.yaml"),
        phases.path().join("templates/harvester-install.yaml"),
    )
    .expect("template");
    let state = tempfile::tempdir().expect("state dir");
    let output = genesis_with(
        GENESIS,
        state.path(),
        world.platform.kubeconfig_path(),
        Some(phases.path()),
        &[
            "up",
            "--only",
            "install-template",
            "--only",
            "bmc",
            "--only",
            "hardware",
            "--only",
            "create-cluster",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let api = workflows(&world);
    assert!(
        api.get_opt("harvester-install-ms-02-1-1")
            .await
            .expect("get")
            .is_none(),
        "the failed Workflow was replaced"
    );
    let second = api
        .get("harvester-install-ms-02-1-2")
        .await
        .expect("second Workflow");
    assert_eq!(second.data["status"]["state"], "SUCCESS");
    let journal = std::fs::read_to_string(state.path().join("journal.ndjson")).expect("journal");
    assert!(
        journal.contains("delete failed Workflow tink-system/harvester-install-ms-02-1-1"),
        "the delete was journaled first"
    );
    assert!(
        journal.contains("stream-harvester"),
        "the failing action is named"
    );
    world.shutdown().await;
}
