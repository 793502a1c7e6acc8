//! Everything genesis reads before it acts: the lab inventory, the phase files and the
//! secrets, loaded and checked together so that one run of `genesis validate` reports every
//! problem at once.

pub mod diagnostics;
pub mod expand;
pub mod lab;
pub mod phases;
pub mod preflight;
pub mod read;
pub mod secret_values;
pub mod talos;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use genesis_engine::Graph;
use serde::de::DeserializeOwned;

pub use diagnostics::{Diagnostic, Diagnostics};
use expand::LoadedPhase;
use lab::Lab;
pub use secret_values::SecretUse;

use crate::secrets::{SecretFormat, Secrets, SecretsError};

/// Where the inputs are.
#[derive(Debug, Clone)]
pub struct InputPaths {
    pub lab: PathBuf,
    pub phases: PathBuf,
    pub secrets: PathBuf,
}

impl Default for InputPaths {
    fn default() -> Self {
        Self {
            lab: PathBuf::from("hardware/lab.yaml"),
            phases: PathBuf::from("phases"),
            secrets: PathBuf::from("secrets.yaml"),
        }
    }
}

/// Inputs that passed every check.
#[derive(Debug)]
pub struct Inputs {
    pub paths: InputPaths,
    pub lab: Lab,
    /// Phase numbers with their names, ascending.
    pub phases: Vec<PhaseInfo>,
    pub secrets: Secrets,
    pub graph: Graph,
}

#[derive(Debug, Clone)]
pub struct PhaseInfo {
    pub number: u32,
    pub name: String,
    pub description: Option<String>,
    /// What the operator has once the phase is done, for the projected clock (`milestone:`;
    /// absent: the phase's name).
    pub milestone: Option<String>,
    pub file: PathBuf,
}

/// How to read the secrets beyond their path.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--age-identity`: the identity file for an encrypted secrets file (else
    /// `GENESIS_AGE_IDENTITY`, else `~/.config/genesis/age.txt`).
    pub age_identity: Option<PathBuf>,
    /// The state directory whose key (`plan.key`, when it exists; loading never makes it)
    /// digests the secret values each step references
    /// ([`genesis_engine::StepSpec::secret_digests`]), so a rotated value re-plans the steps
    /// that use it. `None`, or no key yet: no digests.
    pub state_dir: Option<PathBuf>,
}

/// The shipped reference lab (`hardware/lab.yaml`, `phases/`, `secrets.example`), loaded as
/// genesis loads it, for unit tests (which run in the package's directory). The secrets are a
/// private copy of the example: genesis refuses a secrets file others may read.
#[cfg(test)]
pub(crate) fn reference_lab() -> Inputs {
    let dir = tempfile::tempdir().expect("temp dir");
    load(&reference_paths(dir.path())).unwrap_or_else(|diagnostics| {
        panic!("the reference lab loads: {}", diagnostics.render(false))
    })
}

/// The shipped reference lab's paths, with a private copy of `secrets.example` in `dir` (for
/// unit tests that read the files again after loading them).
#[cfg(test)]
pub(crate) fn reference_paths(dir: &std::path::Path) -> InputPaths {
    use std::os::unix::fs::PermissionsExt as _;
    let secrets = dir.join("secrets.yaml");
    std::fs::copy("secrets.example", &secrets).expect("copy secrets.example");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    InputPaths {
        lab: "hardware/lab.yaml".into(),
        phases: "phases".into(),
        secrets,
    }
}

/// Loads and checks all inputs; on any problem returns every diagnostic found.
pub fn load(paths: &InputPaths) -> Result<Inputs, Diagnostics> {
    load_with(paths, &LoadOptions::default())
}

/// Everything read and expanded, before the graph is built.
struct Parts {
    lab: Option<Lab>,
    phases: Vec<LoadedPhase>,
    secrets: Option<Secrets>,
    steps: Vec<genesis_engine::StepSpec>,
    /// Every secret reference of every expanded step, in step order.
    uses: Vec<SecretUse>,
    /// The secrets' value problems ([`secret_values::problems`]), by secret name; not in `out`.
    value_problems: Vec<(String, Diagnostic)>,
    out: Diagnostics,
}

