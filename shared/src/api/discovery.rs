//! The discovery endpoints, served by the Users function.

use super::ScimRequest;
use super::error::{ApiError, json_response};
use crate::scim::discovery;
use crate::scim::list::list_response;
use bytes::Bytes;
use http::{Method, Response, StatusCode};

pub fn handle(req: &ScimRequest) -> Result<Response<Bytes>, ApiError> {
    if req.method != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let first = req.segments.first().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    let id = req.segments.get(1).map(String::as_str);
    let (found, single) = match (first.as_str(), id, req.segments.len()) {
        ("serviceproviderconfig" | "serviceconfiguration", None, 1) => {
            return Ok(json_response(StatusCode::OK, &discovery::service_provider_config(&req.base)));
        }
        ("resourcetypes", id, 1 | 2) => (discovery::resource_types(&req.base, id, &req.caller.schemas), id.is_some()),
        ("schemas", id, 1 | 2) => (discovery::schemas(&req.base, id, &req.caller.schemas), id.is_some()),
        _ => return Err(ApiError::NoRoute),
    };
    let mut found = found.ok_or(ApiError::NoRoute)?;
    if single {
        return found.pop().map(|one| json_response(StatusCode::OK, &one)).ok_or(ApiError::NoRoute);
    }
    let total = found.len();
    Ok(json_response(StatusCode::OK, &list_response(found, total, 1)))
}
