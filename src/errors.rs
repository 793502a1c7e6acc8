//! How an error reads in one line: its message and every cause not already said.
//!
//! The one place that turns a chain of `source()`s into text (`genesis_engine::error_chain`), for the command line's messages,
//! the plan's notes and the actions' errors alike.

/// An error and its causes, as one line (the engine's, so that a step's error and a command's
/// read the same).
pub use genesis_engine::error_chain;

#[cfg(test)]
mod tests {
    use super::error_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the kubeconfig: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("the Platform cluster is not reachable")]
    struct Outer(#[source] Repeats);

    #[test]
    fn each_cause_is_said_once() {
        let error = Outer(Repeats(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "No such file or directory",
        )));
        assert_eq!(
            error_chain(&error),
            "the Platform cluster is not reachable: cannot read the kubeconfig: No such file or directory"
        );
    }
}
