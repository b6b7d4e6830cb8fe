//! Request handling shared by every entry point (Lambda functions, local server),
//! independent of any HTTP framework: an `http::Request<Bytes>` in, an
//! `http::Response<Bytes>` out. Each function serves a subset of [`Endpoint`]s.

pub mod admin;
mod discovery;
pub mod error;
pub mod ratelimit;
mod request;
mod resources;
mod search;

pub use error::{ApiError, MAX_BODY_BYTES};
pub use request::{Admitted, ScimRequest, authenticate};

use crate::domain::tenant::Gate;
use crate::domain::{Directory, Resource};
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response};
use ratelimit::RateLimiter;
use std::sync::Arc;
use std::time::Instant;

/// What a process needs to serve requests; built once (per cold start in Lambda).
#[derive(Clone)]
pub struct App {
    pub directory: Directory,
    /// Checks every request's token against its tenant.
    pub gate: Arc<Gate>,
    pub limiter: Arc<RateLimiter>,
}

/// The groups of routes under `/{tenant}/scim/v2`; each Lambda function serves some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Users,
    Groups,
    /// `/ServiceProviderConfig` (and Microsoft's `/serviceConfiguration`), `/ResourceTypes`, `/Schemas`.
    Discovery,
    /// `POST /.search` at the tenant's root: Users, then Groups (RFC 7644 §3.4.3).
    Search,
}

impl Endpoint {
    /// Endpoint names match case-insensitively (Microsoft's tests ask for `/users`).
    fn of(first_segment: &str) -> Option<Self> {
        Some(match first_segment.to_ascii_lowercase().as_str() {
            "users" => Self::Users,
            "groups" => Self::Groups,
            "serviceproviderconfig" | "serviceconfiguration" | "resourcetypes" | "schemas" => Self::Discovery,
            ".search" => Self::Search,
            _ => return None,
        })
    }
}

/// Handles one request for the `served` endpoints (the Lambda adapter: the whole request
/// at once).
pub async fn handle(app: &App, req: Request<Bytes>, served: &[Endpoint]) -> Response<Bytes> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    match authenticate(app, &parts).await {
        Ok(admitted) => handle_admitted(app, admitted, parts, body, served, started).await,
        Err(e) => refuse(&parts.method, e, started),
    }
}

/// Handles a request whose head [`authenticate`] admitted, once its body is read.
pub async fn handle_admitted(
    app: &App,
    admitted: Admitted,
    parts: Parts,
    body: Bytes,
    served: &[Endpoint],
    started: Instant,
) -> Response<Bytes> {
    let method = parts.method.clone();
    let result = match ScimRequest::new(admitted, parts, body) {
        Ok(scim) => route(app, scim, served).await,
        Err(e) => Err((e, None)),
    };
    let (response, endpoint) = match result {
        Ok(ok) => ok,
        Err((e, endpoint)) => (e.into_response(), endpoint),
    };
    log(&method, endpoint, &response, started);
    response
}

/// The answer to a request refused before it was routed (its head, or its body unread).
pub fn refuse(method: &Method, e: ApiError, started: Instant) -> Response<Bytes> {
    let response = e.into_response();
    log(method, None, &response, started);
    response
}

fn log(method: &Method, endpoint: Option<Endpoint>, response: &Response<Bytes>, started: Instant) {
    tracing::info!(
        %method,
        endpoint = ?endpoint,
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
}

type Routed = Result<(Response<Bytes>, Option<Endpoint>), (ApiError, Option<Endpoint>)>;

async fn route(app: &App, scim: ScimRequest, served: &[Endpoint]) -> Routed {
    let endpoint = scim.segments.first().and_then(|s| Endpoint::of(s)).filter(|e| served.contains(e));
    let result = match endpoint {
        Some(Endpoint::Users) => resources::handle(app, Resource::User, scim).await,
        Some(Endpoint::Groups) => resources::handle(app, Resource::Group, scim).await,
        Some(Endpoint::Discovery) => discovery::handle(&scim),
        Some(Endpoint::Search) => search::handle(app, scim).await,
        None => Err(ApiError::NoRoute),
    };
    result.map(|r| (r, endpoint)).map_err(|e| (e, endpoint))
}
