//! The client against a small HTTP server in the test (127.0.0.1:0) that answers per request.

use super::*;
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TOKEN: &str = "00QCjAl4MlV-WPXM-test-0HmjFx-vbGua";

/// What the server saw of one request.
#[derive(Clone, Debug)]
struct Hit {
    uri: String,
    headers: HeaderMap,
    at: Instant,
    epoch: f64,
}

/// An answer: status, headers, JSON body, and how long to take.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
    delay: Duration,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply { status, headers: Vec::new(), body, delay: Duration::ZERO }
}

impl Reply {
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

type Handler = dyn Fn(usize, &Hit) -> Reply + Send + Sync;

struct Server {
    org: OrgUrl,
    hits: Arc<Mutex<Vec<Hit>>>,
    busy_max: Arc<AtomicUsize>,
}

impl Server {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

async fn serve(handler: impl Fn(usize, &Hit) -> Reply + Send + Sync + 'static) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org = OrgUrl::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let hits = Arc::new(Mutex::new(Vec::new()));
    let (busy, busy_max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let handler: Arc<Handler> = Arc::new(handler);
    let (h, b, m) = (hits.clone(), busy.clone(), busy_max.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (h, b, m, handler) = (h.clone(), b.clone(), m.clone(), handler.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (h, b, m, handler) = (h.clone(), b.clone(), m.clone(), handler.clone());
                    async move {
                        let now = b.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(now, Ordering::SeqCst);
                        let hit = Hit {
                            uri: req.uri().to_string(),
                            headers: req.headers().clone(),
                            at: Instant::now(),
                            epoch: epoch_now(),
                        };
                        let n = {
                            let mut hits = h.lock().unwrap();
                            hits.push(hit.clone());
                            hits.len() - 1
                        };
                        let r = handler(n, &hit);
                        tokio::time::sleep(r.delay).await;
                        b.fetch_sub(1, Ordering::SeqCst);
                        let mut resp = Response::new(Full::new(Bytes::from(r.body.to_string())));
                        *resp.status_mut() = StatusCode::from_u16(r.status).unwrap();
                        resp.headers_mut().insert("content-type", "application/json".parse().unwrap());
                        for (k, v) in r.headers {
                            resp.headers_mut().append(k, v.parse().unwrap());
                        }
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Server { org, hits, busy_max }
}

fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn http_date(epoch: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch as i64).unwrap();
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(f).unwrap()
}

fn client(org: &OrgUrl, limits: Limits) -> OktaClient {
    OktaClient::new(org.clone(), ApiToken::new(TOKEN.into()).unwrap(), limits).unwrap()
}

fn fast() -> Limits {
    Limits { request_timeout: Duration::from_secs(5), ..Limits::default() }
}

fn app_user(id: &str) -> Value {
    json!({"id": id, "status": "ACTIVE", "scope": "USER", "profile": {},
           "_embedded": {"user": {"id": id, "status": "ACTIVE", "profile": {"login": format!("{id}@acme.example")}}}})
}

#[tokio::test]
async fn three_pages_by_link_headers_with_the_right_request_headers() {
    let server = serve(|n, hit| {
        let base = hit.uri.split('?').next().unwrap_or_default().to_owned();
        let link =
            |q: &str, rel: &str| format!("<http://{}{base}?{q}>; rel=\"{rel}\"", hit.headers["host"].to_str().unwrap());
        let r = reply(200, json!([app_user(&format!("00u{n}a")), app_user(&format!("00u{n}b"))]));
        match n {
            // Separate link headers, self first.
            0 => r
                .header("link", link("limit=500&expand=user", "self"))
                .header("link", link("after=00u0b&limit=500&expand=user", "next")),
            // One comma-joined header, next first, with an extra relation type.
            1 => r.header(
                "link",
                format!(
                    "{}, {}",
                    link("after=00u1b&limit=500&expand=user", "prefetch next"),
                    link("after=00u0b&limit=500&expand=user", "self")
                ),
            ),
            _ => r.header("link", link("after=00u1b&limit=500&expand=user", "self")),
        }
    })
    .await;
    let c = client(&server.org, fast());
    let (mut ids, mut next, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let page = c.app_users("0oa1AppId", next.as_deref()).await.unwrap();
        pages += 1;
        ids.extend(page.items.into_iter().map(|u| u.id));
        match page.next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, ["00u0a", "00u0b", "00u1a", "00u1b", "00u2a", "00u2b"]);
    let hits = server.hits();
    let uris: Vec<&str> = hits.iter().map(|h| h.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "/api/v1/apps/0oa1AppId/users?limit=500&expand=user",
            "/api/v1/apps/0oa1AppId/users?after=00u0b&limit=500&expand=user",
            "/api/v1/apps/0oa1AppId/users?after=00u1b&limit=500&expand=user",
        ]
    );
    for h in &hits {
        assert_eq!(h.headers["authorization"], format!("SSWS {TOKEN}").as_str());
        assert_eq!(h.headers["accept"], "application/json");
        assert!(h.headers["user-agent"].to_str().unwrap().starts_with("inlet/"));
    }
    assert_eq!(c.stats().requests, BucketCounts { apps: 3, ..BucketCounts::default() });
}

#[tokio::test]
async fn a_429_waits_until_the_reset_then_succeeds() {
    let server = serve(|n, hit| {
        if n == 0 {
            let date = hit.epoch.floor() as u64;
            reply(429, json!({"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorCauses":[]}))
                .header("x-rate-limit-limit", "100")
                .header("x-rate-limit-remaining", "0")
                .header("x-rate-limit-reset", (date + 1).to_string())
                .header("date", http_date(date))
        } else {
            reply(200, json!([]))
        }
    })
    .await;
    let c = client(&server.org, fast());
    let page = c.app_groups("0oa1", None).await.unwrap();
    assert!(page.items.is_empty() && page.next.is_none());
    let hits = server.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].uri, "/api/v1/apps/0oa1/groups?limit=200&expand=group");
    let reset = hits[0].epoch.floor() + 1.0;
    // Not before the reset; at most the margin, the Date header's truncation and the latency after it.
    let late = hits[1].epoch - reset;
    assert!((0.0..2.3).contains(&late), "second request {late:.2} s after the reset");
    let s = c.stats();
    assert_eq!((s.rate_limited, s.retries, s.requests.apps), (1, 1, 2));
    assert!(s.waited >= Duration::from_millis(1200), "{s:?}");
}

#[tokio::test]
async fn a_rate_limit_wait_past_the_deadline_fails_at_once() {
    let server = serve(|_, hit| {
        let date = hit.epoch.floor() as u64;
        reply(429, json!({"errorCode":"E0000047"}))
            .header("x-rate-limit-limit", "100")
            .header("x-rate-limit-remaining", "0")
            .header("x-rate-limit-reset", (date + 40).to_string())
            .header("date", http_date(date))
    })
    .await;
    let started = Instant::now();
    let c = client(&server.org, fast()).with_deadline(Some(started + Duration::from_secs(10)));
    assert_eq!(c.group_users("00g1", None).await, Err(OktaError::Deadline));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.hits().len(), 1);
    // The learned window holds for the next request too: refused without sending.
    assert_eq!(c.group_users("00g1", None).await, Err(OktaError::Deadline));
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let server =
        serve(|n, _| if n < 2 { reply(503, json!({"errorCode":"E0000010"})) } else { reply(200, json!([])) }).await;
    let c = client(&server.org, fast());
    let started = Instant::now();
    c.group_users("00g1", None).await.unwrap();
    let took = started.elapsed();
    // 0.5 s then 1 s, each ±20 %.
    assert!(took >= Duration::from_millis(1200) && took < Duration::from_secs(3), "{took:?}");
    assert_eq!(server.hits().len(), 3);
    assert_eq!(server.hits()[0].uri, "/api/v1/groups/00g1/users?limit=200");
    let s = c.stats();
    assert_eq!((s.retries, s.requests.groups), (2, 3));

