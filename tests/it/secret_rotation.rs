//! Rotating a secret's value re-plans the steps that use it (issue 14, "Health and
//! describe"): each step's fingerprint covers a keyed HMAC of every secret it references (under
//! the state directory's `plan.key`), so after a changed value `plan` and `status` mark exactly
//! the steps using it and their dependents as changed, naming the secret, and `up` runs them
//! again. Neither the value nor its keyed digest reaches any output or the journal.

use crate::GENESIS;
use genesis_harness::exec::{World, code, exec_step, phase, stderr, stdout};
use ring::hmac;

const OLD: &str = "fake-harvester-cluster-token";
const NEW: &str = "rotated-harvester-token-7f3a9c";

/// `hmac-sha256:…` of `value` under the state directory's key, as genesis makes it.
fn keyed_digest(world: &World, name: &str, value: &str) -> String {
    let key_text = std::fs::read(world.state.join("plan.key")).expect("plan.key was made");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_text);
    let mut context = hmac::Context::with_key(&key);
    context.update(name.as_bytes());
    context.update(b"\0");
    context.update(value.as_bytes());
    let tag = context.sign();
    tag.as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn steps_of(plan: &serde_json::Value) -> std::collections::BTreeMap<String, serde_json::Value> {
    plan["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps").iter())
        .map(|step| (step["id"].as_str().expect("id").to_owned(), step.clone()))
        .collect()
}

//   uses (env TOKEN = secret harvester.token) ──> after     (phase 2)
//   plain                                                   (phase 2, no secret)
//   later                                                   (phase 3, behind the barrier)
#[test]
fn a_rotated_secret_re_plans_the_steps_using_it_and_never_shows_its_value_or_digest() {
    let uses = exec_step("uses", 1, &[], "test -n \"$TOKEN\"", "").replace(
        "    timeout: 30s\n",
        "      env: {TOKEN: {secret: harvester.token}}\n    timeout: 30s\n",
    );
    let world = World::with_phases(
        GENESIS,
        &[
            (
                "phase-2.yaml",
                phase(
                    2,
                    &[
                        uses,
                        exec_step("after", 2, &["uses"], "true", ""),
                        exec_step("plain", 3, &[], "true", ""),
                    ],
                ),
            ),
            (
                "phase-3.yaml",
                phase(3, &[exec_step("later", 4, &[], "true", "")]),
            ),
        ],
    );
    let mut outputs = Vec::new();
    let first = world.run(&["up"]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    outputs.push(first);
    let unchanged = world.run(&["plan", "--offline", "-o", "json"]);
    assert_eq!(code(&unchanged), 0, "{}", stderr(&unchanged));
    let before = steps_of(&serde_json::from_str(&stdout(&unchanged)).expect("plan json"));
    assert!(
        before.values().all(|step| step["state"] == "done"),
        "{before:?}"
    );
    outputs.push(unchanged);

    // Rotate the token in the secrets file.
    let text = std::fs::read_to_string(&world.secrets).expect("secrets");
    assert!(text.contains(OLD));
    std::fs::write(&world.secrets, text.replace(OLD, NEW)).expect("rotate");

    let plan = world.run(&["plan", "--offline", "-o", "json"]);
    assert_eq!(code(&plan), 0, "{}", stderr(&plan));
    let steps = steps_of(&serde_json::from_str(&stdout(&plan)).expect("plan json"));
    assert_eq!(steps["uses"]["state"], "changed-inputs");
    assert_eq!(steps["uses"]["why"], "secret `harvester.token` changed");
    assert_eq!(steps["after"]["state"], "changed-inputs");
    assert_eq!(steps["after"]["why"], "upstream `uses` changed");
    assert_eq!(steps["plain"]["state"], "done");
    // The barrier: a later phase follows a change of an earlier one, as for any input.
    assert_eq!(steps["later"]["state"], "changed-inputs");
    outputs.push(plan);
    let text_plan = world.run(&["plan", "--offline"]);
    assert!(
        stdout(&text_plan).contains("changed: secret `harvester.token` changed"),
        "{}",
        stdout(&text_plan)
    );
    outputs.push(text_plan);
    let status = world.run(&["status"]);
    assert!(
        stdout(&status).contains("changed inputs (secret `harvester.token` changed)"),
        "{}",
        stdout(&status)
    );
    outputs.push(status);

    let second = world.run(&["up"]);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    outputs.push(second);
    assert_eq!(world.starts_of("uses"), 2);
    assert_eq!(world.starts_of("after"), 2);
    assert_eq!(world.starts_of("later"), 2);
    assert_eq!(
        world.starts_of("plain"),
        1,
        "a step without the secret is left alone"
    );
    let settled = world.run(&["plan", "--offline", "-o", "json"]);
    let steps = steps_of(&serde_json::from_str(&stdout(&settled)).expect("plan json"));
    assert!(
        steps.values().all(|step| step["state"] == "done"),
        "{steps:?}"
    );
    outputs.push(settled);

    // Neither value nor keyed digest anywhere: outputs, the journal, any state file but the key.
    let digests = [
        keyed_digest(&world, "harvester.token", OLD),
        keyed_digest(&world, "harvester.token", NEW),
    ];
    let mut texts: Vec<(String, String)> = outputs
        .iter()
        .flat_map(|output| [stdout(output), stderr(output)])
        .map(|text| ("output".to_owned(), text))
        .collect();
    for entry in std::fs::read_dir(&world.state).expect("state dir") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|name| name == "plan.key") || path.is_dir() {
            continue;
        }
        let bytes = std::fs::read(&path).expect("state file");
        texts.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    assert!(
        world.journal_text().contains("\"secrets\""),
        "tags are journaled"
    );
    for (place, text) in &texts {
        for needle in [OLD, NEW, digests[0].as_str(), digests[1].as_str()] {
            assert!(
                !text.contains(needle),
                "{place} contains a secret or its digest"
            );
        }
    }
}
