//! `inlet serve`: every function's routes over HTTP/1.1 on the embedded store, with a
//! graceful shutdown that lets in-flight requests finish (each acknowledged write is
//! already committed durably by then).
//!
//! Hostile clients are bounded: request heads must arrive within the header timeout
//! (hyper's timer, which also runs while a kept-alive connection waits for its next
//! request), bodies within the body timeout (408), a connection that moves no byte for the
//! idle timeout while no request is being handled is closed, and past the connection cap
//! new connections wait in the listen backlog. The token is checked on the request head,
//! before any body is read.

use crate::bootstrap::{self, DEFAULT_TENANT};
use crate::delivery;
use crate::local;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use inlet_shared::api::{self, ApiError, App, Endpoint, MAX_BODY_BYTES};
use inlet_shared::startup::{AppOptions, Services, Storage};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

pub struct Options {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub dev_token: Option<String>,
    /// Users, groups and the tenant registry in this DynamoDB table (else the embedded store).
    pub table: Option<String>,
    /// Token verifiers in Secrets Manager under this prefix (else files in the data directory).
    pub secret_prefix: Option<String>,
    pub rate_limit: u32,
    pub auth_cache: Duration,
    pub limits: Limits,
    /// Allow a dev token on a listen address other than loopback.
    pub allow_remote_dev_token: bool,
    /// How often the Okta puller looks for due tenants (zero: never).
    pub pull_tick: Duration,
    /// Runs a CLI command forwarded by `inlet` while this server holds the data directory.
    pub executor: Executor,
    /// Also deliver events to this webhook (secret from `INLET_WEBHOOK_SECRET`).
    pub webhook: Option<String>,
}

pub type Executor = Arc<
    dyn Fn(Services, local::Call) -> std::pin::Pin<Box<dyn std::future::Future<Output = local::Answer> + Send>>
        + Send
        + Sync,
>;

/// What serves forwarded CLI commands (the embedded store only: with DynamoDB any process can
/// reach the table, so the CLI never needs the server).
struct Local {
    handoff: local::Handoff,
    services: Services,
    executor: Executor,
}

/// Tenants synced at once by one puller pass.
const PULL_PARALLEL: usize = 4;

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

