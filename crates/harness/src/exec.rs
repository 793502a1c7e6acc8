//! Shared by the engine's end-to-end tests: a temporary world of `exec` phase files, a state
//! directory and a marker file each step appends its id to when it starts, plus a runner of the
//! real `genesis` binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use genesis_engine::JournalState;

use crate::loopback::repo;

pub struct World {
    pub dir: tempfile::TempDir,
    /// The `genesis` binary it runs.
    pub bin: PathBuf,
    /// A private (0600) copy of secrets.example: genesis refuses a plaintext secrets file that
    /// others may read, and git checks the example out 0644.
    pub secrets: PathBuf,
    pub phases: PathBuf,
    pub state: PathBuf,
    pub marker: PathBuf,
}

impl World {
    /// A world running `bin`, with the phase files of `tests/fixtures/exec-phases`.
    pub fn fixture(bin: impl AsRef<Path>) -> Self {
        let world = Self::empty(bin.as_ref());
        let source = repo().join("tests/fixtures/exec-phases");
        for entry in std::fs::read_dir(source).expect("fixture dir") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), world.phases.join(entry.file_name())).expect("copy");
        }
        world
    }

    /// A world running `bin`, with the given phase files (`(file name, YAML)`).
    pub fn with_phases(bin: impl AsRef<Path>, files: &[(&str, String)]) -> Self {
        let world = Self::empty(bin.as_ref());
        world.write_phases(files);
        world
    }

    pub fn write_phases(&self, files: &[(&str, String)]) {
        for (name, text) in files {
            std::fs::write(self.phases.join(name), text).expect("write phase file");
        }
    }

    fn empty(bin: &Path) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let phases = dir.path().join("phases");
        std::fs::create_dir(&phases).expect("mkdir");
        let marker = dir.path().join("starts.log");
        std::fs::write(&marker, "").expect("marker");
        let secrets = dir.path().join("secrets.yaml");
        std::fs::copy(repo().join("secrets.example"), &secrets).expect("copy secrets.example");
        std::fs::set_permissions(
            &secrets,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod 600 secrets.yaml");
        Self {
            bin: bin.to_owned(),
            secrets,
            state: dir.path().join("state"),
            phases,
            marker,
            dir,
        }
    }

    /// `genesis <args>` with this world's inputs and state directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .current_dir(repo())
            .arg("--lab")
            .arg("hardware/lab.yaml")
            .arg("--phases")
            .arg(&self.phases)
            .arg("--secrets")
            .arg(&self.secrets)
            .arg("--state-dir")
            .arg(&self.state)
            .args(args)
            .env("GENESIS_TEST_MARKER", &self.marker)
            .env("GENESIS_TEST_DIR", self.dir.path())
            .env_remove("CI")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("genesis runs")
    }

    /// How often each step started, from the marker file.
    pub fn starts(&self) -> BTreeMap<String, usize> {
        let text = std::fs::read_to_string(&self.marker).unwrap_or_default();
        let mut counts = BTreeMap::new();
        for line in text.lines().filter(|line| !line.is_empty()) {
            *counts.entry(line.to_owned()).or_default() += 1;
        }
        counts
    }

    pub fn starts_of(&self, step: &str) -> usize {
        self.starts().get(step).copied().unwrap_or(0)
    }

    pub fn journal(&self) -> JournalState {
        genesis_engine::journal::load(&self.state).expect("the journal loads")
    }

    pub fn journal_text(&self) -> String {
        std::fs::read_to_string(self.state.join(genesis_engine::journal::FILE_NAME))
            .unwrap_or_default()
    }
}

/// One `exec` step running `sh -c <script>` after recording its start in the marker file.
pub fn exec_step(id: &str, number: u32, needs: &[&str], script: &str, extra: &str) -> String {
    let needs = if needs.is_empty() {
        String::new()
    } else {
        format!("\n    needs: [{}]", needs.join(", "))
    };
    let script = format!("echo \"$GENESIS_STEP_ID\" >> \"$GENESIS_TEST_MARKER\"; {script}");
    let script = serde_json::to_string(&script).expect("json string");
    format!(
        "  - id: {id}\n    number: {number}\n    name: Step {id}\n    kind: exec{needs}\n    params:\n      command: sh\n      args: [\"-c\", {script}]\n    timeout: 30s\n{extra}"
    )
}

/// A phase file of the given steps.
pub fn phase(number: u32, steps: &[String]) -> String {
    format!(
        "phase: {number}\nname: Test phase {number}\nsteps:\n{}",
        steps.join("\n")
    )
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}
