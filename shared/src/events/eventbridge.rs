//! The publisher of the AWS deployment: a batch of the table's DynamoDB stream in, the events
//! of its activity entries out to an EventBridge bus, in stream order.
//!
//! At-least-once, never skipping: a batch is published in record order, ≤ 10 entries (and
//! ≤ 256 KB) per PutEvents call, a call only after the previous one was wholly accepted.
//! Entries refused one by one (FailedEntryCount) are resent with backoff; what is still
//! refused, a failed call or an unreadable entry ends the invocation with the first record not
//! published as its batch item failure, so Lambda retries from that record and nothing after it
//! counts as done. Entries of the failed call that EventBridge did accept go out again then:
//! consumers dedupe on the event id.

use super::stream::{BatchResponse, StreamEvent};
use super::{EventError, Outgoing};
use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use std::time::Duration;

/// The envelope's `source` of every Inlet event (rules match on it).
pub const SOURCE: &str = "inlet";
/// PutEvents takes at most 10 entries…
const MAX_ENTRIES: usize = 10;
/// …of at most 256 KB together (Source + DetailType + Detail, UTF-8 bytes, as AWS counts them).
const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Sends of one call's refused entries, the first included.
const ATTEMPTS: u32 = 4;
/// Pause before the first resend, doubled before each next one (0.1 + 0.2 + 0.4 s at most).
const BACKOFF: Duration = Duration::from_millis(100);

/// One PutEvents call.
#[async_trait]
pub trait Bus: Send + Sync {
    /// Puts `events` (≤ 10, ≤ 256 KB) on the bus: per event, in order, `None` when accepted,
    /// else the error code EventBridge gave it. `Err` when the call itself failed.
    async fn put(&self, events: &[&Outgoing]) -> Result<Vec<Option<String>>, EventError>;
}

/// Size of an event's entry in a PutEvents request.
fn entry_bytes(e: &Outgoing) -> usize {
    SOURCE.len() + e.kind.len() + e.body.len()
}

/// The EventBridge bus `INLET_EVENT_BUS`: Source `inlet`, DetailType the event type, Detail the
/// event JSON exactly as stored.
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self { client, bus: bus.into() }
    }
}

#[async_trait]
impl Bus for EventBridgeBus {
    async fn put(&self, events: &[&Outgoing]) -> Result<Vec<Option<String>>, EventError> {
        let sink = |e: String| EventError::Sink(e);
        let mut request = self.client.put_events();
        for e in events {
            let detail = std::str::from_utf8(&e.body).map_err(|_| sink(format!("event {} is not UTF-8", e.id)))?;
            request = request.entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(SOURCE)
                    .detail_type(&e.kind)
                    .detail(detail)
                    .build(),
            );
        }
        let out =
            request.send().await.map_err(|e| sink(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
        Ok(out
            .entries()
            .iter()
            .map(|r| r.error_code().map(|c| format!("{c}: {}", r.error_message().unwrap_or(""))))
            .collect())
    }
}

pub struct Publisher<B> {
    bus: B,
    backoff: Duration,
}

impl<B: Bus> Publisher<B> {
    pub fn new(bus: B) -> Self {
        Self { bus, backoff: BACKOFF }
    }

    /// As [`Publisher::new`], with another first pause between resends (tests).
    pub fn with_backoff(bus: B, backoff: Duration) -> Self {
        Self { bus, backoff }
    }