fn load_parts(paths: &InputPaths, options: &LoadOptions) -> Parts {
    let mut out = Diagnostics::default();

    let mut lab: Option<Lab> = parse_file(&paths.lab, &mut out);
    let mut lab_ok = false;
    if let Some(lab) = &mut lab {
        let text = out.source_of(&paths.lab).unwrap_or_default();
        let problems = validate::check_lab(&paths.lab, &text, lab);
        lab_ok = problems.is_empty();
        validate::normalize_macs(lab);
        out.extend(problems);
        // Paths in the lab file are relative to its directory, wherever genesis runs from.
        if let Some(ca_file) = &mut lab.endpoints.pxe.ca_file {
            ca_file.value = validate::relative_to(&paths.lab, &ca_file.value)
                .to_string_lossy()
                .into_owned();
        }
    }

    let phases = load_phases(&paths.phases, &mut out);

    // The plaintext file, or the age file it falls back to, decrypted in memory.
    let secrets = match Secrets::read(&paths.secrets, options.age_identity.as_deref()) {
        Ok(secrets) => Some(secrets),
        Err(error) => {
            out.push(secrets_diagnostic(&error));
            None
        }
    };
    let secrets_file = secrets
        .as_ref()
        .and_then(Secrets::file)
        .unwrap_or(&paths.secrets)
        .to_owned();

    let steps = expand::expand(
        &paths.phases,
        &phases,
        lab.as_ref().filter(|_| lab_ok),
        secrets.as_ref(),
        &secrets_file,
        &mut out,
    );
    out.extend(talos::check(
        &paths.lab,
        lab.as_ref(),
        secrets.as_ref(),
        &secrets_file,
        &steps,
    ));
    let mut uses = Vec::new();
    for step in &steps {
        collect_uses(&step.params, "params", step, &mut uses);
    }
    let value_problems = secrets.as_ref().map_or_else(Vec::new, |secrets| {
        secret_values::problems(
            secrets,
            &secret_values::judge(secrets, &uses),
            &secrets_file,
        )
    });
    Parts {
        lab,
        phases,
        secrets,
        steps,
        uses,
        value_problems,
        out,
    }
}

/// The run's steps from the lab and phase files alone, without reading the secrets (what
/// shell completion offers); `None` when they do not load.
pub fn load_graph(paths: &InputPaths) -> Option<Graph> {
    let mut out = Diagnostics::default();
    let mut lab: Lab = parse_file(&paths.lab, &mut out)?;
    let text = out.source_of(&paths.lab).unwrap_or_default();
    if !validate::check_lab(&paths.lab, &text, &lab).is_empty() {
        return None;
    }
    validate::normalize_macs(&mut lab);
    let phases = load_phases(&paths.phases, &mut out);
    let steps = expand::expand(
        &paths.phases,
        &phases,
        Some(&lab),
        None,
        &paths.secrets,
        &mut out,
    );
    Graph::build(steps).ok()
}

/// A secrets-file problem as a diagnostic: the file, what is wrong, what to do.
pub fn secrets_diagnostic(error: &SecretsError) -> Diagnostic {
    Diagnostic::new(error.path(), error.position(), "", error.detail()).help(error.help())
}

/// What `genesis secrets check` reports.
#[derive(Debug)]
pub struct SecretsCheck {
    /// The secrets, when the file could be read.
    pub secrets: Option<Secrets>,
    /// Every reference of every expanded step, in step order.
    pub uses: Vec<SecretUse>,
    /// Every input problem (including absent secrets), as `genesis validate` reports them.
    pub problems: Diagnostics,
}

/// Loads the inputs and lists every secret reference of the expanded steps.
pub fn check_secrets(paths: &InputPaths, options: &LoadOptions) -> SecretsCheck {
    let Parts {
        secrets,
        uses,
        value_problems,
        mut out,
        ..
    } = load_parts(paths, options);
    // A referenced secret's problem is a row of the table; the others are listed with the rest.
    for (name, problem) in value_problems {
        if !uses.iter().any(|use_| use_.name == name) {
            out.push(problem);
        }
    }
    out.sort();
    SecretsCheck {
        secrets,
        uses,
        problems: out,
    }
}

fn collect_uses(
    value: &serde_json::Value,
    path: &str,
    step: &genesis_engine::StepSpec,
    into: &mut Vec<SecretUse>,
) {
    match value {
        serde_json::Value::Object(map) => {
            if let (1, Some(serde_json::Value::String(name))) = (map.len(), map.get("secret")) {
                into.push(SecretUse {
                    name: name.clone(),
                    step: step.id.to_string(),
                    param: path.to_owned(),
                    format: SecretFormat::of(&step.kind, path),
                });
                return;
            }
            for (key, child) in map {
                collect_uses(child, &format!("{path}.{key}"), step, into);
            }
        }
        serde_json::Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_uses(child, &format!("{path}[{index}]"), step, into);
            }
        }
        _ => {}
    }
}

