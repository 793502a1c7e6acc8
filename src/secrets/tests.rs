//! Secrets tests: redaction, the file's shape and ownership, age round trips, value formats.

use std::path::{Path, PathBuf};

use super::*;

#[test]
fn debug_and_display_redact() {
    let secret = SecretString::new("hunter2");
    assert_eq!(format!("{secret}"), "[redacted]");
    assert!(!format!("{secret:?}").contains("hunter2"));
    let secrets = Secrets::from_pairs([("harvester.token", "hunter2")]);
    assert!(!format!("{secrets:?}").contains("hunter2"));
}

#[test]
fn flattens_nested_names() {
    let secrets = Secrets::parse(
        Path::new("s.yaml"),
        "bmc:\n  ms-02-1:\n    username: admin\n    password: \"p w\"\nharvester:\n  token: t\n",
    )
    .expect("valid secrets");
    let names: Vec<&str> = secrets.names().collect();
    assert_eq!(
        names,
        [
            "bmc.ms-02-1.password",
            "bmc.ms-02-1.username",
            "harvester.token"
        ]
    );
    assert_eq!(
        secrets
            .get("bmc.ms-02-1.password")
            .map(SecretString::expose),
        Some("p w")
    );
}

#[test]
fn only_owner_access_is_private_enough() {
    assert_eq!(too_open(0o100600), None);
    assert_eq!(too_open(0o400), None);
    assert_eq!(too_open(0o700), None);
    assert_eq!(
        too_open(0o644).as_deref(),
        Some("group may read, others may read")
    );
    assert_eq!(too_open(0o640).as_deref(), Some("group may read"));
    assert_eq!(too_open(0o602).as_deref(), Some("others may write"));
    assert_eq!(
        too_open(0o670).as_deref(),
        Some("group may read and write and execute")
    );
}

#[test]
fn refuses_a_readable_file_with_the_chmod_that_fixes_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("my secrets.yaml");
    std::fs::write(&path, "harvester:\n  token: sup3rs3cret\n").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let message = Secrets::load(&path)
        .expect_err("0644 is refused")
        .to_string();
    assert!(message.contains("mode 0644"), "{message}");
    assert!(
        message.contains(&format!("chmod 600 '{}'", path.display())),
        "{message}"
    );
    assert!(!message.contains("sup3rs3cret"), "{message}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let secrets = Secrets::load(&path).expect("0600 is accepted");
    assert_eq!(
        secrets.get("harvester.token").map(SecretString::expose),
        Some("sup3rs3cret")
    );
}

#[test]
fn the_age_file_is_read_when_the_plaintext_is_absent() {
    let present = |existing: &'static [&'static str]| {
        move |path: &Path| existing.iter().any(|known| Path::new(known) == path)
    };
    let given = Path::new("secrets.yaml");
    assert_eq!(
        choose_file(given, present(&["secrets.yaml", "secrets.yaml.age"])),
        given
    );
    assert_eq!(
        choose_file(given, present(&["secrets.yaml.age"])),
        Path::new("secrets.yaml.age")
    );
    assert_eq!(choose_file(given, present(&[])), given);
    let encrypted = Path::new("team/s.yaml.age");
    assert_eq!(choose_file(encrypted, present(&[])), encrypted);
    assert!(is_age_file(encrypted) && !is_age_file(given));
    assert_eq!(
        recipients_file(encrypted),
        Path::new("team/s.yaml.age.recipients")
    );
}

#[test]
fn identity_lookup_is_flag_then_variable_then_home() {
    let home = Path::new("/home/op");
    let variable = std::ffi::OsStr::new("/keys/env.txt");
    let found = |flag: Option<&str>, env: Option<&std::ffi::OsStr>, home: Option<&Path>| {
        identity_location(flag.map(Path::new), env, home)
            .map(|location| (location.path, location.origin))
    };
    assert_eq!(
        found(Some("/keys/flag.txt"), Some(variable), Some(home)),
        Some((PathBuf::from("/keys/flag.txt"), IdentityOrigin::Flag))
    );
    assert_eq!(
        found(None, Some(variable), Some(home)),
        Some((PathBuf::from("/keys/env.txt"), IdentityOrigin::Environment))
    );
    assert_eq!(
        found(None, Some(std::ffi::OsStr::new("")), Some(home)),
        Some((
            PathBuf::from("/home/op/.config/genesis/age.txt"),
            IdentityOrigin::Default
        ))
    );
    assert_eq!(found(None, None, None), None);
}

