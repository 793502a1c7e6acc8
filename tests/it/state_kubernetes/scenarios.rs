//! Shared-state scenarios, continued.

use super::*;

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
                    secrets: Default::default(),
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
