//! Semantic checks of the lab inventory: everything that parses but cannot be right.

mod checker;
mod endpoints;
mod machines;
mod rules;
mod spans;

pub use checker::*;
pub use rules::*;
pub use spans::at;
