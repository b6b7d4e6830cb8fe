//! Request handling shared by every entry point (Lambda functions, local server),
//! independent of any HTTP framework: an `http::Request<Bytes>` in, an
//! `http::Response<Bytes>` out. Each function serves a subset of [`Endpoint`]s.

pub mod admin;
mod discovery;
pub mod error;
pub mod ratelimit;
mod request;
mod resources;

pub use error::{ApiError, MAX_BODY_BYTES};
pub use request::ScimRequest;

use crate::domain::tenant::Gate;
use crate::domain::{Directory, Resource};
use bytes::Bytes;
use http::{Request, Response};
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
}

impl Endpoint {
    /// Endpoint names match case-insensitively (Microsoft's tests ask for `/users`).
    fn of(first_segment: &str) -> Option<Self> {
        Some(match first_segment.to_ascii_lowercase().as_str() {
            "users" => Self::Users,
            "groups" => Self::Groups,
            "serviceproviderconfig" | "serviceconfiguration" | "resourcetypes" | "schemas" => Self::Discovery,
            _ => return None,
        })
    }
}

/// Handles one request for the `served` endpoints.
pub async fn handle(app: &App, req: Request<Bytes>, served: &[Endpoint]) -> Response<Bytes> {
    let started = Instant::now();
    let method = req.method().clone();
    let result = route(app, req, served).await;
    let (response, endpoint) = match result {
        Ok(ok) => ok,
        Err((e, endpoint)) => (e.into_response(), endpoint),
    };
    tracing::info!(
        %method,
        endpoint = ?endpoint,
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

type Routed = Result<(Response<Bytes>, Option<Endpoint>), (ApiError, Option<Endpoint>)>;

async fn route(app: &App, req: Request<Bytes>, served: &[Endpoint]) -> Routed {
    let scim = ScimRequest::accept(app, req).await.map_err(|e| (e, None))?;
    let endpoint = scim.segments.first().and_then(|s| Endpoint::of(s)).filter(|e| served.contains(e));
    let result = match endpoint {
        Some(Endpoint::Users) => resources::handle(app, Resource::User, scim).await,
        Some(Endpoint::Groups) => resources::handle(app, Resource::Group, scim).await,
        Some(Endpoint::Discovery) => discovery::handle(&scim),
        None => Err(ApiError::NoRoute),
    };
    result.map(|r| (r, endpoint)).map_err(|e| (e, endpoint))
}
