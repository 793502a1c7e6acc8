//! The per-run JSON log under the state directory: `logs/<run>.ndjson`, one tracing record per
//! event, captured command output included. Written through a scrubbing writer, so a secret
//! value that slipped past everything else still does not reach the disk.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use genesis_engine::{Event, Scrubber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Target of the run-log records.
pub const TARGET: &str = "genesis::run";

/// An open run log.
#[derive(Clone)]
pub struct RunLog {
    writer: ScrubbingWriter,
    path: PathBuf,
}

impl RunLog {
    /// Creates `<state_dir>/logs/<run>.ndjson` (0600, in a 0700 directory).
    pub fn create(state_dir: &Path, run: &str, scrubber: Arc<Scrubber>) -> std::io::Result<Self> {
        let directory = state_dir.join("logs");
        genesis_engine::state_dir::prepare(&directory)?;
        let path = directory.join(format!("{run}.ndjson"));
        let file = genesis_engine::state_dir::open_private(&path)?;
        Ok(Self {
            writer: ScrubbingWriter {
                file: Arc::new(Mutex::new(file)),
                scrubber,
            },
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A subscriber that writes JSON records to this log.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(self.writer.clone());
        tracing_subscriber::registry().with(layer)
    }
}

/// Writes one tracing record for an event.
pub fn record(event: &Event) {
    let data = serde_json::to_string(event).unwrap_or_default();
    match event {
        Event::StepOutput { step, stream, line } => {
            tracing::info!(target: TARGET, step = %step, stream = ?stream, "{line}");
        }
        Event::StepFinished {
            step,
            error: Some(error),
            ..
        } => {
            tracing::error!(target: TARGET, step = %step, event = %data, "{error}");
        }
        Event::StepRetrying { step, error, .. } => {
            tracing::warn!(target: TARGET, step = %step, event = %data, "{error}");
        }
        other => {
            let text = super::plain::line(other).unwrap_or_else(|| "run finished".to_owned());
            tracing::info!(target: TARGET, event = %data, "{text}");
        }
    }
}

#[derive(Clone)]
struct ScrubbingWriter {
    file: Arc<Mutex<File>>,
    scrubber: Arc<Scrubber>,
}

impl Write for ScrubbingWriter {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buffer);
        let scrubbed = self.scrubber.scrub(&text);
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("run log lock poisoned"))?;
        file.write_all(scrubbed.as_bytes())?;
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("run log lock poisoned"))?;
        file.flush()
    }
}

impl<'a> MakeWriter<'a> for ScrubbingWriter {
    type Writer = ScrubbingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
