//! Destructive steps named as such, the question before them, and saved plans.
//!
//! Without a cluster: the plan marks each install step with every disk of its machine and the
//! power-cycle, and counts them in its summary (text and JSON); done steps are not counted; a
//! non-terminal `genesis up` without `--yes` refuses before it writes anything.
//!
//! Cluster tests (the test world with the simulator, in [`cluster`]): a refused `up` leaves
//! the Platform cluster and the journal as they were, and `GENESIS_YES=1` lets the same run
//! install; a saved plan is applied by `up --plan` only while its lab file, the journal and
//! what it observed stay the same, and it holds no secret value.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use genesis_harness::loopback::record_done_in;
use serde_json::Value;

use crate::{GENESIS, ROOT};

mod cluster;

/// A private copy of secrets.example, a state directory, and the lab and phases to use.
struct Inputs {
    dir: tempfile::TempDir,
    secrets: PathBuf,
    lab: PathBuf,
    phases: PathBuf,
    state: PathBuf,
}

impl Inputs {
    /// The shipped lab and phases.
    fn shipped() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let secrets = dir.path().join("secrets.yaml");
        std::fs::copy(Path::new(ROOT).join("secrets.example"), &secrets).expect("secrets");
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 600");
        Self {
            secrets,
            lab: Path::new(ROOT).join("hardware/lab.yaml"),
            phases: Path::new(ROOT).join("phases"),
            state: dir.path().join("state"),
            dir,
        }
    }

    /// A copy of the shipped lab, and phase 3 alone up to the first node's install (steps
    /// 5–8), so that a whole plan runs in seconds on the simulator.
    fn first_install() -> Self {
        let mut inputs = Self::shipped();
        let lab = inputs.dir.path().join("lab.yaml");
        std::fs::copy(&inputs.lab, &lab).expect("lab copy");
        let phases = inputs.dir.path().join("phases");
        std::fs::create_dir_all(phases.join("templates")).expect("phases dir");
        let source = Path::new(ROOT).join("phases");
        std::fs::copy(
            source.join("templates/harvester-install.yaml"),
            phases.join("templates/harvester-install.yaml"),
        )
        .expect("template");
        let phase_3 = std::fs::read_to_string(source.join("phase-3.yaml")).expect("phase 3");
        let cut = phase_3.find("  - id: harvester-api").expect("step 9");
        std::fs::write(phases.join("phase-3.yaml"), &phase_3[..cut]).expect("phase 3 copy");
        inputs.lab = lab;
        inputs.phases = phases;
        inputs
    }

    /// `genesis ARGS` on these inputs, without a terminal and without `GENESIS_YES`.
    fn command(&self, kubeconfig: Option<&Path>, args: &[&str]) -> Command {
        self.command_in(&self.state, kubeconfig, args)
    }

    /// [`Self::command`] with another state directory.
    fn command_in(&self, state: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> Command {
        let mut command = Command::new(GENESIS);
        command
            .arg("--lab")
            .arg(&self.lab)
            .arg("--phases")
            .arg(&self.phases)
            .arg("--secrets")
            .arg(&self.secrets)
            .arg("--state-dir")
            .arg(state);
        if let Some(kubeconfig) = kubeconfig {
            command
                .args(["--context", "default", "--kubeconfig"])
                .arg(kubeconfig);
        }
        command
            .args(args)
            .current_dir(ROOT)
            .env("NO_COLOR", "1")
            .env_remove("GENESIS_YES")
            .env_remove("KUBECONFIG")
            .env_remove("CI")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, kubeconfig: Option<&Path>, args: &[&str]) -> Output {
        self.command(kubeconfig, args)
            .output()
            .expect("genesis runs")
    }

    fn journal(&self) -> Option<Vec<u8>> {
        std::fs::read(self.state.join(genesis_engine::journal::FILE_NAME)).ok()
    }

    /// Every secret value of the secrets file that is long enough to search for.
    fn secret_values(&self) -> Vec<String> {
        let secrets = genesis::secrets::Secrets::load(&self.secrets).expect("secrets load");
        secrets
            .values()
            .map(|value| value.expose().to_owned())
            .flat_map(|value| {
                // Multi-line values (a key) are searched line by line too.
                let mut parts: Vec<String> = value
                    .lines()
                    .map(str::trim)
                    .filter(|line| line.len() >= 12 && !line.starts_with("-----"))
                    .map(str::to_owned)
                    .collect();
                parts.push(value);
                parts
            })
            .filter(|value| value.len() >= 8)
            .collect()
    }
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(output: &Output) -> String {
    let (stdout, stderr) = text(output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    stdout
}

/// The lines of one step's block in the text plan (its header to the next step's).
fn block<'a>(plan: &'a str, id: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = plan.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.split_whitespace().nth(1) == Some(id))
        .unwrap_or_else(|| panic!("no step {id} in:\n{plan}"));
    let indent = lines[start].len() - lines[start].trim_start().len();
    let end = lines[start + 1..]
        .iter()
        .position(|line| line.trim().is_empty() || line.len() - line.trim_start().len() <= indent)
        .map_or(lines.len(), |offset| start + 1 + offset);
    lines[start..end].to_vec()
}

