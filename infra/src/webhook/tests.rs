use super::*;
use inlet_shared::events::jsonl::JsonlSink;
use inlet_shared::events::relay::{Backoff, Relay};
use inlet_shared::store::embedded::EmbeddedStore;
use inlet_shared::store::{Condition, Feed, Item, Key, Table, Write, keys};
use std::sync::Mutex;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn secret() -> Secret {
    Secret::parse(SECRET).unwrap()
}

fn outgoing(id: &str) -> Outgoing {
    let body = serde_json::json!({"id": id, "type": "inlet.user.created", "tenant": "acme"}).to_string();
    Outgoing { id: id.into(), kind: "inlet.user.created".into(), tenant: "acme".into(), body: body.into_bytes() }
}

/// The receiver on a free port, and the lines it printed.
async fn receiver() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(receive(listener, secret(), tx));
    (url, rx)
}

async fn post(url: &str, headers: &[(&str, String)], body: &str) -> StatusCode {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = Request::post(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    client.request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap()).await.unwrap().status()
}

#[tokio::test]
async fn the_receiver_prints_signed_events_and_refuses_the_rest() {
    let (url, mut lines) = receiver().await;
    let sink = WebhookSink::new(&url, secret()).unwrap();
    sink.deliver(&[outgoing("e1"), outgoing("e2")]).await.unwrap();
    for id in ["e1", "e2"] {
        let line: serde_json::Value = serde_json::from_str(&lines.recv().await.unwrap()).unwrap();
        assert_eq!(line["id"], id);
    }
    let body = r#"{"id":"e3"}"#;
    let now = now_seconds();
    let signed = |id: &str, at: i64, body: &str| {
        vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", at.to_string()),
            ("webhook-signature", secret().sign(id, at, body.as_bytes())),
        ]
    };
    assert_eq!(post(&url, &signed("e3", now, body), body).await, StatusCode::NO_CONTENT);
    assert_eq!(lines.recv().await.unwrap(), body);
    // Signed for another id, or another body, or long ago, or with another key, or not at all: 401.
    let mut wrong_id = signed("e3", now, body);
    wrong_id[0].1 = "e4".into();
    assert_eq!(post(&url, &wrong_id, body).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post(&url, &signed("e3", now, body), r#"{"id":"e3!"}"#).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post(&url, &signed("e3", now - 3600, body), body).await, StatusCode::UNAUTHORIZED);
    let mut other_key = signed("e3", now, body);
    other_key[2].1 = Secret::generate().unwrap().sign("e3", now, body.as_bytes());
    assert_eq!(post(&url, &other_key, body).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post(&url, &[], body).await, StatusCode::UNAUTHORIZED);
    assert!(lines.try_recv().is_err(), "nothing refused was printed");
    // A receiver with another secret refuses what the sink sends, so the sink reports a failure.
    let wrong = WebhookSink::new(&url, Secret::generate().unwrap()).unwrap();
    let failed = wrong.deliver(&[outgoing("e5")]).await.unwrap_err();
    assert_eq!(failed.delivered, 0);
    assert!(failed.error.to_string().contains("401"), "{}", failed.error);
}

/// What a test endpoint saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

/// An endpoint that answers `refusals` (503) first, then 204; it records every request.
async fn endpoint(refusals: usize) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let log = Arc::clone(&log);
            let service = service_fn(move |req: Request<Incoming>| {
                let log = Arc::clone(&log);
                async move {
                    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let (id, timestamp, signature) = (h("webhook-id"), h("webhook-timestamp"), h("webhook-signature"));
                    let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(Seen { id, timestamp, signature, body });
                        log.len()
                    };
                    let mut r = hyper::Response::new(Full::new(Bytes::new()));
                    *r.status_mut() =
                        if n <= refusals { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::NO_CONTENT };
                    Ok::<_, std::convert::Infallible>(r)
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (url, seen)
}

/// A user and its activity entry in one transaction, as the domain writes them.
async fn change(store: &EmbeddedStore, n: u32) {
    let id = format!("e{n}");
    let body = serde_json::json!({"id": id, "type": "inlet.user.created", "tenant": "acme", "resource": {"type": "User", "id": n}});
    let entry = Item::new(keys::activity("acme", 1_000 + i64::from(n), &id), body.to_string().into_bytes());
    let user = Item::new(Key::new(format!("T#acme#U#{n}"), "USER"), b"{}".to_vec());
    store
        .transact(vec![
            Write::Put { item: user, cond: Condition::NotExists },
            Write::Put { item: entry, cond: Condition::NotExists },
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refused_first_attempt_is_retried_with_the_same_id_and_a_fresh_signature() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    for n in 1..=3 {
        change(&store, n).await;
    }
    let (url, seen) = endpoint(1).await;
    let webhook = Arc::new(WebhookSink::new(&url, secret()).unwrap());
    let jsonl = Arc::new(JsonlSink::open(&dir.path().join("events.jsonl")).unwrap());
    let relay = Relay {
        backoff: Backoff { first: Duration::from_millis(1100), max: Duration::from_secs(2) },
        ..Relay::new(store.clone(), vec![webhook, jsonl])
    };
    assert_eq!(tokio::time::timeout(Duration::from_secs(10), relay.step()).await.unwrap(), 3);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), vec!["e1", "e1", "e2", "e3"]);
    for s in &seen {
        secret().verify(&s.id, &s.timestamp, &s.signature, &s.body, now_seconds()).unwrap();
        let event: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(event["id"], s.id.as_str());
    }
    // The retry came after the backoff (over a second), so it was signed anew.
    assert_ne!(seen[0].timestamp, seen[1].timestamp);
    assert_ne!(seen[0].signature, seen[1].signature);
    assert_eq!(seen[0].body, seen[1].body);
    let file = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    assert_eq!(file.lines().count(), 3);
    assert!(store.next(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_fails_the_attempt() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    // Accepts and never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let sink = WebhookSink::new(&url, secret()).unwrap().with_timeout(Duration::from_millis(200));
    let failed = sink.deliver(&[outgoing("e1")]).await.unwrap_err();
    assert!(failed.error.to_string().contains("no answer"), "{}", failed.error);
    assert!(WebhookSink::new("ftp://example.com/", secret()).is_err());
    assert!(WebhookSink::new("not a url", secret()).is_err());
}
