//! Cluster test: the real upstream Tinkerbell workflow controller and Rufio controllers
//! (`tests/tinkerbell`, github.com/tinkerbell/tinkerbell v0.25.0) and a real Redfish BMC
//! (sushy-tools) in the test world. A hand-made Machine, Secret, Hardware, Template and
//! Workflow: the real controller renders the Template against the Hardware, the real Rufio runs
//! the netboot Job against the emulated BMC (off, one-time PXE, on), the simulated machine runs
//! the actions, the real controller's post step turns `allowPXE` off and the Workflow succeeds.
//! A Template with a literal `{{…}}` in a comment is refused by the real controller.

use std::time::{Duration, Instant};

use genesis_testworld::lab::{self, TINK_NAMESPACE};
use genesis_testworld::{BmcSpec, World, WorldOptions};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_real_controllers_render_netboot_and_refuse_a_broken_template() {
    let started = Instant::now();
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::with_real_tinkerbell(vec![BmcSpec {
            machine: "hv-1".into(),
            host: "127.0.0.121".parse().unwrap(),
            username: "admin".into(),
            password: "fake-redfish-password-1!".into(),
        }])
        .unwrap()
    })
    .await
    .unwrap();
    let controllers = world.tinkerbell.as_ref().expect("real controllers");
    assert_eq!(controllers.ready.tinkerbell_version, "v0.25.0");
    eprintln!("world up in {:?}", world.startup);
    let bmc = world.bmcs["hv-1"].clone();
    let platform = &world.platform.client;
    lab::ensure_namespace(platform, TINK_NAMESPACE)
        .await
        .unwrap();

    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "hv-1-bmc", "namespace": TINK_NAMESPACE},
        "stringData": {"username": "admin", "password": "fake-redfish-password-1!"},
    }))
    .unwrap();
    Api::<Secret>::namespaced(platform.clone(), TINK_NAMESPACE)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let machine = lab::object(
        &lab::machine_resource(),
        TINK_NAMESPACE,
        "hv-1",
        json!({ "spec": { "connection": {
            "host": bmc.host.to_string(), "port": bmc.port, "insecureTLS": true,
            "authSecretRef": { "name": "hv-1-bmc", "namespace": TINK_NAMESPACE },
            "providerOptions": { "preferredOrder": ["gofish"], "redfish": { "port": bmc.port, "useBasicAuth": true } },
        }}}),
    );
    let broken = lab::object(
        &lab::template_resource(),
        TINK_NAMESPACE,
        "broken",
        json!({ "spec": { "data": format!("# Tinkerbell fills in `{{{{…}}}}` per machine.\n{}", lab::INSTALL_TEMPLATE) } }),
    );
    for (resource, object) in [
        (lab::machine_resource(), machine),
        (lab::hardware_resource(), lab::hardware("hv-1", 1)),
        (lab::template_resource(), lab::template("harvester-install")),
        (lab::template_resource(), broken),
        (
            lab::workflow_resource(),
            lab::workflow("hv-1", "hv-1", "harvester-install", 1),
        ),
        (
            lab::workflow_resource(),
            lab::workflow("hv-1-broken", "hv-1", "broken", 1),
        ),
    ] {
        lab::apply_strict(platform, &resource, &object)
            .await
            .unwrap();
    }
    let created = Instant::now();

    let workflows: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::workflow_resource());
    let refused = |wf: Option<&DynamicObject>| {
        wf.is_some_and(|wf| wf.data["status"]["templateRendering"] == "failed")
    };
    let broken = tokio::time::timeout(
        WAIT,
        await_condition(workflows.clone(), "hv-1-broken", refused),
    )
    .await
    .expect("the broken template is refused in time")
    .unwrap()
    .unwrap();
    let condition = broken.data["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "TemplateRenderedSuccess")
        .cloned()
        .unwrap();
    assert_eq!(condition["status"], "False");
    let message = condition["message"].as_str().unwrap();
    assert!(
        message.contains("error rendering template")
            && message.contains("unrecognized character in action"),
        "{message}"
    );
    assert!(broken.data["status"]["tasks"].is_null());

    let finished = |wf: Option<&DynamicObject>| {
        wf.is_some_and(|wf| {
            matches!(
                wf.data["status"]["state"].as_str(),
                Some("SUCCESS" | "FAILED" | "TIMEOUT")
            )
        })
    };
    let workflow = tokio::time::timeout(WAIT, await_condition(workflows, "hv-1", finished))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "workflow finishes in time; controllers' log:\n{}",
                controllers.log()
            )
        })
        .unwrap()
        .unwrap();
    eprintln!("workflow finished {:?} after creation", created.elapsed());
    let status = &workflow.data["status"];
    assert_eq!(status["state"], "SUCCESS", "{status}");
    assert_eq!(status["templateRendering"], "successful");
    assert_eq!(status["globalTimeout"], 9800);
    let task = &status["tasks"][0];
    assert_eq!(task["name"], "os-installation");
    assert_eq!(
        task["agentID"],
        lab::mac(1),
        "worker rendered from hardwareMap"
    );
    let names: Vec<&str> = task["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "stream-harvester",
            "configure-harvester",
            "reboot-harvester"
        ]
    );
    assert_eq!(
        status["bootOptions"]["jobs"]["netboot-hv-1"]["complete"],
        true
    );

    let jobs: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::job_resource());
    let job = jobs.get("netboot-hv-1").await.unwrap();
    assert_eq!(
        job.data["spec"]["tasks"],
        json!([
            {"powerAction": "off"},
            {"oneTimeBootDeviceAction": {"device": ["pxe"], "efiBoot": true}},
            {"powerAction": "on"},
        ])
    );
    assert!(
        job.data["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Completed" && c["status"] == "True"),
        "{job:?}"
    );
    let machines: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::machine_resource());
    let machine = machines.get("hv-1").await.unwrap();
    assert_eq!(machine.data["status"]["powerState"], "on", "{machine:?}");
    let hardware: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::hardware_resource());
    let hardware = hardware.get("hv-1").await.unwrap();
    assert_eq!(
        hardware.data["spec"]["interfaces"][0]["netboot"]["allowPXE"],
        false
    );
    // The emulator saw Rufio's Redfish calls: power and the one-time boot override.
    let emulator_log = std::fs::read_to_string(world.dir().join("bmc/hv-1/emulator.log")).unwrap();
    assert!(
        emulator_log.contains("POST /redfish/v1/Systems/")
            && emulator_log.contains("ComputerSystem.Reset"),
        "{emulator_log}"
    );
    assert!(
        emulator_log.contains("PATCH /redfish/v1/Systems/"),
        "{emulator_log}"
    );
    eprintln!("test took {:?}", started.elapsed());
    world.shutdown().await;
}
