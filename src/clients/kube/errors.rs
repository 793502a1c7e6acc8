//! What a Kubernetes client error tells the operator, and what kind of failure it is.
//!
//! [`classify`] is the one place that maps client errors onto the engine's error kinds (and so
//! onto transient, retried, and permanent failures). The error it keeps as the cause is a
//! [`CallError`]: the client error said once and briefly, without the HTML page or debug dump
//! a server that is not a Kubernetes API answers with.

use genesis_engine::{ActionError, ErrorKind};

use super::safe_client_error;

/// The reason kube-rs gives a `Status` it made up because the body of an unsuccessful answer
/// was not a Kubernetes `Status` (kube-client 5.0.0, `src/client/mod.rs`, `handle_api_errors`):
/// whatever answered is not a Kubernetes API server, or not at that path.
const NOT_A_STATUS: &str = "Failed to parse error data";

/// The longest part of a foreign answer quoted in a message.
const QUOTE: usize = 60;

/// A Kubernetes client error as genesis reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    text: String,
}

impl CallError {
    pub fn new(error: &kube::Error) -> Self {
        Self {
            text: describe(error),
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for CallError {}

/// The client error in one line: the API's own status, a foreign answer named as such, or the
/// transport's chain of causes with each cause said once.
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if status.reason == NOT_A_STATUS => {
            let first = status
                .message
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or("");
            let quoted: String = first.chars().take(QUOTE).collect();
            let more = if first.chars().count() > QUOTE {
                "…"
            } else {
                ""
            };
            format!(
                "HTTP {} from something that is not a Kubernetes API server (its answer begins `{quoted}{more}`); check the server address",
                status.code
            )
        }
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                String::new()
            } else {
                format!(" {}", status.reason)
            };
            format!("HTTP {}{reason}: {}", status.code, status.message)
        }
        // kube's own words for a transport failure (`ServiceError: …`) add nothing to the
        // transport's chain.
        kube::Error::Service(inner) => genesis_engine::error_chain(inner.as_ref()),
        other => safe_client_error(other),
    }
}

/// The engine's error kind for a client error.
pub fn kind_of(error: &kube::Error) -> ErrorKind {
    match error {
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => {
            ErrorKind::PermissionDenied
        }
        kube::Error::Api(status) if status.code == 404 => ErrorKind::NotFound,
        kube::Error::Api(status) if status.code == 409 => ErrorKind::Conflict,
        kube::Error::Api(status) if status.code == 400 || status.code == 422 => {
            ErrorKind::InvalidParams
        }
        _ => ErrorKind::Unreachable,
    }
}

/// A step error: `message`, caused by the client error said once (a [`CallError`]).
pub fn classify(error: kube::Error, message: String) -> ActionError {
    ActionError::with_source(kind_of(&error), message, CallError::new(&error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    #[test]
    fn a_foreign_answer_is_named_and_quoted_briefly() {
        let page = "\n<!DOCTYPE HTML>\n<html lang=\"en\">\n<body>File not found</body></html>";
        let error = kube::Error::Api(Box::new(Status::failure(page, NOT_A_STATUS).with_code(404)));
        let text = CallError::new(&error).to_string();
        assert_eq!(
            text,
            "HTTP 404 from something that is not a Kubernetes API server (its answer begins `<!DOCTYPE HTML>`); check the server address"
        );
        assert_eq!(kind_of(&error), ErrorKind::NotFound);
    }

    #[test]
    fn an_api_status_is_said_with_its_code_and_reason() {
        let error = kube::Error::Api(Box::new(
            Status::failure(
                "namespaces is forbidden: User \"x\" cannot list",
                "Forbidden",
            )
            .with_code(403),
        ));
        assert_eq!(
            CallError::new(&error).to_string(),
            "HTTP 403 Forbidden: namespaces is forbidden: User \"x\" cannot list"
        );
        assert_eq!(kind_of(&error), ErrorKind::PermissionDenied);
    }

    #[test]
    fn a_long_foreign_line_is_cut() {
        let line = "x".repeat(200);
        let error = kube::Error::Api(Box::new(
            Status::failure(&line, NOT_A_STATUS).with_code(502),
        ));
        let text = CallError::new(&error).to_string();
        assert!(
            text.contains(&format!("`{}…`", "x".repeat(QUOTE))),
            "{text}"
        );
    }
}
