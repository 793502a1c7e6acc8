//! `-o json`: one event per line on stdout, for machines.

use std::io::Write;

use genesis_engine::Event;

use super::render::Render;

pub struct Ndjson<W: Write> {
    out: W,
}

impl<W: Write> Ndjson<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write> Render for Ndjson<W> {
    fn event(&mut self, event: &Event) {
        // Captured command output belongs to the run log, not the data stream.
        if matches!(event, Event::StepOutput { .. }) {
            return;
        }
        if let Ok(line) = serde_json::to_string(event) {
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
    }
}
