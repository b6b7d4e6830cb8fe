use super::*;
use crate::events::jsonl::JsonlSink;
use crate::store::embedded::EmbeddedStore;
use crate::store::{Condition, Item, Key, Table, Write, keys};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A sink that fails its first `failures` calls (after taking `partial` events of each),
/// recording every event id it was handed and every one it took.
struct Flaky {
    failures: AtomicUsize,
    partial: usize,
    offered: Mutex<Vec<Vec<String>>>,
    taken: Mutex<Vec<String>>,
}

impl Flaky {
    fn new(failures: usize, partial: usize) -> Arc<Self> {
        Arc::new(Self {
            failures: AtomicUsize::new(failures),
            partial,
            offered: Mutex::default(),
            taken: Mutex::default(),
        })
    }
}

#[async_trait]
impl Sink for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }

    async fn deliver(&self, events: &[Outgoing]) -> Result<(), SinkFailure> {
        self.offered.lock().unwrap().push(events.iter().map(|e| e.id.clone()).collect());
        let fail = self.failures.load(Ordering::SeqCst) > 0;
        let n = if fail { self.partial.min(events.len()) } else { events.len() };
        self.taken.lock().unwrap().extend(events[..n].iter().map(|e| e.id.clone()));
        if fail {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(SinkFailure { delivered: n, error: EventError::Sink("refused".into()) });
        }
        Ok(())
    }
}

fn event(tenant: &str, at_ms: i64, id: &str, kind: &str) -> Item {
    let body = serde_json::json!({"id": id, "type": kind, "tenant": tenant, "data": {"userName": "a\nb"}});
    Item::new(keys::activity(tenant, at_ms, id), body.to_string().into_bytes())
}

/// A user and its event in one transaction, as the domain writes them.
async fn change(store: &EmbeddedStore, n: usize) {
    let user = Item::new(Key::new(format!("T#acme#U#{n}"), "USER"), b"{}".to_vec());
    let entry = event("acme", 1_000 + i64::try_from(n).unwrap(), &format!("e{n:02}"), "inlet.user.created");
    store
        .transact(vec![
            Write::Put { item: user, cond: Condition::NotExists },
            Write::Put { item: entry, cond: Condition::NotExists },
        ])
        .await
        .unwrap();
}

fn fast() -> Backoff {
    Backoff { first: Duration::from_millis(1), max: Duration::from_millis(8) }
}

async fn drain(relay: &Relay, events: usize) {
    let mut carried = 0;
    while carried < events {
        carried += tokio::time::timeout(Duration::from_secs(10), relay.step()).await.unwrap();
    }
}

#[tokio::test]
async fn a_failing_sink_loses_nothing_and_keeps_order_while_the_others_take_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    for n in 0..25 {
        change(&store, n).await;
    }
    // A failed change and a log-only entry: neither is delivered.
    let dup = Item::new(Key::new("T#acme#U#3", "USER"), b"{}".to_vec());
    let lost = event("acme", 5, "lost", "inlet.user.created");
    let refused = store
        .transact(vec![
            Write::Put { item: lost, cond: Condition::None },
            Write::Put { item: dup, cond: Condition::NotExists },
        ])
        .await;
    assert!(refused.is_err());
    store
        .transact(vec![Write::Put { item: event("acme", 6, "tok", "inlet.token.issued"), cond: Condition::None }])
        .await
        .unwrap();

    let flaky = Flaky::new(4, 3);
    let steady = Flaky::new(0, 0);
    let jsonl = Arc::new(JsonlSink::open(&dir.path().join("events.jsonl")).unwrap());
    let relay =
        Relay { batch: 10, backoff: fast(), ..Relay::new(store.clone(), vec![flaky.clone(), steady.clone(), jsonl]) };
    drain(&relay, 25).await;

    let want: Vec<String> = (0..25).map(|n| format!("e{n:02}")).collect();
    assert_eq!(*flaky.taken.lock().unwrap(), want);
    assert_eq!(*steady.taken.lock().unwrap(), want);
    // Each retry resumed at the first event not taken, with the same ids.
    let offered = flaky.offered.lock().unwrap().clone();
    // Batch one: four failures (the last took the final event, so no fifth call); then two batches.
    assert_eq!(offered.len(), 4 + 2);
    assert_eq!(offered[0], want[0..10].to_vec());
    assert_eq!(offered[1], want[3..10].to_vec());
    assert_eq!(offered[2], want[6..10].to_vec());
    assert_eq!(offered[3], want[9..10].to_vec());
    assert_eq!(offered[4], want[10..20].to_vec());
    assert_eq!(steady.offered.lock().unwrap().len(), 3);
    // Everything is acknowledged: the feed is empty.
    assert!(store.next(100).await.unwrap().is_empty());

    // The file holds every event once, one JSON object a line, in order.
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), want);
    assert_eq!(lines[0]["data"]["userName"], "a\nb");
    assert_eq!(lines[0]["type"], "inlet.user.created");
}

#[tokio::test]
async fn nothing_is_acknowledged_until_every_sink_took_it_and_a_restart_delivers_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    change(&store, 1).await;
    let down = Flaky::new(usize::MAX, 0);
    let steady = Flaky::new(0, 0);
    let relay = Relay { backoff: fast(), ..Relay::new(store.clone(), vec![down.clone(), steady.clone()]) };
    // The relay keeps retrying the sink that is down; the entry stays in the feed meanwhile.
    let stuck = tokio::time::timeout(Duration::from_millis(200), relay.step()).await;
    assert!(stuck.is_err());
    assert!(down.offered.lock().unwrap().len() > 3);
    assert_eq!(store.next(10).await.unwrap().len(), 1);
    // A new relay (a restart) delivers the same event again, with the same id.
    let up = Flaky::new(0, 0);
    let relay = Relay { backoff: fast(), ..Relay::new(store.clone(), vec![up.clone(), steady.clone()]) };
    drain(&relay, 1).await;
    assert_eq!(*up.taken.lock().unwrap(), vec!["e01"]);
    assert_eq!(*steady.taken.lock().unwrap(), vec!["e01", "e01"]);
    assert!(store.next(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_waiting_relay_delivers_a_change_committed_later() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let sink = Flaky::new(0, 0);
    let relay = Arc::new(Relay { backoff: fast(), ..Relay::new(store.clone(), vec![sink.clone()]) });
    let running = {
        let relay = Arc::clone(&relay);
        tokio::spawn(async move { relay.run().await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(sink.offered.lock().unwrap().is_empty());
    change(&store, 7).await;
    for _ in 0..500 {
        if !sink.taken.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(*sink.taken.lock().unwrap(), vec!["e07"]);
    running.abort();
}