#[test]
fn the_plan_names_every_disk_each_install_erases_and_counts_the_machines() {
    let inputs = Inputs::shipped();
    let plan = ok(&inputs.run(None, &["plan", "--offline"]));
    for (id, machine) in [
        ("create-cluster/ms-02-1", "ms-02-1"),
        ("join-cluster/ms-02-2", "ms-02-2"),
        ("join-cluster/ms-02-3", "ms-02-3"),
    ] {
        let lines = block(&plan, id);
        assert!(
            lines.iter().any(|line| line.trim()
                == format!(
                    "!! ERASES {machine}: install disk /dev/nvme0n1, data disk /dev/nvme1n1"
                )),
            "{id}:\n{}",
            lines.join("\n")
        );
        assert!(
            lines.iter().any(|line| line
                .trim()
                .starts_with(&format!("!! POWER-CYCLES {machine} "))),
            "{id}:\n{}",
            lines.join("\n")
        );
    }
    // Nothing else is marked.
    for id in [
        "hardware/ms-02-2",
        "bmc/ms-02-2",
        "install-template",
        "vm/cp-2",
    ] {
        assert!(
            !block(&plan, id).iter().any(|line| line.contains("!!")),
            "{id} is not destructive:\n{plan}"
        );
    }
    assert!(plan.contains("\nPlan: 25 steps to run: "), "{plan}");
    assert!(
        plan.contains(
            "!! 3 machines will be erased: ms-02-1 (/dev/nvme0n1, /dev/nvme1n1), ms-02-2 (/dev/nvme0n1, /dev/nvme1n1), ms-02-3 (/dev/nvme0n1, /dev/nvme1n1)."
        ),
        "{plan}"
    );
    assert!(
        plan.contains("!! 3 machines will be power-cycled: ms-02-1, ms-02-2, ms-02-3."),
        "{plan}"
    );
    assert!(!plan.contains('\u{1b}'), "no colour without a terminal");

    // --color always paints the marked lines (and only those); --color never does not.
    let always = ok(&inputs.run(None, &["--color", "always", "plan", "--offline"]));
    let painted: Vec<&str> = always
        .lines()
        .filter(|line| line.contains('\u{1b}'))
        .collect();
    assert_eq!(painted.len(), 3 * 2 + 2, "{always}");
    assert!(
        painted
            .iter()
            .all(|line| line.trim_start().starts_with("\u{1b}[1;31m!! ")),
        "{painted:?}"
    );
    let never = ok(&inputs.run(None, &["--color", "never", "plan", "--offline"]));
    assert_eq!(never, plan);
}

