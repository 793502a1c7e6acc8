//! From phase files and the lab to the run's steps: checks of the step templates, fan-out over
//! the inventory, `${…}` interpolation and secret references.

mod context;
mod steps;
mod templates;

pub use context::control_plane_nodes;
pub use steps::expand;
pub use templates::{LoadedPhase, MAX_ATTEMPTS, MAX_BACKOFF, MAX_STEP_TIMEOUT, closest};
