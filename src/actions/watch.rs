//! Waiting for one named object: a `kube::runtime` watcher on exactly that name (one list,
//! then one watch), checked after every change. A broken watch (an API server restart, a
//! dropped connection) is shown as the sub-state and re-established with the watcher's
//! backoff; it never fails the step. The step's deadline bounds the wait.

use futures::StreamExt;
use genesis_engine::{ActionError, ErrorKind, RunContext};
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;

/// What a check says about the object as it is now.
pub(crate) enum Check<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; the text becomes the step's sub-state.
    Waiting(String),
}

/// Watches `name` through `api` until `check` says done or fails. `check` sees `None` while
/// the object does not exist.
pub(crate) async fn until<K, T>(
    api: Api<K>,
    name: &str,
    context: &RunContext,
    mut check: impl FnMut(Option<&K>) -> Result<Check<T>, ActionError>,
) -> Result<T, ActionError>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = std::pin::pin!(watcher::watcher(api, config).default_backoff());
    let mut current: Option<K>;
    // While a (re-)list is in progress: what it has returned so far.
    let mut listing: Option<Option<K>> = None;
    let mut last_note = String::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => {
                listing = Some(None);
                continue;
            }
            Ok(Event::InitApply(object)) => {
                listing = Some(Some(object));
                continue;
            }
            Ok(Event::InitDone) => current = listing.take().flatten(),
            Ok(Event::Apply(object)) => current = Some(object),
            Ok(Event::Delete(_)) => current = None,
            Err(error) => {
                context.set_substate(format!(
                    "watch interrupted ({error}); reconnecting (last seen: {last_note})"
                ));
                continue;
            }
        }
        match check(current.as_ref())? {
            Check::Done(done) => return Ok(done),
            Check::Waiting(note) => {
                context.set_substate(note.clone());
                last_note = note;
            }
        }
    }
    Err(ActionError::new(
        ErrorKind::Unreachable,
        format!("the watch on {name} ended"),
    ))
}

/// [`until`] for an object genesis has just applied and waits on: its vanishing mid-wait fails
/// the step with [`vanished`]; `check` only ever sees the object. `waiting_for` completes
/// "while genesis waited …" (e.g. "for it to run").
pub(crate) async fn until_applied<K, T>(
    api: Api<K>,
    kind: &str,
    namespace: &str,
    name: &str,
    waiting_for: &str,
    context: &RunContext,
    mut check: impl FnMut(&K) -> Result<Check<T>, ActionError>,
) -> Result<T, ActionError>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    until(api, name, context, |object| match object {
        Some(object) => check(object),
        None => Err(vanished(kind, namespace, name, waiting_for)),
    })
    .await
}

/// The error for an applied object that disappeared while genesis waited on it.
fn vanished(kind: &str, namespace: &str, name: &str, waiting_for: &str) -> ActionError {
    ActionError::new(
        ErrorKind::Conflict,
        format!(
            "{kind} {namespace}/{name} disappeared while genesis waited {waiting_for}; was it deleted?"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_object_is_named_with_what_genesis_waited_for() {
        let error = vanished("VirtualMachine", "default", "cp-2", "for it to run");
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert!(error.to_string().contains(
            "VirtualMachine default/cp-2 disappeared while genesis waited for it to run; was it deleted?"
        ), "{error}");
    }
}
