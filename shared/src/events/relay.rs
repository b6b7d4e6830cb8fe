//! The relay: carries events from a change feed to sinks, then acknowledges them. Each
//! sink takes every batch in feed order; a sink that fails is retried with capped
//! exponential backoff from the first event it has not taken (never skipping, never
//! reordering), and the batch is acknowledged only once every sink has taken all of it.
//! A crash before the acknowledgement delivers the batch again: at-least-once, with the
//! same event ids, which consumers dedupe on.

use super::{EventError, Outgoing};
use crate::store::Feed;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// A sink that failed part-way through a batch.
#[derive(Debug)]
pub struct SinkFailure {
    /// How many events at the front of the batch it took before failing.
    pub delivered: usize,
    pub error: EventError,
}

#[async_trait]
pub trait Sink: Send + Sync {
    /// What logs call it (`events.jsonl`, `webhook`).
    fn name(&self) -> &str;
    /// Delivers `events` in order. On failure, says how many went through first: the relay
    /// resumes at the next one.
    async fn deliver(&self, events: &[Outgoing]) -> Result<(), SinkFailure>;
}

/// Capped exponential backoff between attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { first: Duration::from_millis(200), max: Duration::from_secs(30) }
    }
}

impl Backoff {
    fn after(&self, delay: Duration) -> Duration {
        delay.saturating_mul(2).min(self.max)
    }
}

pub struct Relay {
    pub feed: Arc<dyn Feed>,
    pub sinks: Vec<Arc<dyn Sink>>,
    /// Feed entries taken at once.
    pub batch: usize,
    pub backoff: Backoff,
}

impl Relay {
    pub fn new(feed: Arc<dyn Feed>, sinks: Vec<Arc<dyn Sink>>) -> Self {
        Self { feed, sinks, batch: 100, backoff: Backoff::default() }
    }

    /// Relays for as long as the process lives.
    pub async fn run(&self) {
        loop {
            self.step().await;
        }
    }

    /// Waits for feed entries, delivers one batch to every sink and acknowledges it; returns
    /// how many events it carried (entries that are not events are acknowledged with them).
    pub async fn step(&self) -> usize {
        let entries = loop {
            let head = self.feed.head();
            let entries = self.retry("reading the feed", || self.feed.next(self.batch.max(1))).await;
            if !entries.is_empty() {
                break entries;
            }
            self.feed.wait_past(head).await;
        };
        let through = entries.last().map_or(0, |(seq, _)| *seq);
        // An entry that cannot be read is a broken invariant: the relay stops there and says
        // so, rather than skip an event.
        let events = self
            .retry("decoding feed entries", || async {
                let mut events = Vec::with_capacity(entries.len());
                for (_, item) in &entries {
                    if let Some(e) = Outgoing::from_item(item)? {
                        events.push(e);
                    }
                }
                Ok::<_, EventError>(events)
            })
            .await;
        if !events.is_empty() {
            let deliveries = self.sinks.iter().map(|sink| self.deliver_all(sink.as_ref(), &events));
            futures::future::join_all(deliveries).await;
        }
        self.retry("acknowledging the feed", || self.feed.ack(through)).await;
        events.len()
    }

    /// Delivers every event to one sink, retrying from the first it has not taken.
    async fn deliver_all(&self, sink: &dyn Sink, events: &[Outgoing]) {
        let mut taken = 0;
        let mut delay = self.backoff.first;
        while let Some(rest) = events.get(taken..).filter(|r| !r.is_empty()) {
            match sink.deliver(rest).await {
                Ok(()) => taken = events.len(),
                Err(f) => {
                    taken += f.delivered.min(rest.len());
                    let next = events.get(taken).map(|e| e.id.as_str()).unwrap_or("-");
                    tracing::warn!(sink = sink.name(), error = %f.error, next_event = next, retry_in_ms = delay.as_millis(), "event delivery failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = self.backoff.after(delay);
                }
            }
        }
    }

    /// Runs `attempt` until it succeeds, backing off between failures.
    async fn retry<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> F,
    ) -> T {
        let mut delay = self.backoff.first;
        loop {
            match attempt().await {
                Ok(v) => return v,
                Err(e) => {
                    tracing::error!(error = %e, retry_in_ms = delay.as_millis(), "event relay: {what} failed");
                    tokio::time::sleep(delay).await;
                    delay = self.backoff.after(delay);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
