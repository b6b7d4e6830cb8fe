//! Serving endpoints under `lambda_http` (API Gateway HTTP API, payload v2). The SDK
//! clients, the store and the token gate are built once per cold start; each invocation
//! is one call into [`api`].
//!
//! Configuration (environment): `INLET_TABLE`, `INLET_SECRET_PREFIX` (the vault's secret
//! names), `INLET_AUTH_CACHE_SECONDS` (default 30), `INLET_RATE_LIMIT` (requests per second
//! per tenant per instance, default 100, 0 = off); `INLET_DEV_TOKEN` (+ `INLET_DEV_TENANT`,
//! default `default`) adds a fixed token for local emulators only.

use crate::api::ratelimit::{self, RateLimiter};
use crate::api::{self, ApiError, App, Endpoint};
use crate::domain::Directory;
use crate::domain::tenant::{Gate, TenantId, Tenants, gate};
use crate::store::Table;
use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use std::sync::Arc;
use std::time::Duration;

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, Error> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| format!("{name} is not a number").into()),
        Err(_) => Ok(default),
    }
}

/// The table and the tenants on AWS, from one SDK configuration.
async fn aws_from_env() -> Result<(Arc<dyn Table>, Tenants), Error> {
    let (table, prefix) = (var("INLET_TABLE")?, var("INLET_SECRET_PREFIX")?);
    Ok(crate::aws::on_aws(&crate::aws::lambda_config().await, table, prefix))
}

async fn app_from_env() -> Result<App, Error> {
    let (store, tenants) = aws_from_env().await?;
    let ttl = Duration::from_secs(number("INLET_AUTH_CACHE_SECONDS", gate::DEFAULT_TTL.as_secs())?);
    let mut gate = Gate::new(tenants, ttl);
    if let Ok(token) = std::env::var("INLET_DEV_TOKEN") {
        let tenant = std::env::var("INLET_DEV_TENANT").unwrap_or_else(|_| "default".into());
        gate =
            gate.with_dev_token(TenantId::parse(&tenant).ok_or("INLET_DEV_TENANT is not a valid tenant id")?, &token);
    }
    let limiter = RateLimiter::new(number("INLET_RATE_LIMIT", ratelimit::DEFAULT_RATE)?);
    Ok(App { directory: Directory::new(store), gate: Arc::new(gate), limiter: Arc::new(limiter) })
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

fn respond(response: http::Response<Bytes>) -> Response<Body> {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, to_body(body))
}

/// Runs a Lambda function serving `endpoints` until the runtime stops it.
pub async fn run(endpoints: &'static [Endpoint]) -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = app_from_env().await?;
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        let (parts, body) = req.into_parts();
        Ok::<_, Error>(respond(api::handle(app, http::Request::from_parts(parts, to_bytes(body)), endpoints).await))
    }))
    .await
}

/// The IAM identity API Gateway verified (routes with `AWS_IAM` authorisation), if any.
fn iam_caller(req: &Request) -> Option<String> {
    let RequestContext::ApiGatewayV2(ctx) = req.request_context_ref()? else { return None };
    let iam = ctx.authorizer.as_ref()?.iam.as_ref()?;
    iam.user_arn.clone().or_else(|| iam.caller_id.clone())
}

/// Runs the token-management function: the admin API, for IAM-authorised callers only.
pub async fn run_admin() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let (_, tenants) = aws_from_env().await?;
    let tenants = &tenants;
    lambda_http::run(service_fn(move |req: Request| async move {
        // API Gateway already enforced IAM; this refuses anything that bypassed it.
        let Some(caller) = iam_caller(&req) else {
            return Ok::<_, Error>(respond(ApiError::AdminForbidden.into_response()));
        };
        let (parts, body) = req.into_parts();
        let req = http::Request::from_parts(parts, to_bytes(body));
        Ok(respond(api::admin::handle(tenants, req, &caller).await))
    }))
    .await
}
