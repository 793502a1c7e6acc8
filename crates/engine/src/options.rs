//! What a run is asked to do: its id, parallelism, selection, deadline and verification.

use std::time::Duration;

use crate::graph::Graph;
use crate::select::Resolved;

/// What a run is asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub run_id: String,
    /// Steps running at once; at least 1.
    pub parallelism: usize,
    pub selection: Resolved,
    /// The whole run's deadline (`--timeout`); step deadlines sit inside it.
    pub run_timeout: Option<Duration>,
    /// Written into the journal's run record.
    pub version: String,
    /// Ask each done step's action whether its result still holds (`--verify`); a step that
    /// drifted, or that cannot be checked because the check failed, runs again, and so do the
    /// done steps that need it. Without it only kinds verified on every run are asked
    /// ([`crate::Action::verify_every_run`]).
    pub verify: bool,
}

impl RunOptions {
    pub fn new(graph: &Graph) -> Self {
        Self {
            run_id: new_run_id(),
            parallelism: 4,
            selection: Resolved::everything(graph.len()),
            run_timeout: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            verify: false,
        }
    }
}

/// A run id that sorts by start time: `20261129T082136Z-1234`.
pub fn new_run_id() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let compact: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{compact}-{}", std::process::id())
}
