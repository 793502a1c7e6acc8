//! The secrets file, through the real `genesis` binary: age-encrypted secrets read like the
//! plaintext ones, the errors an operator meets (wrong identity, damaged file, missing key, a
//! plaintext file others may read), `genesis secrets edit` with a scripted `$EDITOR`, and
//! `genesis secrets check`. No secret value may appear in any command's output, and the
//! encrypted file must not hold them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use age::secrecy::ExposeSecret;
use genesis::secrets::Secrets;

mod check;

const ROTATED: &str = "rotated-harvester-token-7f3a9c";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch home with identities, secrets and a state directory; every command's output is
/// kept for the leak check.
struct Lab {
    dir: tempfile::TempDir,
    outputs: Vec<(String, String)>,
}

impl Lab {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let lab = Self {
            dir,
            outputs: Vec::new(),
        };
        std::fs::create_dir_all(lab.path(".config/genesis")).expect("config dir");
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a new X25519 identity (0600) and returns its public key and secret key text.
    fn identity(&self, name: &str) -> (String, String) {
        let key = age::x25519::Identity::generate();
        let secret = key.to_string().expose_secret().to_owned();
        let public = key.to_public().to_string();
        write_private(
            &self.path(name),
            &format!("# public key: {public}\n{secret}\n"),
        );
        (public, secret)
    }

    /// secrets.example as a private file, with the fake SSH key replaced by a real one so
    /// that `secrets check` can pass.
    fn plaintext(&self, name: &str) -> PathBuf {
        let text = std::fs::read_to_string(repo().join("secrets.example")).expect("example");
        let key_file = self.path("node_key");
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(&key_file)
            .status()
            .expect("ssh-keygen runs (installed by .ci/testworld-setup)");
        assert!(status.success());
        let key = std::fs::read_to_string(&key_file).expect("key");
        let begin = text
            .find("    -----BEGIN OPENSSH PRIVATE KEY-----")
            .expect("fake key in secrets.example");
        let end_marker = "-----END OPENSSH PRIVATE KEY-----\n";
        let end =
            text[begin..].find(end_marker).expect("end of the key") + begin + end_marker.len();
        let indented: String = key.lines().map(|line| format!("    {line}\n")).collect();
        let path = self.path(name);
        write_private(
            &path,
            &format!("{}{indented}{}", &text[..begin], &text[end..]),
        );
        path
    }

