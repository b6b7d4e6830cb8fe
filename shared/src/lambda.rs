//! Serving endpoints under `lambda_http` (API Gateway HTTP API, payload v2). The SDK
//! clients, the store and the token gate are built once per cold start; each invocation
//! is one call into [`api`].
//!
//! Configuration (environment): `INLET_TABLE`, `INLET_SECRET_PREFIX` (the vault's secret
//! names), `INLET_AUTH_CACHE_SECONDS` (default 30), `INLET_RATE_LIMIT` (requests per second
//! per tenant per instance, default 100, 0 = off); `INLET_DEV_TOKEN` (+ `INLET_DEV_TENANT`,
//! default `default`) adds a fixed token under `sam local` only (`AWS_SAM_LOCAL` set):
//! anywhere else it is ignored with a warning, so a copied env.json cannot open production
//! (ignoring keeps the function up; refusing to start would turn a config slip into an outage).
//!
//! Logs: the level comes from `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`), capped at INFO
//! (DEBUG for Inlet's own crates), and the runtime's targets that log raw events and
//! responses at TRACE never log below ERROR: no level lets a token or a password reach a
//! log line. `RUST_LOG` directives are not honoured, only a level.

use crate::api::ratelimit;
use crate::api::{self, ApiError, Endpoint};
use crate::domain::tenant::{TenantId, gate};
use crate::startup::{AppOptions, Services, Storage};
use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::tracing::subscriber::filter::{LevelFilter, Targets};
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use std::time::Duration;

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, Error> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| format!("{name} is not a number").into()),
        Err(_) => Ok(default),
    }
}

/// The function's services, from its environment, through the composition root.
pub async fn services_from_env() -> Result<Services, Error> {
    Ok(Services::build(&Storage::lambda_from_env()?).await?)
}

fn app_options_from_env() -> Result<AppOptions, Error> {
    let auth_ttl = Duration::from_secs(number("INLET_AUTH_CACHE_SECONDS", gate::DEFAULT_TTL.as_secs())?);
    let dev_token = std::env::var("INLET_DEV_TOKEN").ok();
    let sam_local = std::env::var_os("AWS_SAM_LOCAL").is_some();
    if dev_token.is_some() && !sam_local {
        tracing::warn!("INLET_DEV_TOKEN is ignored: it is honoured only under sam local (AWS_SAM_LOCAL)");
    }
    let dev_token = match dev_token.filter(|_| sam_local) {
        Some(token) => {
            let tenant = std::env::var("INLET_DEV_TENANT").unwrap_or_else(|_| "default".into());
            Some((TenantId::parse(&tenant).ok_or("INLET_DEV_TENANT is not a valid tenant id")?, token))
        }
        None => None,
    };
    Ok(AppOptions { auth_ttl, rate_limit: number("INLET_RATE_LIMIT", ratelimit::DEFAULT_RATE)?, dev_token })
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

/// The requested level, as Lambda's advanced logging controls (or `RUST_LOG`) name it.
fn requested_level() -> LevelFilter {
    let Some(text) = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok() else {
        return LevelFilter::INFO;
    };
    match text.trim().to_ascii_uppercase().as_str() {
        "FATAL" => LevelFilter::ERROR,
        other => other.parse().unwrap_or(LevelFilter::INFO),
    }
}

/// Targets that log raw Lambda events or responses (at TRACE, in lambda_runtime 1.5).
const PAYLOAD_TARGETS: [&str; 2] = ["lambda_runtime::layers::api_response", "lambda_runtime::requests"];
const OWN_TARGETS: [&str; 6] =
    ["inlet_shared", "inlet_users", "inlet_groups", "inlet_tokens", "okta_puller", "events_publisher"];

/// What each target may log at `requested`.
fn log_filter(requested: LevelFilter) -> Targets {
    let own = requested.min(LevelFilter::DEBUG);
    let targets = Targets::new().with_default(requested.min(LevelFilter::INFO));
    let targets = OWN_TARGETS.iter().fold(targets, |t, name| t.with_target(*name, own));
    PAYLOAD_TARGETS.iter().fold(targets, |t, name| t.with_target(*name, requested.min(LevelFilter::ERROR)))
}

/// The log subscriber of every function (instead of lambda_http's default, which honours
/// TRACE and so logs raw events).
pub fn init_logging() {
    use lambda_http::tracing::subscriber::layer::SubscriberExt;
    use lambda_http::tracing::subscriber::util::SubscriberInitExt;
    let fmt = lambda_http::tracing::subscriber::fmt::layer().with_target(false).without_time();
    let filter = log_filter(requested_level());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = lambda_http::tracing::subscriber::registry().with(filter);
    // Another subscriber already set (tests) is fine: logging stays as it is.
    let _ = if json { registry.with(fmt.json()).try_init() } else { registry.with(fmt).try_init() };
}

/// Runs a Lambda function serving `endpoints` until the runtime stops it.
pub async fn run(endpoints: &'static [Endpoint]) -> Result<(), Error> {
    init_logging();
    let app = services_from_env().await?.app(&app_options_from_env()?);
    let app = &app;
    lambda_http::run(service_fn(move |req: Request| async move {
        let (parts, body) = req.into_parts();
        Ok::<_, Error>(respond(api::handle(app, http::Request::from_parts(parts, to_bytes(body)), endpoints).await))
    }))
    .await
}

/// Tenants synced at once by one invocation (each its own Okta org and rate limits).
#[cfg(feature = "okta")]
const PULL_PARALLEL: usize = 8;

/// Runs the Okta puller: each invocation (an EventBridge scheduled event, whose body is not
/// used) syncs the due tenants until none is left or the invocation's deadline nears; a sync
/// cut short checkpoints and the next invocation resumes it.
#[cfg(feature = "okta")]
pub async fn run_puller() -> Result<(), Error> {
    init_logging();
    let puller = services_from_env().await?.puller()?;
    let parallel = number("INLET_PULL_PARALLEL", PULL_PARALLEL)?;
    let puller = &puller;
    lambda_http::lambda_runtime::run(service_fn(move |event: lambda_http::LambdaEvent<serde_json::Value>| async move {
        let deadline = deadline_of(&event.context);
        let outcomes = puller.run_due(Some(deadline), parallel).await?;
        let summary: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|(t, o)| serde_json::json!({"tenant": t.as_str(), "outcome": format!("{o:?}")}))
            .collect();
        tracing::info!(tenants = summary.len(), "puller pass done");
        Ok::<_, Error>(serde_json::json!({"tenants": summary}))
    }))
    .await
}

