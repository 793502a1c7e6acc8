//! `genesis rehearse` as an operator runs it: the real binary, the shipped lab, its own world
//! (real kube-apiservers, real sshd, the lab simulator) in a rehearsal directory of the test's.
//!
//! - the shipped lab end to end: exit 0, every step done, both clocks, every line marked as a
//!   rehearsal's; with `--keep`, no secret value of the operator's anywhere in the rehearsal's
//!   files (the API servers' etcd data included) or its output; after `--down` no process of
//!   the world is left, its API servers no longer answer, its directory is gone, and the
//!   operator's state directory and kubeconfig are as they were;
//! - two faults (`node-never-ready:ms-02-3`, `workflow-fails-once:ms-02-2`): the run fails as
//!   a real one does (the quorum step times out saying a node never registered; the install of
//!   ms-02-2 is tried again), the world is kept, `--resume` finishes the bootstrap and removes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{GENESIS, ROOT};

/// The operator's side: their secrets file, state directory and kubeconfig, and the rehearsal
/// directory, all in one temp dir.
struct Operator {
    dir: tempfile::TempDir,
}

impl Operator {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let operator = Self {
            dir: tempfile::Builder::new()
                .prefix("genesis-rehearse-test-")
                .tempdir()
                .expect("temp dir"),
        };
        let secrets = operator.secrets();
        std::fs::copy(Path::new(ROOT).join("secrets.example"), &secrets).expect("secrets");
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(
            operator.kubeconfig(),
            "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
        )
        .expect("kubeconfig");
        operator
    }
    fn secrets(&self) -> PathBuf {
        self.dir.path().join("secrets.yaml")
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }
    fn rehearsal(&self) -> PathBuf {
        self.dir.path().join("rehearsal")
    }

    /// `genesis rehearse ARGS` as the operator runs it, with their files and environment.
    fn rehearse(&self, args: &[&str]) -> Output {
        Command::new(GENESIS)
            .arg("--lab")
            .arg(Path::new(ROOT).join("hardware/lab.yaml"))
            .arg("--phases")
            .arg(Path::new(ROOT).join("phases"))
            .arg("--secrets")
            .arg(self.secrets())
            .arg("--state-dir")
            .arg(self.state())
            .arg("rehearse")
            .args(args)
            .env("GENESIS_REHEARSAL_DIR", self.rehearsal())
            .env("KUBECONFIG", self.kubeconfig())
            .env("NO_COLOR", "1")
            .env_remove("GENESIS_YES")
            .current_dir(ROOT)
            .output()
            .expect("genesis rehearse runs")
    }

    /// The operator's secret values a rehearsal must never write or print (eight characters
    /// or more: shorter ones, such as `admin`, match innocent text).
    fn secret_values(&self) -> Vec<String> {
        let secrets = genesis::secrets::Secrets::load(&self.secrets()).expect("secrets");
        genesis::rehearse::standins::never_written(&secrets)
            .into_values()
            .filter(|value| value.len() >= 8)
            .collect()
    }
}

