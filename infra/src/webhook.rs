//! Local event delivery over HTTP: the webhook sink `inlet serve --webhook URL` relays
//! events to (one POST per event, signed per Standard Webhooks with `INLET_WEBHOOK_SECRET`),
//! and `inlet webhook listen`, a receiver a newcomer can run to watch events arrive: it
//! checks each signature and prints each event as one JSON line.

use async_trait::async_trait;
use bytes::Bytes;
use clap::Subcommand;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use inlet_shared::events::relay::{Sink, SinkFailure};
use inlet_shared::events::signature::Secret;
use inlet_shared::events::{EventError, Outgoing};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Where the signing secret comes from (never the command line, which other users can see).
pub const SECRET_ENV: &str = "INLET_WEBHOOK_SECRET";
/// How long one delivery may take before it counts as failed (and is retried).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest event the receiver takes (a group's event carries its members).
const MAX_EVENT_BYTES: usize = 16 << 20;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Receive Inlet's webhook deliveries on 127.0.0.1:PORT: verify each signature with
    /// INLET_WEBHOOK_SECRET, print each event as one JSON line, answer 401 to a bad signature.
    Listen {
        #[arg(long, default_value_t = 9000)]
        port: u16,
    },
    /// Print a new random secret (whsec_…) to put in INLET_WEBHOOK_SECRET on both sides.
    Secret,
}

/// The secret from `INLET_WEBHOOK_SECRET`, which must be set.
pub fn secret_from_env() -> Result<Secret, String> {
    let text = std::env::var(SECRET_ENV).map_err(|_| {
        format!("{SECRET_ENV} is not set: make one with `inlet webhook secret` and give the same to the receiver")
    })?;
    Secret::parse(&text).map_err(|e| format!("{SECRET_ENV}: {e}"))
}

fn now_seconds() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

pub async fn command(cmd: WebhookCommand) -> Result<(), String> {
    match cmd {
        WebhookCommand::Secret => {
            println!("{}", Secret::generate().map_err(|e| e.to_string())?.expose());
            Ok(())
        }
        WebhookCommand::Listen { port } => {
            let secret = secret_from_env()?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let listener = TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            let bound = listener.local_addr().map_err(|e| e.to_string())?;
            // Stdout carries the events alone; what the receiver says goes to stderr.
            eprintln!("Listening for Inlet events at http://{bound}/ (signatures checked with {SECRET_ENV})");
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            tokio::spawn(receive(listener, secret, tx));
            while let Some(line) = rx.recv().await {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}").and_then(|()| out.flush()).map_err(|e| format!("stdout: {e}"))?;
            }
            Ok(())
        }
    }
}

/// Serves the receiver on `listener`: each verified event goes to `lines`, compact JSON.
pub async fn receive(listener: TcpListener, secret: Secret, lines: mpsc::UnboundedSender<String>) {
    let secret = Arc::new(secret);
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let (secret, lines) = (Arc::clone(&secret), lines.clone());
        let service = service_fn(move |req| {
            let (secret, lines) = (Arc::clone(&secret), lines.clone());
            async move { Ok::<_, std::convert::Infallible>(answer(&secret, &lines, req).await) }
        });
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
    }
}

async fn answer(
    secret: &Secret,
    lines: &mpsc::UnboundedSender<String>,
    req: Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let reply = |status: StatusCode, text: &str| {
        let mut r = hyper::Response::new(Full::new(Bytes::from(text.to_owned())));
        *r.status_mut() = status;
        r
    };
    if req.method() != http::Method::POST {
        return reply(StatusCode::METHOD_NOT_ALLOWED, "POST events here\n");
    }
    let (parts, body) = req.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Ok(body) = Limited::new(body, MAX_EVENT_BYTES).collect().await.map(|b| b.to_bytes()) else {
        return reply(StatusCode::BAD_REQUEST, "unreadable body\n");
    };
    let (Some(id), Some(timestamp), Some(signature)) =
        (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"))
    else {
        return reply(StatusCode::UNAUTHORIZED, "missing webhook-id, webhook-timestamp or webhook-signature\n");
    };
    if let Err(e) = secret.verify(&id, &timestamp, &signature, &body, now_seconds()) {
        // A closed stderr must not stop the receiver (eprintln! would panic).
        let _ = writeln!(std::io::stderr(), "refused delivery {id}: {e}");
        return reply(StatusCode::UNAUTHORIZED, &format!("{e}\n"));
    }
    let event: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return reply(StatusCode::BAD_REQUEST, &format!("not JSON: {e}\n")),
    };
    if lines.send(event.to_string()).is_err() {
        return reply(StatusCode::SERVICE_UNAVAILABLE, "the receiver is stopping\n");
    }
    reply(StatusCode::NO_CONTENT, "")
}

/// The webhook sink: one signed POST per event, in order; 2xx is delivered, anything else
/// (or no answer within the timeout, [`ATTEMPT_TIMEOUT`] unless set) fails the attempt, and the relay retries from
/// that event with a fresh timestamp and signature and the same `webhook-id`.
pub struct WebhookSink {
    url: Uri,
    secret: Secret,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl WebhookSink {
    pub fn new(url: &str, secret: Secret) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("--webhook {url:?}: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(format!("--webhook {url:?}: an http:// or https:// URL"));
        }
        // ring explicitly, as the Okta client does: aws-lc is linked too, so no process default exists.
        let tls = HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS setup: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(tls);
        Ok(Self { url: uri, secret, client, timeout: ATTEMPT_TIMEOUT })
    }

    /// The same sink with another per-attempt timeout.
    #[cfg(test)]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    async fn post(&self, e: &Outgoing) -> Result<(), EventError> {
        let at = now_seconds();
        let req = Request::post(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, concat!("inlet/", env!("CARGO_PKG_VERSION")))
            .header("webhook-id", &e.id)
            .header("webhook-timestamp", at.to_string())
            .header("webhook-signature", self.secret.sign(&e.id, at, &e.body))
            .body(Full::new(Bytes::from(e.body.clone())))
            .map_err(|err| EventError::Sink(format!("event {}: {err}", e.id)))?;
        let attempt = async {
            let resp = self.client.request(req).await.map_err(|err| format!("no answer: {err}"))?;
            let status = resp.status();
            // Read the answer so the connection can be reused; its content does not matter.
            let _ = Limited::new(resp.into_body(), 64 << 10).collect().await;
            if status.is_success() { Ok(()) } else { Err(format!("answered {status}")) }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(EventError::Sink(format!("{} for event {}: {why}", self.url, e.id))),
            Err(_) => {
                Err(EventError::Sink(format!("{} for event {}: no answer in {:?}", self.url, e.id, self.timeout)))
            }
        }
    }
}

#[async_trait]
impl Sink for WebhookSink {
    fn name(&self) -> &str {
        "webhook"
    }

    async fn deliver(&self, events: &[Outgoing]) -> Result<(), SinkFailure> {
        for (delivered, e) in events.iter().enumerate() {
            self.post(e).await.map_err(|error| SinkFailure { delivered, error })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
