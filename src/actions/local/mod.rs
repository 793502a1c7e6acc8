//! Step kinds that act on the operator's machine.

pub mod exec;

use std::sync::Arc;

use genesis_engine::Registry;

use crate::secrets::Secrets;

/// Registers the local kinds.
pub fn register(registry: &mut Registry, secrets: &Secrets) {
    registry.register("exec", Arc::new(exec::Exec::new(secrets.clone())));
}

/// The registry of every kind that can run in this version.
pub fn registry(secrets: &Secrets) -> Registry {
    let mut registry = Registry::new();
    register(&mut registry, secrets);
    registry
}
