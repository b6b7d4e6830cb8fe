//! The vendor's read of a tenant's directory, whatever the tenant's mode: SCIM resources
//! (groups with their members), filtered and paged as SCIM lists are. The admin API serves
//! it as `GET /admin/tenants/{t}/users|groups`; `inlet users|groups list` walks every page.
//! The vendor sees every record, whoever provisioned it.

use super::super::error::ApiError;
use super::super::resources::{RESPONSE_BUDGET, present_in};
use crate::domain::records::Stored;
use crate::domain::{Caller, Directory, DomainResult, Resource};
use crate::scim::list::{ListParams, ListQuery, list_response};
use crate::scim::projection::Projection;
use serde_json::Value;

/// The SCIM base URL the vendor's API renders `meta.location` and member `$ref`s under.
pub fn base(c: &Caller) -> String {
    format!("/{}/scim/v2", c.tenant)
}

/// One resource as the vendor sees it: in full, groups with their members.
pub async fn present(dir: &Directory, c: &Caller, res: Resource, s: &Stored) -> DomainResult<Value> {
    let proj = Projection::parse(None, None, c.rt(res))?;
    present_in(dir, c, &base(c), res, s, &proj).await
}

/// One page, as a SCIM ListResponse. `query` holds SCIM's list parameters (`filter`,
/// `startIndex`, `count`, `sortBy`, `sortOrder`, `attributes`, `excludedAttributes`).
pub async fn list(dir: &Directory, c: &Caller, res: Resource, query: &[(String, String)]) -> Result<Value, ApiError> {
    let param = |name: &str| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let params = ListParams {
        filter: param("filter"),
        start_index: param("startIndex"),
        count: param("count"),
        sort_by: param("sortBy"),
        sort_order: param("sortOrder"),
        attributes: param("attributes"),
        excluded_attributes: param("excludedAttributes"),
    };
    let q = ListQuery::parse(&params, c.rt(res))?;
    let page = dir.list(c, res, &q).await?;
    let base = base(c);
    let mut resources = Vec::with_capacity(page.resources.len());
    let mut size = 0;
    for s in &page.resources {
        let shown = present_in(dir, c, &base, res, s, &q.projection).await?;
        size += shown.to_string().len() + 1;
        if size > RESPONSE_BUDGET && !resources.is_empty() {
            break;
        }
        resources.push(shown);
    }
    Ok(list_response(resources, page.total, q.start_index))
}

/// Every matching resource, all pages.
pub async fn list_all(
    dir: &Directory,
    c: &Caller,
    res: Resource,
    filter: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    loop {
        let mut query =
            vec![("startIndex".to_owned(), (out.len() + 1).to_string()), ("count".to_owned(), "1000".to_owned())];
        if let Some(f) = filter {
            query.push(("filter".to_owned(), f.to_owned()));
        }
        let page = list(dir, c, res, &query).await?;
        let total = page.get("totalResults").and_then(Value::as_u64).unwrap_or(0);
        let got = match page.get("Resources") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        if got.is_empty() {
            return Ok(out);
        }
        out.extend(got);
        if out.len() as u64 >= total {
            return Ok(out);
        }
    }
}