    /// Runs genesis from the repository (shipped lab and phases) with this lab's home.
    fn genesis(&mut self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_genesis"));
        command
            .arg("--state-dir")
            .arg(self.path("state"))
            .args(args)
            .current_dir(repo())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("GENESIS_AGE_IDENTITY")
            .env_remove("GENESIS_SECRETS")
            .env_remove("GENESIS_LAB")
            .env_remove("GENESIS_PHASES")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .env_remove("KUBECONFIG");
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().expect("run genesis");
        self.outputs.push((
            format!("{args:?} stdout"),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ));
        self.outputs.push((
            format!("{args:?} stderr"),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
        output
    }

    /// Asserts that no value of `secrets` (each line of multi-line ones too), no extra needle
    /// and no identity secret key appears in any output so far.
    fn assert_no_leak(&self, secrets: &Secrets, extra: &[&str]) {
        let mut needles: Vec<String> = extra.iter().map(|needle| (*needle).to_owned()).collect();
        for value in secrets.values() {
            let whole = value.expose().trim();
            // Short values (`admin`) are words any output may hold.
            if whole.len() >= 8 {
                needles.push(whole.to_owned());
            }
            // Lines of a multi-line value count from 20 characters, the length from which
            // genesis scrubs them one by one (docs/engine.md): `network:` or
            // `version: v1alpha1` in a Talos config are not secret on their own.
            for line in value.expose().lines().map(str::trim) {
                if line.len() >= 20 && !line.starts_with("-----") {
                    needles.push(line.to_owned());
                }
            }
        }
        assert!(needles.len() > 10, "the check has values to look for");
        for (what, output) in &self.outputs {
            for needle in &needles {
                assert!(
                    !output.contains(needle.as_str()),
                    "{what} printed a secret value ({} characters)",
                    needle.len()
                );
            }
            assert!(
                !output.contains("AGE-SECRET-KEY-1"),
                "{what} printed an identity"
            );
        }
    }
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn secrets_of(path: &Path) -> Secrets {
    Secrets::parse(path, &std::fs::read_to_string(path).expect("read")).expect("parses")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Decrypts with the age crate directly, as an independent reader of what genesis wrote.
fn decrypt(file: &Path, secret_key: &str) -> String {
    use std::io::Read;
    let key: age::x25519::Identity = secret_key.parse().expect("identity");
    let ciphertext = std::fs::read(file).expect("read encrypted");
    let decryptor = age::Decryptor::new_buffered(&ciphertext[..]).expect("age file");
    let mut text = String::new();
    decryptor
        .decrypt(std::iter::once(&key as &dyn age::Identity))
        .expect("decrypts")
        .read_to_string(&mut text)
        .expect("UTF-8");
    text
}

/// The plan's JSON with the run-specific parts (secrets file name, state paths) removed.
fn plan_json(output: &Output) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("plan JSON")
}

#[test]
fn age_round_trip_gives_the_same_plan_and_errors_are_clear() {
    let mut lab = Lab::new();
    let plaintext = lab.plaintext("secrets.yaml");
    let secrets = secrets_of(&plaintext);
    let (public, secret_key) = lab.identity(".config/genesis/age.txt");
    let (other_public, _) = lab.identity("other.txt");
    let encrypted = lab.path("secrets.yaml.age");
    let plaintext_arg = plaintext.to_str().expect("utf-8 path");
    let encrypted_arg = encrypted.to_str().expect("utf-8 path");

    // Encrypt with the default recipient: the public key of the default identity.
    let output = lab.genesis(&["secrets", "encrypt", plaintext_arg], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let ciphertext = std::fs::read(&encrypted).expect("encrypted file written");
    for value in secrets.values() {
        for line in value.expose().lines().filter(|line| line.trim().len() >= 8) {
            assert!(
                !contains(&ciphertext, line.trim()),
                "the .age file holds a value"
            );
        }
    }
    let listed = std::fs::read_to_string(lab.path("secrets.yaml.age.recipients")).expect("list");
    assert!(listed.contains(&public), "{listed}");
    assert_eq!(
        decrypt(&encrypted, &secret_key),
        std::fs::read_to_string(&plaintext).expect("plaintext")
    );

    // The same plan from the plaintext and from the encrypted file.
    let from_plaintext = plan_json(&lab.genesis(
        &[
            "--secrets",
            plaintext_arg,
            "plan",
            "--offline",
            "-o",
            "json",
        ],
        &[],
    ));
    let from_age = plan_json(&lab.genesis(
        &[
            "--secrets",
            encrypted_arg,
            "plan",
            "--offline",
            "-o",
            "json",
        ],
        &[],
    ));
    assert_eq!(from_plaintext, from_age);
    let output = lab.genesis(&["--secrets", encrypted_arg, "validate"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // Without the plaintext, `--secrets secrets.yaml` falls back to secrets.yaml.age; the
    // identity found through the variable and the flag works too.
    let kept = lab.path("kept.yaml");
    std::fs::rename(&plaintext, &kept).expect("move plaintext away");
    std::fs::rename(
        lab.path(".config/genesis/age.txt"),
        lab.path("moved-age.txt"),
    )
    .expect("move identity");
    let moved = lab.path("moved-age.txt");
    let moved_arg = moved.to_str().expect("utf-8");
    let output = lab.genesis(
        &["--secrets", plaintext_arg, "validate"],
        &[("GENESIS_AGE_IDENTITY", moved_arg)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = lab.genesis(
        &[
            "--secrets",
            plaintext_arg,
            "--age-identity",
            moved_arg,
            "plan",
            "--offline",
            "-o",
            "json",
        ],
        &[],
    );
    assert_eq!(plan_json(&output), from_plaintext);

    // Missing identity: names the default file and the ways to give one.
    let output = lab.genesis(&["--secrets", encrypted_arg, "validate"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains(".config/genesis/age.txt") && text.contains("--age-identity"),
        "{text}"
    );

    // Wrong identity: names the file and the identity's public key.
    let other = lab.path("other.txt");
    let output = lab.genesis(
        &[
            "--secrets",
            encrypted_arg,
            "--age-identity",
            other.to_str().expect("utf-8"),
            "validate",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains(encrypted_arg)
            && text.contains("not encrypted to the age identity")
            && text.contains(&other_public),
        "{text}"
    );

    // Damaged ciphertext: a flipped payload byte, and a cut header.
    let mut damaged = ciphertext.clone();
    let at = damaged.len() - 20;
    damaged[at] ^= 0x01;
    let broken = lab.path("broken.yaml.age");
    std::fs::write(&broken, &damaged).expect("write");
    let broken_arg = broken.to_str().expect("utf-8");
    let output = lab.genesis(
        &[
            "--secrets",
            broken_arg,
            "--age-identity",
            moved_arg,
            "validate",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(broken_arg) && stderr(&output).contains("altered or cut short"),
        "{}",
        stderr(&output)
    );
    std::fs::write(&broken, &ciphertext[..30]).expect("write");
    let output = lab.genesis(
        &[
            "--secrets",
            broken_arg,
            "--age-identity",
            moved_arg,
            "validate",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a readable age file"),
        "{}",
        stderr(&output)
    );

    // A plaintext file others may read is refused with the chmod that fixes it.
    std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let kept_arg = kept.to_str().expect("utf-8");
    let output = lab.genesis(&["--secrets", kept_arg, "validate"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains(kept_arg)
            && text.contains("mode 0644")
            && text.contains(&format!("chmod 600 {kept_arg}")),
        "{text}"
    );
    let output = lab.genesis(&["--secrets", kept_arg, "plan", "--offline"], &[]);
    assert_eq!(output.status.code(), Some(2));

    // keygen: a new private identity, its public key on stdout, never overwritten.
    let made = lab.path("keys/new.txt");
    let made_arg = made.to_str().expect("utf-8");
    let output = lab.genesis(&["secrets", "keygen", "-o", made_arg], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output).trim().to_owned();
    assert!(printed.starts_with("age1"), "{printed}");
    let written = std::fs::read_to_string(&made).expect("identity written");
    assert!(written.contains(&printed));
    assert_eq!(
        std::fs::metadata(&made).expect("stat").permissions().mode() & 0o777,
        0o600
    );
    let output = lab.genesis(&["secrets", "keygen", "-o", made_arg], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&made).expect("read"), written);

    lab.assert_no_leak(&secrets, &[]);
}

#[test]
fn edit_re_encrypts_what_the_editor_wrote_and_wipes_the_temporary_file() {
    let mut lab = Lab::new();
    let plaintext = lab.plaintext("secrets.yaml");
    let secrets = secrets_of(&plaintext);
    let (_, secret_key) = lab.identity(".config/genesis/age.txt");
    let (second_public, second_key) = lab.identity("teammate.txt");
    let plaintext_arg = plaintext.to_str().expect("utf-8");
    let mine = lab.path(".config/genesis/age.txt");
    let mine_public = {
        let text = std::fs::read_to_string(&mine).expect("identity");
        text.lines()
            .find_map(|line| line.strip_prefix("# public key: "))
            .expect("public key")
            .to_owned()
    };
    let output = lab.genesis(
        &[
            "secrets",
            "encrypt",
            plaintext_arg,
            "--recipient",
            &mine_public,
            "--recipient",
            &second_public,
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    std::fs::remove_file(&plaintext).expect("only the encrypted file is left");
    let encrypted = lab.path("secrets.yaml.age");

    // The editor: records where it was given the file and with which modes, sends genesis
    // the Ctrl-C a terminal would (genesis must live on to wipe the file), then rotates the
    // Harvester token.
    let log = lab.path("editor.log");
    let editor = lab.path("rotate token.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\nset -e\necho \"$1\" > '{log}'\nstat -c %a \"$1\" >> '{log}'\n\
             stat -c %a \"$(dirname \"$1\")\" >> '{log}'\n\
             kill -INT $PPID\n\
             sed -i 's/fake-harvester-cluster-token/{ROTATED}/' \"$1\"\n",
            log = log.display()
        ),
    )
    .expect("editor script");
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // A path with a space, quoted as a shell word list.
    let editor_command = format!("'{}'", editor.display());
    let output = lab.genesis(
        &["--secrets", plaintext_arg, "secrets", "edit"],
        &[("EDITOR", &editor_command)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let logged = std::fs::read_to_string(&log).expect("the editor ran");
    let mut lines = logged.lines();
    let temp = PathBuf::from(lines.next().expect("temp path"));
    assert_eq!(lines.next(), Some("600"), "the temporary file is private");
    assert_eq!(lines.next(), Some("700"), "its directory is private");
    assert!(!temp.exists(), "the temporary file is removed");
    assert!(
        !temp.parent().expect("dir").exists(),
        "the temporary dir is removed"
    );
    // Both recipients can still decrypt, and the value changed.
    for key in [&secret_key, &second_key] {
        let text = decrypt(&encrypted, key);
        assert!(text.contains(ROTATED) && !text.contains("fake-harvester-cluster-token"));
    }
    assert!(!contains(
        &std::fs::read(&encrypted).expect("read"),
        ROTATED
    ));

    // An edit that breaks the YAML is refused and leaves the file as it was.
    let before = std::fs::read(&encrypted).expect("read");
    let breaker = lab.path("break.sh");
    std::fs::write(
        &breaker,
        format!(
            "#!/bin/sh\necho \"$1\" > '{log}'\nprintf 'harvester:\\n  token: [a, b]\\n' > \"$1\"\n",
            log = log.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&breaker, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let output = lab.genesis(
        &["--secrets", plaintext_arg, "secrets", "edit"],
        &[("VISUAL", breaker.to_str().expect("utf-8"))],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("secrets.yaml.age:2:"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&encrypted).expect("read"), before);
    let temp = PathBuf::from(
        std::fs::read_to_string(&log)
            .expect("log")
            .lines()
            .next()
            .expect("path"),
    );
    assert!(!temp.exists(), "wiped on error too");

    // An editor that fails changes nothing.
    let output = lab.genesis(
        &["--secrets", plaintext_arg, "secrets", "edit"],
        &[("EDITOR", "false")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(std::fs::read(&encrypted).expect("read"), before);

    // A new teammate: their key added to the recipients file, then --rekey (no editor).
    let (third_public, third_key) = lab.identity("newcomer.txt");
    let list = lab.path("secrets.yaml.age.recipients");
    let mut recipients = std::fs::read_to_string(&list).expect("recipients file");
    recipients.push_str(&format!("{third_public}\n"));
    std::fs::write(&list, recipients).expect("add recipient");
    let output = lab.genesis(
        &["--secrets", plaintext_arg, "secrets", "edit", "--rekey"],
        &[("EDITOR", "false")],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for key in [&secret_key, &second_key, &third_key] {
        assert!(decrypt(&encrypted, key).contains(ROTATED));
    }

    // An edit that empties the Harvester token is saved, with the warning `validate` gives,
    // and `validate` then refuses it at its line.
    let emptier = lab.path("empty token.sh");
    std::fs::write(
        &emptier,
        "#!/bin/sh
sed -i 's/^  token: .*/  token: \"\"/' \"$1\"\n",
    )
    .expect("script");
    std::fs::set_permissions(&emptier, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let output = lab.genesis(
        &["--secrets", plaintext_arg, "secrets", "edit"],
        &[("EDITOR", &format!("'{}'", emptier.display()))],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "warning: {}:21:10: harvester.token: the value is empty",
            encrypted.display()
        )),
        "{}",
        stderr(&output)
    );
    let output = lab.genesis(&["--secrets", plaintext_arg, "validate"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("secrets.yaml.age:21:10: harvester.token: the value is empty"),
        "{}",
        stderr(&output)
    );

    lab.assert_no_leak(&secrets, &[ROTATED]);
}
