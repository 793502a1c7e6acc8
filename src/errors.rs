//! How an error reads in one line: its message and every cause not already said.
//!
//! The one place that turns a chain of `source()`s into text, for the command line's messages,
//! the plan's notes and the actions' errors alike.

/// An error and its causes, as one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        // Some errors repeat their cause in their own message (kube's kubeconfig errors do);
        // a cause already said is not said again.
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

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
