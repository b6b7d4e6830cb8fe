//! The one error type of the Okta client layer.

use http::StatusCode;

/// What can go wrong talking to Okta. Messages carry Okta's `errorSummary` at most, never the
/// token (the client never puts it anywhere but the `Authorization` header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OktaError {
    /// Any 401, typically E0000011 (a bad or expired token).
    #[error("Okta rejected the API token ({}): {summary}", code.as_deref().unwrap_or("HTTP 401"))]
    InvalidToken { code: Option<String>, summary: String },
    /// Any 403, typically E0000006 (the token's admin role is too weak).
    #[error("the API token may not read this ({}): {summary}", code.as_deref().unwrap_or("HTTP 403"))]
    Forbidden { code: Option<String>, summary: String },
    /// Any 404, typically E0000007 (a wrong application or group id).
    #[error("not found in Okta ({}): {summary}", code.as_deref().unwrap_or("HTTP 404"))]
    NotFound { code: Option<String>, summary: String },
    /// Still answered 429 after the client's budget of rate-limit waits for one request.
    #[error("Okta kept answering 429 (rate limit) after repeated waits")]
    RateLimited,
    /// 5xx after the retry budget, or another unexpected status.
    #[error("Okta answered HTTP {status}{}", in_parens(code.as_deref()))]
    Server { status: u16, code: Option<String> },
    /// No complete answer within the request timeout, after the retry budget.
    #[error("Okta did not answer in time")]
    Timeout,
    /// Connection, TLS or protocol failure, after the retry budget.
    #[error("could not reach Okta: {0}")]
    Transport(String),
    /// A wait (rate-limit pause, backoff) would end past the caller's deadline.
    #[error("the next request to Okta would have to wait past the invocation deadline")]
    Deadline,
    /// A 2xx answer that is not what the API specifies (bad JSON, bad Link header, no login).
    #[error("unexpected answer from Okta: {0}")]
    BadResponse(String),
    /// An org URL, token or id that cannot be used.
    #[error("invalid Okta setting: {0}")]
    BadUrl(String),
    /// A request the client will not send, e.g. a `next` link off the org's origin.
    #[error("refused: {0}")]
    Refused(String),
}

fn in_parens(code: Option<&str>) -> String {
    match code {
        Some(c) => format!(" ({c})"),
        None => String::new(),
    }
}

impl OktaError {
    /// Okta's `errorCode`, when its answer had one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::InvalidToken { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Server { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// 401/403/404: the tenant's settings are wrong; stop its sync, do not retry.
    pub fn is_credential(&self) -> bool {
        matches!(self, Self::InvalidToken { .. } | Self::Forbidden { .. } | Self::NotFound { .. })
    }

    /// The error for a final (non-retried) non-2xx answer with its parsed body.
    pub(crate) fn from_status(status: StatusCode, body: ErrorBody) -> Self {
        let ErrorBody { code, summary } = body;
        let summary = summary.unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_owned());
        match status.as_u16() {
            401 => Self::InvalidToken { code, summary },
            403 => Self::Forbidden { code, summary },
            404 => Self::NotFound { code, summary },
            429 => Self::RateLimited,
            s => Self::Server { status: s, code },
        }
    }
}

/// The two stable parts of an Okta error body, read leniently: the body may not be JSON,
/// `errorCauses` may be a list, an object or absent (only `errorCode` is meant for control flow).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub code: Option<String>,
    pub summary: Option<String>,
}

/// Longest `errorSummary` kept, so a hostile or broken server cannot bloat logs.
const MAX_SUMMARY: usize = 300;

impl ErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Self::default();
        };
        let text = |k: &str| {
            map.get(k)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(MAX_SUMMARY).collect::<String>())
        };
        Self {
            code: text("errorCode"),
            // The OAuth shape (token endpoint) as a fallback.
            summary: text("errorSummary").or_else(|| text("error_description")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_leniently() {
        let list = br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"x","errorCauses":[]}"#;
        assert_eq!(
            ErrorBody::parse(list),
            ErrorBody { code: Some("E0000011".into()), summary: Some("Invalid token provided".into()) }
        );
        let object =
            br#"{"errorCode":"E0000001","errorSummary":"Api validation failed","errorCauses":{"errorSummary":"bad"}}"#;
        assert_eq!(ErrorBody::parse(object).code.as_deref(), Some("E0000001"));
        let bare = br#"{"errorCode":"E0000007"}"#;
        assert_eq!(ErrorBody::parse(bare), ErrorBody { code: Some("E0000007".into()), summary: None });
        assert_eq!(ErrorBody::parse(b"<html>502 Bad Gateway</html>"), ErrorBody::default());
        assert_eq!(ErrorBody::parse(b"[1,2]"), ErrorBody::default());
        assert_eq!(ErrorBody::parse(br#"{"errorCode":7}"#), ErrorBody::default());
        let oauth = br#"{"error":"invalid_client","error_description":"no such client"}"#;
        assert_eq!(ErrorBody::parse(oauth).summary.as_deref(), Some("no such client"));
    }

    #[test]
    fn statuses_map_to_kinds_and_codes() {
        let body = |c: &str| ErrorBody { code: Some(c.into()), summary: Some("s".into()) };
        let e = OktaError::from_status(StatusCode::UNAUTHORIZED, body("E0000011"));
        assert!(e.is_credential());
        assert_eq!(e.code(), Some("E0000011"));
        assert!(matches!(OktaError::from_status(StatusCode::FORBIDDEN, body("E0000006")), OktaError::Forbidden { .. }));
        assert!(matches!(OktaError::from_status(StatusCode::NOT_FOUND, body("E0000007")), OktaError::NotFound { .. }));
        let e = OktaError::from_status(StatusCode::SERVICE_UNAVAILABLE, body("E0000010"));
        assert_eq!(e, OktaError::Server { status: 503, code: Some("E0000010".into()) });
        assert!(!e.is_credential());
        let e = OktaError::from_status(StatusCode::UNAUTHORIZED, ErrorBody::default());
        assert_eq!(e, OktaError::InvalidToken { code: None, summary: "Unauthorized".into() });
        assert!(e.to_string().contains("HTTP 401"));
    }
}
