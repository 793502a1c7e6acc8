//! What the simulator did, timestamped, for assertions and latency measurements.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::Error;

/// One thing the simulator did (a status it set, an object it created).
#[derive(Debug, Clone, Serialize)]
pub struct SimEvent {
    /// Wall-clock time, RFC 3339 with microseconds.
    pub at: String,
    #[serde(skip)]
    pub system_time: SystemTime,
    /// Since the simulator started.
    pub elapsed_ms: f64,
    /// The simulated system: rufio, tinkerbell, harvester, kubevirt, platform.
    pub actor: String,
    /// What happened, dotted (e.g. `workflow.state`, `node.ready`).
    pub kind: String,
    /// The object, `namespace/name` or `name`.
    pub object: String,
    pub detail: String,
}

/// Append-only event log that can be waited on.
#[derive(Clone)]
pub struct EventLog {
    events: Arc<Mutex<Vec<SimEvent>>>,
    count: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self {
            events: Arc::default(),
            count: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }
}

impl EventLog {
    pub(crate) fn record(
        &self,
        started: Instant,
        actor: &str,
        kind: &str,
        object: &str,
        detail: String,
    ) {
        let system_time = SystemTime::now();
        let event = SimEvent {
            at: crate::util::rfc3339_micros(system_time),
            system_time,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            actor: actor.into(),
            kind: kind.into(),
            object: object.into(),
            detail,
        };
        tracing::debug!(actor, kind, object, detail = %event.detail, "labsim");
        let len = match self.events.lock() {
            Ok(mut events) => {
                events.push(event);
                events.len()
            }
            Err(_) => return,
        };
        self.count.send_replace(len);
    }

    /// A receiver that changes whenever an event is recorded.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<usize> {
        self.count.subscribe()
    }

    pub fn snapshot(&self) -> Vec<SimEvent> {
        self.events
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    /// Waits until an event matching `predicate` has been recorded (past or future).
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        predicate: impl Fn(&SimEvent) -> bool,
    ) -> Result<SimEvent, Error> {
        let mut changes = self.count.subscribe();
        let found = tokio::time::timeout(timeout, async {
            loop {
                if let Some(event) = self.snapshot().into_iter().find(|e| predicate(e)) {
                    return Some(event);
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match found {
            Ok(Some(event)) => Ok(event),
            _ => Err(Error::Timeout(what.into())),
        }
    }
}
