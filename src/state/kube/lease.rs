//! The Lease lock: who holds it, taking it, renewing it, releasing it, and the news of losing it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use genesis_engine::journal::now_ms;
use genesis_engine::lock::LockHolder;
use genesis_engine::storage::{LockGuard, LockLoss};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;

use super::base::{HOLDER_ANNOTATION, LEASE_NAME, MANAGER, Worker, is_code, post_params};

/// What a Lease says about its holder.
#[derive(Clone, Debug)]
pub(crate) struct LeaseView {
    pub(crate) holder: LockHolder,
    pub(crate) expires_at_ms: u64,
}

impl LeaseView {
    pub(crate) fn of(lease: &Lease) -> Option<Self> {
        let spec = lease.spec.as_ref()?;
        let identity = spec
            .holder_identity
            .as_deref()
            .filter(|id| !id.is_empty())?;
        let holder = lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(HOLDER_ANNOTATION))
            .and_then(|json| serde_json::from_str::<LockHolder>(json).ok())
            .unwrap_or_else(|| LockHolder {
                host: identity.to_owned(),
                pid: 0,
                started_at: 0,
                command: "unknown command".to_owned(),
            });
        let renewed_ms = spec
            .renew_time
            .as_ref()
            .or(spec.acquire_time.as_ref())
            .map_or(0, |time| {
                u64::try_from(time.0.as_millisecond()).unwrap_or(0)
            });
        let duration_ms =
            u64::try_from(spec.lease_duration_seconds.unwrap_or(0)).unwrap_or(0) * 1000;
        Some(Self {
            holder,
            expires_at_ms: renewed_ms + duration_ms,
        })
    }

    pub(crate) fn expired(&self) -> bool {
        now_ms() >= self.expires_at_ms
    }
}

/// `holderIdentity`: host, pid and start time, readable by `kubectl get lease`.
fn identity(holder: &LockHolder) -> String {
    format!(
        "{} pid {} started {}",
        holder.host,
        holder.pid,
        holder.started_at_text()
    )
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

/// The Lease taken by `holder`, keeping `lease`'s metadata (resourceVersion) and transitions.
pub(crate) fn held_lease(
    namespace: &str,
    previous: Option<&Lease>,
    holder: &LockHolder,
    lease_seconds: u32,
) -> Lease {
    let mut lease = previous.cloned().unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(LEASE_NAME.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                MANAGER.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        spec: None,
    });
    let previously_held = previous.and_then(LeaseView::of).is_some();
    let transitions = lease
        .spec
        .as_ref()
        .and_then(|spec| spec.lease_transitions)
        .unwrap_or(0);
    lease
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            HOLDER_ANNOTATION.to_owned(),
            serde_json::to_string(holder).unwrap_or_default(),
        );
    lease.spec = Some(LeaseSpec {
        holder_identity: Some(identity(holder)),
        acquire_time: Some(micro_now()),
        renew_time: Some(micro_now()),
        lease_duration_seconds: Some(i32::try_from(lease_seconds).unwrap_or(i32::MAX)),
        lease_transitions: Some(transitions + i32::from(previously_held)),
        ..LeaseSpec::default()
    });
    lease
}

/// The Lease with nobody holding it.
pub(crate) fn released_lease(mut lease: Lease) -> Lease {
    if let Some(annotations) = lease.metadata.annotations.as_mut() {
        annotations.remove(HOLDER_ANNOTATION);
    }
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
        spec.acquire_time = None;
        spec.renew_time = None;
    }
    lease
}

/// The held Lease: renewed in the background, released on drop.
pub struct LeaseGuard {
    pub(crate) state: Arc<KubeStateShared>,
    pub(crate) holder: LockHolder,
    pub(crate) renewal: Option<tokio::task::JoinHandle<()>>,
}

/// What the guard needs of [`KubeState`] after `acquire` returns.
pub(crate) struct KubeStateShared {
    pub(crate) worker: Arc<Worker>,
    pub(crate) client: kube::Client,
    pub(crate) namespace: String,
    pub(crate) lost: LockLoss,
}

impl std::fmt::Debug for LeaseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseGuard")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl LockGuard for LeaseGuard {
    fn holder(&self) -> &LockHolder {
        &self.holder
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        if self.state.lost.is_lost() {
            return;
        }
        let api: Api<Lease> = Api::namespaced(self.state.client.clone(), &self.state.namespace);
        let holder = self.holder.clone();
        let result = self.state.worker.call(release(api, holder));
        if !matches!(result, Ok(Ok(()))) {
            crate::errln!(
                "warning: could not release Lease {}/{LEASE_NAME}; it expires by itself",
                self.state.namespace
            );
        }
    }
}

/// Clears the Lease if `holder` still holds it. Reads it first (an aborted renewal may have
/// written a newer version) and tries again when a concurrent write wins.
async fn release(api: Api<Lease>, holder: LockHolder) -> Result<(), kube::Error> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let Some(lease) = api.get_opt(LEASE_NAME).await? else {
            return Ok(());
        };
        if LeaseView::of(&lease).map(|view| view.holder) != Some(holder.clone()) {
            return Ok(());
        }
        match api
            .replace(LEASE_NAME, &post_params(), &released_lease(lease))
            .await
        {
            Ok(_) => return Ok(()),
            Err(error) if is_code(&error, 409) && attempts < 3 => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Renews the Lease every third of its duration. Gives up (and marks the lock lost) when
/// another writer changed the Lease or when no renewal succeeded for a whole duration.
pub(crate) async fn renew(
    client: kube::Client,
    namespace: String,
    mut lease: Lease,
    lease_seconds: u32,
    lost: LockLoss,
) {
    let api: Api<Lease> = Api::namespaced(client, &namespace);
    let period = Duration::from_millis(u64::from(lease_seconds) * 1000 / 3);
    let mut last_renewed = std::time::Instant::now();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticks.tick().await;
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(micro_now());
        }
        match api.replace(LEASE_NAME, &post_params(), &lease).await {
            Ok(written) => {
                last_renewed = std::time::Instant::now();
                lease = written;
            }
            Err(error) if is_code(&error, 409) || is_code(&error, 404) => {
                lost.signal(format!(
                    "Lease {namespace}/{LEASE_NAME} was changed by another run; this run can no longer write the journal"
                ));
                return;
            }
            Err(error) => {
                if last_renewed.elapsed() >= Duration::from_secs(u64::from(lease_seconds)) {
                    lost.signal(format!(
                        "Lease {namespace}/{LEASE_NAME} could not be renewed for {lease_seconds}s ({error}); this run can no longer write the journal"
                    ));
                    return;
                }
            }
        }
    }
}
