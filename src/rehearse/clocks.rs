//! The rehearsal's two clocks: how long the rehearsal took here, and how long the same steps
//! would take on hardware, projected by `genesis up`'s own report from the phase files'
//! estimates (the reference scenario's durations; docs/benchmarks.md, "The projected hardware
//! clock"). The rehearsal's phases carry the estimates at its pace ([`super::phases`]), so the
//! report's projection divided by the pace is the projection of the phases as written.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// The projected hardware time of the last run in `state_dir`, from its run log's
/// `run_finished` event, at a pace of `time_scale`; `None` when the run did not finish
/// (killed) or projected nothing.
pub fn projected(state_dir: &Path, time_scale: f64) -> Option<Duration> {
    let logs = std::fs::read_dir(state_dir.join("logs")).ok()?;
    let latest = logs
        .filter_map(Result::ok)
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .max_by_key(|(modified, _)| *modified)?
        .1;
    let text = std::fs::read_to_string(latest).ok()?;
    text.lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|record| {
            record["event"]
                .as_str()
                .and_then(|event| serde_json::from_str::<Value>(event).ok())
        })
        .find(|event| event["event"] == "run_finished")
        .and_then(|event| {
            event
                .pointer("/report/projected/critical_path_ms")?
                .as_u64()
        })
        .map(|ms| Duration::from_millis(ms).div_f64(time_scale))
}

/// `rehearsal clock · hardware clock`, for the rehearsal's last line.
pub fn line(rehearsal: Duration, projected: Option<Duration>) -> String {
    let here = format!("{:.1} s here", rehearsal.as_secs_f64());
    match projected {
        Some(projected) => format!(
            "{here} · about {} on hardware (projected from the phase files' estimates, the reference scenario's durations)",
            crate::plan::about_minutes(u64::try_from(projected.as_millis()).unwrap_or(u64::MAX))
        ),
        None => format!("{here} · no hardware projection (the run did not finish)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projection_is_the_last_finished_run_s() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let event = |ms: u64| {
            serde_json::json!({"event": serde_json::json!({"event": "run_finished",
                "report": {"projected": {"critical_path_ms": ms}}}).to_string()})
            .to_string()
        };
        std::fs::write(
            logs.join("run.ndjson"),
            format!("not json\n{}\n{}\n", event(60_000), event(3_900)),
        )
        .unwrap();
        // 3,900 ms at a pace of 0.002 stand for 1,950 s on hardware.
        assert_eq!(
            projected(dir.path(), 0.002),
            Some(Duration::from_secs(1_950))
        );
        assert_eq!(projected(&dir.path().join("none"), 1.0), None);
        let text = line(
            Duration::from_millis(31_250),
            Some(Duration::from_secs(3_900)),
        );
        assert!(text.starts_with("31.2 s here · about "), "{text}");
        assert!(text.contains("on hardware"), "{text}");
    }
}
