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

fn encoded(at: u64, kind: RecordKind) -> Vec<u8> {
    let mut line = serde_json::to_vec(&Record { at, kind }).expect("encodes");
    line.push(b'\n');
    line
}

fn a_journal_larger_than_one_object_round_trips(env: &Env) {
    let state = env.backend();
    let held = state.acquire("test").expect("free");
    let mut store = state.journal_store().expect("store");
    assert!(store.read_all().expect("reads").is_empty());
    // Small batches and batches bigger than a chunk, records with big outputs: 2.5 MiB.
    let mut written = Vec::new();
    let mut at = 0u64;
    while written.len() < 2_500_000 {
        let mut batch = Vec::new();
        let records = 1 + (at % 7) as usize;
        for _ in 0..records {
            at += 1;
            let mut outputs = Outputs::new();
            let size = if at.is_multiple_of(5) { 300_000 } else { 900 };
            outputs.insert("blob".to_owned(), "x".repeat(size).into());
            batch.extend(encoded(
                at,
                RecordKind::StepSucceeded {
                    step: StepId::from(format!("s{at}").as_str()),
                    attempts: 1,
                    fingerprint: serde_json::from_value(serde_json::json!(format!(
                        "sha256:{at:064x}"
                    )))
                    .expect("fingerprint"),
                    duration_ms: at,
                    outputs,
                },
            ));
        }
        store.append(&batch).expect("appends");
        written.extend(batch);
    }
    drop(store);
    let secrets = env.secrets_in_namespace();
    assert!(secrets.len() >= 10, "{} chunks", secrets.len());
    for secret in &secrets {
        let size: usize = secret
            .data
            .iter()
            .flatten()
            .map(|(_, value)| value.0.len())
            .sum();
        assert!(size <= CHUNK_BYTES, "{size}");
    }
    // A fresh client reads back exactly what was written.
    let fresh = env.backend();
    assert_eq!(fresh.read_journal().expect("reads"), written);
    let loaded = fresh.load_journal().expect("parses");
    assert_eq!(loaded.records(), usize::try_from(at).expect("fits"));

    // A torn tail (a crash between two chunk writes) is cut when the journal opens, and the
    // next record starts on its own line.
    let mut store = state.journal_store().expect("store");
    store
        .append(b"{\"at\":1,\"record\":\"step_res")
        .expect("appends a torn record");
    drop(store);
    assert!(state.load_journal().expect("tolerated").torn_tail());
    let (mut journal, prior) = state
        .open_journal(Arc::new(Scrubber::empty()))
        .expect("opens");
    assert!(prior.torn_tail());
    journal
        .append(RecordKind::StepFailed {
            step: StepId::from("s1"),
            attempts: 1,
            error: "boom".into(),
            class: ErrorClass::Permanent,
            duration_ms: 1,
        })
        .expect("appends");
    let reloaded = fresh.load_journal().expect("loads");
    assert!(!reloaded.torn_tail());
    assert_eq!(reloaded.records(), usize::try_from(at).expect("fits") + 1);

    // A writer with a stale view (another store opened before this append) is refused.
    let mut stale = state.journal_store().expect("store");
    stale.read_all().expect("reads");
    journal
        .append(RecordKind::StepReset {
            step: StepId::from("s2"),
        })
        .expect("appends");
    let error = stale
        .append(&encoded(
            0,
            RecordKind::StepReset {
                step: StepId::from("s3"),
            },
        ))
        .expect_err("stale writer refused");
    assert!(
        chain(&error).contains("another writer"),
        "{}",
        chain(&error)
    );
    drop(journal);
    drop(held);
}

