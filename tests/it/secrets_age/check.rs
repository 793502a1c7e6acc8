//! `genesis secrets check`: names with ok, missing or malformed, never values (moved from
//! secrets_age.rs).

use super::*;

#[test]
fn check_lists_names_with_ok_missing_or_malformed_never_values() {
    let mut lab = Lab::new();
    let plaintext = lab.plaintext("secrets.yaml");
    let secrets = secrets_of(&plaintext);
    let plaintext_arg = plaintext.to_str().expect("utf-8");

    let output = lab.genesis(&["--secrets", plaintext_arg, "secrets", "check"], &[]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    for name in [
        "bmc.ms-02-1.password",
        "harvester.token",
        "ssh.private_key",
        "talos.cp-2.machine_config",
    ] {
        assert!(
            text.lines()
                .any(|line| line.trim_start().starts_with(name) && line.contains(" OK ")),
            "{name} OK in:\n{text}"
        );
    }
    assert!(
        text.contains("not referenced by any step: argocd.api_token"),
        "{text}"
    );

    // Remove the token and give a BMC password a trailing newline (a block scalar): one
    // missing, one malformed; an SSH key that does not load is malformed too.
    let original = std::fs::read_to_string(&plaintext).expect("read");
    let broken = original
        .replace("  token: \"fake-harvester-cluster-token\"\n", "")
        .replace(
            "    password: \"fake-amt-password-2!\"\n",
            "    password: |\n      fake-amt-password-2!\n",
        );
    assert_ne!(broken, original);
    write_private(&plaintext, &broken);
    let example = lab.path("example.yaml");
    let example_text = std::fs::read_to_string(repo().join("secrets.example")).expect("example");
    let key_body = example_text
        .lines()
        .skip_while(|line| !line.contains("BEGIN OPENSSH PRIVATE KEY"))
        .nth(1)
        .expect("the example key's first line");
    write_private(
        &example,
        &example_text.replacen(key_body, "    FAKE-KEY", 1),
    );
    let output = lab.genesis(&["--secrets", plaintext_arg, "secrets", "check"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    let line_of = |name: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} listed in:\n{text}"))
            .to_owned()
    };
    assert!(line_of("harvester.token ").contains(" missing "), "{text}");
    assert!(
        line_of("bmc.ms-02-2.password").contains(" malformed "),
        "{text}"
    );
    assert!(line_of("bmc.ms-02-1.password").contains(" OK "), "{text}");
    assert!(text.contains("2 of "), "{text}");
    let output = lab.genesis(
        &[
            "--secrets",
            example.to_str().expect("utf-8"),
            "secrets",
            "check",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    assert!(
        text.lines()
            .any(|line| line.trim_start().starts_with("ssh.private_key")
                && line.contains("not an unencrypted OpenSSH private key")),
        "{text}"
    );

    lab.assert_no_leak(&secrets, &["fake-amt-password-2!"]);
}
