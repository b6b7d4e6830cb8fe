//! The JSON Lines sink: every event appended to a file (`events.jsonl` in the data
//! directory), one JSON object a line, and flushed to disk before the relay acknowledges it.

use super::relay::{Sink, SinkFailure};
use super::{EventError, Outgoing};
use async_trait::async_trait;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct JsonlSink {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl JsonlSink {
    /// Opens `path` for appending, creating it owner-only (events carry users' data).
    pub fn open(path: &Path) -> Result<Self, EventError> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| EventError::Sink(format!("{}: {e}", path.display())))?;
        Ok(Self { path: path.to_path_buf(), file: Arc::new(Mutex::new(file)) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The event as one line: as stored, unless it spans lines (then re-serialized compactly,
/// which changes whitespace only).
fn line(e: &Outgoing) -> Result<Vec<u8>, EventError> {
    let mut out = if e.body.contains(&b'\n') {
        let v: serde_json::Value =
            serde_json::from_slice(&e.body).map_err(|err| EventError::Sink(format!("event {}: {err}", e.id)))?;
        serde_json::to_vec(&v).map_err(|err| EventError::Sink(format!("event {}: {err}", e.id)))?
    } else {
        e.body.clone()
    };
    out.push(b'\n');
    Ok(out)
}

#[async_trait]
impl Sink for JsonlSink {
    fn name(&self) -> &str {
        "events.jsonl"
    }

    async fn deliver(&self, events: &[Outgoing]) -> Result<(), SinkFailure> {
        let fail = |error| SinkFailure { delivered: 0, error };
        let mut buf = Vec::new();
        for e in events {
            buf.extend_from_slice(&line(e).map_err(fail)?);
        }
        let (file, path) = (Arc::clone(&self.file), self.path.clone());
        let write = move || -> Result<(), EventError> {
            let io = |e: std::io::Error| EventError::Sink(format!("{}: {e}", path.display()));
            let file = file.lock().map_err(|_| EventError::Sink("the events file lock is poisoned".into()))?;
            let before = file.metadata().map_err(io)?.len();
            let written = (&*file).write_all(&buf).and_then(|()| file.sync_data());
            if let Err(e) = written {
                // No half line is left for the retry to append after.
                let _ = file.set_len(before);
                return Err(io(e));
            }
            Ok(())
        };
        tokio::task::spawn_blocking(write)
            .await
            .map_err(|e| fail(EventError::Sink(format!("events file task: {e}"))))?
            .map_err(fail)
    }
}
