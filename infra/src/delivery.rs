//! Local event delivery in `inlet serve`: the relay over the embedded store's change feed,
//! to `events.jsonl` in the data directory and, with `--webhook`, to a signed webhook.

use crate::webhook::{self, WebhookSink};
use inlet_shared::events::jsonl::JsonlSink;
use inlet_shared::events::relay::{Relay, Sink};
use inlet_shared::store::Feed;
use std::path::Path;
use std::sync::Arc;

/// The local event log in the data directory, one event a line.
pub const EVENTS_FILE: &str = "events.jsonl";

/// The webhook sink `--webhook URL` asks for, with its URL; refused without a valid
/// `INLET_WEBHOOK_SECRET`, and on DynamoDB, whose events the stream publisher delivers.
pub fn webhook(url: Option<&str>, on_dynamodb: bool) -> Result<Option<(String, WebhookSink)>, String> {
    match url {
        Some(url) if on_dynamodb => Err(format!(
            "--webhook {url}: local delivery reads the embedded store's change feed; on DynamoDB, \
             events come from the table's stream (the publisher Lambda)"
        )),
        Some(url) => Ok(Some((url.to_owned(), WebhookSink::new(url, webhook::secret_from_env()?)?))),
        None => Ok(None),
    }
}

/// Starts the relay on its own task; returns what to tell the operator.
pub fn start(
    feed: Arc<dyn Feed>,
    data_dir: &Path,
    webhook: Option<(String, WebhookSink)>,
) -> Result<Vec<String>, String> {
    let jsonl = JsonlSink::open(&data_dir.join(EVENTS_FILE)).map_err(|e| e.to_string())?;
    let mut said = vec![format!("Events: appended to {}", jsonl.path().display())];
    let mut sinks: Vec<Arc<dyn Sink>> = vec![Arc::new(jsonl)];
    if let Some((url, hook)) = webhook {
        said.push(format!("Events: POSTed to {url} (Standard Webhooks, signed with INLET_WEBHOOK_SECRET)"));
        sinks.push(Arc::new(hook));
    }
    let relay = Relay::new(feed, sinks);
    // Unacknowledged events stay in the feed across a stop: the next start delivers them.
    tokio::spawn(async move { relay.run().await });
    Ok(said)
}
