//! The phase files a rehearsal runs: the operator's, with every step's `timeout` and retry
//! backoffs scaled to the rehearsal's pace, so that a fault fails a step in seconds as it would
//! in minutes on hardware. `estimate:` is scaled by exactly the pace (no margin, no floor), so
//! that the report's projected clock divided by the pace is the hardware clock of the phases as
//! written ([`super::clocks`]), and no estimate exceeds its scaled timeout. Every other file of
//! the directory (templates) is copied as it is.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// A scaled timeout is this many times the lab time it stands for at the rehearsal's pace…
const MARGIN: f64 = 4.0;
/// …and never under this (a step that takes a second on hardware still gets its API calls)…
pub const MIN_TIMEOUT: Duration = Duration::from_secs(15);
/// …or this with the real Tinkerbell and Rufio controllers, whose own pace is real time, not
/// the scenario's: a netboot Job (off, one-time PXE, on) against the emulated BMC takes about
/// 12 s whatever the pace (Rufio re-checks the power state every 3 s; docs/testworld.md,
/// "Measured figures"), over 20 s under load.
pub const MIN_TIMEOUT_REAL_CONTROLLERS: Duration = Duration::from_secs(60);
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MIN_MAX_BACKOFF: Duration = Duration::from_secs(1);

/// `duration` at a pace of `time_scale` (rehearsal seconds per lab second), with the margin,
/// never under `floor`.
pub fn scaled(duration: Duration, time_scale: f64, floor: Duration) -> Duration {
    duration.mul_f64(time_scale * MARGIN).max(floor)
}

/// Rewrites the duration `value` (a string such as `45m`; anything else is left) as `how`
/// says, in the unit `how` writes.
fn rescale(value: &mut Value, how: impl FnOnce(Duration) -> String) -> Result<(), String> {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let duration =
        humantime::parse_duration(text).map_err(|error| format!("duration {text:?}: {error}"))?;
    *value = Value::String(how(duration));
    Ok(())
}

/// A timeout or backoff at the pace, with the margin, never under `floor`, in milliseconds.
fn scale_field(value: &mut Value, time_scale: f64, floor: Duration) -> Result<(), String> {
    rescale(value, |duration| {
        format!("{}ms", scaled(duration, time_scale, floor).as_millis())
    })
}

/// An estimate at the pace, to the microsecond (the projection is divided by the pace again).
fn scale_exactly(value: &mut Value, time_scale: f64) -> Result<(), String> {
    rescale(value, |duration| {
        format!("{}us", duration.mul_f64(time_scale).as_micros())
    })
}

/// One phase file's text with its steps' timeouts (never under `min_timeout`) and backoffs
/// scaled.
pub fn scale_phase(text: &str, time_scale: f64, min_timeout: Duration) -> Result<String, String> {
    let mut phase: Value =
        serde_saphyr::from_str(text).map_err(|error| format!("not YAML: {error}"))?;
    for step in phase["steps"].as_array_mut().into_iter().flatten() {
        if let Some(timeout) = step.get_mut("timeout") {
            scale_field(timeout, time_scale, min_timeout)?;
        }
        if let Some(estimate) = step.get_mut("estimate") {
            scale_exactly(estimate, time_scale)?;
        }
        if let Some(retry) = step.get_mut("retry") {
            if let Some(backoff) = retry.get_mut("backoff") {
                scale_field(backoff, time_scale, MIN_BACKOFF)?;
            }
            if let Some(max) = retry.get_mut("max_backoff") {
                scale_field(max, time_scale, MIN_MAX_BACKOFF)?;
            }
        }
    }
    let yaml = serde_saphyr::to_string(&phase).map_err(|error| format!("write: {error}"))?;
    Ok(format!(
        "# A rehearsal's copy (`genesis rehearse`, docs/rehearse.md): timeouts and backoffs\n\
         # scaled to the rehearsal's pace with a margin, estimates at exactly the pace.\n{yaml}"
    ))
}

/// Copies the phases directory `from` to `to`, scaling every phase file.
pub fn copy_scaled(
    from: &Path,
    to: &Path,
    time_scale: f64,
    min_timeout: Duration,
) -> Result<(), String> {
    copy(from, to, Some((time_scale, min_timeout)))
}

/// Copies `from` to `to`, directories below it (templates) as they are; with `scale`, its own
/// `*.yaml`/`*.yml` files are phase files, scaled. Only regular files are copied.
fn copy(from: &Path, to: &Path, scale: Option<(f64, Duration)>) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|error| format!("create {}: {error}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|error| format!("read {}: {error}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("read {}: {error}", from.display()))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        let phase_file = path
            .extension()
            .is_some_and(|extension| extension == "yaml" || extension == "yml");
        if path.is_dir() {
            copy(&path, &target, None)?;
        } else if let (Some((time_scale, min_timeout)), true) = (scale, phase_file) {
            let text = std::fs::read_to_string(&path)
                .map_err(|error| format!("read {}: {error}", path.display()))?;
            let scaled = scale_phase(&text, time_scale, min_timeout)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            std::fs::write(&target, scaled)
                .map_err(|error| format!("write {}: {error}", target.display()))?;
        } else if path.is_file() {
            std::fs::copy(&path, &target)
                .map_err(|error| format!("copy {}: {error}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_backoffs_follow_the_pace_with_a_floor() {
        let text = "phase: 3\nname: n\nsteps:\n  - id: a\n    number: 1\n    name: a\n    kind: k\n    timeout: 45m\n    estimate: 20m\n    retry: {attempts: 2, backoff: 30s, max_backoff: 2m}\n  - id: b\n    number: 2\n    name: b\n    kind: k\n    timeout: 1m\n";
        let scaled = scale_phase(text, 0.002, MIN_TIMEOUT).unwrap();
        let phase: Value = serde_saphyr::from_str(&scaled).unwrap();
        // 45 min at 0.002 is 5.4 s, times the margin of 4.
        assert_eq!(phase["steps"][0]["timeout"], "21600ms");
        // 20 min at 0.002 is exactly 2.4 s.
        assert_eq!(phase["steps"][0]["estimate"], "2400000us");
        assert_eq!(phase["steps"][0]["retry"]["backoff"], "240ms");
        assert_eq!(phase["steps"][0]["retry"]["max_backoff"], "1000ms");
        assert_eq!(phase["steps"][1]["timeout"], "15000ms");
    }

    #[test]
    fn the_shipped_phases_load_after_scaling() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = crate::inputs::reference_paths(dir.path());
        let phases = dir.path().join("phases");
        copy_scaled(&paths.phases, &phases, 0.002, MIN_TIMEOUT).unwrap();
        paths.phases = phases;
        let inputs = crate::inputs::load(&paths)
            .unwrap_or_else(|diagnostics| panic!("{}", diagnostics.render(false)));
        let quorum = inputs
            .graph
            .steps()
            .iter()
            .find(|step| step.id.to_string() == "quorum")
            .expect("the quorum step");
        assert_eq!(quorum.timeout, Duration::from_secs(15));
    }
}
