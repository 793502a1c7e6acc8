//! Bootstrap end-to-end tests, continued.

use super::*;

/// Phase 4's end state: the VLAN network, the imported image, the user-data Secrets, both VMs
/// running on Harvester and their nodes Ready control-plane nodes of the Platform cluster.
/// (`tests/phase4_vms.rs` checks these objects field by field.)
pub(super) async fn check_phase_4(world: &World) {
    let harvester = world.harvester.client.clone();
    let nad = Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &nad_resource())
        .get("platform")
        .await
        .expect("NetworkAttachmentDefinition");
    assert!(
        nad.data["spec"]["config"]
            .as_str()
            .is_some_and(|config| config.contains("\"vlan\":30")),
        "{:?}",
        nad.data
    );
    let image =
        Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &image_resource())
            .get("talos-nocloud")
            .await
            .expect("VirtualMachineImage");
    let image_value = serde_json::to_value(&image).expect("JSON");
    assert_eq!(condition(&image_value, "Imported").as_deref(), Some("True"));
    let vms = Api::<DynamicObject>::namespaced_with(harvester.clone(), "default", &vm_resource());
    let platform_nodes = Api::<Node>::all(world.platform.client.clone());
    for vm in VMS {
        let object = vms.get(vm).await.expect("VirtualMachine");
        assert_eq!(object.data["status"]["printableStatus"], "Running", "{vm}");
        assert_eq!(object.data["spec"]["runStrategy"], "Always", "{vm}");
        Api::<Secret>::namespaced(harvester.clone(), "default")
            .list(&ListParams::default())
            .await
            .expect("Secrets")
            .items
            .iter()
            .find(|secret| {
                secret
                    .metadata
                    .name
                    .as_deref()
                    .is_some_and(|name| name.contains(vm))
            })
            .unwrap_or_else(|| panic!("{vm}'s user-data Secret"));
        let node = platform_nodes.get(vm).await.expect("Platform Node");
        let value = serde_json::to_value(&node).expect("JSON");
        assert_eq!(condition(&value, "Ready").as_deref(), Some("True"), "{vm}");
        assert!(
            value["metadata"]["labels"]
                .get("node-role.kubernetes.io/control-plane")
                .is_some(),
            "{value}"
        );
    }
}

/// What the real Tinkerbell controller made of our Template for one machine's Workflow
/// (tink/controller/internal/workflow/reconciler.go `processWorkflow` and convert.go
/// `YAMLToStatus`, v0.25.0): rendered successfully, one task per template task with our
/// actions in order, every `{{…}}` filled from the Workflow's hardwareMap and the Hardware.
pub(super) fn check_rendered_by_the_controller(
    workflow: &DynamicObject,
    machine: &str,
    mac: &str,
    template_data: &str,
) {
    let status = &workflow.data["status"];
    assert_eq!(
        status["templateRendering"], "successful",
        "{machine}: {status}"
    );
    let rendered = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|condition| condition["type"] == "TemplateRenderedSuccess")
        .unwrap_or_else(|| panic!("{machine}: TemplateRenderedSuccess in {status}"));
    assert_eq!(rendered["status"], "True");
    assert_eq!(rendered["message"], "template rendered successfully");
    let template: Value = serde_saphyr::from_str(template_data).expect("template YAML");
    assert_eq!(status["globalTimeout"], template["global_timeout"]);
    let tasks = status["tasks"].as_array().expect("tasks");
    let template_tasks = template["tasks"].as_array().expect("template tasks");
    assert_eq!(tasks.len(), template_tasks.len());
    for (task, template_task) in tasks.iter().zip(template_tasks) {
        assert_eq!(task["name"], template_task["name"]);
        assert_eq!(task["agentID"], mac, "the worker rendered from hardwareMap");
        let names: Vec<&Value> = task["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|action| &action["name"])
            .collect();
        let expected: Vec<&Value> = template_task["actions"]
            .as_array()
            .expect("template actions")
            .iter()
            .map(|action| &action["name"])
            .collect();
        assert_eq!(names, expected, "{machine}: our actions, in order");
        for action in task["actions"].as_array().expect("actions") {
            assert_eq!(action["state"], "SUCCESS", "{machine}: {action}");
        }
    }
    let stream = &tasks[0]["actions"][0];
    assert_eq!(stream["name"], "stream-harvester");
    assert_eq!(
        stream["environment"]["DEST_DISK"], "/dev/nvme0n1",
        "rendered from the Hardware's first disk"
    );
    let text = tasks.iter().map(Value::to_string).collect::<String>();
    assert!(
        !text.contains("{{"),
        "{machine}: unrendered template text in {text}"
    );
}

/// The install Template as issue 11 found it on main: a literal `{{…}}` in the header comment.
/// The real controller parses the whole `data` as a Go template, so it cannot render it for any
/// machine; genesis must stop the install at once with the controller's message, not wait out
/// the step's timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_the_real_controller_cannot_render_fails_the_install_fast() {
    tokio::time::timeout(LIMIT, async {
        let world = World::start_with(
            WorldOptions::with_real_tinkerbell(reference_bmcs()).expect("reference scenario"),
        )
        .await
        .expect("test world starts");
        let lab = LoopbackLab::build(
            GENESIS,
            &world,
            Options {
                phases: Some(&[2, 3]),
            },
        )
        .await;
        let template = lab.phases.join("templates/harvester-install.yaml");
        let shipped = std::fs::read_to_string(&template).expect("template");
        std::fs::write(
            &template,
            format!("# Tinkerbell fills in `{{{{…}}}}` per machine.\n{shipped}"),
        )
        .expect("write the broken template");
        lab.prepare_platform(&world).await;

        let started = Instant::now();
        let output = lab.genesis(&["up"]).await;
        let took = started.elapsed();
        let (_, stderr) = text(&output);
        assert_ne!(output.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains("the Tinkerbell controller cannot render Template")
                && stderr.contains("for ms-02-1"),
            "{stderr}"
        );
        // Go's text/template on the comment's `{{…}}`.
        assert!(
            stderr.contains("error rendering template")
                && stderr.contains("unrecognized character in action"),
            "the controller's own message: {stderr}"
        );
        assert!(
            took < Duration::from_secs(120),
            "failed fast, not at the step's timeout: {took:?}"
        );
        let workflow = dynamic(&world, &workflow_resource())
            .get("harvester-install-ms-02-1-1")
            .await
            .expect("Workflow");
        assert_eq!(workflow.data["status"]["templateRendering"], "failed");
        assert!(
            workflow.data["status"]["tasks"].is_null(),
            "nothing rendered: {}",
            workflow.data["status"]
        );
        let jobs = dynamic(&world, &rufio_job_resource())
            .list(&ListParams::default())
            .await
            .expect("Jobs");
        assert!(jobs.items.is_empty(), "no machine was power-cycled");
        world.shutdown().await;
    })
    .await
    .expect("the test finishes in time");
}