/// Fills each step's keyed digest of every secret its parameters reference.
fn digest_secrets(
    steps: &mut [genesis_engine::StepSpec],
    secrets: &Secrets,
    key: &crate::secrets::keyed::PlanKey,
) {
    for step in steps {
        digest_step(step, secrets, key);
    }
}

/// Fills one step's keyed digests ([`genesis_engine::StepSpec::secret_digests`]).
pub(crate) fn digest_step(
    step: &mut genesis_engine::StepSpec,
    secrets: &Secrets,
    key: &crate::secrets::keyed::PlanKey,
) {
    let mut uses = Vec::new();
    collect_uses(&step.params, "params", step, &mut uses);
    step.secret_digests = uses
        .into_iter()
        .filter_map(|use_| {
            let value = secrets.get(&use_.name)?;
            let digest = key.digest(&use_.name, value.expose());
            Some((use_.name, digest))
        })
        .collect();
}

impl Inputs {
    /// Digests the secrets of every step under the key of `state_dir`, making the key (and
    /// the directory) when absent: what `genesis up` does once it holds the lock, so that the
    /// fingerprints it journals cover the secrets from its first run on.
    pub fn digest_secrets(
        &mut self,
        state_dir: &Path,
    ) -> Result<(), crate::secrets::keyed::KeyError> {
        let key = crate::secrets::keyed::PlanKey::load_or_create(state_dir)?;
        let mut steps = self.graph.steps().to_vec();
        digest_secrets(&mut steps, &self.secrets, &key);
        // The same steps as before, so the graph builds as it did.
        if let Ok(graph) = Graph::build(steps) {
            self.graph = graph;
        }
        Ok(())
    }
}

/// [`load`] with options for the secrets.
pub fn load_with(paths: &InputPaths, options: &LoadOptions) -> Result<Inputs, Diagnostics> {
    let Parts {
        lab,
        phases,
        secrets,
        mut steps,
        value_problems,
        mut out,
        ..
    } = load_parts(paths, options);
    for (_, problem) in value_problems {
        out.push(problem);
    }
    // Loading writes nothing: without a key there is no journal fingerprinted with one to
    // compare with. `genesis up` makes the key once it holds the lock, then digests
    // ([`Inputs::digest_secrets`]); a key that cannot be read fails it there, by name.
    if let (Some(state_dir), Some(secrets)) = (&options.state_dir, &secrets)
        && out.is_empty()
        && let Ok(key) = crate::secrets::keyed::PlanKey::load(state_dir)
    {
        digest_secrets(&mut steps, secrets, &key);
    }

    let (Some(lab), Some(secrets)) = (lab, secrets) else {
        out.sort();
        return Err(out);
    };
    if !out.is_empty() {
        out.sort();
        return Err(out);
    }
    let graph = Graph::build(steps).map_err(|errors| {
        // The template checks catch these first; this is the engine's own guard.
        let mut graph_out = Diagnostics::default();
        for error in errors {
            graph_out.push(Diagnostic::new(
                &paths.phases,
                (0, 0),
                "steps",
                error.to_string(),
            ));
        }
        graph_out
    })?;
    let mut phase_info: Vec<PhaseInfo> = phases
        .into_iter()
        .map(|loaded| PhaseInfo {
            number: loaded.file.phase.value,
            name: loaded.file.name,
            description: loaded.file.description,
            milestone: loaded.file.milestone,
            file: loaded.path,
        })
        .collect();
    phase_info.sort_by_key(|phase| phase.number);
    Ok(Inputs {
        paths: paths.clone(),
        lab,
        phases: phase_info,
        secrets,
        graph,
    })
}

/// The most phase files one phases directory may hold.
pub const MAX_PHASE_FILES: usize = 100;

