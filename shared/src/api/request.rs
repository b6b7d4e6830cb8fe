//! Turning an HTTP request into an authenticated SCIM request.

use super::App;
use super::error::{ApiError, MAX_BODY_BYTES};
use crate::domain::tenant::{Admission, TenantId};
use crate::domain::{Actor, Caller};
use crate::scim::error::ScimError;
use bytes::Bytes;
use http::request::Parts;
use http::{Method, header};
use serde_json::Value;

/// A request under `/{tenant}/scim/v2`, whose token has been verified for that tenant.
#[derive(Debug)]
pub struct ScimRequest {
    pub method: Method,
    pub tenant: TenantId,
    /// The tenant, the token (as an actor) and the tenant's settings, for the domain.
    pub caller: Caller,
    /// Path segments after `/scim/v2`, e.g. `["Users", "<id>"]`.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub if_match: Option<String>,
    /// The tenant's SCIM base URL as the client reached it (for `meta.location`).
    pub base: String,
    pub body: Bytes,
}

/// The token from an `Authorization: Bearer …` header value (scheme case-insensitive).
fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Splits `/{tenant}/scim/v2/rest…`; `None` if the path has another shape.
fn split_path(path: &str) -> Option<(&str, Vec<String>)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let tenant = parts.next()?;
    let (scim, v2) = (parts.next()?, parts.next()?);
    if !scim.eq_ignore_ascii_case("scim") || !v2.eq_ignore_ascii_case("v2") {
        return None;
    }
    Some((tenant, parts.filter(|p| !p.is_empty()).map(str::to_owned).collect()))
}

/// A request whose head has been authenticated: its body may now be read.
#[derive(Debug)]
pub struct Admitted {
    caller: Caller,
    segments: Vec<String>,
}

/// Checks the request head: path shape, tenant, token and the tenant's rate, before any
/// body is read (an anonymous caller never makes the server read a body).
pub async fn authenticate(app: &App, parts: &Parts) -> Result<Admitted, ApiError> {
    let (tenant, segments) = split_path(parts.uri.path()).ok_or(ApiError::NoRoute)?;
    // A malformed tenant id is answered like an unknown tenant: 401, before anything else.
    let tenant = TenantId::parse(tenant).ok_or(ApiError::Unauthorized)?;
    let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = bearer(header).ok_or(ApiError::Unauthorized)?;
    let caller = match app.gate.admit(&tenant, token).await? {
        Admission::Granted { token_id, settings, schemas } => {
            Caller::new(tenant, Actor::Scim { token: token_id }, settings, schemas)
        }
        Admission::Denied => return Err(ApiError::Unauthorized),
        Admission::ScimOff => return Err(ApiError::ScimOff),
    };
    app.limiter.admit(&caller.tenant, std::time::Instant::now()).map_err(ApiError::RateLimited)?;
    Ok(Admitted { caller, segments })
}

impl ScimRequest {
    /// The admitted request with its body (at most [`MAX_BODY_BYTES`]).
    pub fn new(admitted: Admitted, parts: Parts, body: Bytes) -> Result<Self, ApiError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        let Admitted { caller, segments } = admitted;
        let tenant = caller.tenant.clone();
        let header = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let query =
            parts.uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        let proto = header(header::HeaderName::from_static("x-forwarded-proto")).unwrap_or("http");
        let host = header(header::HOST).or(parts.uri.authority().map(|a| a.as_str())).unwrap_or("localhost");
        let if_match = header(header::IF_MATCH).map(str::to_owned);
        Ok(Self {
            base: format!("{proto}://{host}/{tenant}/scim/v2"),
            method: parts.method,
            tenant,
            caller,
            segments,
            query,
            if_match,
            body,
        })
    }

    /// A query parameter by name, case-insensitively (clients vary: `startIndex`, `startindex`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ScimError::invalid_syntax(format!("malformed JSON: {e}")).into())
    }

    /// The version named by `If-Match` (`W/"3"`, `"3"`); `*` means any. A value that is
    /// not one of ours can never match, so it is answered with 412.
    pub fn expected_version(&self) -> Result<Option<u64>, ApiError> {
        match self.if_match.as_deref().map(str::trim) {
            None | Some("*") => Ok(None),
            Some(tag) => tag
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse()
                .map(Some)
                .map_err(|_| crate::domain::DomainError::PreconditionFailed.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{bearer, split_path};

    #[test]
    fn bearer_tokens_need_the_scheme() {
        assert_eq!(bearer(Some("bearer  xyz ")), Some("xyz"));
        assert_eq!(bearer(Some("Basic xyz")), None);
        assert_eq!(bearer(Some("Bearer")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn paths_carry_the_tenant() {
        let (t, rest) = split_path("/acme/scim/v2/Users/abc").unwrap();
        assert_eq!((t, rest), ("acme", vec!["Users".to_owned(), "abc".to_owned()]));
        assert_eq!(split_path("/acme/scim/v2").map(|(_, r)| r.len()), Some(0));
        assert!(split_path("/acme/v2/Users").is_none());
        assert!(split_path("/").is_none());
    }
}
