//! The test world's own cluster tests, in one test binary: each module was a test binary of its
//! own (`tests/<name>.rs`) and keeps its tests, now named `<name>::<test>`; run one file's with
//! `cargo test -p genesis-testworld --test it <name>::`. Each test starts its own world (free
//! ports, its own temp dirs), so they run side by side in this process's test threads.

mod world_apiserver_restart;
mod world_bootstrap;
mod world_faults;
mod world_real_tinkerbell;
mod world_smoke;
mod world_ssh_node;
mod world_strict_validation;