fn identity() -> (String, AgeIdentity) {
    use ::age::secrecy::ExposeSecret;
    let key = ::age::x25519::Identity::generate();
    let text = format!(
        "# created: now\n# public key: {}\n{}\n",
        key.to_public(),
        key.to_string().expose_secret()
    );
    let identity = AgeIdentity::parse(Path::new("age.txt"), text.as_bytes()).expect("parses");
    (text, identity)
}

#[test]
fn age_round_trip_wrong_identity_and_corruption() {
    let (_, mine) = identity();
    let (_, theirs) = identity();
    let plaintext = b"harvester:\n  token: sup3rs3cret\n";
    let path = Path::new("s.yaml.age");
    let ciphertext = encrypt(path, plaintext, &mine.recipients()).expect("encrypts");
    assert!(
        !ciphertext
            .windows(b"sup3rs3cret".len())
            .any(|window| window == b"sup3rs3cret")
    );
    assert_eq!(
        decrypt(path, &ciphertext, &mine)
            .expect("decrypts")
            .as_slice(),
        plaintext
    );

    let wrong = decrypt(path, &ciphertext, &theirs).expect_err("not a recipient");
    assert!(
        matches!(wrong, SecretsError::WrongIdentity { .. }),
        "{wrong}"
    );
    assert!(
        wrong.to_string().contains(&theirs.public_keys()[0]),
        "{wrong}"
    );

    let mut damaged = ciphertext.clone();
    let last = damaged.len() - 3;
    damaged[last] ^= 0x55;
    let corrupt = decrypt(path, &damaged, &mine).expect_err("altered payload");
    assert!(matches!(corrupt, SecretsError::Corrupt { .. }), "{corrupt}");
    let not_age = decrypt(path, plaintext, &mine).expect_err("plaintext is no age file");
    assert!(matches!(not_age, SecretsError::Corrupt { .. }), "{not_age}");
    assert!(matches!(
        encrypt(path, plaintext, &[]),
        Err(SecretsError::Encrypt { .. })
    ));
}

#[test]
fn identity_and_recipient_files_name_the_bad_line_only() {
    let (text, identity) = identity();
    let public = identity.public_keys().remove(0);
    let broken = text.replace("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-X");
    let error =
        AgeIdentity::parse(Path::new("age.txt"), broken.as_bytes()).expect_err("not an identity");
    let message = error.to_string();
    assert!(message.starts_with("age.txt:3:1: line 3 "), "{message}");
    assert!(!message.contains("AGE-SECRET-KEY-X"), "{message}");
    assert!(matches!(
        AgeIdentity::parse(Path::new("age.txt"), b"# nothing\n"),
        Err(SecretsError::IdentityEmpty { .. })
    ));
    assert!(!format!("{identity:?}").contains("AGE-SECRET-KEY"));

    let recipients =
        parse_recipients(Path::new("r.txt"), &format!("# team\n\n{public}\n")).expect("recipients");
    assert_eq!(recipients.len(), 1);
    let error = parse_recipients(Path::new("r.txt"), &format!("{public}\nage1nope\n"))
        .expect_err("bad recipient");
    assert!(error.to_string().starts_with("r.txt:2:1: "), "{error}");
}

#[test]
fn values_are_checked_by_the_parameter_that_uses_them() {
    assert_eq!(
        SecretFormat::of_param("params.ssh_key"),
        SecretFormat::SshPrivateKey
    );
    assert_eq!(
        SecretFormat::of_param("params.user_data"),
        SecretFormat::YamlMapping
    );
    assert_eq!(
        SecretFormat::of_param("params.password"),
        SecretFormat::Line
    );
    let check = |format: SecretFormat, value: &str| format.check(&SecretString::new(value));
    assert_eq!(check(SecretFormat::Line, "pw"), Ok(()));
    assert_eq!(check(SecretFormat::Line, " "), Err("empty"));
    assert!(check(SecretFormat::Line, "pw\n").is_err());
    assert!(check(SecretFormat::Line, " pw").is_err());
    assert_eq!(
        check(
            SecretFormat::YamlMapping,
            "version: v1alpha1\nmachine: {type: controlplane}\n"
        ),
        Ok(())
    );
    assert!(check(SecretFormat::YamlMapping, "just text").is_err());
    assert!(
        check(
            SecretFormat::SshPrivateKey,
            "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE\n-----END OPENSSH PRIVATE KEY-----\n"
        )
        .is_err()
    );
}

