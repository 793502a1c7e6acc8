//! Fast tier: `genesis plan` on recorded API answers, no API server.
//!
//! The real `genesis` binary plans the shipped lab against a replay of what the test world's
//! kube-apiserver (with the upstream CRDs) answered to the same plan: before anything exists,
//! after steps 5–7 ran, and after someone edited a Hardware by hand. `plan_live` records these
//! answers and fails when the real server answers differently, so the replays cannot drift
//! (crates/harness/src/recorded.rs). Each test takes about a second.

use std::path::Path;

use genesis_harness::recorded::{Recording, Replayer, fixture, write_kubeconfig};
use serde_json::Value;

use super::plan_live::{genesis, observed, ok, secret_values, secrets_file, steps};

const MACHINES: [&str; 3] = ["ms-02-1", "ms-02-2", "ms-02-3"];
const TEMPLATE: &str = "harvester-install-v1.7.0";

struct Replayed {
    json: Value,
    text: String,
    all_output: String,
}

/// Plans (JSON and text) against a replay of the recording `name`; every request the plan
/// made must be in the recording.
async fn plan_on(name: &str) -> Replayed {
    let replayer = Replayer::start(Recording::load(&fixture(name))).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(&kubeconfig, replayer.address);
    let secrets = secrets_file(dir.path(), "secrets.yaml", |text| text);
    let state = dir.path().join("state");
    let run = |args: &'static [&'static str]| {
        let (secrets, state, kubeconfig) = (secrets.clone(), state.clone(), kubeconfig.clone());
        tokio::task::spawn_blocking(move || genesis(&secrets, &state, &kubeconfig, args))
    };
    let json_out = run(&["plan", "-o", "json"]).await.expect("genesis plan");
    let text_out = run(&["plan"]).await.expect("genesis plan");
    assert_eq!(
        replayer.unrecorded(),
        Vec::<String>::new(),
        "requests not in {name}"
    );
    let json: Value = serde_json::from_str(&ok(&json_out)).expect("plan JSON");
    assert_eq!(json["mode"], "live");
    assert_eq!(json["observation"]["platform"], "reachable");
    let text = ok(&text_out);
    let all_output = [&json_out, &text_out]
        .iter()
        .flat_map(|output| [&output.stdout, &output.stderr])
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
        .collect();
    assert!(!state_written(&state), "plan wrote a journal");
    Replayed {
        json,
        text,
        all_output,
    }
}

fn state_written(state: &Path) -> bool {
    state.join("journal.ndjson").exists()
}

fn no_secret_values(plan: &Replayed) {
    for value in secret_values(&[]) {
        assert!(
            !plan.all_output.contains(&value),
            "a secret value ({} chars) reached the plan output",
            value.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_anything_exists_the_writing_steps_create_their_objects() {
    let plan = plan_on("plan-fresh").await;
    let all = steps(&plan.json);
    let template = observed(&all, "install-template");
    assert_eq!(template["outcome"], "will-change", "{template}");
    assert_eq!(
        template["summary"],
        format!("Template tink-system/{TEMPLATE}: create")
    );
    for machine in MACHINES {
        assert_eq!(
            observed(&all, &format!("bmc/{machine}"))["summary"],
            format!(
                "Secret tink-system/bmc-{machine}: create; Machine tink-system/{machine}: create"
            )
        );
        assert_eq!(
            observed(&all, &format!("hardware/{machine}"))["summary"],
            format!("Hardware tink-system/{machine}: create")
        );
    }
    let argocd = observed(&all, "register-argocd");
    assert_eq!(argocd["outcome"], "depends-on-earlier", "{argocd}");
    assert!(
        plan.text
            .contains(&format!("Template tink-system/{TEMPLATE}: create")),
        "{}",
        plan.text
    );
    no_secret_values(&plan);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_steps_5_to_7_ran_nothing_would_change() {
    let plan = plan_on("plan-applied").await;
    let all = steps(&plan.json);
    for id in ["install-template".to_owned()]
        .into_iter()
        .chain(MACHINES.iter().map(|m| format!("bmc/{m}")))
        .chain(MACHINES.iter().map(|m| format!("hardware/{m}")))
    {
        assert_eq!(observed(&all, &id)["outcome"], "no-change", "{id}");
        assert_eq!(all[&id]["preview"], "no-change", "{id}");
    }
    assert_eq!(
        observed(&all, "bmc/ms-02-1")["summary"],
        "Secret tink-system/bmc-ms-02-1: no change (data.password unchanged, data.username unchanged); Machine tink-system/ms-02-1: no change"
    );
    no_secret_values(&plan);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_edited_on_the_server_shows_as_a_diff() {
    let plan = plan_on("plan-edited").await;
    let all = steps(&plan.json);
    let hardware = observed(&all, "hardware/ms-02-2");
    assert_eq!(hardware["outcome"], "will-change", "{hardware}");
    assert_eq!(
        hardware["summary"],
        "Hardware tink-system/ms-02-2: update (spec.userData unchanged)"
    );
    let diff = hardware["diff"].as_str().expect("a diff");
    assert!(diff.contains("-      device: \"/dev/sdz\""), "{diff}");
    assert!(diff.contains("+      device: \"/dev/"), "{diff}");
    assert!(
        diff.contains("--- Hardware tink-system/ms-02-2 (live)"),
        "{diff}"
    );
    assert!(!diff.contains("resourceVersion") && !diff.contains("managedFields"));
    assert!(plan.text.contains("+      device:"), "{}", plan.text);
    assert_eq!(observed(&all, "hardware/ms-02-1")["outcome"], "no-change");
    no_secret_values(&plan);
}