/// The invocation's deadline (epoch milliseconds in the context) as an instant.
#[cfg(feature = "okta")]
fn deadline_of(ctx: &lambda_http::Context) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    std::time::Instant::now() + Duration::from_millis(ctx.deadline.saturating_sub(now_ms))
}

/// Runs the events publisher: each invocation is a batch of the table's DynamoDB stream (from
/// Lambda's event source mapping, `ReportBatchItemFailures` on), whose events go to the
/// EventBridge bus `INLET_EVENT_BUS`; the answer names the first record not published. A batch
/// that is not a stream event fails whole (Lambda bisects it, then sends it to the on-failure
/// destination).
#[cfg(feature = "eventbridge")]
pub async fn run_publisher() -> Result<(), Error> {
    use crate::events::eventbridge::{EventBridgeBus, Publisher};
    use crate::events::stream::StreamEvent;
    init_logging();
    let bus = std::env::var("INLET_EVENT_BUS").map_err(|_| "INLET_EVENT_BUS is not set")?;
    let publisher = Publisher::new(EventBridgeBus::new(crate::aws::lambda_eventbridge().await, bus));
    let publisher = &publisher;
    lambda_http::lambda_runtime::run(service_fn(move |event: lambda_http::LambdaEvent<StreamEvent>| async move {
        let answer = publisher.publish(&event.payload).await;
        let records = event.payload.records.len();
        tracing::info!(records, failed_from = ?answer.batch_item_failures.first().map(|f| &f.item_identifier), "batch done");
        Ok::<_, Error>(answer)
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
    init_logging();
    let admin = services_from_env().await?.admin();
    let admin = &admin;
    lambda_http::run(service_fn(move |req: Request| async move {
        // API Gateway already enforced IAM; this refuses anything that bypassed it.
        let Some(caller) = iam_caller(&req) else {
            return Ok::<_, Error>(respond(ApiError::AdminForbidden.into_response()));
        };
        let (parts, body) = req.into_parts();
        let req = http::Request::from_parts(parts, to_bytes(body));
        Ok(respond(api::admin::handle(admin, req, &caller).await))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::tracing::Level;

    #[test]
    fn no_level_opens_the_payload_targets() {
        for requested in [LevelFilter::TRACE, LevelFilter::DEBUG, LevelFilter::INFO] {
            let f = log_filter(requested);
            for target in PAYLOAD_TARGETS {
                assert!(!f.would_enable(target, &Level::TRACE) && !f.would_enable(target, &Level::WARN), "{target}");
                assert!(f.would_enable(target, &Level::ERROR));
            }
            assert!(!f.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
            assert!(!f.would_enable("inlet_shared::api", &Level::TRACE));
        }
        assert!(log_filter(LevelFilter::DEBUG).would_enable("inlet_shared::api", &Level::DEBUG));
        assert!(!log_filter(LevelFilter::WARN).would_enable("inlet_shared::api", &Level::INFO));
    }
}
