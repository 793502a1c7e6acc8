//! genesis: bootstrap phases 2–4 of a bare-metal lab, from a single-node Platform cluster to
//! Harvester on three machines and a three-node HA Platform.

pub mod actions;
pub mod cli;
pub mod clients;
pub mod errors;
pub mod health;
pub mod inputs;
pub mod plan;
pub mod rehearse;
pub mod secrets;
pub mod state;
pub mod teardown;
pub mod ui;
