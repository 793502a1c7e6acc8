//! A problem of `encrypt`, `edit` or `keygen`: a secrets-file error or one of the command's own.

use crate::secrets::SecretsError;

/// A problem of `encrypt` or `edit`: a secrets-file error or one of the command's own.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandError {
    #[error("{0}")]
    Secrets(#[from] SecretsError),
    #[error("{message}")]
    Usage { message: String, help: String },
}

impl CommandError {
    pub(crate) fn usage(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    pub(crate) fn help(&self) -> String {
        match self {
            Self::Secrets(error) => error.help(),
            Self::Usage { help, .. } => help.clone(),
        }
    }
}
