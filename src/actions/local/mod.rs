//! Step kinds that act on the operator's machine.

pub mod exec;

use genesis_engine::Registry;

use super::catalog::Build;
use crate::secrets::Secrets;

/// Registers the local kinds (those of [`super::kinds::KINDS`] built from the secrets alone).
pub fn register(registry: &mut Registry, secrets: &Secrets) {
    for kind in super::kinds::KINDS {
        if let Build::Local(build) = kind.build {
            registry.register(kind.name, build(secrets));
        }
    }
}

/// The registry of the local kinds only: what runs without any cluster.
pub fn registry(secrets: &Secrets) -> Registry {
    let mut registry = Registry::new();
    register(&mut registry, secrets);
    registry
}
