//! `inlet-bench --events`, part 2: event latency, from a SCIM create's response (the write
//! acknowledged) to the event's arrival, on an embedded store whose change feed the relay
//! carries to sinks as `inlet serve` does: a sink that only timestamps, and `events.jsonl`
//! (appended and fsynced; timed once its write returned).

use crate::inproc::{Scim, okta_user};
use async_trait::async_trait;
use inlet_shared::events::jsonl::JsonlSink;
use inlet_shared::events::relay::{Relay, Sink, SinkFailure};
use inlet_shared::events::{EventError, Outgoing};
use inlet_shared::startup::{Services, Storage};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

type Stamps = Arc<Mutex<HashMap<String, Instant>>>;

fn lock(s: &Stamps) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Delivers to `inner` (if any), then stamps each event by its resource id.
struct Timed {
    name: &'static str,
    inner: Option<Arc<dyn Sink>>,
    stamps: Stamps,
}

fn resource_id(e: &Outgoing) -> Result<String, EventError> {
    let v: serde_json::Value =
        serde_json::from_slice(&e.body).map_err(|err| EventError::Sink(format!("event {}: {err}", e.id)))?;
    v.pointer("/resource/id")
        .and_then(|x| x.as_str())
        .map(str::to_owned)
        .ok_or_else(|| EventError::Sink(format!("event {}: no resource.id", e.id)))
}

#[async_trait]
impl Sink for Timed {
    fn name(&self) -> &str {
        self.name
    }

    async fn deliver(&self, events: &[Outgoing]) -> Result<(), SinkFailure> {
        if let Some(inner) = &self.inner {
            inner.deliver(events).await?;
        }
        let at = Instant::now();
        let mut ids = Vec::with_capacity(events.len());
        for e in events {
            ids.push(resource_id(e).map_err(|error| SinkFailure { delivered: 0, error })?);
        }
        let mut stamps = lock(&self.stamps);
        for id in ids {
            stamps.entry(id).or_insert(at);
        }
        Ok(())
    }
}

/// p50, p99 and max of latencies in microseconds (signed: an event can arrive before its
/// response has been built), as `p50 … ms`.
fn summary(mut us: Vec<i64>) -> String {
    us.sort_unstable();
    let at = |q: f64| {
        let i = ((us.len() as f64 * q).ceil() as usize).saturating_sub(1);
        us.get(i).map_or(f64::NAN, |v| *v as f64 / 1000.0)
    };
    format!("p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms", at(0.5), at(0.99), at(1.0))
}

async fn run_creates(
    scim: &Scim,
    n: usize,
    in_flight: usize,
    offset: usize,
) -> Result<HashMap<String, Instant>, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight.max(1) {
        let (scim, next) = (scim.clone(), Arc::clone(&next));
        workers.spawn(async move {
            let mut acked = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(acked);
                }
                let id = scim.create("/Users", &okta_user(offset + i)).await?;
                acked.push((id, Instant::now()));
            }
        });
    }
    let mut acked = HashMap::with_capacity(n);
    while let Some(done) = workers.join_next().await {
        acked.extend(done.map_err(|e| e.to_string())??);
    }
    Ok(acked)
}

/// Waits until every acknowledged create's event is stamped (or `limit` passes).
async fn arrivals(stamps: &Stamps, acked: &HashMap<String, Instant>, limit: Duration) -> Result<Vec<i64>, String> {
    let started = Instant::now();
    loop {
        {
            let s = lock(stamps);
            if acked.keys().all(|id| s.contains_key(id)) {
                return Ok(acked.iter().filter_map(|(id, at)| s.get(id).map(|got| signed_us(*at, *got))).collect());
            }
        }
        if started.elapsed() > limit {
            let missing = acked.keys().filter(|id| !lock(stamps).contains_key(*id)).count();
            return Err(format!("{missing} of {} events had not arrived after {limit:?}", acked.len()));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn signed_us(from: Instant, to: Instant) -> i64 {
    match to.checked_duration_since(from) {
        Some(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        None => -i64::try_from(from.duration_since(to).as_micros()).unwrap_or(i64::MAX),
    }
}

pub async fn run(n: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary data directory: {e}"))?;
    let data_dir = dir.path().join("data");
    let services =
        Services::build(&Storage::Embedded { data_dir: data_dir.clone() }).await.map_err(|e| e.to_string())?;
    let feed = services.feed.clone().ok_or("the embedded store has no change feed")?;
    let scim = Scim::start(&services, "bench").await?;
    let (bare, file): (Stamps, Stamps) = (Arc::default(), Arc::default());
    let jsonl: Arc<dyn Sink> = Arc::new(JsonlSink::open(&data_dir.join("events.jsonl")).map_err(|e| e.to_string())?);
    let sinks: Vec<Arc<dyn Sink>> = vec![
        Arc::new(Timed { name: "stamp", inner: None, stamps: Arc::clone(&bare) }),
        Arc::new(Timed { name: "events.jsonl", inner: Some(jsonl), stamps: Arc::clone(&file) }),
    ];
    let relay = Relay::new(feed, sinks);
    let relaying = tokio::spawn(async move { relay.run().await });

    println!("\n== event latency: SCIM create answered -> event delivered by the relay ({n} creates each)");
    let mut offset = 0;
    for in_flight in [1, 16] {
        let started = Instant::now();
        let acked = run_creates(&scim, n, in_flight, offset).await?;
        let elapsed = started.elapsed();
        offset += n;
        let limit = Duration::from_secs(60);
        let to_sink = arrivals(&bare, &acked, limit).await?;
        let to_file = arrivals(&file, &acked, limit).await?;
        println!(
            "  {in_flight:>2} in flight ({:.0} creates/s)\n    to a sink:          {}\n    to events.jsonl:    {}",
            n as f64 / elapsed.as_secs_f64(),
            summary(to_sink),
            summary(to_file)
        );
    }
    relaying.abort();
    Ok(())
}
