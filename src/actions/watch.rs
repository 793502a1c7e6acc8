//! The one wait layer: a `kube::runtime` watcher (one list, then one watch, re-established
//! with the watcher's default backoff), the objects it shows kept as a set by name, and a check
//! run after every settled change: [`until_all`] for a set of objects (the Harvester quorum),
//! [`until`] for one named object, [`until_applied`] for an object a step has just applied.
//! A broken watch (an API server restart, a dropped connection) is shown as the sub-state and
//! never fails the step; the step's deadline bounds the wait. [`conditions`] holds the checks
//! several kinds share, in the spirit of kube-runtime's `wait::conditions`.

pub(crate) mod conditions;

use std::collections::BTreeMap;

use futures::StreamExt;
use genesis_engine::{ActionError, ErrorKind, RunContext};
use kube::ResourceExt as _;
use kube::api::Api;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

/// What a check says about the objects as they are now.
pub(crate) enum Check<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; the text becomes the step's sub-state.
    Waiting(String),
    /// Not yet, and check again at this instant even if nothing changes (a check about time,
    /// such as a promotion that makes no progress).
    WaitingUntil(String, Instant),
}

/// What woke the wait.
enum Woke<E> {
    Event(Option<E>),
    Time,
}

/// Watches the objects `config` selects through `api` until `check` says done or fails.
/// `check` sees every object by name, after each change once a (re-)list is complete.
pub(crate) async fn until_all<K, T>(
    api: Api<K>,
    config: watcher::Config,
    context: &RunContext,
    mut check: impl FnMut(&BTreeMap<String, K>) -> Result<Check<T>, ActionError>,
) -> Result<T, ActionError>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let mut stream = std::pin::pin!(watcher::watcher(api, config).default_backoff());
    let mut objects: BTreeMap<String, K> = BTreeMap::new();
    // While a (re-)list is in progress: what it has returned so far.
    let mut listing: Option<BTreeMap<String, K>> = None;
    let mut recheck: Option<Instant> = None;
    let mut last_note = String::new();
    loop {
        let woke = match recheck {
            Some(at) => tokio::select! {
                event = stream.next() => Woke::Event(event),
                () = tokio::time::sleep_until(at) => Woke::Time,
            },
            None => Woke::Event(stream.next().await),
        };
        match woke {
            Woke::Time => {}
            Woke::Event(None) => break,
            Woke::Event(Some(Ok(Event::Init))) => {
                listing = Some(BTreeMap::new());
                continue;
            }
            Woke::Event(Some(Ok(Event::InitApply(object)))) => {
                if let Some(list) = listing.as_mut() {
                    list.insert(object.name_any(), object);
                }
                continue;
            }
            Woke::Event(Some(Ok(Event::InitDone))) => objects = listing.take().unwrap_or_default(),
            Woke::Event(Some(Ok(Event::Apply(object)))) => {
                objects.insert(object.name_any(), object);
            }
            Woke::Event(Some(Ok(Event::Delete(object)))) => {
                objects.remove(&object.name_any());
            }
            Woke::Event(Some(Err(error))) => {
                context.set_substate(format!(
                    "watch interrupted ({error}); reconnecting (last seen: {last_note})"
                ));
                continue;
            }
        }
        if listing.is_some() {
            continue;
        }
        recheck = None;
        let note = match check(&objects)? {
            Check::Done(done) => return Ok(done),
            Check::Waiting(note) => note,
            Check::WaitingUntil(note, at) => {
                recheck = Some(at);
                note
            }
        };
        context.set_substate(note.clone());
        last_note = note;
    }
    Err(ActionError::new(ErrorKind::Unreachable, "the watch ended"))
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
    until_all(api, config, context, |objects| check(objects.get(name))).await
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
