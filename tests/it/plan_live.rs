//! Cluster test: `genesis plan` against a live Platform cluster (the test world's API server
//! with the upstream CRDs, and the simulated Rufio so that step 6 can finish). Before anything
//! exists the writing steps say `create`; after `genesis up` they say no change; a field
//! edited on the server shows as a diff; a changed secret shows as `changed` without its value;
//! a step built from an unrun step says so; and planning writes nothing.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use genesis::actions::rufio::machine_resource;
use genesis::actions::tinkerbell::{hardware_resource, template_resource};
use genesis_harness::recorded::{Recorder, fixture, write_kubeconfig};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const MACHINES: [&str; 3] = ["ms-02-1", "ms-02-2", "ms-02-3"];
const TEMPLATE: &str = "harvester-install-v1.7.0";
const NEW_PASSWORD: &str = "rotated-amt-password-3#";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A private (0600) secrets file: `secrets.example` with `edit` applied.
pub(crate) fn secrets_file(dir: &Path, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("secrets.example")).expect("secrets.example");
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).expect("write secrets");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

pub(crate) fn genesis(secrets: &Path, state: &Path, kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(secrets)
        .args(["--context", "default", "--kubeconfig"])
        .arg(kubeconfig)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .env_remove("GENESIS_LAB")
        .env_remove("GENESIS_PHASES")
        .output()
        .expect("run genesis")
}

pub(crate) fn ok(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

/// Every step of a JSON plan by id.
pub(crate) fn steps(plan: &Value) -> std::collections::BTreeMap<String, Value> {
    plan["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps").clone())
        .map(|step| (step["id"].as_str().expect("id").to_owned(), step))
        .collect()
}

struct Planned {
    json: Value,
    text: String,
    all_output: String,
}

fn plan(secrets: &Path, state: &Path, kubeconfig: &Path) -> Planned {
    let json_out = genesis(secrets, state, kubeconfig, &["plan", "-o", "json"]);
    let text_out = genesis(secrets, state, kubeconfig, &["plan"]);
    let json_text = ok(&json_out);
    let text = ok(&text_out);
    let all_output = [&json_out, &text_out]
        .iter()
        .flat_map(|output| [&output.stdout, &output.stderr])
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .collect();
    let json: Value = serde_json::from_str(&json_text).expect("plan JSON");
    assert_eq!(json["mode"], "live", "{json_text}");
    assert_eq!(json["observation"]["platform"], "reachable");
    Planned {
        json,
        text,
        all_output,
    }
}

pub(crate) fn observed<'a>(
    steps: &'a std::collections::BTreeMap<String, Value>,
    id: &str,
) -> &'a Value {
    &steps.get(id).unwrap_or_else(|| panic!("step {id}"))["observed"]
}

/// resourceVersion of every object steps 5–7 write.
async fn versions(client: &kube::Client) -> Vec<(String, String)> {
    let get = |resource: kube::api::ApiResource| {
        Api::<DynamicObject>::namespaced_with(client.clone(), "tink-system", &resource)
    };
    let mut out = Vec::new();
    let template = get(template_resource())
        .get(TEMPLATE)
        .await
        .expect("Template");
    out.push((
        format!("Template {TEMPLATE}"),
        template.metadata.resource_version.expect("rv"),
    ));
    for machine in MACHINES {
        for (kind, resource) in [
            ("Hardware", hardware_resource()),
            ("Machine", machine_resource()),
        ] {
            let object = get(resource).get(machine).await.expect("object");
            out.push((
                format!("{kind} {machine}"),
                object.metadata.resource_version.expect("rv"),
            ));
        }
        let secret = Api::<Secret>::namespaced(client.clone(), "tink-system")
            .get(&format!("bmc-{machine}"))
            .await
            .expect("Secret");
        out.push((
            format!("Secret bmc-{machine}"),
            secret.metadata.resource_version.expect("rv"),
        ));
    }
    out
}

/// Every secret value of the file, and their base64 forms (how a Secret carries them).
pub(crate) fn secret_values(extra: &[&str]) -> Vec<String> {
    use base64::Engine as _;
    let mut values: Vec<String> = [
        "fake-amt-password-1!",
        "fake-amt-password-2!",
        "fake-amt-password-3!",
        "fake-harvester-cluster-token",
        "fake-rancher-password",
    ]
    .iter()
    .chain(extra)
    .map(|value| (*value).to_owned())
    .collect();
    let encoded: Vec<String> = values
        .iter()
        .map(|value| base64::engine::general_purpose::STANDARD.encode(value))
        .collect();
    values.extend(encoded);
    values
}

