//! Serving endpoints under `lambda_http` (API Gateway HTTP API, payload v2). The SDK
//! client, the store and the token verifier are built once per cold start; each
//! invocation is one call to [`api::handle`].

use crate::api::auth::{TokenDigests, digest, digest_from_hex};
use crate::api::{self, App, Endpoint};
use crate::domain::{Directory, TenantId};
use crate::store::dynamo::DynamoStore;
use bytes::Bytes;
use lambda_http::{Body, Error, Request, Response, service_fn};
use std::sync::Arc;

/// Token digests from the environment: `INLET_TOKENS_SHA256` holds `tenant=sha256hex`
/// pairs (comma-separated); `INLET_DEV_TOKEN` adds a plain token for `INLET_DEV_TENANT`
/// (default `default`), for local emulators only.
pub fn tokens_from_env() -> Result<TokenDigests, Error> {
    let mut tokens = TokenDigests::default();
    for pair in std::env::var("INLET_TOKENS_SHA256").unwrap_or_default().split(',').filter(|p| !p.trim().is_empty()) {
        let (tenant, hex) = pair.trim().split_once('=').ok_or("INLET_TOKENS_SHA256 wants tenant=sha256hex pairs")?;
        let tenant = TenantId::parse(tenant).ok_or("INLET_TOKENS_SHA256 names an invalid tenant")?;
        tokens = tokens.with(tenant, digest_from_hex(hex).ok_or("INLET_TOKENS_SHA256 holds an invalid digest")?);
    }
    if let Ok(token) = std::env::var("INLET_DEV_TOKEN") {
        let tenant = std::env::var("INLET_DEV_TENANT").unwrap_or_else(|_| "default".into());
        let tenant = TenantId::parse(&tenant).ok_or("INLET_DEV_TENANT is not a valid tenant id")?;
        tokens = tokens.with(tenant, digest(&token));
    }
    Ok(tokens)
}

async fn app_from_env() -> Result<App, Error> {
    let table = std::env::var("INLET_TABLE").map_err(|_| "INLET_TABLE is not set")?;
    let store = DynamoStore::from_env(table).await;
    Ok(App { directory: Directory::new(Arc::new(store)), tokens: Arc::new(tokens_from_env()?) })
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
    let app = app_from_env().await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        let (parts, body) = req.into_parts();
        let response = api::handle(app, http::Request::from_parts(parts, to_bytes(body)), endpoints).await;
        let (parts, body) = response.into_parts();
        Ok::<_, Error>(Response::from_parts(parts, to_body(body)))
    }))
    .await
}
