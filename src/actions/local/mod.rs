//! Step kinds that act on the operator's machine.

pub mod exec;
