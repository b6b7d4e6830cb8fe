//! HTTP/1.1 serving: every API request passes the concurrency cap, its rate bucket, any
//! armed fault and the token check, in that order, before its route answers; every
//! response carries `X-Rate-Limit-*` and `Date`. `/_double/` requests skip all of it.

mod api;
mod control;
pub mod query;

use crate::Requests;
use crate::clock::{http_date, now_ms};
use crate::directory::Directory;
use crate::faults::{Action, Faults};
use crate::limits::{Bucket, InFlight, Rate, RateLimits};
use crate::okta_error::OktaError;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, DATE, HeaderValue, LINK};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub type Reply = Response<Full<Bytes>>;

/// Returned instead of a response to make hyper close the connection unanswered.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

#[derive(Debug, Default)]
pub struct Tokens {
    pub valid: HashSet<String>,
    /// Valid, but their admin role cannot read apps (403 E0000006 under `/api/v1/apps`).
    pub without_apps: HashSet<String>,
    pub revoked: HashSet<String>,
}

pub struct State {
    pub base: String,
    pub org_id: String,
    pub app_id: String,
    pub alternate: Option<String>,
    pub joined_links: bool,
    /// See `Options::no_expand`.
    pub no_expand: bool,
    pub concurrency: u32,
    pub tokens: Mutex<Tokens>,
    pub directory: Mutex<Directory>,
    pub limits: RateLimits,
    pub flight: InFlight,
    pub faults: Mutex<Faults>,
    pub log: Mutex<Requests>,
}

/// A lock that survives a panicked holder: the double's state is plain data, and a test that
/// panicked inside `Double::with` has already failed.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves connections until `stop` fires, then lets in-flight requests finish (at most 2 s).
pub async fn serve(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut stop => break,
        };
        let state = Arc::clone(&state);
        let service = service_fn(move |req| handle(Arc::clone(&state), req));
        let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A dropped connection or a client going away ends here; neither is the double's error.
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Dropped> {
    let path = req.uri().path().to_owned();
    if path == "/_double" || path.starts_with("/_double/") {
        return Ok(control::handle(&state, req).await);
    }
    let slot = state.flight.enter();
    let bucket = Bucket::of(&path);
    lock(&state.log).arrived(bucket.name(), api::template(&path));
    let now = now_ms();
    if slot.count > state.concurrency {
        lock(&state.log).rate_limited += 1;
        // Okta's concurrency 429: Limit and Remaining 0, Reset only an estimate.
        let rate = Rate { limit: 0, remaining: 0, reset: (now + 1000).div_ceil(1000) };
        return Ok(finish(&state, error(&OktaError::rate_limited(), rate)));
    }
    let (rate, over) = state.limits.hit(bucket, now);
    if over {
        lock(&state.log).rate_limited += 1;
        return Ok(finish(&state, error(&OktaError::rate_limited(), rate)));
    }
    let token = presented_token(&req);
    let fault = lock(&state.faults).take(&path);
    if fault.is_some() {
        lock(&state.log).faulted += 1;
    }
    match fault {
        Some(Action::Drop) => {
            lock(&state.log).answered(0);
            return Err(Dropped);
        }
        Some(Action::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Action::Status(status)) => {
            if status == 401
                && let Some(t) = &token
            {
                lock(&state.tokens).revoked.insert(t.clone());
            }
            let rate = if status == 429 { Rate { remaining: 0, ..state.limits.peek(bucket, now) } } else { rate };
            return Ok(finish(&state, error(&OktaError::for_status(status), rate)));
        }
        None => {}
    }
    let reply = match answer(&state, &req, &path, token.as_deref()) {
        Ok(api::Answer { body, links }) => json(StatusCode::OK, &body, rate, &links, state.joined_links),
        Err(e) => error(&e, rate),
    };
    drop(slot);
    Ok(finish(&state, reply))
}

fn answer(state: &State, req: &Request<Incoming>, path: &str, token: Option<&str>) -> Result<api::Answer, OktaError> {
    if req.method() != hyper::Method::GET {
        return Err(OktaError::method_not_allowed());
    }
    let public = path == "/.well-known/okta-organization";
    let mut apps_allowed = true;
    if !public {
        let tokens = lock(&state.tokens);
        match token {
            Some(t) if tokens.valid.contains(t) && !tokens.revoked.contains(t) => {
                apps_allowed = !tokens.without_apps.contains(t);
            }
            _ => return Err(OktaError::invalid_token()),
        }
    }
    let call = api::Call { path, raw_query: req.uri().query(), apps_allowed, no_expand: state.no_expand };
    api::route(state, &call)
}

/// The token of `Authorization: SSWS <token>`.
fn presented_token(req: &Request<Incoming>) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("SSWS ").map(|t| t.trim().to_owned())
}

fn finish(state: &State, mut reply: Reply) -> Reply {
    lock(&state.log).answered(reply.status().as_u16());
    if let Ok(date) = HeaderValue::from_str(&http_date(now_ms())) {
        reply.headers_mut().insert(DATE, date);
    }
    reply
}

pub fn error(e: &OktaError, rate: Rate) -> Reply {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, &e.body(), rate, &[], false)
}

fn json(status: StatusCode, body: &Value, rate: Rate, links: &[(&str, String)], joined: bool) -> Reply {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(e) => {
            (StatusCode::INTERNAL_SERVER_ERROR, OktaError::internal(&e.to_string()).body().to_string().into_bytes())
        }
    };
    let mut reply = Response::new(Full::new(Bytes::from(bytes)));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("x-rate-limit-limit", HeaderValue::from(rate.limit));
    headers.insert("x-rate-limit-remaining", HeaderValue::from(rate.remaining));
    headers.insert("x-rate-limit-reset", HeaderValue::from(rate.reset));
    let values: Vec<String> = links.iter().map(|(rel, url)| format!("<{url}>; rel=\"{rel}\"")).collect();
    let values = if joined && !values.is_empty() { vec![values.join(", ")] } else { values };
    for v in values {
        match HeaderValue::from_str(&v) {
            Ok(v) => headers.append(LINK, v),
            // Link URLs are built from the base and encoded parameters: this is a bug.
            Err(e) => return error(&OktaError::internal(&format!("link header {v:?}: {e}")), rate),
        };
    }
    reply
}
