//! Cluster test: the real upstream Tinkerbell workflow controller, tink server and Rufio
//! controllers (`tests/tinkerbell`, github.com/tinkerbell/tinkerbell v0.25.0) and a real
//! Redfish BMC (sushy-tools) in the test world. A hand-made Machine, Secret, Hardware,
//! Template and Workflow: the real controller renders the Template against the Hardware, the
//! real Rufio runs the netboot Job against the emulated BMC (off, one-time PXE, on), the
//! simulated machine's agent takes the actions from the real tink server over its gRPC
//! protocol and reports them (the server writes the Workflow's status), the real controller's
//! post step turns `allowPXE` off and the Workflow succeeds. A second Workflow whose action
//! fails (an injected fault, answered through the agent) ends `FAILED` as the server records
//! it. A Template with a literal `{{…}}` in a comment is refused by the real controller.

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
    let mut options = WorldOptions {
        ssh: false,
        ..WorldOptions::with_real_tinkerbell(vec![BmcSpec {
            machine: "hv-1".into(),
            host: "127.0.0.121".parse().unwrap(),
            username: "admin".into(),
            password: "fake-redfish-password-1!".into(),
        }])
        .unwrap()
    };
    // The machine's agent answers "failed" for this Workflow's second action.
    options.scenario = options.scenario.map(|scenario| {
        scenario.with_fault(labsim::Fault::WorkflowFailsOnce {
            workflow: "hv-1-fails".into(),
            action: Some("configure-harvester".into()),
        })
    });
    let world = World::start_with(options).await.unwrap();
    let controllers = world.tinkerbell.as_ref().expect("real controllers");
    assert_eq!(controllers.ready.tinkerbell_version, "v0.25.0");
    let tink_server: std::net::SocketAddr = controllers.ready.tink_server.parse().unwrap();
    assert!(tink_server.ip().is_loopback() && tink_server.port() != 0);
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

    // The status came from the real tink server: it wrote what the agent reported
    // (tink/server/internal/grpc/grpc.go doReportActionStatus: state, execution times,
    // duration and message per action, currentState from the last report) ...
    let task = &status["tasks"][0];
    let actions = task["actions"].as_array().unwrap();
    for action in actions {
        assert_eq!(action["state"], "SUCCESS", "{action}");
        assert_eq!(action["message"], "action completed", "{action}");
        assert!(action["executionStart"].is_string(), "{action}");
        assert!(action["executionStop"].is_string(), "{action}");
        assert!(
            action["executionDuration"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{action}"
        );
    }
    let current = &status["currentState"];
    assert_eq!(current["agentID"], lab::mac(1), "{current}");
    assert_eq!(current["state"], "SUCCESS", "{current}");
    assert_eq!(current["actionName"], "reboot-harvester", "{current}");
    assert_eq!(current["actionID"], actions[2]["id"], "{current}");
    assert_eq!(current["taskID"], task["id"], "{current}");
    assert_eq!(current["taskName"], "os-installation", "{current}");
    // ... it annotated the Hardware with the agent's attributes on the first action, which only
    // the server does (resolveAndAnnotateHardware, annotation `tinkerbell.org/agent-attributes`)
    // ...
    let attributes: serde_json::Value = serde_json::from_str(
        hardware.metadata.annotations.as_ref().unwrap()["tinkerbell.org/agent-attributes"].as_str(),
    )
    .unwrap();
    assert!(
        attributes.to_string().contains(&lab::mac(1)),
        "{attributes}"
    );
    // ... and it logged serving each action to the machine's agent id (doGetAction).
    let log = controllers.log();
    for action in actions {
        let id = action["id"].as_str().unwrap();
        assert!(
            log.lines().any(|line| line.contains("\"tink-server\"")
                && line.contains("sending action")
                && line.contains(id)
                && line.contains(&lab::mac(1))),
            "tink-server served {id}:\n{log}"
        );
    }
    let events = world.simulator.as_ref().unwrap().events();
    assert!(
        events.iter().any(|e| e.kind == "agent.started"
            && e.detail.contains(&format!("worker_id {}", lab::mac(1)))
            && e.detail.contains(&controllers.ready.tink_server)),
        "{events:?}"
    );

    // A failed action, as the real server records the agent's FAILED report: the action FAILED
    // with the agent's message, the Workflow FAILED, later actions never served, no post step.
    // (The finished Workflow goes first: tink-server refuses an agent whose first Workflow is
    // not PENDING or RUNNING, doGetAction.)
    let workflows: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::workflow_resource());
    workflows.delete("hv-1", &Default::default()).await.unwrap();
    lab::apply_strict(
        platform,
        &lab::workflow_resource(),
        &lab::workflow("hv-1-fails", "hv-1", "harvester-install", 1),
    )
    .await
    .unwrap();
    let failing = Instant::now();
    let workflow = tokio::time::timeout(WAIT, await_condition(workflows, "hv-1-fails", finished))
        .await
        .unwrap_or_else(|_| panic!("hv-1-fails finishes in time; log:\n{}", controllers.log()))
        .unwrap()
        .unwrap();
    eprintln!(
        "failing workflow finished {:?} after creation",
        failing.elapsed()
    );
    let status = &workflow.data["status"];
    assert_eq!(status["state"], "FAILED", "{status}");
    let actions = status["tasks"][0]["actions"].as_array().unwrap();
    assert_eq!(actions[0]["state"], "SUCCESS", "{status}");
    assert_eq!(actions[1]["name"], "configure-harvester");
    assert_eq!(actions[1]["state"], "FAILED", "{status}");
    assert_eq!(
        actions[1]["message"], "action exited with code 1 (injected fault)",
        "{status}"
    );
    assert!(actions[1]["executionStop"].is_string(), "{status}");
    assert_eq!(actions[2]["state"], "PENDING", "never served: {status}");
    assert_eq!(status["currentState"]["state"], "FAILED", "{status}");
    assert_eq!(status["currentState"]["actionName"], "configure-harvester");
    let hardware: Api<DynamicObject> =
        Api::namespaced_with(platform.clone(), TINK_NAMESPACE, &lab::hardware_resource());
    let hardware = hardware.get("hv-1").await.unwrap();
    assert_eq!(
        hardware.data["spec"]["interfaces"][0]["netboot"]["allowPXE"], true,
        "the controller's pre step allowed PXE again and its post step did not run"
    );
    eprintln!("test took {:?}", started.elapsed());
    world.shutdown().await;
}
