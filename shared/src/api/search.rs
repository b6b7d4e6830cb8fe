//! `POST /.search` at the tenant's root (RFC 7644 §3.4.3): one search over every resource
//! type, answered as one ListResponse of Users, then Groups, paged over the two. The body is
//! read per type: an attribute a type lacks matches nothing of that type, and a body is an
//! error only when it is invalid for every type. Sorting applies within each type.

use super::error::{ApiError, json_response};
use super::resources::present;
use super::{App, ScimRequest};
use crate::domain::Resource;
use crate::scim::list::{ListQuery, list_response};
use bytes::Bytes;
use http::{Method, Response, StatusCode};

const TYPES: [Resource; 2] = [Resource::User, Resource::Group];

pub async fn handle(app: &App, req: ScimRequest) -> Result<Response<Bytes>, ApiError> {
    if req.segments.len() != 1 {
        return Err(ApiError::NoRoute);
    }
    if req.method != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let body = req.json()?;
    let mut queries = Vec::with_capacity(TYPES.len());
    let mut first_error = None;
    for res in TYPES {
        match ListQuery::from_search(&body, req.caller.rt(res)) {
            Ok(q) => queries.push((res, q)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some((start_index, count)) = queries.first().map(|(_, q)| (q.start_index, q.count)) else {
        return Err(first_error.map_or(ApiError::NoRoute, ApiError::from));
    };
    // Paging runs over the concatenation: each type gets what is left of the window.
    let (mut skip, mut room, mut total) = (start_index - 1, count, 0);
    let mut resources = Vec::new();
    for (res, mut q) in queries {
        q.start_index = skip + 1;
        q.count = room;
        let page = app.directory.list(&req.caller, res, &q).await?;
        total += page.total;
        skip = skip.saturating_sub(page.total);
        room = room.saturating_sub(page.resources.len());
        for s in &page.resources {
            resources.push(present(app, res, &req, s, &q.projection).await?);
        }
    }
    Ok(json_response(StatusCode::OK, &list_response(resources, total, start_index)))
}
