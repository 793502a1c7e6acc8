//! Everything genesis reads before it acts: the lab inventory, the phase files and the
//! secrets, loaded and checked together so that one run of `genesis validate` reports every
//! problem at once.

pub mod diagnostics;
pub mod expand;
pub mod lab;
pub mod phases;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use genesis_engine::Graph;
use serde::de::DeserializeOwned;

pub use diagnostics::{Diagnostic, Diagnostics};
use expand::LoadedPhase;
use lab::Lab;

use crate::secrets::{Secrets, SecretsError};

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
    pub file: PathBuf,
}

/// Loads and checks all inputs; on any problem returns every diagnostic found.
pub fn load(paths: &InputPaths) -> Result<Inputs, Diagnostics> {
    let mut out = Diagnostics::default();

    let lab: Option<Lab> = parse_file(&paths.lab, &mut out);
    if let Some(lab) = &lab {
        out.extend(validate::check_lab(&paths.lab, lab));
    }

    let phases = load_phases(&paths.phases, &mut out);

    let secrets = match Secrets::load(&paths.secrets) {
        Ok(secrets) => Some(secrets),
        Err(SecretsError::Read { source, .. }) => {
            let help = if source.kind() == std::io::ErrorKind::NotFound {
                "copy secrets.example to secrets.yaml, fill in your values and `chmod 600` it, or pass --secrets FILE".to_owned()
            } else {
                "check that the file is readable by you".to_owned()
            };
            out.push(
                Diagnostic::new(
                    &paths.secrets,
                    (0, 0),
                    "",
                    format!("cannot read the secrets file: {source}"),
                )
                .help(help),
            );
            None
        }
        Err(SecretsError::Permissions { mode, .. }) => {
            let fix = crate::secrets::shell_quote(&paths.secrets);
            out.push(
                Diagnostic::new(
                    &paths.secrets,
                    (0, 0),
                    "",
                    format!(
                        "mode {:04o} is too open ({}); a plaintext secrets file must be private \
                         to its owner, like an SSH private key: run `chmod 600 {fix}`",
                        mode & 0o7777,
                        crate::secrets::too_open(mode).unwrap_or_default(),
                    ),
                )
                .help(format!(
                    "run `chmod 600 {fix}`, or keep the secrets encrypted with \
                     `genesis secrets encrypt` (docs/secrets.md)"
                )),
            );
            None
        }
        Err(SecretsError::Malformed {
            line,
            column,
            problem,
            ..
        }) => {
            out.push(
                Diagnostic::new(&paths.secrets, (line, column), "", problem)
                    .help("see secrets.example for the layout"),
            );
            None
        }
    };

    let steps = expand::expand(
        &paths.phases,
        &phases,
        lab.as_ref(),
        secrets.as_ref(),
        &paths.secrets,
        &mut out,
    );

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
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    files.sort();
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
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Arc::new(text),
        Err(error) => {
            out.push(
                Diagnostic::new(path, (0, 0), "", format!("cannot read: {error}"))
                    .help("check the path (see --lab and --phases)"),
            );
            return None;
        }
    };
    out.add_source(path, text.clone());
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
            let help = parse_help(&message);
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
    } else if message.contains("missing field") {
        "add the field; see hardware/lab.yaml and phases/ of the reference lab for examples"
            .to_owned()
    } else {
        "fix the value to the type the field expects".to_owned()
    }
}
