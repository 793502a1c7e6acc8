//! genesis' integration tests, in one test binary: each module was a test binary of its own
//! (`tests/<name>.rs`) and keeps its tests, now named `<name>::<test>`. One binary links the
//! crate and the test world once (docs/testworld.md, "Test layout"); run one file's tests with
//! `cargo test --test it <name>::`.
//!
//! The shared harness (loopback lab, exec-step worlds, latency, API metrics, kill moments) is
//! the `genesis-harness` crate (crates/harness), which the bootstrap bench uses too. Tests run
//! in parallel threads of this one process: nothing here may set the process environment,
//! change the current directory or bind a fixed port; each test passes its settings to the
//! `genesis` processes it runs and binds port 0.

/// The `genesis` binary under test (Cargo builds it for integration tests).
pub const GENESIS: &str = env!("CARGO_BIN_EXE_genesis");
/// The repository root (the genesis package's directory).
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

mod bootstrap_e2e;
mod chaos_sigkill;
mod cli_reference;
mod confirm_destructive;
mod diagnose;
mod docs_commands;
mod engine_exec;
mod hardware_clock;
mod harness;
mod harvester_steps;
mod health_describe;
mod hostile_inputs;
mod hostile_runtime;
mod inputs_fuzz;
mod kubeconfig_conventions;
mod leaks_multiline;
mod lock_exec;
mod phase4_vms;
mod plan_live;
mod plan_reference_lab;
mod preflight_http_artifacts;
mod preflight_platform_api;
mod preflight_stack;
mod provision_bmc;
mod provision_install;
mod recorded_plan;
mod rehearse;
mod reinstall;
mod reinstall_real;
mod resume_after_kill;
mod rotated_credentials;
mod secret_rotation;
mod secrets_age;
mod selection;
mod state_kubernetes;
mod step12_argocd_parser;
mod step12_secret;
mod upstream_decode;
mod validate_corpus;
mod validate_secrets;
