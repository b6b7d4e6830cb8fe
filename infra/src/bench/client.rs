//! A keep-alive HTTP client and a closed-loop load runner that records latencies.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One SCIM server under test: its base URL (`…/scim/v2` or `…/v2`) and token.
#[derive(Clone)]
pub struct Target {
    pub name: &'static str,
    pub base: String,
    pub token: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

#[derive(Clone, Debug)]
pub struct Call {
    pub method: http::Method,
    pub path: String,
    pub body: Option<Value>,
}

impl Call {
    pub fn new(method: http::Method, path: impl Into<String>, body: Option<Value>) -> Self {
        Self { method, path: path.into(), body }
    }
}

impl Target {
    pub fn new(name: &'static str, base: String, token: String) -> Self {
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
        Self { name, base, token, client }
    }

    /// Sends one request; returns the status and the JSON body (Null when empty).
    pub async fn send(&self, call: &Call) -> Result<(u16, Value), String> {
        let body = call.body.as_ref().map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let req = http::Request::builder()
            .method(call.method.clone())
            .uri(format!("{}{}", self.base, call.path))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/scim+json")
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub requests: usize,
    pub errors: usize,
    pub per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// CPU this benchmark process used meanwhile, in cores (the load client's cost on a
    /// machine it shares with the server), when /proc tells.
    pub client_cores: Option<f64>,
}

/// This process's CPU time so far (user + system), from /proc/self/stat.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let ticks: u64 = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux target this benchmark runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// Runs `calls` with `concurrency` workers (each waits for its answer before the next),
/// stopping early after `budget`. Answers outside 2xx count as errors.
pub async fn run(target: &Target, calls: Vec<Call>, concurrency: usize, budget: Duration) -> Stats {
    let calls = Arc::new(calls);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let cpu_before = cpu_time();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (target, calls, next) = (target.clone(), Arc::clone(&calls), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            while started.elapsed() < budget {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(call) = calls.get(i) else { break };
                let t = Instant::now();
                match target.send(call).await {
                    Ok((status, _)) if (200..300).contains(&status) => {}
                    _ => errors += 1,
                }
                lat.push(t.elapsed());
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for w in workers {
        if let Ok((l, e)) = w.await {
            lat.extend(l);
            errors += e;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let client_cores = match (cpu_before, cpu_time()) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a).as_secs_f64() / secs.max(1e-9)),
        _ => None,
    };
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    Stats {
        requests: lat.len(),
        errors,
        per_sec: lat.len() as f64 / secs.max(1e-9),
        p50: pct(0.50),
        p99: pct(0.99),
        client_cores,
    }
}
