//! `/Users` and `/Groups`: one call into the domain per request, then the response.

use super::error::{ApiError, json_response};
use super::{App, ScimRequest};
use crate::domain::records::Stored;
use crate::domain::{Caller, Directory, DomainError, DomainResult, Resource};
use crate::scim::error::ScimError;
use crate::scim::list::{ListParams, ListQuery, list_response};
use crate::scim::projection::Projection;
use crate::scim::schema::Returned;
use crate::scim::set;
use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Value, json};

pub async fn handle(app: &App, res: Resource, req: ScimRequest) -> Result<Response<Bytes>, ApiError> {
    let rest: Vec<&str> = req.segments.iter().skip(1).map(String::as_str).collect();
    match (&req.method, rest.as_slice()) {
        (&Method::GET, []) => {
            let q = ListQuery::parse(&list_params(&req), req.caller.rt(res))?;
            list(app, res, &req, &q).await
        }
        (&Method::POST, [search]) if search.eq_ignore_ascii_case(".search") => {
            let q = ListQuery::from_search(&req.json()?, req.caller.rt(res))?;
            list(app, res, &req, &q).await
        }
        (&Method::POST, []) => {
            let proj = projection(&req, res)?;
            let created = app.directory.create(&req.caller, res, &req.json()?).await?;
            let mut r = one(app, res, &req, &created, &proj, StatusCode::CREATED).await?;
            if let Ok(loc) =
                HeaderValue::from_str(&format!("{}{}/{}", req.base, req.caller.rt(res).endpoint, created.id))
            {
                r.headers_mut().insert(header::LOCATION, loc);
            }
            Ok(r)
        }
        (&Method::GET, [id]) => {
            let proj = projection(&req, res)?;
            let found = app.directory.get_as(&req.caller, res, id).await?;
            one(app, res, &req, &found, &proj, StatusCode::OK).await
        }
        (&Method::PUT, [id]) => {
            let proj = projection(&req, res)?;
            let replaced = app.directory.replace(&req.caller, res, id, &req.json()?, req.expected_version()?).await?;
            one(app, res, &req, &replaced, &proj, StatusCode::OK).await
        }
        (&Method::PATCH, [id]) => {
            let proj = projection(&req, res)?;
            let patched = app.directory.patch(&req.caller, res, id, &req.json()?, req.expected_version()?).await?;
            // RFC 7644 §3.5.2: 204 unless the client asked for attributes (then 200 with them).
            if proj.is_default() {
                return Ok(no_content(Some(&patched)));
            }
            one(app, res, &req, &patched, &proj, StatusCode::OK).await
        }
        (&Method::DELETE, [id]) => {
            app.directory.delete(&req.caller, res, id, req.expected_version()?).await?;
            Ok(no_content(None))
        }
        (_, [] | [_]) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NoRoute),
    }
}

fn list_params(req: &ScimRequest) -> ListParams<'_> {
    ListParams {
        filter: req.param("filter"),
        start_index: req.param("startIndex"),
        count: req.param("count"),
        sort_by: req.param("sortBy"),
        sort_order: req.param("sortOrder"),
        attributes: req.param("attributes"),
        excluded_attributes: req.param("excludedAttributes"),
    }
}

fn projection(req: &ScimRequest, res: Resource) -> Result<Projection, ApiError> {
    Ok(Projection::parse(req.param("attributes"), req.param("excludedAttributes"), req.caller.rt(res))?)
}

/// A list response's resources stop short of this many bytes (Lambda answers at most 6 MB):
/// `itemsPerPage` then says how many came, and the client's next `startIndex` goes on from there
/// (RFC 7644 §3.4.2.4 lets a server return fewer than `count`).
pub const RESPONSE_BUDGET: usize = 5 * 1024 * 1024;
/// Most members a group's representation carries (about 1.5 MB); a larger group is read with
/// `excludedAttributes=members` (see README, limits).
pub const MAX_INLINE_MEMBERS: usize = 10_000;

async fn list(app: &App, res: Resource, req: &ScimRequest, q: &ListQuery) -> Result<Response<Bytes>, ApiError> {
    let page = app.directory.list(&req.caller, res, q).await?;
    let mut resources = Vec::with_capacity(page.resources.len());
    let mut size = 0;
    for s in &page.resources {
        let shown = present(app, res, req, s, &q.projection).await?;
        size += shown.to_string().len() + 1;
        if size > RESPONSE_BUDGET && !resources.is_empty() {
            break;
        }
        resources.push(shown);
    }
    Ok(json_response(StatusCode::OK, &list_response(resources, page.total, q.start_index)))
}

async fn one(
    app: &App,
    res: Resource,
    req: &ScimRequest,
    s: &Stored,
    proj: &Projection,
    status: StatusCode,
) -> Result<Response<Bytes>, ApiError> {
    let mut r = json_response(status, &present(app, res, req, s, proj).await?);
    if let Ok(tag) = HeaderValue::from_str(&s.etag()) {
        r.headers_mut().insert(header::ETAG, tag);
    }
    Ok(r)
}

fn no_content(s: Option<&Stored>) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = StatusCode::NO_CONTENT;
    if let Some(tag) = s.and_then(|s| HeaderValue::from_str(&s.etag()).ok()) {
        r.headers_mut().insert(header::ETAG, tag);
    }
    r
}

/// The resource as the client sees it: rendered, with members (groups) or groups
/// (users, on request) loaded only when the projection will show them.
pub(super) async fn present(
    app: &App,
    res: Resource,
    req: &ScimRequest,
    s: &Stored,
    proj: &Projection,
) -> DomainResult<Value> {
    present_in(&app.directory, &req.caller, &req.base, res, s, proj).await
}

/// [`present`] for a tenant and base URL (the vendor's directory API, which has no SCIM request).
pub(super) async fn present_in(
    directory: &Directory,
    caller: &Caller,
    base: &str,
    res: Resource,
    s: &Stored,
    proj: &Projection,
) -> DomainResult<Value> {
    let mut v = s.render(caller.rt(res), base);
    let refs = |kind: &str, id: &str, display: Option<&str>, type_: &str| {
        let mut m = json!({"value": id, "$ref": format!("{base}/{kind}/{id}"), "type": type_});
        if let Some(d) = display {
            set(&mut m, "display", json!(d));
        }
        m
    };
    match res {
        Resource::Group if proj.includes("members", Returned::Default) => {
            let Some(members) = directory.members_at_most(&caller.tenant, &s.id, MAX_INLINE_MEMBERS).await? else {
                return Err(DomainError::Scim(ScimError::too_many(format!(
                    "the group has more than {MAX_INLINE_MEMBERS} members, more than one response carries; read it with \
                     excludedAttributes=members"
                ))));
            };
            if !members.is_empty() {
                set(
                    &mut v,
                    "members",
                    members.iter().map(|m| refs("Users", &m.user_id, m.display.as_deref(), "User")).collect(),
                );
            }
        }
        Resource::User if proj.includes("groups", Returned::Request) => {
            let groups = directory.groups_of(caller, &s.id).await?;
            set(&mut v, "groups", groups.iter().map(|(id, name)| refs("Groups", id, Some(name), "direct")).collect());
        }
        _ => {}
    }
    Ok(proj.apply(v, caller.rt(res)))
}
