//! Where genesis keeps its journal and lock: the local state directory (default) or the
//! Platform cluster (`--state kubernetes`, or `state: kubernetes` in the lab file). See
//! docs/state.md.

pub mod kube;

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use genesis_engine::storage::{LocalState, StateBackend};
use serde::{Deserialize, Serialize};

use crate::clients::kube::KubeTarget;

/// Which backend keeps the state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateKind {
    /// The state directory (`--state-dir`): journal file and lock file.
    #[default]
    Local,
    /// The Platform cluster: chunk Secrets and a Lease in a namespace of genesis's own.
    Kubernetes,
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::Kubernetes => "kubernetes",
        })
    }
}

/// What a state command needs to find either backend.
#[derive(Clone, Debug)]
pub struct StateOptions {
    /// `--state`, if given.
    pub kind: Option<StateKind>,
    pub state_dir: PathBuf,
    pub lab: PathBuf,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// The few lab-file fields state needs, read without the whole lab (so that `status` and
/// `unlock` work while the inputs do not validate).
#[derive(Debug, Default, Deserialize)]
struct LabView {
    #[serde(default)]
    state: Option<StateKind>,
    #[serde(default)]
    endpoints: Option<EndpointsView>,
}

#[derive(Debug, Default, Deserialize)]
struct EndpointsView {
    #[serde(default)]
    platform: Option<PlatformView>,
}

#[derive(Debug, Default, Deserialize)]
struct PlatformView {
    #[serde(default)]
    kubeconfig: Option<String>,
    #[serde(default)]
    context: Option<String>,
}

/// The lab file's `state:` and Platform endpoint, when it reads; the inputs loader says what is
/// wrong with it otherwise. Read as a regular file of at most 4 MiB without blocking (a FIFO or
/// `/dev/zero` given as `--lab` must not hang or fill memory before that loader can refuse it).
fn lab_view(path: &Path) -> LabView {
    read_regular(path, 4 * 1024 * 1024)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| serde_saphyr::from_str::<LabView>(&text).ok())
        .unwrap_or_default()
}

/// A regular file's bytes, at most `cap`; `None` for anything else (a FIFO is opened without
/// blocking and refused by `fstat`).
fn read_regular(path: &Path, cap: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() || metadata.len() > cap {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(cap).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Why a backend could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StateSetupError {
    #[error("cannot use the state in the Platform cluster")]
    Kube(#[from] kube::KubeStateError),
}

impl StateOptions {
    /// `--state`, else the lab file's `state:`, else local.
    pub fn kind(&self) -> StateKind {
        self.kind
            .or_else(|| lab_view(&self.lab).state)
            .unwrap_or_default()
    }

    /// The Platform cluster as the actions reach it: `--kubeconfig`/`--context`, else the lab
    /// file's `endpoints.platform`, else `KUBECONFIG` and its current context.
    pub fn platform_target(&self) -> KubeTarget {
        let platform = lab_view(&self.lab)
            .endpoints
            .and_then(|endpoints| endpoints.platform)
            .unwrap_or_default();
        KubeTarget {
            cluster: "platform".to_owned(),
            kubeconfig: self
                .kubeconfig
                .clone()
                .or_else(|| platform.kubeconfig.map(PathBuf::from)),
            context: self.context.clone().or(platform.context),
        }
    }

    /// The backend of `kind`.
    pub fn backend_of(&self, kind: StateKind) -> Result<Box<dyn StateBackend>, StateSetupError> {
        Ok(match kind {
            StateKind::Local => Box::new(LocalState::new(&self.state_dir)),
            StateKind::Kubernetes => Box::new(kube::KubeState::connect(
                kube::KubeStateOptions::from_env(self.platform_target())?,
            )?),
        })
    }

    /// The selected backend.
    pub fn backend(&self) -> Result<Box<dyn StateBackend>, StateSetupError> {
        self.backend_of(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(kind: Option<StateKind>, lab: &Path) -> StateOptions {
        StateOptions {
            kind,
            state_dir: PathBuf::from(".genesis"),
            lab: lab.to_owned(),
            kubeconfig: None,
            context: None,
        }
    }

    #[test]
    fn the_flag_wins_then_the_lab_file_then_local() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lab = dir.path().join("lab.yaml");
        std::fs::write(
            &lab,
            "schema: 1\nstate: kubernetes\nendpoints:\n  platform:\n    context: lab-ctx\n    kubeconfig: /etc/lab.kubeconfig\n  other: {}\nmachines: []\n",
        )
        .expect("write");
        assert_eq!(options(None, &lab).kind(), StateKind::Kubernetes);
        assert_eq!(
            options(Some(StateKind::Local), &lab).kind(),
            StateKind::Local
        );
        let target = options(None, &lab).platform_target();
        assert_eq!(target.context.as_deref(), Some("lab-ctx"));
        assert_eq!(
            target.kubeconfig.as_deref(),
            Some(Path::new("/etc/lab.kubeconfig"))
        );
        let mut flagged = options(None, &lab);
        flagged.context = Some("flag-ctx".into());
        assert_eq!(
            flagged.platform_target().context.as_deref(),
            Some("flag-ctx")
        );
        // No lab file (or one without `state:`): local.
        assert_eq!(
            options(None, &dir.path().join("missing.yaml")).kind(),
            StateKind::Local
        );
        std::fs::write(&lab, "schema: 1\nname: x\n").expect("write");
        assert_eq!(options(None, &lab).kind(), StateKind::Local);
    }
}
