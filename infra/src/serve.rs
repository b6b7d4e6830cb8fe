//! `inlet serve`: every function's routes over HTTP/1.1 on the embedded store, with a
//! graceful shutdown that lets in-flight requests finish (each acknowledged write is
//! already committed durably by then).

use crate::bootstrap::{self, DEFAULT_TENANT};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use inlet_shared::api::ratelimit::RateLimiter;
use inlet_shared::api::{ApiError, App, Endpoint, MAX_BODY_BYTES};
use inlet_shared::domain::Directory;
use inlet_shared::domain::tenant::{Gate, Tenants};
use inlet_shared::store::Table;
use inlet_shared::store::dynamo::DynamoStore;
use inlet_shared::store::embedded::EmbeddedStore;
use inlet_shared::store::files::FileDocs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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
}

pub async fn run(o: Options) -> Result<(), String> {
    let data_dir = o.data_dir.as_path();
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let config = inlet_shared::aws::config();
    let (store, tenants): (Arc<dyn Table>, Tenants) = match (&o.table, &o.secret_prefix) {
        (None, None) => {
            let store = Arc::new(EmbeddedStore::open(data_dir).map_err(|e| e.to_string())?);
            (store, Tenants::in_dir(data_dir).map_err(|e| e.to_string())?)
        }
        (Some(table), Some(prefix)) => inlet_shared::aws::on_aws(&config.await, table, prefix),
        (Some(table), None) => {
            let store: Arc<dyn Table> = Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config.await), table));
            let vault = Arc::new(FileDocs::open(&data_dir.join("secrets"), true).map_err(|e| e.to_string())?);
            (Arc::clone(&store), Tenants::on_table(store, vault))
        }
        (None, Some(_)) => return Err("--secret-prefix needs --dynamodb-table".into()),
    };
    let started = bootstrap::first_start(&tenants, o.dev_token.is_some()).await?;
    let mut gate = Gate::new(tenants, o.auth_cache);
    if let Some(token) = &o.dev_token {
        gate = gate.with_dev_token(bootstrap::default_tenant()?, token);
    }
    let app = Arc::new(App {
        directory: Directory::new(store),
        gate: Arc::new(gate),
        limiter: Arc::new(RateLimiter::new(o.rate_limit)),
    });
    let endpoints: Arc<[Endpoint]> = inlet_users::ENDPOINTS.iter().chain(inlet_groups::ENDPOINTS).copied().collect();
    let listener = TcpListener::bind(o.listen).await.map_err(|e| format!("cannot listen on {}: {e}", o.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
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
    say(&format!("Data directory: {}", data_dir.display()));

    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (app, endpoints) = (Arc::clone(&app), Arc::clone(&endpoints));
                let service = service_fn(move |req| {
                    let (app, endpoints) = (Arc::clone(&app), Arc::clone(&endpoints));
                    async move { Ok::<_, std::convert::Infallible>(respond(&app, &endpoints, req).await) }
                });
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => eprintln!("inlet: gave up waiting for in-flight requests"),
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

async fn respond(app: &App, endpoints: &[Endpoint], req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let response = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(body) => inlet_shared::api::handle(app, http::Request::from_parts(parts, body.to_bytes()), endpoints).await,
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            ApiError::PayloadTooLarge.into_response()
        }
        Err(_) => ApiError::from(inlet_shared::scim::error::ScimError::invalid_syntax("unreadable request body"))
            .into_response(),
    };
    response.map(Full::new)
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
