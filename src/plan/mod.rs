//! The offline plan: every step, in order, with its state and what `genesis up` would do.
//!
//! The JSON form (`genesis plan -o json`) is a stable interface, documented in
//! `docs/plan-json.md`; fields are only ever added.

mod model;
mod observe;
mod render;
mod selection;
#[cfg(test)]
mod tests;

pub use model::*;
pub use observe::*;
pub use render::*;
pub use selection::*;
