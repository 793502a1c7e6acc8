//! One truth about inputs: `genesis validate` runs every check `genesis secrets check` runs
//! (an SSH key that loads, a token Harvester accepts, no empty value), reports every problem at
//! once at the secrets file's line, and the two commands agree; a typo'd field of the lab or a
//! phase file is answered with the field meant.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference lab's files in `dir` with `secrets.yaml` = secrets.example changed by `edit`.
fn lab_with_secrets(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let text = std::fs::read_to_string(repo().join("secrets.example")).expect("secrets.example");
    let path = dir.join("secrets.yaml");
    std::fs::write(&path, edit(text)).expect("write secrets");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

fn genesis(args: &[&str], secrets: &Path, lab: &Path, phases: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genesis"))
        .arg("--secrets")
        .arg(secrets)
        .arg("--lab")
        .arg(lab)
        .arg("--phases")
        .arg(phases)
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .env_remove("GENESIS_STATE_DIR")
        .env_remove("COMPLETE")
        .output()
        .expect("run genesis")
}

/// The line (1-based) of secrets.example that starts with `prefix` after its indentation.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|line| line.trim_start().starts_with(prefix))
        .expect(prefix)
        + 1
}

#[test]
fn validate_and_secrets_check_agree_on_a_bad_key_and_an_empty_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let example = std::fs::read_to_string(repo().join("secrets.example")).expect("example");
    let secrets = lab_with_secrets(dir.path(), |text| {
        let key_start = text
            .find("    -----BEGIN OPENSSH PRIVATE KEY-----\n")
            .expect("key");
        let key_end = text
            .find("    -----END OPENSSH PRIVATE KEY-----\n")
            .expect("key end");
        let broken = format!(
            "{}    -----BEGIN OPENSSH PRIVATE KEY-----\n    bm90LWEta2V5LXNlY3JldC12YWx1ZQ==\n{}",
            &text[..key_start],
            &text[key_end..]
        );
        broken.replace("  token: \"fake-harvester-cluster-token\"", "  token: \"\"")
    });
    let lab = repo().join("hardware/lab.yaml");
    let phases = repo().join("phases");

    let validate = genesis(&["validate"], &secrets, &lab, &phases);
    let stderr = String::from_utf8_lossy(&validate.stderr);
    assert_eq!(validate.status.code(), Some(2), "{stderr}");
    let file = secrets.display().to_string();
    let token_line = line_of(&example, "token: \"fake-harvester-cluster-token\"");
    // A block scalar's position is its first line of content.
    let key_line = line_of(&example, "private_key: |") + 1;
    assert!(
        stderr.contains(&format!(
            "{file}:{token_line}:10: harvester.token: the value is empty (it must be a Harvester token, used by hardware/ms-02-1 params.token and 2 more)"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:{key_line}:5: ssh.private_key: the value is not an unencrypted OpenSSH private key (it must be an OpenSSH private key, used by harvester-api params.ssh_key)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("2 problems in the input"), "{stderr}");
    assert!(!stderr.contains("bm90LWEta2V5"), "the value is never shown");

    let check = genesis(&["secrets", "check"], &secrets, &lab, &phases);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(2), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        row("harvester.token"),
        format!(
            "harvester.token malformed hardware/ms-02-1 params.token, hardware/ms-02-2 params.token and 1 more (empty; expected Harvester token) at {file}:{token_line}"
        )
    );
    assert_eq!(
        row("ssh.private_key"),
        format!(
            "ssh.private_key malformed harvester-api params.ssh_key (not an unencrypted OpenSSH private key; expected OpenSSH private key) at {file}:{key_line}"
        )
    );
    assert!(stdout.contains("2 of "), "{stdout}");

    // The shipped example passes both.
    let example_secrets = lab_with_secrets(dir.path(), |text| text);
    let validate = genesis(&["validate"], &example_secrets, &lab, &phases);
    assert!(validate.status.success(), "{validate:?}");
    let check = genesis(&["secrets", "check"], &example_secrets, &lab, &phases);
    assert!(check.status.success(), "{check:?}");
}

#[test]
fn a_token_harvester_refuses_and_an_empty_optional_secret_fail_validate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = lab_with_secrets(dir.path(), |text| {
        text.replace(
            "  token: \"fake-harvester-cluster-token\"",
            "  token: \"t\u{f6}ken\"",
        )
        .replace(
            "  api_token: \"fake-argocd-api-token\"",
            "  api_token: \" \"",
        )
    });
    let output = genesis(
        &["validate"],
        &secrets,
        &repo().join("hardware/lab.yaml"),
        &repo().join("phases"),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("harvester.token: the value is not a token Harvester accepts: it holds a character other than ASCII letters"),
        "{stderr}"
    );
    assert!(
        stderr.contains("argocd.api_token: the value is empty"),
        "{stderr}"
    );
    assert!(!stderr.contains("t\u{f6}ken"), "{stderr}");
}

#[test]
fn a_typo_in_a_field_name_suggests_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = lab_with_secrets(dir.path(), |text| text);
    let lab_text = std::fs::read_to_string(repo().join("hardware/lab.yaml")).expect("lab");
    let lab = dir.path().join("lab.yaml");
    std::fs::write(
        &lab,
        lab_text.replacen("    install_disk: ", "    instal_disk: ", 1),
    )
    .expect("write lab");
    let output = genesis(&["validate"], &secrets, &lab, &repo().join("phases"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let line = lab_text
        .lines()
        .position(|line| line.starts_with("    install_disk: "))
        .expect("install_disk")
        + 1;
    assert!(
        stderr.contains(&format!(
            "{}:{line}:5: unknown field `instal_disk`, did you mean `install_disk`?",
            lab.display()
        )),
        "{stderr}"
    );

    let phases = crate::phase4_vms::phases_copy(dir.path(), |text| {
        text.replacen("    timeout: ", "    timout: ", 1)
    });
    let output = genesis(
        &["validate"],
        &secrets,
        &repo().join("hardware/lab.yaml"),
        &phases,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown field `timout`, did you mean `timeout`?"),
        "{stderr}"
    );
}
