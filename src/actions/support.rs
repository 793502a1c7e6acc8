//! What every action needs the same way: its parameters and its secrets. (Its clients, and
//! what it does with them, live with the clients: `crate::clients::kube`.)

use genesis_engine::{ActionError, ErrorKind, StepSpec};
use kube::api::{ApiResource, GroupVersionKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::secrets::Secrets;

/// Core v1 Secrets, for the actions that apply them as dynamic objects.
pub(crate) fn secret_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Secret"), "secrets")
}

/// `GET /readyz` for an API server's readiness, as the preflight and step 9 ask it.
pub(crate) fn readyz_request() -> Result<http::Request<Vec<u8>>, ActionError> {
    http::Request::get("/readyz")
        .body(Vec::new())
        .map_err(|error| {
            ActionError::with_source(
                ErrorKind::InvalidParams,
                "cannot build the /readyz request",
                error,
            )
        })
}

/// A step's parameters, read strictly into the action's parameter type.
pub(crate) fn params<T: DeserializeOwned>(step: &StepSpec) -> Result<T, ActionError> {
    serde_json::from_value(step.params.clone()).map_err(|error| {
        ActionError::with_source(
            ErrorKind::InvalidParams,
            format!("step `{}`: bad parameters", step.id),
            error,
        )
    })
}

/// A `{secret: NAME}` parameter.
#[derive(Debug, Deserialize)]
pub(crate) struct SecretRef {
    pub secret: String,
}

impl SecretRef {
    /// The secret's value; the loader has checked that it exists, so absence is a bug in the
    /// caller's secrets, reported as such.
    pub(crate) fn value<'a>(&self, secrets: &'a Secrets) -> Result<&'a str, ActionError> {
        secrets
            .get(&self.secret)
            .map(|value| value.expose())
            .ok_or_else(|| {
                ActionError::new(
                    ErrorKind::NotFound,
                    format!("secret `{}` is not in the secrets file", self.secret),
                )
            })
    }
}