/// A failed test leaves no world running: `--down` on the way out.
impl Drop for Operator {
    fn drop(&mut self) {
        if self.rehearsal().exists() {
            let _ = self.rehearse(&["--down"]);
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Processes whose command line names `dir` (the world's API servers, etcd, sshd, the world
/// process itself).
fn processes_in(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

/// Every line of a rehearsal's stderr says it is a rehearsal.
fn assert_marked(text: &str) {
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        assert!(
            line.starts_with("rehearsal: ") || line.starts_with("rehearsal │ "),
            "a line that does not say it is a rehearsal's: {line:?}\n{text}"
        );
        assert!(
            !line.contains("rehearsal │ rehearsal │"),
            "a line marked twice: {line:?}"
        );
    }
}

/// The Platform API server's URL in a kept world's kubeconfig.
fn platform_url(rehearsal: &Path) -> String {
    let info: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(rehearsal.join("world.json")).expect("world.json"),
    )
    .expect("world.json is JSON");
    let kubeconfig = std::fs::read_to_string(info["platform_kubeconfig"].as_str().expect("path"))
        .expect("kubeconfig");
    kubeconfig
        .lines()
        .find_map(|line| line.trim().strip_prefix("server: "))
        .expect("a server line")
        .trim_matches('"')
        .to_owned()
}

#[test]
fn the_shipped_lab_rehearses_to_the_end_and_leaves_nothing() {
    let operator = Operator::new();
    let kubeconfig_before = std::fs::read(operator.kubeconfig()).expect("kubeconfig");
    let run = operator.rehearse(&["--keep"]);
    let text = stderr(&run);
    assert_eq!(run.status.code(), Some(0), "{text}");
    assert!(
        text.contains("done: 25 succeeded, 0 failed, 0 skipped, 0 interrupted"),
        "{text}"
    );
    // Both clocks: the rehearsal's and the projected hardware time.
    let clocks = text
        .lines()
        .find(|line| line.starts_with("rehearsal: done in "))
        .unwrap_or_else(|| panic!("no clocks line:\n{text}"));
    assert!(
        clocks.contains(" s here · about ") && clocks.contains(" on hardware"),
        "{clocks}"
    );
    assert!(
        !clocks.contains("about 0 min") && !clocks.contains("about 1 s"),
        "the hardware clock is the phases' estimates, not the rehearsal's: {clocks}"
    );
    assert_marked(&text);
    assert!(text.contains("rehearsal: the world is kept in"), "{text}");

    // Nothing of the operator's secrets anywhere: output, the rehearsal's files, etcd's data.
    let rehearsal = operator.rehearsal();
    let url = platform_url(&rehearsal);
    let mut places: Vec<(String, String)> = genesis_harness::files_below(&rehearsal)
        .into_iter()
        .map(|(path, text)| (path.display().to_string(), text))
        .collect();
    assert!(
        places.len() > 20,
        "the kept world's files: {}",
        places.len()
    );
    places.push(("stderr".into(), text.clone()));
    places.push((
        "stdout".into(),
        String::from_utf8_lossy(&run.stdout).into_owned(),
    ));
    let secrets = operator.secret_values();
    assert!(secrets.len() >= 8, "{}", secrets.len());
    genesis_harness::loopback::assert_no_leaks(&places, &secrets);
    assert!(!processes_in(&rehearsal).is_empty(), "the kept world runs");

    let down = operator.rehearse(&["--down"]);
    assert_eq!(down.status.code(), Some(0), "{}", stderr(&down));
    assert!(stderr(&down).contains("is stopped and removed"));
    assert_eq!(processes_in(&rehearsal), Vec::<String>::new());
    assert!(!rehearsal.exists(), "the rehearsal directory is removed");
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the Platform API server still answers on {port}"
    );
    // The operator's own files: untouched.
    assert!(!operator.state().exists(), "the operator's state directory");
    assert_eq!(
        std::fs::read(operator.kubeconfig()).expect("kubeconfig"),
        kubeconfig_before
    );
}

#[test]
fn a_rehearsal_with_two_faults_fails_as_a_run_does_and_resumes_to_the_end() {
    let operator = Operator::new();
    let run = operator.rehearse(&[
        "--fault",
        "node-never-ready:ms-02-3",
        "--fault",
        "workflow-fails-once:ms-02-2",
    ]);
    let text = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{text}");
    assert_marked(&text);
    assert!(
        text.contains("faults: node-never-ready:ms-02-3, workflow-fails-once:ms-02-2"),
        "{text}"
    );
    // As a real run shows them: the install tried again, the quorum waiting for ms-02-3.
    assert!(
        text.contains("attempt 1 failed: the install of ms-02-2 failed")
            && text.contains(
                "ms-02-2] Node installs Harvester; its first boot joins through the VIP: succeeded"
            )
            && text.contains("after 2 attempts"),
        "the second install attempt of ms-02-2:\n{text}"
    );
    let quorum = text
        .lines()
        .find(|line| line.contains("[11] ") && line.contains("failed"))
        .unwrap_or_else(|| panic!("the quorum step fails:\n{text}"));
    // The timeout says what the wait saw last: ms-02-3 never registered.
    assert!(
        quorum.contains("last seen: ") && quorum.contains("1 not registered yet"),
        "{quorum}"
    );
    assert!(text.contains("genesis rehearse --resume"), "{text}");
    assert!(!processes_in(&operator.rehearsal()).is_empty(), "kept");

    let resumed = operator.rehearse(&["--resume"]);
    let text = stderr(&resumed);
    assert_eq!(resumed.status.code(), Some(0), "{text}");
    assert_marked(&text);
    assert!(text.contains("its faults are lifted"), "{text}");
    assert!(text.contains("rehearsal: done in "), "{text}");
    // The steps done before the fault are not run again; the rest are, to the end.
    assert!(
        text.contains("done: 10 succeeded, 0 failed, 15 skipped"),
        "{text}"
    );
    assert!(text.contains("11 steps [5, 6/ms-02-1"), "{text}");
    assert_eq!(processes_in(&operator.rehearsal()), Vec::<String>::new());
    assert!(!operator.rehearsal().exists());

    // Nothing kept any more: --resume says so (exit 2), --down has nothing to do.
    let again = operator.rehearse(&["--resume"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("no rehearsal world is kept"));
    let down = operator.rehearse(&["--down"]);
    assert_eq!(down.status.code(), Some(0));
    // A fault naming no machine of the lab is refused before anything starts.
    let wrong = operator.rehearse(&["--fault", "node-never-ready:ms-02-9"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(stderr(&wrong).contains("no machine ms-02-9"));
    assert!(!operator.rehearsal().exists());
}

#[test]
fn without_go_and_without_a_built_api_server_a_rehearsal_says_what_to_install() {
    let operator = Operator::new();
    let empty_cache = operator.dir.path().join("cache");
    let output = Command::new(GENESIS)
        .arg("--secrets")
        .arg(operator.secrets())
        .arg("rehearse")
        .env("GENESIS_REHEARSAL_DIR", operator.rehearsal())
        .env("GENESIS_CACHE_DIR", &empty_cache)
        .env_remove("GENESIS_APISERVER_BIN")
        // A PATH without Go (it lives in /usr/local/go/bin or a Go root of its own).
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .current_dir(ROOT)
        .output()
        .expect("genesis rehearse runs");
    let text = stderr(&output);
    if Path::new("/usr/bin/go").exists() {
        // Go is installed system-wide here: nothing to prove about a missing Go.
        return;
    }
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("a rehearsal needs Go, to build the real kube-apiserver once")
            && text.contains("https://go.dev/dl/"),
        "{text}"
    );
    assert!(!empty_cache.exists(), "nothing was built or written");
    assert!(!operator.rehearsal().exists());
}