/// Reads every `*.yaml` file of the phases directory.
fn load_phases(dir: &Path, out: &mut Diagnostics) -> Vec<LoadedPhase> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            out.push(
                Diagnostic::new(
                    dir,
                    (0, 0),
                    "",
                    format!("cannot read the phases directory: {error}"),
                )
                .help("pass --phases DIR, the directory holding phase-2.yaml, phase-3.yaml, …"),
            );
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        // Every `*.yaml` entry counts: one that is not a regular file (a FIFO, a device, a
        // directory) is reported when it is read, not skipped in silence.
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    files.sort();
    if files.len() > MAX_PHASE_FILES {
        out.push(
            Diagnostic::new(
                dir,
                (0, 0),
                "",
                format!(
                    "{} phase files (*.yaml) in this directory, more than the {MAX_PHASE_FILES} genesis reads",
                    files.len()
                ),
            )
            .help("pass --phases DIR, the directory holding only the phase files"),
        );
        return Vec::new();
    }
    if files.is_empty() {
        out.push(
            Diagnostic::new(dir, (0, 0), "", "no phase files (*.yaml) in this directory")
                .help("a phase file starts with `phase: N`"),
        );
    }
    let mut phases: Vec<LoadedPhase> = files
        .into_iter()
        .filter_map(|path| parse_file(&path, out).map(|file| LoadedPhase { path, file }))
        .collect();
    phases.sort_by_key(|loaded| loaded.file.phase.value);
    phases
}

/// Parses one YAML file, turning a parse error into a diagnostic at its position.
fn parse_file<T: DeserializeOwned>(path: &Path, out: &mut Diagnostics) -> Option<T> {
    let text = match read::read_input_file(path, read::MAX_INPUT_BYTES) {
        Ok(text) => Arc::new(text),
        Err(error) => {
            out.push(Diagnostic::new(path, (0, 0), "", error.detail()).help(error.help()));
            return None;
        }
    };
    out.add_source(path, text.clone());
    if text
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
    {
        out.push(
            Diagnostic::new(
                path,
                (0, 0),
                "",
                "the file is empty (nothing but blank lines and comments)",
            )
            .help("a lab file starts with `schema: 1`, a phase file with `phase: N`; start from the reference lab's hardware/lab.yaml and phases/"),
        );
        return None;
    }
    match serde_saphyr::from_str::<T>(&text) {
        Ok(value) => Some(value),
        Err(error) => {
            let (line, column) = error
                .location()
                .map_or((0, 0), |location| (location.line(), location.column()));
            let message = error.without_snippet().to_string();
            let message = message.lines().next().unwrap_or("not valid YAML").trim();
            // The position is already in the diagnostic's prefix.
            let message = match message.rfind(" at line ") {
                Some(cut) => &message[..cut],
                None => message,
            }
            .to_owned();
            // A typo of a known field: say which field was meant, and list the rest in the help.
            let (message, help) = match nearest_field(&message) {
                Some((unknown, near, fields)) => (
                    format!("unknown field `{unknown}`, did you mean `{near}`?"),
                    format!(
                        "fix the spelling, or remove the field; the fields here are {}",
                        fields.join(", ")
                    ),
                ),
                None => {
                    let help = parse_help(&message);
                    (message, help)
                }
            };
            out.push(Diagnostic::new(path, (line, column), "", message).help(help));
            None
        }
    }
}

fn parse_help(message: &str) -> String {
    if message.contains("unknown field") {
        "remove the field or fix its spelling; the expected fields are listed above".to_owned()
    } else if message.contains("while parsing") || message.contains("while scanning") {
        "this is not valid YAML here; quote values that contain `{`, `}`, `:` or `#`".to_owned()
    } else if message.contains("end of input") {
        "the file ends before its content is complete; compare it with the reference lab's files"
            .to_owned()
    } else if message.contains("missing field") {
        "add the field; see hardware/lab.yaml and phases/ of the reference lab for examples"
            .to_owned()
    } else {
        "fix the value to the type the field expects".to_owned()
    }
}

/// For an "unknown field `x`, expected one of a, b, …" message: `x`, the expected field
/// closest to it (when it is close enough to be a typo of it) and every expected field.
fn nearest_field(message: &str) -> Option<(String, String, Vec<String>)> {
    let rest = message.split_once("unknown field `")?.1;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest
        .split_once("expected one of ")
        .or_else(|| rest.split_once("expected "))?
        .1;
    let fields: Vec<String> = expected
        .split(',')
        .map(|field| field.trim().trim_matches('`').to_owned())
        .filter(|field| !field.is_empty())
        .collect();
    let near = expand::closest(unknown, fields.iter().map(String::as_str))?.to_owned();
    Some((unknown.to_owned(), near, fields))
}
