//! Small helpers: timestamps, status patches, waiting for objects.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use serde_json::Value;

use crate::Error;

/// RFC 3339, seconds precision, UTC: what metav1.Time fields hold.
pub fn now_rfc3339() -> String {
    format_rfc3339(SystemTime::now(), false)
}

pub fn rfc3339_micros(time: SystemTime) -> String {
    format_rfc3339(time, true)
}

fn format_rfc3339(time: SystemTime, micros: bool) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (hour, minute, second) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if micros {
        format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
            since.subsec_micros()
        )
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    }
}

/// Go's time.Duration String() for durations the simulator produces.
pub fn go_duration(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs >= 60.0 {
        let minutes = (secs / 60.0).floor();
        format!("{}m{}s", minutes as u64, trim_float(secs - minutes * 60.0))
    } else if secs >= 1.0 {
        format!("{}s", trim_float(secs))
    } else {
        format!("{}ms", trim_float(secs * 1000.0))
    }
}

fn trim_float(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How long simulated controllers retry a call that fails transiently (an
/// API server restarting takes seconds).
const RETRY_FOR: Duration = Duration::from_secs(90);

/// Transient: the API server is restarting, unreachable or overloaded.
pub fn is_transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code >= 500 || status.code == 429,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Backoff for `retry_transient!`: the next delay, or None past the deadline.
pub fn next_delay(deadline: tokio::time::Instant, delay: Duration) -> Option<Duration> {
    (tokio::time::Instant::now() + delay < deadline)
        .then(|| (delay * 2).min(Duration::from_secs(2)))
}

/// The retry deadline for a call starting now.
pub fn retry_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + RETRY_FOR
}

/// Merge-patches `.status` through the status subresource.
pub async fn patch_status(
    api: &Api<DynamicObject>,
    name: &str,
    status: Value,
) -> Result<(), Error> {
    let body = serde_json::json!({ "status": status });
    retry_transient!(api.patch_status(name, &PatchParams::default(), &Patch::Merge(&body)))
        .map(|_| ())
        .map_err(|source| Error::Kube {
            context: format!("patch status of {name}"),
            source,
        })
}

/// Waits (watch-based) until `name` satisfies `condition`; a broken watch
/// (API server restart) is re-established until `timeout`.
pub async fn await_until<K>(
    api: &Api<K>,
    name: &str,
    timeout: Duration,
    condition: impl kube::runtime::wait::Condition<K> + Clone,
) -> Result<K, Error>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(
            remaining,
            await_condition(api.clone(), name, condition.clone()),
        )
        .await
        {
            Err(_) => return Err(Error::Timeout(format!("object {name}"))),
            Ok(Ok(Some(object))) => return Ok(object),
            Ok(Ok(None)) => return Err(Error::Timeout(format!("object {name} (deleted)"))),
            Ok(Err(error)) => {
                tracing::debug!(%error, %name, "labsim re-watching");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Waits (watch-based) until `name` exists, returns it.
pub async fn await_object(
    api: &Api<DynamicObject>,
    name: &str,
    timeout: Duration,
) -> Result<DynamicObject, Error> {
    await_until(api, name, timeout, |obj: Option<&DynamicObject>| {
        obj.is_some()
    })
    .await
}

/// Runs `on_object` for every object `api` lists or sees change, for as long
/// as the simulator runs (the watcher re-lists and backs off on errors).
pub async fn watch_objects<K>(what: &str, api: Api<K>, mut on_object: impl FnMut(K))
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects();
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        match item {
            Ok(object) => on_object(object),
            Err(error) => tracing::warn!(%what, %error, "labsim watch error"),
        }
    }
}

/// `namespace/name` of an object.
pub fn key(obj: &DynamicObject) -> String {
    format!(
        "{}/{}",
        obj.metadata.namespace.as_deref().unwrap_or(""),
        obj.metadata.name.as_deref().unwrap_or("")
    )
}

pub fn name(obj: &DynamicObject) -> String {
    obj.metadata.name.clone().unwrap_or_default()
}

pub fn uid(obj: &DynamicObject) -> String {
    obj.metadata.uid.clone().unwrap_or_default()
}

/// Logs a failed simulated step; the simulator keeps going.
pub fn log_error(what: &str, result: Result<(), Error>) {
    if let Err(error) = result {
        tracing::warn!(%what, error = %error, source = ?std::error::Error::source(&error), "labsim step failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_940_430) + Duration::from_micros(123_456);
        assert_eq!(format_rfc3339(t, false), "2026-11-29T08:20:30Z");
        assert_eq!(rfc3339_micros(t), "2026-11-29T08:20:30.123456Z");
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400), false),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn formats_go_durations() {
        assert_eq!(go_duration(Duration::from_millis(960)), "960ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
    }
}