/// Runs `genesis plan -o json` through a recorder in front of the real API server and checks
/// the recording `name` (tests/fixtures/recorded/) that the fast tier replays
/// (`recorded_plan`): it must be what the real server answers today.
async fn record(client: &kube::Client, secrets: &Path, state: &Path, name: &str) {
    let recorder = Recorder::start(client.clone()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, recorder.address);
    let output = tokio::task::spawn_blocking({
        let (secrets, state) = (secrets.to_owned(), state.to_owned());
        move || genesis(&secrets, &state, &kubeconfig, &["plan", "-o", "json"])
    })
    .await
    .expect("genesis plan");
    ok(&output);
    let about = format!(
        "`genesis plan -o json` on the shipped lab and secrets.example, recorded against the test \
         world's kube-apiserver by tests/it/plan_live.rs ({name}); replayed by \
         tests/it/recorded_plan.rs. Record again: GENESIS_RECORD=1 cargo test --test it plan_live"
    );
    recorder.finish(&about).assert_matches_file(&fixture(name));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_observes_the_platform_cluster_with_server_side_dry_runs() {
    let started = std::time::Instant::now();
    let world = World::start_with(WorldOptions {
        ssh: false,
        ..WorldOptions::with_simulator().expect("reference scenario")
    })
    .await
    .expect("test world starts");
    let client = world.platform.client.clone();
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some("tink-system".to_owned()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            },
        )
        .await
        .expect("namespace");
    let kubeconfig = world.platform.kubeconfig_path().to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = secrets_file(dir.path(), "secrets.yaml", |text| text);
    // The plan's own state dir has no journal: every step is pending and observed.
    let plan_state = tempfile::tempdir().expect("plan state");

    // 1. Nothing exists yet: steps 5, 6 and 7 create their objects.
    record(&client, &secrets, plan_state.path(), "plan-fresh").await;
    let before = plan(&secrets, plan_state.path(), &kubeconfig);
    let all = steps(&before.json);
    let template = observed(&all, "install-template");
    assert_eq!(template["outcome"], "will-change", "{template}");
    assert_eq!(
        template["summary"],
        format!("Template tink-system/{TEMPLATE}: create")
    );
    for machine in MACHINES {
        let bmc = observed(&all, &format!("bmc/{machine}"));
        assert_eq!(
            bmc["summary"],
            format!(
                "Secret tink-system/bmc-{machine}: create; Machine tink-system/{machine}: create"
            )
        );
        let hardware = observed(&all, &format!("hardware/{machine}"));
        assert_eq!(hardware["outcome"], "will-change");
        assert_eq!(
            hardware["summary"],
            format!("Hardware tink-system/{machine}: create")
        );
    }
    // Step 12 is built from the Harvester kubeconfig that an unrun step fetches.
    let argocd = observed(&all, "register-argocd");
    assert_eq!(argocd["outcome"], "depends-on-earlier", "{argocd}");
    assert!(
        argocd["summary"].as_str().unwrap().contains("not run yet"),
        "{argocd}"
    );
    assert!(
        before
            .text
            .contains(&format!("Template tink-system/{TEMPLATE}: create")),
        "{}",
        before.text
    );
    assert!(before.text.contains("live mode"), "{}", before.text);

    // 2. Apply steps 5–7, then plan again (no journal): nothing would change.
    let up_state = tempfile::tempdir().expect("up state");
    let output = genesis(
        &secrets,
        up_state.path(),
        &kubeconfig,
        &[
            "up",
            "--only",
            "install-template",
            "--only",
            "bmc",
            "--only",
            "hardware",
        ],
    );
    ok(&output);
    let applied = versions(&client).await;
    record(&client, &secrets, plan_state.path(), "plan-applied").await;
    let after = plan(&secrets, plan_state.path(), &kubeconfig);
    let all = steps(&after.json);
    for id in ["install-template"]
        .into_iter()
        .map(str::to_owned)
        .chain(MACHINES.iter().map(|m| format!("bmc/{m}")))
        .chain(MACHINES.iter().map(|m| format!("hardware/{m}")))
    {
        let found = observed(&all, &id);
        assert_eq!(found["outcome"], "no-change", "{id}: {found}");
        assert_eq!(all[&id]["preview"], "no-change");
    }
    assert_eq!(
        observed(&all, "bmc/ms-02-1")["summary"],
        "Secret tink-system/bmc-ms-02-1: no change (data.password unchanged, data.username unchanged); Machine tink-system/ms-02-1: no change"
    );
    // With the run's journal, the done steps are not planned at all.
    let journaled: Value = serde_json::from_str(&ok(&genesis(
        &secrets,
        up_state.path(),
        &kubeconfig,
        &["plan", "-o", "json"],
    )))
    .expect("json");
    let journaled = steps(&journaled);
    assert_eq!(journaled["hardware/ms-02-1"]["state"], "done");
    assert_eq!(journaled["hardware/ms-02-1"]["preview"], "nothing");
    assert!(journaled["hardware/ms-02-1"].get("observed").is_none());
    // The first install is pending and observed: no Workflow yet.
    assert_eq!(
        journaled["create-cluster/ms-02-1"]["observed"]["outcome"],
        "will-change"
    );

    // 3. Someone edits the Hardware on the server: the plan shows that field's diff.
    let hardware_api =
        Api::<DynamicObject>::namespaced_with(client.clone(), "tink-system", &hardware_resource());
    let original = hardware_api.get("ms-02-2").await.expect("Hardware");
    let device = original.data["spec"]["disks"][0]["device"]
        .as_str()
        .expect("device")
        .to_owned();
    hardware_api
        .patch(
            "ms-02-2",
            &PatchParams::apply("operator-by-hand").force(),
            &Patch::Apply(json!({
                "apiVersion": "tinkerbell.org/v1alpha1",
                "kind": "Hardware",
                "metadata": {"name": "ms-02-2", "namespace": "tink-system"},
                "spec": {"disks": [{"device": "/dev/sdz"}]},
            })),
        )
        .await
        .expect("edit the Hardware");
    let edited_versions = versions(&client).await;
    record(&client, &secrets, plan_state.path(), "plan-edited").await;
    let edited = plan(&secrets, plan_state.path(), &kubeconfig);
    let all = steps(&edited.json);
    let hardware = observed(&all, "hardware/ms-02-2");
    assert_eq!(hardware["outcome"], "will-change", "{hardware}");
    assert_eq!(
        hardware["summary"],
        "Hardware tink-system/ms-02-2: update (spec.userData unchanged)"
    );
    let diff = hardware["diff"].as_str().expect("a diff");
    assert!(
        diff.contains("-      device: \"/dev/sdz\"")
            && diff.contains(&format!("+      device: \"{device}\"")),
        "{diff}"
    );
    assert!(
        diff.contains("--- Hardware tink-system/ms-02-2 (live)"),
        "{diff}"
    );
    assert!(!diff.contains("resourceVersion") && !diff.contains("managedFields"));
    assert!(edited.text.contains("+      device:"), "{}", edited.text);
    assert_eq!(observed(&all, "hardware/ms-02-1")["outcome"], "no-change");

    // 4. A rotated BMC password: `changed`, and the value appears nowhere.
    let rotated = secrets_file(dir.path(), "rotated.yaml", |text| {
        text.replace("fake-amt-password-3!", NEW_PASSWORD)
    });
    let changed = plan(&rotated, plan_state.path(), &kubeconfig);
    let all = steps(&changed.json);
    let bmc = observed(&all, "bmc/ms-02-3");
    assert_eq!(bmc["outcome"], "will-change");
    assert_eq!(
        bmc["summary"],
        "Secret tink-system/bmc-ms-02-3: update (data.password changed, data.username unchanged); Machine tink-system/ms-02-3: no change"
    );
    assert!(
        bmc["diff"]
            .as_str()
            .expect("diff")
            .contains("+  password: \"<hidden, changed>\""),
        "{bmc}"
    );
    assert_eq!(observed(&all, "bmc/ms-02-1")["outcome"], "no-change");
    for run in [&before, &after, &edited, &changed] {
        for value in secret_values(&[NEW_PASSWORD]) {
            assert!(
                !run.all_output.contains(&value),
                "a secret value ({} chars) reached the plan output",
                value.len()
            );
        }
    }

    // 5. Planning wrote nothing.
    assert_ne!(applied, edited_versions, "the edit changed the Hardware");
    assert_eq!(versions(&client).await, edited_versions);
    assert!(
        !plan_state.path().join("journal.ndjson").exists(),
        "plan wrote a journal"
    );
    eprintln!("plan_live: {:?}", started.elapsed());
    world.shutdown().await;
}

#[test]
fn an_unreachable_cluster_falls_back_to_the_offline_plan_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = secrets_file(dir.path(), "secrets.yaml", |text| text);
    // A port nothing listens on: the connection is refused at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: default\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\ncurrent-context: default\n"
        ),
    )
    .expect("kubeconfig");
    let state = tempfile::tempdir().expect("state");
    let started = std::time::Instant::now();
    let output = genesis(
        &secrets,
        state.path(),
        &kubeconfig,
        &["plan", "-o", "json", "--observe-timeout", "3s"],
    );
    let json: Value = serde_json::from_str(&ok(&output)).expect("json");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(json["mode"], "offline");
    assert_eq!(json["observation"]["platform"], "unreachable");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("is not reachable").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("--offline"), "{stderr}");
    assert!(steps(&json)["hardware/ms-02-1"].get("observed").is_none());

    // --offline contacts nothing and says nothing about it.
    let output = genesis(
        &secrets,
        state.path(),
        &kubeconfig,
        &["plan", "-o", "json", "--offline"],
    );
    let json: Value = serde_json::from_str(&ok(&output)).expect("json");
    assert!(json.get("observation").is_none());
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
