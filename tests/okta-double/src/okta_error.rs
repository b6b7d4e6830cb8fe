//! Okta's error body (spec `Error`: errorCode, errorSummary, errorLink, errorId,
//! errorCauses) for every status the double answers with.

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaError {
    pub status: u16,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

impl OktaError {
    fn new(status: u16, code: &'static str, summary: impl Into<String>) -> OktaError {
        OktaError { status, code, summary: summary.into(), causes: Vec::new() }
    }

    /// 400 E0000001, with the offending parameter as the cause.
    pub fn validation(param: &str, cause: &str) -> OktaError {
        let mut e = OktaError::new(400, "E0000001", format!("Api validation failed: {param}"));
        e.causes.push(format!("{param}: {cause}"));
        e
    }

    /// 401 E0000011 (spec example `ErrorInvalidTokenProvided`).
    pub fn invalid_token() -> OktaError {
        OktaError::new(401, "E0000011", "Invalid token provided")
    }

    /// 403 E0000006 (spec example `ErrorAccessDenied`).
    pub fn access_denied() -> OktaError {
        OktaError::new(403, "E0000006", "You do not have permission to perform the requested action")
    }

    /// 404 E0000007: `Not found: Resource not found: {id} ({kind})`, Okta's wording.
    pub fn not_found(id: &str, kind: &str) -> OktaError {
        OktaError::new(404, "E0000007", format!("Not found: Resource not found: {id} ({kind})"))
    }

    pub fn method_not_allowed() -> OktaError {
        OktaError::new(405, "E0000022", "The endpoint does not support the provided HTTP method")
    }

    /// 429 E0000047 (spec example `ErrorTooManyRequests`).
    pub fn rate_limited() -> OktaError {
        OktaError::new(429, "E0000047", "API call exceeded rate limit due to too many requests.")
    }

    pub fn internal(detail: &str) -> OktaError {
        let mut e = OktaError::new(500, "E0000009", "Internal Server Error");
        e.causes.push(detail.to_owned());
        e
    }

    /// The body Okta sends with `status` when a fault forces it.
    pub fn for_status(status: u16) -> OktaError {
        match status {
            400 => OktaError::new(400, "E0000001", "Api validation failed"),
            401 => OktaError::invalid_token(),
            403 => OktaError::access_denied(),
            404 => OktaError::new(404, "E0000007", "Not found: Resource not found"),
            429 => OktaError::rate_limited(),
            503 => OktaError::new(503, "E0000010", "Service is in read only mode"),
            s => OktaError::new(s, "E0000009", "Internal Server Error"),
        }
    }

    pub fn body(&self) -> Value {
        let error_id: String = rand::rng().sample_iter(Alphanumeric).take(22).map(char::from).collect();
        let causes: Vec<Value> = self.causes.iter().map(|c| json!({"errorSummary": c})).collect();
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": format!("oae{error_id}"),
            "errorCauses": causes,
        })
    }
}
