//! The rehearsal's one error type.

/// What went wrong in a rehearsal (before or around `genesis up`; a failed `up` is its own).
#[derive(Debug, thiserror::Error)]
pub enum RehearseError {
    /// The operator asked for something that cannot be (exit 2).
    #[error("{0}")]
    Input(String),
    /// Something a rehearsal needs on this machine is missing (exit 2).
    #[error("a rehearsal needs {what}: {install}")]
    Missing { what: String, install: String },
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Ctrl-C while the world started: it was stopped and removed (exit 130).
    #[error("interrupted while the rehearsal world started; it is stopped and removed")]
    Interrupted,
    #[error("the rehearsal world")]
    World(#[source] genesis_rehearse::Error),
}

impl RehearseError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}
