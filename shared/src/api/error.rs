//! Every failure a client can see, and the one place it becomes a SCIM error response.

use crate::domain::DomainError;
use crate::pull::PullError;
use crate::scim::error::ScimError;
use crate::scim::schema::ERROR_SCHEMA;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Missing, malformed, unknown or foreign token, or an unknown tenant: one answer for all,
    /// so nobody can tell which tenants exist.
    #[error("a valid bearer token for this tenant is required")]
    Unauthorized,
    /// A valid token, but the tenant takes its directory from the Okta API, not SCIM.
    #[error("SCIM provisioning is off for this tenant: it is in okta_api mode")]
    ScimOff,
    /// Over the tenant's rate; retry after this many seconds.
    #[error("too many requests for this tenant; retry after {0} s")]
    RateLimited(u64),
    /// The admin API was called without IAM authorisation.
    #[error("the admin API requires IAM authorisation")]
    AdminForbidden,
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    /// The body did not arrive within the server's body timeout (`inlet serve`).
    #[error("the request body did not arrive within {0} s")]
    BodyTimeout(u64),
    #[error("no such endpoint")]
    NoRoute,
    #[error("method not allowed here")]
    MethodNotAllowed,
    /// An Okta API pull request refused (admin API).
    #[error(transparent)]
    Pull(PullError),
}

impl From<PullError> for ApiError {
    fn from(e: PullError) -> Self {
        match e {
            PullError::Domain(d) => Self::Domain(d),
            other => Self::Pull(other),
        }
    }
}

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        Self::Domain(DomainError::Scim(e))
    }
}

pub const SCIM_JSON: &str = "application/scim+json";

/// A JSON response with the SCIM content type.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    r
}

impl ApiError {
    pub fn into_response(self) -> Response<Bytes> {
        let (status, scim_type, retry_after) = match &self {
            Self::Domain(DomainError::Scim(e)) => (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                e.scim_type.map(|t| t.as_str()),
                None,
            ),
            Self::Domain(DomainError::NotFound(_)) | Self::NoRoute => (StatusCode::NOT_FOUND, None, None),
            Self::Domain(DomainError::Conflict(_)) => (StatusCode::CONFLICT, Some("uniqueness"), None),
            Self::Domain(DomainError::TooMany(_) | DomainError::Owned(_)) => (StatusCode::CONFLICT, None, None),
            Self::Domain(DomainError::PreconditionFailed) => (StatusCode::PRECONDITION_FAILED, None, None),
            Self::Domain(DomainError::Busy) => (StatusCode::SERVICE_UNAVAILABLE, None, Some(1)),
            Self::Domain(DomainError::Unfinished(e)) => {
                tracing::error!(error = %e, "a committed change could not be completed");
                (StatusCode::INTERNAL_SERVER_ERROR, None, Some(1))
            }
            Self::Domain(DomainError::TooLarge(_)) => (StatusCode::PAYLOAD_TOO_LARGE, None, None),
            Self::Domain(DomainError::Store(e)) => {
                tracing::error!(error = %e, "storage failure");
                (StatusCode::INTERNAL_SERVER_ERROR, None, Some(1))
            }
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, None, None),
            Self::ScimOff | Self::AdminForbidden => (StatusCode::FORBIDDEN, None, None),
            Self::RateLimited(secs) => (StatusCode::TOO_MANY_REQUESTS, None, Some(*secs)),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, None, None),
            Self::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, None, None),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, None, None),
            Self::Pull(PullError::Invalid(_) | PullError::Okta(_)) => {
                (StatusCode::BAD_REQUEST, Some("invalidValue"), None)
            }
            Self::Pull(PullError::NotConfigured(_)) => (StatusCode::NOT_FOUND, None, None),
            Self::Pull(PullError::Refused(_)) => (StatusCode::CONFLICT, None, None),
            Self::Pull(PullError::Busy) => (StatusCode::CONFLICT, None, Some(1)),
            Self::Pull(PullError::Domain(_)) => (StatusCode::INTERNAL_SERVER_ERROR, None, Some(1)),
        };
        let detail = match &self {
            Self::Domain(DomainError::Store(_)) => "internal storage error; the request was not applied".to_owned(),
            other => other.to_string(),
        };
        let mut body = json!({"schemas": [ERROR_SCHEMA], "status": status.as_u16().to_string(), "detail": detail});
        if let Some(t) = scim_type {
            crate::scim::set(&mut body, "scimType", json!(t));
        }
        let mut r = json_response(status, &body);
        if let Some(secs) = retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}
