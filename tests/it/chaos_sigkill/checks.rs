//! SIGKILL chaos test, continued: what is checked after the kills.

use super::*;

/// Every object the run must leave, by watched kind, from the steps' resolved parameters and
/// genesis' naming rules (`namespace/name`, or `name` for cluster-scoped kinds).
fn expected_objects(inputs: &genesis::inputs::Inputs) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut expected: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for label in [
        "platform Machines",
        "platform Rufio Jobs",
        "platform Hardware",
        "platform Templates",
        "platform Workflows",
        "platform Secrets",
        "platform Nodes",
        "harvester Nodes",
        "harvester Secrets",
        "harvester NADs",
        "harvester VirtualMachineImages",
        "harvester VirtualMachines",
        "harvester VMIs",
    ] {
        expected.insert(label, BTreeSet::new());
    }
    let mut add = |label: &'static str, name: String| {
        expected.get_mut(label).expect("label").insert(name);
    };
    for step in inputs.graph.steps() {
        let param = |key: &str| {
            step.params[key]
                .as_str()
                .unwrap_or_else(|| panic!("step `{}`: no parameter {key}", step.id))
                .to_owned()
        };
        match step.kind.as_str() {
            "rufio.machine" => {
                let (namespace, machine) = (param("namespace"), param("machine"));
                add("platform Machines", format!("{namespace}/{machine}"));
                add("platform Secrets", format!("{namespace}/bmc-{machine}"));
            }
            "tinkerbell.hardware" => add(
                "platform Hardware",
                format!("{}/{}", param("namespace"), param("machine")),
            ),
            "tinkerbell.template" => add(
                "platform Templates",
                format!("{}/{}", param("namespace"), param("name")),
            ),
            "tinkerbell.install" => {
                // Attempt 1 only: no fault is injected (see the module's comment).
                let (namespace, machine) = (param("namespace"), param("machine"));
                let workflow = format!("harvester-install-{machine}-1");
                add("platform Workflows", format!("{namespace}/{workflow}"));
                add(
                    "platform Rufio Jobs",
                    format!("{namespace}/netboot-{workflow}"),
                );
                add("harvester Nodes", machine);
            }
            "argocd.cluster-secret" => add(
                "platform Secrets",
                format!("{}/{}", param("namespace"), param("secret_name")),
            ),
            "harvester.vm-network" => add(
                "harvester NADs",
                format!("{}/{}", param("namespace"), param("name")),
            ),
            "harvester.vm-image" => add(
                "harvester VirtualMachineImages",
                format!("{}/{}", param("namespace"), param("name")),
            ),
            "kubevirt.userdata-secret" => add(
                "harvester Secrets",
                format!("{}/{}-userdata", param("namespace"), param("vm")),
            ),
            "kubevirt.vm" => {
                let name = format!("{}/{}", param("namespace"), param("name"));
                add("harvester VirtualMachines", name.clone());
                add("harvester VMIs", name);
            }
            "kube.node-joined" => add("platform Nodes", param("node")),
            _ => {}
        }
    }
    expected
}

// ---------------------------------------------------------------------------------------------
// Running and killing genesis.

struct Runs {
    logs: PathBuf,
    count: usize,
}

impl Runs {
    fn spawn(&mut self, lab: &LoopbackLab) -> tokio::process::Child {
        self.count += 1;
        let stderr = std::fs::File::create(self.logs.join(format!("run-{}.stderr", self.count)))
            .expect("stderr file");
        lab.command()
            .arg("up")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("genesis starts")
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.join(format!("run-{}.stderr", self.count)))
            .unwrap_or_default()
    }
}

