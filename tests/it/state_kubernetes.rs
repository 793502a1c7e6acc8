//! Cluster test: shared state in the test world's real Platform API server (`--state
//! kubernetes`): the Lease lock (held → exit 3 naming the holder; a SIGKILLed holder taken over
//! only after its Lease expires; a Lease taken while a run holds it stops that run), resume
//! from the journal in the cluster, a journal bigger than one object's limit, `genesis state push|pull`, `status`/`reset`/`unlock`, and no secret value
//! in any state object.
//!
//! One world for all scenarios (each in its own namespace, `GENESIS_STATE_NAMESPACE`), which
//! run at the same time; steps are local `exec` commands, synchronised with the test through
//! FIFOs, never by sleeping.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{GENESIS, ROOT};
use genesis::clients::kube::KubeTarget;
use genesis::state::kube::{CHUNK_BYTES, KubeState, KubeStateOptions, LEASE_NAME};
use genesis_engine::journal::{self, Record, RecordKind};
use genesis_engine::storage::StateBackend;
use genesis_engine::{ErrorClass, JournalState, Outputs, Scrubber, StepId};
use genesis_harness::exec::{code, exec_step, phase, stderr, stdout};
use genesis_testworld::{World, WorldOptions};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

mod scenarios;

const LEASE_SECONDS: u64 = 8;

/// One scenario's inputs, state directory and namespace.
struct Env {
    dir: tempfile::TempDir,
    phases: PathBuf,
    state: PathBuf,
    marker: PathBuf,
    secrets: PathBuf,
    kubeconfig: PathBuf,
    namespace: String,
    client: kube::Client,
    runtime: tokio::runtime::Handle,
}

impl Env {
    fn new(world: &World, runtime: &tokio::runtime::Handle, namespace: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let phases = dir.path().join("phases");
        std::fs::create_dir(&phases).expect("mkdir");
        let marker = dir.path().join("starts.log");
        std::fs::write(&marker, "").expect("marker");
        let secrets = dir.path().join("secrets.yaml");
        std::fs::copy(Path::new(ROOT).join("secrets.example"), &secrets).expect("copy");
        std::fs::set_permissions(
            &secrets,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod 600");
        Self {
            state: dir.path().join("state"),
            phases,
            marker,
            secrets,
            kubeconfig: world.platform.kubeconfig_path().to_owned(),
            namespace: namespace.to_owned(),
            client: world.platform.client.clone(),
            runtime: runtime.clone(),
            dir,
        }
    }

    fn write_phase(&self, text: String) {
        std::fs::write(self.phases.join("phase-2.yaml"), text).expect("phase file");
    }

    fn fifo(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let status = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
        assert!(status.success());
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        self.command_in(&self.state, args)
    }

    /// `genesis <args>` with another state directory.
    fn command_in(&self, state: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(GENESIS);
        command
            .current_dir(ROOT)
            .args(["--lab", "hardware/lab.yaml", "--context", "default"])
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--phases")
            .arg(&self.phases)
            .arg("--secrets")
            .arg(&self.secrets)
            .arg("--state-dir")
            .arg(state)
            .args(args)
            .env("GENESIS_STATE_NAMESPACE", &self.namespace)
            .env("GENESIS_STATE_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("GENESIS_TEST_MARKER", &self.marker)
            .env("GENESIS_TEST_DIR", self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .env_remove("GENESIS_STATE")
            .env_remove("CI")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("genesis runs")
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("genesis starts")
    }

    fn starts(&self) -> BTreeMap<String, usize> {
        let text = std::fs::read_to_string(&self.marker).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for line in text.lines().filter(|line| !line.is_empty()) {
            *counts.entry(line.to_owned()).or_default() += 1;
        }
        counts
    }

    fn starts_of(&self, step: &str) -> usize {
        self.starts().get(step).copied().unwrap_or(0)
    }

    fn backend(&self) -> KubeState {
        KubeState::connect(self.options()).expect("state client")
    }

    fn options(&self) -> KubeStateOptions {
        KubeStateOptions {
            target: KubeTarget {
                cluster: "platform".to_owned(),
                kubeconfig: Some(self.kubeconfig.clone()),
                context: Some("default".to_owned()),
            },
            namespace: self.namespace.clone(),
            lease_seconds: u32::try_from(LEASE_SECONDS).expect("small"),
            chunk_bytes: CHUNK_BYTES,
        }
    }

    /// The journal in the cluster.
    fn journal(&self) -> JournalState {
        self.backend()
            .load_journal()
            .expect("the journal in the cluster loads")
    }

    fn secrets_in_namespace(&self) -> Vec<Secret> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        self.runtime
            .block_on(api.list(&Default::default()))
            .expect("list Secrets")
            .items
    }

    fn lease(&self) -> Lease {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), &self.namespace);
        self.runtime.block_on(api.get(LEASE_NAME)).expect("Lease")
    }
}

/// Waits (blocking, bounded) until a step writes into `fifo`.
fn wait_for_signal(fifo: &Path, child: &mut Child) {
    let (sender, receiver) = std::sync::mpsc::channel();
    let path = fifo.to_owned();
    std::thread::spawn(move || {
        let _ = sender.send(std::fs::read_to_string(path));
    });
    if receiver.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        let output = child_output(child);
        // Unblock the reader thread.
        let _ = std::fs::write(fifo, "");
        panic!("the step never signalled: {output}");
    }
}

/// Lets a step blocked reading `fifo` go on.
fn release(fifo: &Path) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(fifo)
        .expect("open release fifo");
    file.write_all(b"go\n").expect("release");
}

fn child_output(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
    }
    text
}

