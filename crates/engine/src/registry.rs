//! Which action runs which step kind.

use std::collections::HashMap;
use std::sync::Arc;

use crate::action::{Action, UnsupportedKind};

/// Step kind → action. Kinds without an action fail at run time, permanently, with a message
/// naming the kind; they never pretend to succeed.
#[derive(Clone, Default)]
pub struct Registry {
    actions: HashMap<String, Arc<dyn Action>>,
    unsupported: Arc<UnsupportedKind>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, kind: impl Into<String>, action: Arc<dyn Action>) -> &mut Self {
        self.actions.insert(kind.into(), action);
        self
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn Action>> {
        self.actions.get(kind).cloned()
    }

    /// The action for `kind`, or the stand-in that fails naming the kind.
    pub fn resolve(&self, kind: &str) -> Arc<dyn Action> {
        match self.actions.get(kind) {
            Some(action) => Arc::clone(action),
            None => self.unsupported.clone(),
        }
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<&str> = self.kinds().collect();
        kinds.sort_unstable();
        f.debug_struct("Registry").field("kinds", &kinds).finish()
    }
}
