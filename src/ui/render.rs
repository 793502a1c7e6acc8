//! What every renderer of a run's events is, and the short durations they print.

use genesis_engine::Event;

/// A renderer of events.
pub trait Render {
    fn event(&mut self, event: &Event);
    /// The stream ended (the run is over or the engine stopped).
    fn finish(&mut self) {}
}

/// `1.2s`, `3m 04s`, `1h 02m`: short, for tables and lines.
pub fn short_duration(milliseconds: u64) -> String {
    let seconds = milliseconds / 1000;
    if seconds < 60 {
        format!("{:.1}s", milliseconds as f64 / 1000.0)
    } else if seconds < 3600 {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{}h {:02}m", seconds / 3600, (seconds % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short() {
        assert_eq!(short_duration(1234), "1.2s");
        assert_eq!(short_duration(184_000), "3m 04s");
        assert_eq!(short_duration(3_720_000), "1h 02m");
    }
}