/// A step that signals `started` then waits for `release`, only on its first start.
fn blocking_step(id: &str, number: u32, needs: &[&str]) -> String {
    exec_step(
        id,
        number,
        needs,
        &format!(
            "if [ ! -e \"$GENESIS_TEST_DIR/{id}.once\" ]; then touch \"$GENESIS_TEST_DIR/{id}.once\"; echo started > \"$GENESIS_TEST_DIR/started\"; cat \"$GENESIS_TEST_DIR/release\" > /dev/null; fi"
        ),
        "",
    )
}

fn two_runs_at_once_one_exits_3_naming_the_holder(env: &Env) {
    env.write_phase(phase(
        2,
        &[
            blocking_step("hold", 1, &[]),
            exec_step("after", 2, &["hold"], "true", ""),
        ],
    ));
    let started = env.fifo("started");
    let release_fifo = env.fifo("release");
    let mut first = env.spawn(&["--state", "kubernetes", "up"]);
    wait_for_signal(&started, &mut first);
    // The first run holds the Lease and is inside `hold`.
    let second = env.run(&["--state", "kubernetes", "up"]);
    let text = stderr(&second);
    assert_eq!(code(&second), 3, "{text}");
    assert!(text.contains(&format!("pid {}", first.id())), "{text}");
    assert!(text.contains(&genesis_engine::lock::this_host()), "{text}");
    assert!(text.contains("genesis up"), "{text}");
    assert!(text.contains(LEASE_NAME), "{text}");
    let lease = env.lease();
    let identity = lease
        .spec
        .as_ref()
        .and_then(|spec| spec.holder_identity.clone())
        .expect("held");
    assert!(
        identity.contains(&format!("pid {}", first.id())),
        "{identity}"
    );
    // status names the live holder; unlock refuses it without --force.
    let status = env.run(&["--state", "kubernetes", "status"]);
    assert!(
        stdout(&status).contains("running: `genesis up` on host"),
        "{}",
        stdout(&status)
    );
    let unlock = env.run(&["--state", "kubernetes", "unlock"]);
    assert_eq!(code(&unlock), 3, "{}", stderr(&unlock));
    assert!(stderr(&unlock).contains("--force"), "{}", stderr(&unlock));

    release(&release_fifo);
    let output = first.wait_with_output().expect("first run ends");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Released on a clean exit: nobody holds the Lease, and a new run finds everything done.
    let lease = env.lease();
    assert!(
        lease.spec.and_then(|spec| spec.holder_identity).is_none(),
        "released"
    );
    let again = env.run(&["--state", "kubernetes", "up"]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!((env.starts_of("hold"), env.starts_of("after")), (1, 1));
    assert!(
        !env.state.join(journal::FILE_NAME).exists(),
        "nothing local"
    );
}

fn a_killed_holder_is_taken_over_after_expiry_and_its_run_resumes(env: &Env) {
    env.write_phase(phase(
        2,
        &[
            exec_step("first", 1, &[], "true", ""),
            blocking_step("middle", 2, &["first"]),
            exec_step("last", 3, &["middle"], "true", ""),
        ],
    ));
    let started = env.fifo("started");
    let release_fifo = env.fifo("release");
    let mut run = env.spawn(&["--state", "kubernetes", "up"]);
    wait_for_signal(&started, &mut run);
    let pid = run.id();
    run.kill().expect("SIGKILL");
    run.wait().expect("reaped");
    // The orphaned step command is still waiting: let it finish.
    release(&release_fifo);
    let lease = env.lease();
    let spec = lease.spec.expect("spec");
    let renewed = spec.renew_time.expect("renewed").0.as_millisecond();
    let expires = u64::try_from(renewed).expect("positive")
        + u64::try_from(spec.lease_duration_seconds.expect("duration")).expect("positive") * 1000;

    // Before expiry: held, naming the dead holder.
    assert!(
        journal::now_ms() + 1000 < expires,
        "the test reached the Lease too late"
    );
    let early = env.run(&["--state", "kubernetes", "up"]);
    assert_eq!(code(&early), 3, "{}", stderr(&early));
    assert!(
        stderr(&early).contains(&format!("pid {pid}")),
        "{}",
        stderr(&early)
    );
    assert!(
        journal::now_ms() < expires,
        "the refusal came before expiry"
    );
    assert_eq!(env.starts_of("last"), 0);

    // The journal in the cluster says `first` is done and `middle`'s outcome is unknown.
    let state = env.journal();
    assert_eq!(
        state
            .step(&StepId::from("first"))
            .map(|record| record.state),
        Some(journal::Journaled::Succeeded)
    );
    assert_eq!(
        state
            .step(&StepId::from("middle"))
            .map(|record| record.state),
        Some(journal::Journaled::Started)
    );

    // After expiry: taken over with a warning; the run resumes, `first` is not run again.
    let wait = expires.saturating_sub(journal::now_ms()) + 200;
    std::thread::sleep(Duration::from_millis(wait));
    let late = env.run(&["--state", "kubernetes", "up"]);
    let text = stderr(&late);
    assert_eq!(code(&late), 0, "{text}");
    assert!(text.contains("taking over the lock"), "{text}");
    assert!(text.contains(&format!("pid {pid}")), "{text}");
    assert_eq!(
        env.starts_of("first"),
        1,
        "done before the kill: not run again"
    );
    assert_eq!(env.starts_of("middle"), 2, "outcome unknown: run again");
    assert_eq!(env.starts_of("last"), 1);
    let state = env.journal();
    for step in ["first", "middle", "last"] {
        assert_eq!(
            state.step(&StepId::from(step)).map(|record| record.state),
            Some(journal::Journaled::Succeeded),
            "{step}"
        );
    }
    let lease = env.lease();
    assert!(
        lease
            .spec
            .and_then(|spec| spec.lease_transitions)
            .unwrap_or(0)
            >= 1,
        "the takeover is a transition"
    );
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