fn push_and_pull_round_trip(env: &Env) {
    env.write_phase(phase(
        2,
        &[
            exec_step("one", 1, &[], "true", ""),
            exec_step("two", 2, &["one"], "true", ""),
        ],
    ));
    let local = env.run(&["up"]);
    assert_eq!(code(&local), 0, "{}", stderr(&local));
    let local_bytes = std::fs::read(env.state.join(journal::FILE_NAME)).expect("local journal");

    let push = env.run(&["state", "push"]);
    assert_eq!(code(&push), 0, "{}", stderr(&push));
    assert_eq!(env.backend().read_journal().expect("reads"), local_bytes);
    // A non-empty destination needs --force.
    let again = env.run(&["state", "push"]);
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    let forced = env.run(&["state", "push", "--force"]);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));

    // The cluster's state is the run's state: nothing runs again, status reads it.
    let up = env.run(&["--state", "kubernetes", "up"]);
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    assert_eq!((env.starts_of("one"), env.starts_of("two")), (1, 1));
    let status = env.run(&["--state", "kubernetes", "status", "-o", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let states: Vec<&str> = document["steps"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["done", "done"]);

    // reset through the cluster's journal, then pull it into the (non-empty) local dir.
    let reset = env.run(&["--state", "kubernetes", "reset", "two"]);
    assert_eq!(code(&reset), 0, "{}", stderr(&reset));
    // plan reads the same journal (the local one still says both are done); --offline
    // contacts no cluster, so it cannot read it and says so.
    let plan_states = |args: &[&str]| {
        let plan = env.run(args);
        assert_eq!(code(&plan), 0, "{}", stderr(&plan));
        let document: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("plan JSON");
        let states: Vec<String> = document["phases"]
            .as_array()
            .expect("phases")
            .iter()
            .flat_map(|phase| phase["steps"].as_array().expect("steps").clone())
            .map(|step| step["state"].as_str().expect("state").to_owned())
            .collect();
        (states, stderr(&plan))
    };
    let (states, _) = plan_states(&["--state", "kubernetes", "plan", "-o", "json"]);
    assert_eq!(states, ["done", "pending"]);
    let (states, _) = plan_states(&["plan", "-o", "json", "--offline"]);
    assert_eq!(states, ["done", "done"]);
    let (states, said) = plan_states(&["--state", "kubernetes", "plan", "-o", "json", "--offline"]);
    assert_eq!(states, ["pending", "pending"]);
    assert!(said.contains("was not read"), "{said}");
    let refused = env.run(&["state", "pull"]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert_eq!(
        std::fs::read(env.state.join(journal::FILE_NAME)).expect("unchanged"),
        local_bytes
    );
    let pull = env.run(&["state", "pull", "--force"]);
    assert_eq!(code(&pull), 0, "{}", stderr(&pull));
    let cluster_bytes = env.backend().read_journal().expect("reads");
    assert_eq!(
        std::fs::read(env.state.join(journal::FILE_NAME)).expect("pulled"),
        cluster_bytes
    );
    let up = env.run(&["up"]);
    assert_eq!(code(&up), 0, "{}", stderr(&up));
    assert_eq!((env.starts_of("one"), env.starts_of("two")), (1, 2));
    // A pull into an empty state directory needs no --force.
    let fresh = env.dir.path().join("fresh");
    let pull = env
        .command_in(&fresh, &["state", "pull"])
        .output()
        .expect("genesis runs");
    assert_eq!(code(&pull), 0, "{}", stderr(&pull));
    assert_eq!(
        std::fs::read(fresh.join(journal::FILE_NAME)).expect("pulled"),
        cluster_bytes
    );
}

fn secret_values_never_reach_the_state_objects(env: &Env) {
    let leaky = exec_step("leaky", 1, &[], "echo \"token is $TOKEN\" >&2; exit 3", "").replace(
        "    timeout: 30s\n",
        "      env: {TOKEN: {secret: harvester.token}}\n    timeout: 30s\n",
    );
    env.write_phase(phase(2, &[leaky]));
    let output = env.run(&["--state", "kubernetes", "up"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));

    let secrets_text = std::fs::read_to_string(&env.secrets).expect("secrets");
    let values: Vec<String> = secrets_text
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(_, value)| {
            value
                .split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_owned()
        })
        .filter(|value| value.len() >= 8 && value.starts_with("fake"))
        .collect();
    assert!(
        values
            .iter()
            .any(|value| value == "fake-harvester-cluster-token")
    );
    let objects = env.secrets_in_namespace();
    assert!(!objects.is_empty());
    let mut all = String::new();
    for object in &objects {
        for value in object.data.iter().flatten().map(|(_, value)| &value.0) {
            all.push_str(&String::from_utf8_lossy(value));
        }
    }
    assert!(
        all.contains("token is [redacted]"),
        "the failure is journaled"
    );
    for value in &values {
        assert!(
            !all.contains(value.as_str()),
            "a secret value is in the state"
        );
    }

    // A Lease held by this process: `unlock --force` releases it, naming the holder.
    let state = env.backend();
    let held = state.acquire("genesis test").expect("free");
    let unlock = env.run(&["--state", "kubernetes", "unlock"]);
    assert_eq!(code(&unlock), 3, "{}", stderr(&unlock));
    let forced = env.run(&["--state", "kubernetes", "unlock", "--force"]);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert!(
        stderr(&forced).contains(&format!("pid {}", std::process::id())),
        "{}",
        stderr(&forced)
    );
    let free = env.run(&["--state", "kubernetes", "unlock"]);
    assert_eq!(code(&free), 0, "{}", stderr(&free));
    assert!(
        stderr(&free).contains("was not locked"),
        "{}",
        stderr(&free)
    );
    drop(held);
}

/// Another writer changes the Lease while a run holds it (another run took it over): the run
/// hears of it within a renewal period, says so once, stops its running step and exits 1.
fn a_stolen_lease_stops_the_run(env: &Env) {
    env.write_phase(phase(
        2,
        &[
            blocking_step("hold", 1, &[]),
            exec_step("after", 2, &["hold"], "true", ""),
        ],
    ));
    let started = env.fifo("started");
    let _release = env.fifo("release");
    let mut run = env.spawn(&["--state", "kubernetes", "up"]);
    wait_for_signal(&started, &mut run);
    // Steal the Lease: a write that bumps its resourceVersion under the holder.
    let api: Api<Lease> = Api::namespaced(env.client.clone(), &env.namespace);
    let mut lease = env.lease();
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = Some("another run (test)".to_owned());
    }
    env.runtime
        .block_on(api.replace(LEASE_NAME, &Default::default(), &lease))
        .expect("replace the Lease");
    // Renewal every third of the lease (8 s): the run must stop by itself, well before the
    // blocked step would ever end (nothing releases it).
    let deadline = Instant::now() + Duration::from_secs(45);
    let status = loop {
        if let Some(status) = run.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            panic!(
                "the run went on after its Lease was taken: {}",
                child_output(&mut run)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = child_output(&mut run);
    assert_eq!(status.code(), Some(1), "{text}");
    assert_eq!(text.matches("lock lost:").count(), 1, "{text}");
    assert!(
        text.contains("error: the lock was lost: Lease")
            && text.contains("was changed by another run"),
        "{text}"
    );
    assert_eq!(env.starts_of("after"), 0, "{text}");
}

type Scenario = fn(&Env);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_state_in_the_platform_cluster() {
    let started = Instant::now();
    let world = Arc::new(
        World::start_with(WorldOptions {
            ssh: false,
            ..WorldOptions::default()
        })
        .await
        .expect("test world starts"),
    );
    eprintln!("world up in {:?}", started.elapsed());
    let scenarios: [(&str, Scenario); 6] = [
        (
            "two-at-once",
            two_runs_at_once_one_exits_3_naming_the_holder,
        ),
        (
            "killed-holder",
            a_killed_holder_is_taken_over_after_expiry_and_its_run_resumes,
        ),
        ("big-journal", a_journal_larger_than_one_object_round_trips),
        ("push-pull", push_and_pull_round_trip),
        ("no-secrets", secret_values_never_reach_the_state_objects),
        ("stolen-lease", a_stolen_lease_stops_the_run),
    ];
    let mut tasks = Vec::new();
    for (name, scenario) in scenarios {
        let world = Arc::clone(&world);
        let handle = tokio::runtime::Handle::current();
        tasks.push((
            name,
            tokio::task::spawn_blocking(move || {
                let begun = Instant::now();
                let env = Env::new(&world, &handle, &format!("genesis-{name}"));
                scenario(&env);
                begun.elapsed()
            }),
        ));
    }
    let mut failures = Vec::new();
    for (name, task) in tasks {
        match task.await {
            Ok(elapsed) => eprintln!("{name}: ok in {elapsed:?}"),
            Err(error) => failures.push(format!("{name}: {error}")),
        }
    }
    if let Ok(world) = Arc::try_unwrap(world) {
        world.shutdown().await;
    }
    eprintln!("total {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "failed scenarios:\n{}",
        failures.join("\n")
    );
}
