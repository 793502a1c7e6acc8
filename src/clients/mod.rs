//! Clients of the systems genesis talks to, built once per run and only when a step needs them
//! (so that `plan`, `validate` and offline runs never connect).

pub mod kube;
pub mod ssh;
