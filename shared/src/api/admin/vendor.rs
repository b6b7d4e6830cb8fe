//! The vendor's own writes to a tenant's directory and its activity log, under
//! `/admin/tenants/{t}/…` (IAM-protected like the rest of the admin API). What the vendor
//! creates is `manual`; what a provisioning source created is read-only here while the
//! tenant's provisioning is on (409 naming the owner).
//!
//! | method | path | does |
//! |---|---|---|
//! | POST | `users`, `groups` | create (SCIM body) |
//! | GET | `users/{id}`, `groups/{id}` | show |
//! | PUT | `users/{id}`, `groups/{id}` | replace (SCIM body) |
//! | PATCH | `users/{id}`, `groups/{id}` | SCIM PatchOp (members, `active`, …) |
//! | DELETE | `users/{id}`, `groups/{id}` | delete |
//! | GET | `activity?since&until&resource&action&count&cursor` | the log, newest first |

use super::super::error::{ApiError, json_response};
use super::Admin;
use super::directory::present;
use crate::domain::activity::LogQuery;
use crate::domain::records::Stored;
use crate::domain::{Actor, Caller, Resource, TenantId};
use crate::scim::error::ScimError;
use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};

/// The vendor as a caller: the tenant's settings decide what it may edit.
pub async fn caller(admin: &Admin, t: &TenantId, principal: &str) -> Result<Caller, ApiError> {
    let tenant = admin.tenants.show(t).await?;
    let schemas = crate::domain::tenant::schemas_of(&tenant)?;
    Ok(Caller::new(t.clone(), Actor::Admin { principal: principal.to_owned() }, tenant.settings, schemas))
}

fn json_body(raw: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ScimError::invalid_syntax(format!("malformed JSON: {e}")).into())
}

async fn one(
    admin: &Admin,
    c: &Caller,
    res: Resource,
    s: &Stored,
    status: StatusCode,
) -> Result<Response<Bytes>, ApiError> {
    let shown = present(&admin.directory, c, res, s).await?;
    let mut r = json_response(status, &shown);
    if let Ok(tag) = HeaderValue::from_str(&s.etag()) {
        r.headers_mut().insert(header::ETAG, tag);
    }
    Ok(r)
}

/// One request on a resource: `id` absent for the collection.
pub async fn resource(
    admin: &Admin,
    c: &Caller,
    method: &Method,
    res: Resource,
    id: &str,
    raw: &Bytes,
) -> Result<Response<Bytes>, ApiError> {
    let dir = &admin.directory;
    match *method {
        Method::GET => one(admin, c, res, &dir.get_as(c, res, id).await?, StatusCode::OK).await,
        Method::PUT => {
            one(admin, c, res, &dir.replace(c, res, id, &json_body(raw)?, None).await?, StatusCode::OK).await
        }
        Method::PATCH => {
            one(admin, c, res, &dir.patch(c, res, id, &json_body(raw)?, None).await?, StatusCode::OK).await
        }
        Method::DELETE => {
            dir.delete(c, res, id, None).await?;
            let mut r = Response::new(Bytes::new());
            *r.status_mut() = StatusCode::NO_CONTENT;
            Ok(r)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

pub async fn create(admin: &Admin, c: &Caller, res: Resource, raw: &Bytes) -> Result<Response<Bytes>, ApiError> {
    let created = admin.directory.create(c, res, &json_body(raw)?).await?;
    one(admin, c, res, &created, StatusCode::CREATED).await
}

fn time_param(name: &str, v: Option<&str>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    v.map(|v| {
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).map_err(|_| {
            ScimError::invalid_value(format!("{name} is an RFC 3339 time, e.g. 2026-12-01T10:00:00Z")).into()
        })
    })
    .transpose()
}

/// `GET activity`: `{"entries": [...], "next": cursor|null}`, newest first.
pub async fn log(admin: &Admin, t: &TenantId, query: &[(String, String)]) -> Result<Response<Bytes>, ApiError> {
    admin.tenants.show(t).await?;
    let param = |name: &str| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let limit = match param("count") {
        None => 100,
        Some(n) => n.parse().map_err(|_| ScimError::invalid_value("count is a number of entries"))?,
    };
    let q = LogQuery {
        since: time_param("since", param("since"))?,
        until: time_param("until", param("until"))?,
        subject: param("resource").map(str::to_owned),
        action: param("action").map(str::to_owned),
        limit,
        before: param("cursor").map(str::to_owned),
    };
    let page = admin.directory.activity(t, &q).await?;
    Ok(json_response(StatusCode::OK, &json!({"entries": page.entries, "next": page.next})))
}