pub async fn run(o: Options) -> Result<(), String> {
    if o.dev_token.is_some() && !o.listen.ip().is_loopback() && !o.allow_remote_dev_token {
        return Err(format!(
            "a dev token (--dev-token / INLET_DEV_TOKEN) bypasses revocation and expiry: refused on {}, \
             which is not a loopback address (add --allow-remote-dev-token to insist)",
            o.listen
        ));
    }
    // Checked before anything starts: a webhook without its secret is refused, not unsigned.
    let webhook = delivery::webhook(o.webhook.as_deref(), o.table.is_some())?;
    let data_dir = o.data_dir.as_path();
    inlet_shared::store::files::private_dir(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let storage =
        Storage::local(o.data_dir.clone(), o.table.clone(), o.secret_prefix.clone()).map_err(|e| e.to_string())?;
    let services = Services::build(&storage).await.map_err(|e| e.to_string())?;
    let started = bootstrap::first_start(&services.tenants, o.dev_token.is_some()).await?;
    let dev_token = match &o.dev_token {
        Some(token) => Some((bootstrap::default_tenant()?, token.clone())),
        None => None,
    };
    let app = Arc::new(services.app(&AppOptions { auth_ttl: o.auth_cache, rate_limit: o.rate_limit, dev_token }));
    let endpoints: Arc<[Endpoint]> = inlet_users::ENDPOINTS.iter().chain(inlet_groups::ENDPOINTS).copied().collect();
    let listener = TcpListener::bind(o.listen).await.map_err(|e| format!("cannot listen on {}: {e}", o.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let local = match o.table {
        None => Some(Arc::new(Local {
            handoff: local::Handoff::publish(data_dir, addr)?,
            services: services.clone(),
            executor: Arc::clone(&o.executor),
        })),
        Some(_) => None,
    };
    say(&if started.has_default {
        format!("Inlet is serving tenant '{DEFAULT_TENANT}' at http://{addr}/{DEFAULT_TENANT}/scim/v2")
    } else {
        format!("Inlet is serving at http://{addr}/<tenant>/scim/v2")
    });
    say(&format!("Every tenant's SCIM base URL is http://{addr}/<tenant>/scim/v2 (see `inlet tenants list`)"));
    say(&match &started.issued {
        Some(token) => format!("Bearer token (shown once, keep it safe): {token}"),
        None => "Bearer tokens: the one printed at first start, INLET_DEV_TOKEN, or `inlet tokens issue`".to_owned(),
    });
    if let Some(feed) = services.feed.clone() {
        for line in delivery::start(feed, data_dir, webhook)? {
            say(&line);
        }
    }
    say(&format!("Data directory: {}", data_dir.display()));

    if !o.pull_tick.is_zero() {
        let puller = services.puller().map_err(|e| e.to_string())?;
        let tick = o.pull_tick;
        // The same passes the scheduled Lambda function makes, for tenants in okta_api mode.
        tokio::spawn(async move {
            loop {
                match puller.run_due(None, PULL_PARALLEL).await {
                    Ok(done) => {
                        for (t, outcome) in done {
                            tracing::info!(tenant = %t, ?outcome, "Okta sync");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "Okta puller pass failed"),
                }
                tokio::time::sleep(tick).await;
            }
        });
    }
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(o.limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        // Past the cap, new connections wait in the listen backlog until a slot frees.
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit.map_err(|e| e.to_string())?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => continue,
            },
            () = &mut shutdown => break,
        };
        let watch = Arc::new(Activity::new());
        let (app, endpoints, limits, busy) = (Arc::clone(&app), Arc::clone(&endpoints), o.limits, Arc::clone(&watch));
        // Forwarded CLI commands are taken from loopback peers only.
        let local = local.clone().filter(|_| peer.ip().is_loopback());
        let service = service_fn(move |req| {
            let (app, endpoints, busy, local) =
                (Arc::clone(&app), Arc::clone(&endpoints), Arc::clone(&busy), local.clone());
            async move {
                let _handling = busy.handling();
                if let Some(local) = local.filter(|_| req.uri().path() == local::PATH) {
                    return Ok::<_, std::convert::Infallible>(run_local(&local, req, limits.body_timeout).await);
                }
                Ok::<_, std::convert::Infallible>(respond(&app, &endpoints, req, limits.body_timeout).await)
            }
        });
        let io = TokioIo::new(Watched { inner: stream, activity: Arc::clone(&watch) });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            let mut tick = tokio::time::interval(limits.idle_timeout / 4);
            loop {
                tokio::select! {
                    _ = &mut conn => break,
                    _ = tick.tick() => if watch.idle_for() >= limits.idle_timeout { break },
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => eprintln!("inlet: gave up waiting for in-flight requests"),
    }
    if local.is_some() {
        local::Handoff::withdraw(data_dir);
    }
    say("Inlet stopped");
    Ok(())
}

/// Prints a line for the operator; a closed stdout must never stop the server.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// A CLI command forwarded by `inlet` (see `local`): the secret, then the command.
async fn run_local(
    local: &Local,
    req: hyper::Request<Incoming>,
    body_timeout: Duration,
) -> hyper::Response<Full<Bytes>> {
    let answer = |status: u16, body: Vec<u8>| {
        let mut r = hyper::Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        r
    };
    if req.method() != hyper::Method::POST || !local.handoff.admits(req.headers()) {
        return answer(403, Vec::new());
    }
    let body = match tokio::time::timeout(body_timeout, Limited::new(req.into_body(), MAX_BODY_BYTES).collect()).await {
        Ok(Ok(b)) => b.to_bytes(),
        _ => return answer(400, Vec::new()),
    };
    let Ok(call) = serde_json::from_slice::<local::Call>(&body) else { return answer(400, Vec::new()) };
    let result = (local.executor)(local.services.clone(), call).await;
    match serde_json::to_vec(&result) {
        Ok(b) => answer(200, b),
        Err(_) => answer(500, Vec::new()),
    }
}

/// Authenticates the head, then reads the body (bounded in size and time), then handles.
async fn respond(
    app: &App,
    endpoints: &[Endpoint],
    req: hyper::Request<Incoming>,
    body_timeout: Duration,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let admitted = match api::authenticate(app, &parts).await {
        Ok(admitted) => admitted,
        // The body is never read: hyper closes the connection after this answer.
        Err(e) => return api::refuse(&parts.method, e, started).map(Full::new),
    };
    let read = tokio::time::timeout(body_timeout, Limited::new(body, MAX_BODY_BYTES).collect()).await;
    let response = match read {
        Ok(Ok(body)) => api::handle_admitted(app, admitted, parts, body.to_bytes(), endpoints, started).await,
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            api::refuse(&parts.method, ApiError::PayloadTooLarge, started)
        }
        Ok(Err(_)) => {
            let e = inlet_shared::scim::error::ScimError::invalid_syntax("unreadable request body");
            api::refuse(&parts.method, e.into(), started)
        }
        Err(_) => api::refuse(&parts.method, ApiError::BodyTimeout(body_timeout.as_secs()), started),
    };
    response.map(Full::new)
}

/// When a connection last moved a byte, and whether a request is being handled on it.
struct Activity {
    epoch: Instant,
    last_millis: AtomicU64,
    handling: AtomicUsize,
}

/// Marks a request as being handled while it lives.
struct Handling<'a>(&'a Activity);

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        self.0.touch();
        self.0.handling.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Activity {
    fn new() -> Self {
        Self { epoch: Instant::now(), last_millis: AtomicU64::new(0), handling: AtomicUsize::new(0) }
    }

    fn touch(&self) {
        let millis = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    fn handling(&self) -> Handling<'_> {
        self.handling.fetch_add(1, Ordering::SeqCst);
        Handling(self)
    }

    /// How long the connection has moved nothing with no request in hand (zero while one is).
    fn idle_for(&self) -> Duration {
        if self.handling.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.epoch.elapsed().saturating_sub(Duration::from_millis(self.last_millis.load(Ordering::Relaxed)))
    }
}

/// A TCP stream that records its activity.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
