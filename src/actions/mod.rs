//! Step kinds, grouped by the system they act on.

pub mod catalog;
pub mod local;
