//! Journal records and assertions on what a run left: steps recorded done for any lab, leak
//! searches, outputs as text, kubeconfig and Secret fields (moved from loopback.rs).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use genesis_engine::journal::RecordKind;
use genesis_engine::{Journal, Scrubber};
use serde_json::Value;

/// Records steps of `paths`' graph as done, with these outputs, in the journal of `state`, as
/// their own run would have.
pub fn record_done_in(
    paths: &genesis::inputs::InputPaths,
    state: &Path,
    steps: &[(&str, serde_json::Map<String, Value>)],
) {
    // With the state directory's key, as `genesis up` loads them: steps using secrets carry
    // their keyed digests, and so the fingerprints `up` compares.
    let options = genesis::inputs::LoadOptions {
        state_dir: Some(state.to_owned()),
        ..Default::default()
    };
    let mut inputs = genesis::inputs::load_with(paths, &options)
        .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
    inputs
        .digest_secrets(state)
        .expect("the state directory's key");
    let (mut journal, _) = Journal::open(state, Arc::new(Scrubber::empty())).expect("journal");
    for (id, outputs) in steps {
        let step = inputs
            .graph
            .steps()
            .iter()
            .find(|step| step.id.as_str() == *id)
            .unwrap_or_else(|| panic!("no step {id}"));
        journal
            .append(RecordKind::StepSucceeded {
                step: step.id.clone(),
                attempts: 1,
                fingerprint: genesis_engine::fingerprint::of(step),
                duration_ms: 0,
                outputs: outputs.clone(),
                secrets: genesis_engine::fingerprint::secret_tags(step),
            })
            .expect("journal record");
    }
}

/// Panics naming the place when any of `leaks` occurs in any place's text (`places`: where the
/// text came from, and the text).
pub fn assert_no_leaks(places: &[(String, String)], leaks: &[String]) {
    for (place, text) in places {
        for leak in leaks {
            assert!(
                !text.contains(leak.as_str()),
                "a secret value reached {place}"
            );
        }
    }
}

/// stdout and stderr as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The value of `key` in the first user or cluster of a kubeconfig (`list`: `users` or
/// `clusters`, `entry`: `user` or `cluster`).
pub fn kubeconfig_field(kubeconfig: &Value, list: &str, entry: &str, key: &str) -> String {
    kubeconfig[list][0][entry][key]
        .as_str()
        .unwrap_or_else(|| panic!("{list}[0].{entry}.{key}"))
        .to_owned()
}

/// A Secret's `data.KEY` as text.
pub fn secret_text(secret: &k8s_openapi::api::core::v1::Secret, key: &str) -> String {
    let data = secret.data.as_ref().expect("data");
    String::from_utf8(
        data.get(key)
            .unwrap_or_else(|| panic!("data.{key}"))
            .0
            .clone(),
    )
    .expect("utf-8")
}

/// Lines of a PEM or OpenSSH key body: each would give the key away.
pub fn key_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(str::trim)
        .filter(|line| line.len() >= 20 && !line.starts_with("-----"))
        .map(str::to_owned)
        .collect()
}

pub(super) fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Object(map) => map.values().for_each(|value| leaves(value, out)),
        Value::Array(items) => items.iter().for_each(|value| leaves(value, out)),
        _ => {}
    }
}

/// Writes `text` to a new file readable by its owner only.
pub fn write_private(path: &Path, text: &str) {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
}

pub(super) fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .expect("URL with a port")
}
