//! Unit tests of `saved.rs`.

use super::*;
use crate::secrets::Secrets;

fn prints() -> Fingerprints {
    let map = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    };
    Fingerprints {
        schema: SAVED_SCHEMA.to_owned(),
        mode: "live".to_owned(),
        files: map(&[
            ("hardware/lab.yaml", "sha256:1"),
            ("phases/phase-3.yaml", "sha256:2"),
        ]),
        secrets_key: "k".to_owned(),
        secrets: map(&[("harvester.token", "hmac-sha256:a")]),
        steps: map(&[
            ("bmc/ms-02-1", "sha256:b"),
            ("hardware/ms-02-1", "sha256:c"),
        ]),
        states: map(&[("bmc/ms-02-1", "done"), ("hardware/ms-02-1", "pending")]),
        run: vec!["hardware/ms-02-1".to_owned()],
        observed: map(&[(
            "hardware/ms-02-1",
            "no-change: Hardware t/ms-02-1: no change",
        )]),
    }
}

#[test]
fn the_same_fingerprints_differ_in_nothing() {
    assert!(differences(&prints(), &prints()).is_empty());
}

#[test]
fn each_difference_is_named() {
    let saved = prints();
    let mut now = prints();
    now.files
        .insert("hardware/lab.yaml".to_owned(), "sha256:9".to_owned());
    now.secrets
        .insert("harvester.token".to_owned(), "hmac-sha256:z".to_owned());
    now.steps
        .insert("hardware/ms-02-1".to_owned(), "sha256:z".to_owned());
    now.states
        .insert("bmc/ms-02-1".to_owned(), "failed".to_owned());
    now.observed.insert(
        "hardware/ms-02-1".to_owned(),
        "will-change: Hardware t/ms-02-1: update".to_owned(),
    );
    let found = differences(&saved, &now);
    assert_eq!(
        found,
        [
            "file hardware/lab.yaml changed",
            "secret `harvester.token` has another value",
            "step `hardware/ms-02-1`: its resolved inputs changed",
            "step `bmc/ms-02-1`: the journal said `done` at plan time and says `failed` now",
            "step `hardware/ms-02-1`: the plan observed \"no-change: Hardware t/ms-02-1: no change\", now \"will-change: Hardware t/ms-02-1: update\"",
        ]
    );
}

#[test]
fn a_live_plan_needs_a_live_world() {
    let mut now = prints();
    now.mode = "offline".to_owned();
    now.observed.clear();
    assert_eq!(
        differences(&prints(), &now),
        ["the plan observed the Platform cluster, which cannot be observed now"]
    );
}

#[test]
fn another_key_is_said_once_instead_of_every_secret() {
    let mut now = prints();
    now.secrets_key = "other".to_owned();
    now.secrets
        .insert("harvester.token".to_owned(), "hmac-sha256:q".to_owned());
    let found = differences(&prints(), &now);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("another state directory"));
}

#[test]
fn keyed_fingerprints_hide_the_value_and_depend_on_the_key() {
    let secrets = Secrets::from_pairs([("harvester.token", "s3cret-token-value")]);
    let one = PlanKey::from_bytes(b"one");
    let two = PlanKey::from_bytes(b"two");
    let first = one.secrets(&secrets);
    assert_eq!(first, one.secrets(&secrets), "deterministic under one key");
    assert_ne!(
        first,
        two.secrets(&secrets),
        "another key, another fingerprint"
    );
    let print = &first["harvester.token"];
    assert!(print.starts_with("hmac-sha256:"));
    assert!(!print.contains("s3cret"));
    // Not the plain hash of the value: a guess cannot be checked without the key.
    assert!(!print.contains(&hex(
        digest::digest(&digest::SHA256, b"s3cret-token-value").as_ref()
    )));
}

#[test]
fn the_key_is_made_once_private_and_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    assert!(matches!(PlanKey::load(&state), Err(KeyError::NoKey { .. })));
    let made = PlanKey::load_or_create(&state).expect("made");
    let again = PlanKey::load(&state).expect("read");
    assert_eq!(made.id(), again.id());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(state.join(KEY_FILE))
            .expect("key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_plain_plan_is_not_a_saved_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plan.json");
    std::fs::write(&path, r#"{"schema": "genesis.plan/v1"}"#).expect("write");
    let error = read(&path).expect_err("no fingerprints");
    assert!(
        error.to_string().contains("no `saved` fingerprints"),
        "{error}"
    );
    write(&path, "{}").expect("write");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&path).expect("plan").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}