#[test]
fn the_json_summary_counts_what_will_run_and_done_installs_erase_nothing() {
    let inputs = Inputs::shipped();
    let json: Value =
        serde_json::from_str(&ok(&inputs.run(None, &["plan", "-o", "json", "--offline"])))
            .expect("plan JSON");
    assert_eq!(json["schema"], "genesis.plan/v1");
    let summary = &json["summary"];
    assert_eq!(summary["steps"]["to_run"], 25, "{summary}");
    assert_eq!(summary["steps"]["done"], 0);
    let counted = ["unobserved", "check", "cannot_preview"]
        .iter()
        .map(|field| summary["steps"][field].as_u64().expect(field))
        .sum::<u64>();
    assert!(counted > 0 && counted <= 25, "{summary}");
    assert!(summary.get("objects").is_none(), "offline: no objects");
    let machines = serde_json::json!(["ms-02-1", "ms-02-2", "ms-02-3"]);
    assert_eq!(summary["machines_erased"], machines);
    assert_eq!(summary["machines_power_cycled"], machines);
    assert_eq!(summary["disks_erased"].as_array().expect("disks").len(), 6);
    assert_eq!(
        summary["disks_erased"][1],
        serde_json::json!({"machine": "ms-02-1", "device": "/dev/nvme1n1", "role": "data"})
    );
    let steps: Vec<&Value> = json["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps"))
        .collect();
    let install = steps
        .iter()
        .find(|step| step["id"] == "join-cluster/ms-02-2")
        .expect("step 10/ms-02-2");
    assert_eq!(
        install["effects"],
        serde_json::json!(["erases-disks", "power-cycles"])
    );
    assert_eq!(
        install["erases"],
        serde_json::json!([
            {"machine": "ms-02-2", "device": "/dev/nvme0n1", "role": "install"},
            {"machine": "ms-02-2", "device": "/dev/nvme1n1", "role": "data"}
        ])
    );
    for step in &steps {
        assert!(step["effects"].is_array(), "{step}");
        if step["kind"] != "tinkerbell.install" {
            assert_eq!(step["effects"], serde_json::json!([]), "{step}");
        }
    }

    // The first node installed: its step is done, and destroys nothing any more.
    let paths = genesis::inputs::InputPaths {
        lab: inputs.lab.clone(),
        phases: inputs.phases.clone(),
        secrets: inputs.secrets.clone(),
    };
    record_done_in(
        &paths,
        &inputs.state,
        &[("create-cluster/ms-02-1", serde_json::Map::new())],
    );
    let json: Value =
        serde_json::from_str(&ok(&inputs.run(None, &["plan", "-o", "json", "--offline"])))
            .expect("plan JSON");
    let summary = &json["summary"];
    assert_eq!(summary["steps"]["done"], 1, "{summary}");
    assert_eq!(summary["steps"]["to_run"], 24);
    assert_eq!(
        summary["machines_erased"],
        serde_json::json!(["ms-02-2", "ms-02-3"])
    );
    assert_eq!(summary["disks_erased"].as_array().expect("disks").len(), 4);

    // Selected with --only, the done install runs again (as `up --only` runs it): the plan says
    // `run-again` and that it erases ms-02-1 again; it was "done", erasing nothing, before.
    let json: Value = serde_json::from_str(&ok(&inputs.run(
        None,
        &[
            "plan",
            "-o",
            "json",
            "--offline",
            "--only",
            "create-cluster/ms-02-1",
        ],
    )))
    .expect("plan JSON");
    let again = json["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .flat_map(|phase| phase["steps"].as_array().expect("steps"))
        .find(|step| step["id"] == "create-cluster/ms-02-1")
        .expect("the install")
        .clone();
    assert_eq!(again["state"], "run-again", "{again}");
    assert_eq!(
        again["effects"],
        serde_json::json!(["erases-disks", "power-cycles"])
    );
    assert_eq!(
        json["summary"]["machines_erased"],
        serde_json::json!(["ms-02-1"]),
        "{}",
        json["summary"]
    );
}