#[test]
fn harvester_tokens_are_printable_ascii_as_the_installer_requires() {
    assert_eq!(
        SecretFormat::of("tinkerbell.hardware", "params.token"),
        SecretFormat::HarvesterToken
    );
    assert_eq!(
        SecretFormat::of("argocd.cluster-secret", "params.token"),
        SecretFormat::Line
    );
    let check = |value: &str| SecretFormat::HarvesterToken.check(&SecretString::new(value));
    // The cases of harvester-installer's TestCheckToken, and the ends of the class.
    assert_eq!(check("AlphanumericValue12345"), Ok(()));
    assert_eq!(
        check("Hello, @Harvester, you're \"awesome\"! [md](url)"),
        Ok(())
    );
    assert_eq!(check("a\\b^c`d{e}|f~g[h]"), Ok(()));
    assert!(check("\u{c4}\u{f6}\u{e9}").is_err());
    assert!(check("tab\there").is_err());
    assert_eq!(check(""), Err("empty"));
    assert!(check(" token").is_err());
}

#[test]
fn multi_document_yaml_is_a_mapping_when_every_document_is() {
    let check = |value: &str| SecretFormat::YamlMapping.check(&SecretString::new(value));
    assert_eq!(
        check("version: v1alpha1\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n"),
        Ok(())
    );
    assert!(check("a: 1\n---\n- list\n").is_err());
    assert!(check("---\n").is_err());
}

#[test]
fn every_value_keeps_its_line_and_column() {
    let secrets = Secrets::parse(
        Path::new("s.yaml"),
        "# comment\nharvester:\n  token: \"\"\nssh:\n  private_key: |\n    KEY\n",
    )
    .expect("parses");
    assert_eq!(secrets.position("harvester.token"), (3, 10));
    // A block scalar is placed at its first line of content.
    assert_eq!(secrets.position("ssh.private_key").0, 6);
    assert_eq!(secrets.position("nope"), (0, 0));
}

#[test]
fn malformed_file_names_the_line_but_not_the_value() {
    let error = Secrets::parse(
        Path::new("s.yaml"),
        "harvester:\n  token: [sup3rs3cret, x]\n",
    )
    .expect_err("a list is not a secret");
    let message = error.to_string();
    assert!(message.starts_with("s.yaml:2:"), "{message}");
    assert!(!message.contains("sup3rs3cret"), "{message}");
}

mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Bounded so that a normal `cargo test` spends a second or two here.
        #![proptest_config(ProptestConfig::with_cases(256))]

        // Any text at all: the secrets parser returns or refuses, never panics, and an
        // error never quotes a value-looking token of the input.
        #[test]
        fn the_secrets_parser_never_panics(text in "(?s).{0,400}") {
            let _ = Secrets::parse(Path::new("s.yaml"), &text);
        }

        // YAML-shaped input: nesting, block scalars, anchors, tags, odd scalars.
        #[test]
        fn yaml_shaped_secrets_never_panic(
            lines in proptest::collection::vec(
                (
                    0usize..4,
                    "[a-z_.0-9-]{0,12}",
                    prop_oneof![
                        Just(String::new()),
                        Just("|".to_owned()),
                        Just(">-".to_owned()),
                        Just("&a x".to_owned()),
                        Just("*a".to_owned()),
                        Just("!!binary aGk=".to_owned()),
                        Just("[1, {a: b}]".to_owned()),
                        Just("~".to_owned()),
                        Just("\"unterminated".to_owned()),
                        "[ -~]{0,20}",
                    ],
                ),
                0..16,
            ),
        ) {
            let mut text = String::new();
            for (indent, key, value) in lines {
                text.push_str(&"  ".repeat(indent));
                text.push_str(&key);
                text.push_str(": ");
                text.push_str(&value);
                text.push('\n');
            }
            if let Err(error) = Secrets::parse(Path::new("s.yaml"), &text) {
                let _ = (error.to_string(), error.help());
            }
        }

        // The age identity parser, on any bytes.
        #[test]
        fn the_identity_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = AgeIdentity::parse(Path::new("age.txt"), &bytes);
        }
    }
}