    /// Publishes a batch's events; the answer names the first record not published, if any.
    pub async fn publish(&self, batch: &StreamEvent) -> BatchResponse {
        // The events to publish up to the first unreadable record, which stops the batch there.
        let mut pending: Vec<(&str, Outgoing)> = Vec::new();
        let mut stop = None;
        for record in &batch.records {
            match record.event() {
                Ok(Some(event)) => pending.push((record.sequence_number(), event)),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, source = ?record.event_source_arn, "unreadable activity entry; the batch stops before it");
                    stop = Some(record.sequence_number());
                    break;
                }
            }
        }
        let mut rest: &[(&str, Outgoing)] = &pending;
        while let Some((seq, first)) = rest.first() {
            let Some((call, after)) = rest.split_at_checked(call_size(rest)).filter(|(c, _)| !c.is_empty()) else {
                tracing::error!(event = %first.id, bytes = entry_bytes(first), "event larger than a PutEvents request allows");
                return BatchResponse::failed_from(seq);
            };
            if let Err(first_unsent) = self.put_call(call).await {
                return BatchResponse::failed_from(first_unsent);
            }
            rest = after;
        }
        stop.map_or_else(BatchResponse::default, BatchResponse::failed_from)
    }

    /// One call's entries until all are accepted, resending the refused ones with backoff;
    /// else the sequence number of the first entry still not accepted.
    async fn put_call<'a>(&self, call: &[(&'a str, Outgoing)]) -> Result<(), &'a str> {
        let mut waiting: Vec<&(&'a str, Outgoing)> = call.iter().collect();
        let mut pause = self.backoff;
        let mut attempt = 0;
        loop {
            let Some(&&(first, _)) = waiting.first() else { return Ok(()) };
            if attempt == ATTEMPTS {
                return Err(first);
            }
            if attempt > 0 {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            attempt += 1;
            let events: Vec<&Outgoing> = waiting.iter().map(|(_, e)| e).collect();
            let results = match self.bus.put(&events).await {
                Ok(results) if results.len() == events.len() => results,
                Ok(results) => {
                    tracing::error!(
                        sent = events.len(),
                        answered = results.len(),
                        "PutEvents answered another number of entries"
                    );
                    return Err(first);
                }
                Err(e) => {
                    // The SDK has already retried what it deems transient; the retry from this
                    // record is Lambda's now.
                    tracing::error!(error = %e, "PutEvents failed");
                    return Err(first);
                }
            };
            waiting = waiting
                .into_iter()
                .zip(results)
                .filter_map(|(entry, result)| {
                    let code = result?;
                    tracing::warn!(attempt, event = %entry.1.id, error = %code, "event refused");
                    Some(entry)
                })
                .collect();
        }
    }
}

