//! Serving endpoints under `lambda_http` (API Gateway HTTP API, payload v2). Everything
//! is built once per cold start; each invocation is one call to [`api::handle`].

use crate::api::auth::{TokenDigests, digest};
use crate::api::{self, App, Endpoint};
use crate::domain::{Directory, TenantId};
use crate::store::embedded::EmbeddedStore;
use bytes::Bytes;
use lambda_http::{Body, Error, Request, Response, service_fn};
use std::path::PathBuf;
use std::sync::Arc;

/// Builds the app from the environment. Until the DynamoDB backend lands, functions run
/// on the embedded store in `INLET_DATA_DIR` with one tenant (`INLET_DEV_TENANT`,
/// default `default`) whose token is `INLET_DEV_TOKEN` — enough for the Lambda emulators.
fn app_from_env() -> Result<App, Error> {
    let dir = PathBuf::from(std::env::var("INLET_DATA_DIR").unwrap_or_else(|_| "/tmp/inlet".into()));
    let store = EmbeddedStore::open(&dir)?;
    let tenant = std::env::var("INLET_DEV_TENANT").unwrap_or_else(|_| "default".into());
    let tenant = TenantId::parse(&tenant).ok_or("INLET_DEV_TENANT is not a valid tenant id")?;
    let token = std::env::var("INLET_DEV_TOKEN").map_err(|_| "INLET_DEV_TOKEN is not set")?;
    let tokens = TokenDigests::default().with(tenant, digest(&token));
    Ok(App { directory: Directory::new(Arc::new(store)), tokens: Arc::new(tokens) })
}

fn to_bytes(body: Body) -> Bytes {
    match body {
        Body::Text(s) => Bytes::from(s),
        Body::Binary(b) => Bytes::from(b),
        _ => Bytes::new(),
    }
}

fn to_body(bytes: Bytes) -> Body {
    if bytes.is_empty() {
        return Body::Empty;
    }
    match String::from_utf8(bytes.to_vec()) {
        Ok(s) => Body::Text(s),
        Err(e) => Body::Binary(e.into_bytes()),
    }
}

/// Runs a Lambda function serving `endpoints` until the runtime stops it.
pub async fn run(endpoints: &'static [Endpoint]) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = app_from_env()?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        let (parts, body) = req.into_parts();
        let response = api::handle(app, http::Request::from_parts(parts, to_bytes(body)), endpoints).await;
        let (parts, body) = response.into_parts();
        Ok::<_, Error>(Response::from_parts(parts, to_body(body)))
    }))
    .await
}