#[test]
fn up_without_a_terminal_or_yes_refuses_before_writing_anything() {
    let inputs = Inputs::shipped();
    let output = inputs.run(None, &["up"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    for expected in [
        "!! ERASES the disks of 3 machines:",
        "ms-02-2: install disk /dev/nvme0n1, data disk /dev/nvme1n1  (step 10/ms-02-2 join-cluster/ms-02-2)",
        "!! POWER-CYCLES 3 machines through their BMCs: ms-02-1, ms-02-2, ms-02-3",
        "error: `genesis up` would erase the disks of 3 machines (ms-02-1, ms-02-2, ms-02-3) and power-cycle 3 machines (ms-02-1, ms-02-2, ms-02-3), and there is no terminal to confirm on; nothing was done",
        "`genesis up --yes` (or set GENESIS_YES=1)",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(
        !inputs.state.exists(),
        "nothing written: no state directory, no lock, no journal"
    );

    // GENESIS_YES answers it (the install is then skipped: the Hardware it needs was left
    // out and is not done, which is not this test's concern).
    let mut command = inputs.command(None, &["up", "--only", "create-cluster/ms-02-1"]);
    let output = command
        .env("GENESIS_YES", "1")
        .output()
        .expect("genesis runs");
    let (_, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("confirmed by --yes (or GENESIS_YES)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ms-02-1: install disk /dev/nvme0n1, data disk /dev/nvme1n1"),
        "the list is printed even when confirmed:\n{stderr}"
    );
    assert!(
        !stderr.contains("ms-02-2:"),
        "only the selected install counts:\n{stderr}"
    );
    // So does --yes.
    let output = inputs.run(None, &["up", "--yes", "--only", "create-cluster/ms-02-1"]);
    let (_, stderr) = text(&output);
    assert_ne!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("confirmed by --yes (or GENESIS_YES)"),
        "{stderr}"
    );

    // A saved plan is its own selection, and `-o json` output is not a saved plan.
    let plain = inputs.dir.path().join("plain.json");
    std::fs::write(
        &plain,
        ok(&inputs.run(None, &["plan", "--offline", "-o", "json"])),
    )
    .expect("write");
    let plain_arg = plain.to_str().expect("utf-8");
    let output = inputs.run(None, &["up", "--plan", plain_arg, "--only", "bmc"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot be combined with --from, --only, --skip or --machine"),
        "{stderr}"
    );
    let output = inputs.run(None, &["up", "--plan", plain_arg]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is not a saved plan (`genesis plan --out FILE` writes one)"),
        "{stderr}"
    );
}

/// `genesis ARGS` on a pseudo-terminal (util-linux `script`), with `answer` typed in.
fn on_a_terminal(inputs: &Inputs, args: &[&str], answer: &str) -> Output {
    let mut words = vec![
        GENESIS.to_owned(),
        "--secrets".to_owned(),
        inputs.secrets.display().to_string(),
        "--state-dir".to_owned(),
        inputs.state.display().to_string(),
    ];
    words.extend(args.iter().map(|arg| (*arg).to_owned()));
    let line = shlex::try_join(words.iter().map(String::as_str)).expect("quotable");
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .env_remove("GENESIS_YES")
        .env_remove("CI")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("type the answer");
    child.wait_with_output().expect("script ends")
}

#[test]
fn on_a_terminal_only_the_labs_name_goes_on() {
    let inputs = Inputs::shipped();
    let up = ["up", "--only", "create-cluster/ms-02-1"];
    let output = on_a_terminal(&inputs, &up, "yes\n");
    let (stdout, _) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("Type the lab's name (reference-lab) to go on"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ms-02-1: install disk /dev/nvme0n1, data disk /dev/nvme1n1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not confirmed (the answer was not `reference-lab`); nothing was done"),
        "{stdout}"
    );
    assert!(!inputs.state.exists(), "nothing written");

    // The name goes on (the install is then skipped: the Hardware it needs was left out).
    let output = on_a_terminal(&inputs, &up, "reference-lab\n");
    let (stdout, _) = text(&output);
    assert_ne!(output.status.code(), Some(2), "{stdout}");
    assert!(!stdout.contains("not confirmed"), "{stdout}");
    assert!(inputs.state.exists(), "the run went on and journaled");
}

#[test]
fn resetting_an_install_says_it_adopts_and_points_at_reinstall() {
    let inputs = Inputs::shipped();
    let paths = genesis::inputs::InputPaths {
        lab: inputs.lab.clone(),
        phases: inputs.phases.clone(),
        secrets: inputs.secrets.clone(),
    };
    record_done_in(
        &paths,
        &inputs.state,
        &[
            ("join-cluster/ms-02-2", serde_json::Map::new()),
            ("hardware/ms-02-2", serde_json::Map::new()),
        ],
    );
    let output = inputs.run(None, &["reset", "join-cluster/ms-02-2", "hardware/ms-02-2"]);
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("note: join-cluster/ms-02-2 adopts the Workflow that installed ms-02-2 (it does not install again); to install ms-02-2 again, run `genesis up --reinstall ms-02-2`"),
        "{stderr}"
    );
    // Only installs get the note.
    assert_eq!(stderr.matches("note:").count(), 1, "{stderr}");
}