/// How many of `rest`'s first events fit in one PutEvents call (0: the first alone is too big).
fn call_size(rest: &[(&str, Outgoing)]) -> usize {
    let mut bytes = 0;
    rest.iter()
        .take(MAX_ENTRIES)
        .take_while(|(_, e)| {
            bytes += entry_bytes(e);
            bytes <= MAX_REQUEST_BYTES
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::stream::tests::{entry_body, record};
    use std::sync::Mutex;

    /// A bus that records each call's event ids, and refuses events by script: `refuse(id)`
    /// answers how many more times that event is refused.
    #[derive(Default)]
    struct FakeBus {
        calls: Mutex<Vec<Vec<String>>>,
        refusals: Mutex<Vec<(String, u32)>>,
        down: bool,
    }

    impl FakeBus {
        fn refusing(id: &str, times: u32) -> Self {
            Self { refusals: Mutex::new(vec![(id.to_owned(), times)]), ..Self::default() }
        }
        fn calls(&self) -> Vec<Vec<String>> {
            self.calls.lock().unwrap().clone()
        }
        /// Every id accepted, in the order accepted.
        fn accepted(&self) -> Vec<String> {
            self.calls().concat()
        }
    }

    #[async_trait]
    impl Bus for FakeBus {
        async fn put(&self, events: &[&Outgoing]) -> Result<Vec<Option<String>>, EventError> {
            assert!(events.len() <= MAX_ENTRIES);
            if self.down {
                return Err(EventError::Sink("unreachable".into()));
            }
            let mut refusals = self.refusals.lock().unwrap();
            let mut accepted = Vec::new();
            let results = events
                .iter()
                .map(|e| match refusals.iter_mut().find(|(id, n)| *id == e.id && *n > 0) {
                    Some((_, n)) => {
                        *n -= 1;
                        Some("InternalFailure: try again".to_owned())
                    }
                    None => {
                        accepted.push(e.id.clone());
                        None
                    }
                })
                .collect();
            self.calls.lock().unwrap().push(accepted);
            Ok(results)
        }
    }

    /// A batch of `n` activity INSERTs e0…, each after a user-item INSERT; sequence numbers
    /// are 2i (user) and 2i + 1 (entry).
    fn batch(n: usize) -> StreamEvent {
        let records: Vec<_> = (0..n)
            .flat_map(|i| {
                let id = format!("e{i}");
                [
                    record("INSERT", &format!("T#acme#U#u{i}"), "USER", Some("{}"), &(2 * i).to_string()),
                    record(
                        "INSERT",
                        &format!("L#acme#{:x}", i % 16),
                        &format!("1764601200{i:03}#{id}"),
                        Some(&entry_body(&id, "inlet.user.created")),
                        &(2 * i + 1).to_string(),
                    ),
                ]
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    fn ids(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("e{i}")).collect()
    }

    fn publisher(bus: FakeBus) -> Publisher<FakeBus> {
        Publisher::with_backoff(bus, Duration::ZERO)
    }

    #[tokio::test]
    async fn a_batch_goes_out_in_order_ten_at_a_time() {
        let p = publisher(FakeBus::default());
        assert_eq!(p.publish(&batch(23)).await, BatchResponse::default());
        assert_eq!(p.bus.calls(), vec![ids(0..10), ids(10..20), ids(20..23)]);
    }

    #[tokio::test]
    async fn refused_entries_are_resent_before_the_next_call() {
        let p = publisher(FakeBus::refusing("e3", ATTEMPTS - 1));
        assert_eq!(p.publish(&batch(12)).await, BatchResponse::default());
        let calls = p.bus.calls();
        assert_eq!(calls.first().map(Vec::len), Some(9));
        assert_eq!(calls.get(1..4).map(<[_]>::to_vec), Some(vec![vec![], vec![], vec!["e3".to_owned()]]));
        assert_eq!(calls.get(4), Some(&ids(10..12)), "the next call only once e3 is in");
    }

    #[tokio::test]
    async fn what_stays_refused_is_the_first_failure_and_nothing_after_it_goes_out() {
        let p = publisher(FakeBus::refusing("e13", ATTEMPTS));
        // e13 is record 27; the call before it went out, its own call's other entries too.
        assert_eq!(p.publish(&batch(25)).await, BatchResponse::failed_from("27"));
        let mut want = ids(0..20);
        want.retain(|id| id != "e13");
        assert_eq!(p.bus.accepted(), want);
    }

    #[tokio::test]
    async fn an_unreachable_bus_fails_from_the_first_event_of_the_call() {
        let p = publisher(FakeBus { down: true, ..FakeBus::default() });
        assert_eq!(p.publish(&batch(3)).await, BatchResponse::failed_from("1"));
    }

    #[tokio::test]
    async fn an_unreadable_entry_stops_the_batch_after_what_precedes_it() {
        let mut b = batch(4);
        let broken = record("INSERT", "L#acme#0", "1764601200999#bad", Some("{not json"), "4");
        b.records.insert(4, serde_json::from_value(broken).unwrap());
        let p = publisher(FakeBus::default());
        assert_eq!(p.publish(&b).await, BatchResponse::failed_from("4"));
        assert_eq!(p.bus.accepted(), ids(0..2));
    }

    #[tokio::test]
    async fn removals_modifications_and_log_only_entries_publish_nothing() {
        let log_only = entry_body("t1", "inlet.token.issued");
        let records = vec![
            record("REMOVE", "L#acme#0", "1764601200000#e0", None, "1"),
            record("MODIFY", "T#acme#U#u1", "USER", Some("{}"), "2"),
            record("INSERT", "L#acme#1", "1764601200000#t1", Some(&log_only), "3"),
        ];
        let b: StreamEvent = serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        let p = publisher(FakeBus::default());
        assert_eq!(p.publish(&b).await, BatchResponse::default());
        assert!(p.bus.calls().is_empty());
    }

    #[tokio::test]
    async fn calls_stay_under_the_request_size_and_an_oversized_event_fails() {
        let big = |id: &str, kb: usize| {
            let body = serde_json::json!({"id": id, "type": "inlet.group.updated", "tenant": "acme", "data": "x".repeat(kb * 1024)});
            record("INSERT", "L#acme#2", &format!("1764601200000#{id}"), Some(&body.to_string()), &id[1..])
        };
        let records = vec![big("b1", 100), big("b2", 100), big("b3", 100), big("b4", 300)];
        let b: StreamEvent = serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        let p = publisher(FakeBus::default());
        assert_eq!(p.publish(&b).await, BatchResponse::failed_from("4"));
        assert_eq!(p.bus.calls(), vec![vec!["b1".to_owned(), "b2".to_owned()], vec!["b3".to_owned()]]);
    }
}
