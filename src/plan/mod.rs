//! The offline plan: every step, in order, with its state and what `genesis up` would do.
//!
//! The JSON form (`genesis plan -o json`) is a stable interface, documented in
//! `docs/plan-json.md`; fields are only ever added.

mod build;
mod effects;
mod model;
mod observe;
mod projection;
mod render;
pub mod saved;
mod selection;
#[cfg(test)]
mod tests;

pub use build::build;
pub use effects::*;
pub use model::*;
pub use observe::*;
pub use projection::{Milestone, Projection, about_minutes, project};
pub use render::*;
pub use selection::*;