    let always = serve(|_, _| reply(500, json!({"errorCode":"E0000009"}))).await;
    let c = client(&always.org, Limits { retries: 1, ..fast() });
    assert_eq!(
        c.group_users("00g1", None).await,
        Err(OktaError::Server { status: 500, code: Some("E0000009".into()) })
    );
    assert_eq!(always.hits().len(), 2);
}

#[tokio::test]
async fn an_invalid_token_is_not_retried_and_not_printed() {
    let server = serve(|_, _| {
        reply(401, json!({"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oae1","errorCauses":[]}))
    })
    .await;
    let c = client(&server.org, fast());
    let e = c.app_users("0oa1", None).await.unwrap_err();
    assert_eq!(server.hits().len(), 1);
    assert!(e.is_credential());
    assert_eq!(e.code(), Some("E0000011"));
    assert!(matches!(&e, OktaError::InvalidToken { summary, .. } if summary == "Invalid token provided"));
    for text in [e.to_string(), format!("{e:?}"), format!("{c:?}")] {
        assert!(!text.contains(TOKEN) && !text.contains("WPXM"), "{text}");
    }
    // 403 and 404 likewise, and a non-JSON body is fine.
    let server = serve(|n, _| {
        if n == 0 {
            reply(403, json!({"errorCode":"E0000006","errorCauses":{"errorSummary":"x"}}))
        } else {
            reply(404, json!("not json"))
        }
    })
    .await;
    let c = client(&server.org, fast());
    assert!(
        matches!(c.app_users("0oa1", None).await, Err(OktaError::Forbidden { code: Some(code), .. }) if code == "E0000006")
    );
    assert!(matches!(c.app_users("0oa1", None).await, Err(OktaError::NotFound { code: None, .. })));
    assert_eq!(server.hits().len(), 2);
}

#[tokio::test]
async fn next_links_off_the_origin_or_listing_are_refused() {
    let elsewhere = serve(|_, _| reply(200, json!([]))).await;
    let target = format!("{}/api/v1/apps/0oa1/users?after=x", elsewhere.org.as_str());
    let link = format!("<{target}>; rel=\"next\"");
    let server = serve(move |_, _| reply(200, json!([app_user("00u1")])).header("link", link.clone())).await;
    let c = client(&server.org, fast());
    let page = c.app_users("0oa1", None).await.unwrap();
    assert_eq!(page.next.as_deref(), Some(target.as_str()));
    assert!(matches!(c.app_users("0oa1", page.next.as_deref()).await, Err(OktaError::Refused(_))));
    assert!(elsewhere.hits().is_empty(), "the token went to another origin");
    // Same origin, another listing.
    let other = format!("{}/api/v1/users?after=x", server.org.as_str());
    assert!(matches!(c.app_users("0oa1", Some(&other)).await, Err(OktaError::Refused(_))));
    assert!(matches!(c.app_users("0oa1/../users", None).await, Err(OktaError::BadUrl(_))));
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn credentials_check_reads_metadata_without_the_token_then_one_user() {
    let server = serve(|n, _| match n {
        0 => reply(200, json!({"id":"00o47wwoytgsDqEtz0g7","pipeline":"idx","_links":{"organization":{"href":"https://acme.okta.com"}}})),
        _ => reply(200, json!([app_user("00u1")])),
    })
    .await;
    let c = client(&server.org, fast());
    let meta = c.org_metadata().await.unwrap();
    c.check_app("0oa1").await.unwrap();
    assert_eq!(
        (meta.id.as_str(), meta.organization.as_deref()),
        ("00o47wwoytgsDqEtz0g7", Some("https://acme.okta.com"))
    );
    let hits = server.hits();
    assert_eq!(hits[0].uri, "/.well-known/okta-organization");
    assert!(!hits[0].headers.contains_key("authorization"));
    assert_eq!(hits[1].uri, "/api/v1/apps/0oa1/users?limit=1");
    assert!(hits[1].headers.contains_key("authorization"));
    assert_eq!(c.stats().requests, BucketCounts { apps: 1, other: 1, ..BucketCounts::default() });
}

#[tokio::test]
async fn bad_bodies_and_bad_link_headers_are_errors() {
    let server = serve(|n, _| match n {
        0 => reply(200, json!({"not": "a list"})),
        _ => reply(200, json!([])).header("link", "<http://127.0.0.1/unterminated; rel=\"next\""),
    })
    .await;
    let c = client(&server.org, fast());
    assert!(matches!(c.app_users("0oa1", None).await, Err(OktaError::BadResponse(_))));
    assert!(matches!(c.app_users("0oa1", None).await, Err(OktaError::BadResponse(_))));
}

#[tokio::test]
async fn in_flight_requests_are_capped_across_clones() {
    let server = serve(|_, _| Reply { delay: Duration::from_millis(150), ..reply(200, json!([])) }).await;
    let c = client(&server.org, Limits { max_in_flight: 2, ..fast() });
    let calls = (0..6).map(|i| {
        let c = c.clone();
        async move { c.group_users(&format!("00g{i}"), None).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(server.hits().len(), 6);
    assert_eq!(server.busy_max.load(Ordering::SeqCst), 2);
    assert_eq!(c.stats().requests.groups, 6);
}

#[tokio::test]
async fn few_remaining_requests_are_spread_until_the_reset() {
    // Remaining 1 with the reset 2 s away: the next request waits ~(2 s)/(1+1) = 1 s.
    let server = serve(|n, hit| {
        let date = hit.epoch.floor() as u64;
        let r = reply(200, json!([])).header("date", http_date(date)).header("x-rate-limit-limit", "100");
        if n == 0 {
            r.header("x-rate-limit-remaining", "1").header("x-rate-limit-reset", (date + 2).to_string())
        } else {
            r.header("x-rate-limit-remaining", "99").header("x-rate-limit-reset", (date + 60).to_string())
        }
    })
    .await;
    let c = client(&server.org, fast());
    c.app_groups("0oa1", None).await.unwrap();
    c.app_groups("0oa1", None).await.unwrap();
    let hits = server.hits();
    let gap = hits[1].at - hits[0].at;
    assert!(gap >= Duration::from_millis(900) && gap < Duration::from_millis(1500), "{gap:?}");
    // A different bucket is not held back.
    let started = Instant::now();
    c.group_users("00g1", None).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn one_group_is_read_by_id() {
    let server = serve(|_, _| {
        reply(200, json!({"id":"00g1","lastMembershipUpdated":"2024-06-02T13:03:13.000Z","type":"OKTA_GROUP","profile":{"name":"Eng"}}))
    })
    .await;
    let c = client(&server.org, fast());
    let g = c.group("00g1").await.unwrap();
    assert_eq!((g.name.as_deref(), g.last_membership_updated.is_some()), (Some("Eng"), true));
    assert_eq!(server.hits()[0].uri, "/api/v1/groups/00g1");
    assert!(matches!(c.group("00g1/../x").await, Err(OktaError::BadUrl(_))));
}