/// The journal loads (torn last line or not); returns its raw records.
fn journal_loads(state: &Path, note: &str) -> Vec<Value> {
    if let Err(error) = journal::load(state) {
        panic!("{note}: the journal does not load: {error}");
    }
    let text = std::fs::read_to_string(state.join("journal.ndjson")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// No step is attempted again once the journal recorded its success (nothing here changes
/// inputs or resets steps).
fn assert_nothing_redone(records: &[Value]) {
    let mut succeeded = BTreeSet::new();
    for record in records {
        let step = record["step"].as_str().unwrap_or_default().to_owned();
        match record["record"].as_str() {
            Some("step_succeeded") => {
                succeeded.insert(step);
            }
            Some("step_attempt") => assert!(
                !succeeded.contains(&step),
                "step `{step}` was started again after the journal recorded its success"
            ),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_then_resume_reaches_the_final_state_once() {
    tokio::time::timeout(LIMIT, chaos())
        .await
        .expect("the chaos test finishes in time");
}

async fn chaos() {
    let started = Instant::now();
    let kills = kills_wanted();
    let mut moments = Moments::from_env("GENESIS_CHAOS_SEED");
    let mut scenario = labsim::Scenario::reference().expect("reference scenario");
    scenario.time_scale = TIME_SCALE;
    assert!(scenario.faults.is_empty(), "the chaos run injects no fault");
    let world = World::start_with(WorldOptions {
        scenario: Some(scenario.clone()),
        ..WorldOptions::default()
    })
    .await
    .expect("test world starts");
    let lab = LoopbackLab::build(GENESIS, &world, Options { phases: PHASES }).await;
    lab.prepare_platform(&world).await;
    let mut inputs = genesis::inputs::load(&genesis::inputs::InputPaths {
        lab: lab.lab.clone(),
        phases: lab.phases.clone(),
        secrets: lab.secrets.clone(),
    })
    .unwrap_or_else(|diagnostics| panic!("inputs: {}", diagnostics.render(false)));
    let phase_4 = inputs.graph.steps().iter().any(|step| step.phase == 4);
    let (ledger, watches) = start_ledger(watched(&world, phase_4));
    let world_up = started.elapsed();

    let window = critical_lower_bound(&scenario, phase_4).mul_f64(0.9);
    let plan = moments.within(window, kills);
    eprintln!(
        "chaos: {kills} kills over the first {window:?} (a lower bound of the run): {:?}",
        plan.iter().map(Duration::as_millis).collect::<Vec<_>>()
    );
    let logs = tempfile::tempdir().expect("log dir");
    let mut runs = Runs {
        logs: logs.path().to_owned(),
        count: 0,
    };
    let chaos_started = Instant::now();
    let mut child = runs.spawn(&lab);
    let mut killed = 0;
    let mut outcome_unknown_resumes = 0;
    for (index, moment) in plan.iter().enumerate() {
        tokio::time::sleep_until((chaos_started + *moment).into()).await;
        let note = format!("kill {} of {kills} at {moment:?}", index + 1);
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "{note}: run {} ended ({status}) before the kill, {killed} kills in; stderr:\n{}",
                runs.count,
                runs.stderr()
            );
        }
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        killed += 1;
        let records = journal_loads(&lab.state, &note);
        assert_nothing_redone(&records);
        child = runs.spawn(&lab);
    }
    let chaos_took = chaos_started.elapsed();

    // The run after the last kill goes to the end.
    let status = tokio::time::timeout(LAST_RUN_LIMIT, child.wait())
        .await
        .expect("the last run finishes")
        .expect("reaped");
    assert!(
        status.success(),
        "the run after {killed} kills failed ({status}):\n{}",
        runs.stderr()
    );
    let total = chaos_started.elapsed();
    assert!(killed >= kills, "{killed} kills, {kills} wanted");

    // The journal: every step done, nothing started again after its success.
    let records = journal_loads(&lab.state, "after the last run");
    assert_nothing_redone(&records);
    for record in &records {
        if record["record"] == "step_attempt" && record["outcome_unknown"] == true {
            outcome_unknown_resumes += 1;
        }
    }
    let state = journal::load(&lab.state).expect("journal");
    // As `genesis up` fingerprints them: with the secrets digested under the state's key.
    inputs
        .digest_secrets(&lab.state)
        .expect("the state directory's key");
    for (step, step_state) in inputs.graph.steps().iter().zip(state.states(&inputs.graph)) {
        assert_eq!(
            step_state.label(),
            "done",
            "step `{}` is not done after the last run",
            step.id
        );
        assert_eq!(
            state.step(&step.id).map(|record| record.state),
            Some(Journaled::Succeeded)
        );
    }
    let status = lab.genesis(&["status", "-o", "json"]).await;
    assert_eq!(status.status.code(), Some(0));
    let document: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let rows = document["steps"].as_array().expect("rows");
    assert_eq!(rows.len(), inputs.graph.len());
    for row in rows {
        assert_eq!(row["state"], "done", "genesis status: {row}");
    }

    // The objects: each created once, the expected set, in its final state.
    let expected = expected_objects(&inputs);
    let kinds = watched(&world, phase_4);
    let mut counts = Vec::new();
    for kind in &kinds {
        let seen = caught_up(&ledger, kind).await;
        for (name, entry) in &seen {
            assert_eq!(
                entry.uids.len(),
                1,
                "{} {name} was created {} times (uids {:?})",
                kind.label,
                entry.uids.len(),
                entry.uids
            );
            assert!(!entry.deleted, "{} {name} was deleted", kind.label);
        }
        let wanted = expected
            .get(kind.label.as_str())
            .unwrap_or_else(|| panic!("no expectation for {}", kind.label));
        let names: BTreeSet<String> = seen.keys().cloned().collect();
        assert_eq!(
            &names, wanted,
            "{}: exactly the expected objects",
            kind.label
        );
        counts.push(format!("{} {}", kind.label, seen.len()));
        if kind.label == "platform Workflows" {
            for (name, entry) in &seen {
                let object = entry.last.as_ref().expect("object");
                assert_eq!(
                    object.data["status"]["state"], "SUCCESS",
                    "Workflow {name} ended in its final state"
                );
                assert_eq!(
                    object
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("genesis.dev/attempt")),
                    Some(&"1".to_owned()),
                    "no fault was injected: the first attempt of {name} is the only one"
                );
            }
        }
        if kind.label == "harvester VirtualMachines" {
            for (name, entry) in &seen {
                let object = entry.last.as_ref().expect("object");
                assert_eq!(
                    object.data["status"]["printableStatus"], "Running",
                    "VM {name} runs"
                );
            }
        }
        if kind.label.ends_with("Nodes") {
            for (name, entry) in &seen {
                let object = entry.last.as_ref().expect("object");
                let ready = object.data["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                assert!(ready, "{} {name} is Ready", kind.label);
            }
        }
    }
    for task in watches {
        task.abort();
    }
    eprintln!(
        "chaos: world up {world_up:?}; {killed} kills over {chaos_took:?}, {} runs, {outcome_unknown_resumes} outcome-unknown resumes, completed {total:?} after the first start; total {:?}",
        runs.count,
        started.elapsed()
    );
    eprintln!("chaos: objects {}", counts.join(", "));
    drop(lab);
    world.shutdown().await;
}
