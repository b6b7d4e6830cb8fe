//! The Okta routes: paths, `limit` / `after` / `expand` / `q`, and the pages' `link` URLs.
//!
//! Lists run in id order from the cursor (keyset paging), so a record changed between two
//! pages is neither skipped nor repeated, and the last page is the one without `next`.

use super::query::{Query, cursor, decode, encode, uncursor};
use super::{State, lock};
use crate::directory::Directory;
use crate::okta_error::OktaError;
use crate::render::{self, Site};
use serde_json::{Value, json};

pub struct Call<'a> {
    pub path: &'a str,
    pub raw_query: Option<&'a str>,
    /// False for a token whose role cannot read apps.
    pub apps_allowed: bool,
    /// The listings embed nothing, whatever `expand` asks (`Options::no_expand`).
    pub no_expand: bool,
}

pub struct Answer {
    pub body: Value,
    /// `(rel, absolute URL)` for the `link` headers.
    pub links: Vec<(&'static str, String)>,
}

/// The path template a request counts under in the request log.
pub fn template(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [".well-known", "okta-organization"] => "/.well-known/okta-organization",
        ["api", "v1", "apps", _, "users"] => "/api/v1/apps/{appId}/users",
        ["api", "v1", "apps", _, "users", _] => "/api/v1/apps/{appId}/users/{userId}",
        ["api", "v1", "apps", _, "groups"] => "/api/v1/apps/{appId}/groups",
        ["api", "v1", "apps", _, "groups", _] => "/api/v1/apps/{appId}/groups/{groupId}",
        ["api", "v1", "groups", _] => "/api/v1/groups/{groupId}",
        ["api", "v1", "groups", _, "users"] => "/api/v1/groups/{groupId}/users",
        ["api", "v1", "users", _] => "/api/v1/users/{id}",
        _ => "other",
    }
}

pub fn route(state: &State, call: &Call<'_>) -> Result<Answer, OktaError> {
    let q = Query::parse(call.raw_query);
    let segments: Vec<String> = call.path.trim_start_matches('/').split('/').map(|s| decode(s, false)).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let site = Site { base: &state.base, app_id: &state.app_id };
    if let ["api", "v1", "apps", ..] = segments.as_slice()
        && !call.apps_allowed
    {
        return Err(OktaError::access_denied());
    }
    let d = lock(&state.directory);
    let body = match segments.as_slice() {
        [".well-known", "okta-organization"] => json!({
            "id": state.org_id,
            "pipeline": "idx",
            "_links": {
                "organization": {"href": state.base},
                "alternate": {"href": state.alternate.as_deref().unwrap_or(&state.base)},
            },
        }),
        ["api", "v1", "apps", app, "users"] => {
            known_app(state, app)?;
            return app_users(&site, &d, call, &q);
        }
        ["api", "v1", "apps", app, "users", id] => {
            known_app(state, app)?;
            let a = d.app_user(id).ok_or_else(|| OktaError::not_found(id, "AppUser"))?;
            render::app_user(&site, &d, id, a, embedded_user(&d, id, q.get("expand") == Some("user"))?)
        }
        ["api", "v1", "apps", app, "groups"] => {
            known_app(state, app)?;
            return app_groups(&site, &d, call, &q);
        }
        ["api", "v1", "apps", app, "groups", id] => {
            known_app(state, app)?;
            let a = d.app_group(id).ok_or_else(|| OktaError::not_found(id, "ApplicationGroupAssignment"))?;
            render::app_group(&site, id, a, embedded_group(&d, id, q.get("expand") == Some("group"))?)
        }
        ["api", "v1", "groups", id] => {
            render::group(&site, d.group(id).ok_or_else(|| OktaError::not_found(id, "UserGroup"))?)
        }
        ["api", "v1", "groups", id, "users"] => return group_users(&site, &d, call, &q, id),
        ["api", "v1", "users", id] => {
            let user = d.user(id).or_else(|| d.user_by_login(id)).ok_or_else(|| OktaError::not_found(id, "User"))?;
            render::single_user(&site, user)
        }
        _ => return Err(OktaError::not_found(call.path, "Resource")),
    };
    Ok(Answer { body, links: Vec::new() })
}

fn known_app(state: &State, app: &str) -> Result<(), OktaError> {
    if app == state.app_id { Ok(()) } else { Err(OktaError::not_found(app, "App")) }
}

fn embedded_user<'d>(d: &'d Directory, id: &str, wanted: bool) -> Result<Option<&'d crate::User>, OktaError> {
    if !wanted {
        return Ok(None);
    }
    d.user(id).map(Some).ok_or_else(|| OktaError::internal(&format!("app user {id} has no Okta user")))
}

fn embedded_group<'d>(d: &'d Directory, id: &str, wanted: bool) -> Result<Option<&'d crate::Group>, OktaError> {
    if !wanted {
        return Ok(None);
    }
    d.group(id).map(Some).ok_or_else(|| OktaError::internal(&format!("app group {id} has no group")))
}

/// `limit`: absent → `default`; a positive integer → clamped into `[min, max]` (Okta clamps
/// rather than refuses a large one); anything else → 400 E0000001.
fn limit(q: &Query, default: usize, min: usize, max: usize) -> Result<usize, OktaError> {
    let Some(raw) = q.get("limit") else { return Ok(default) };
    match raw.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(max).clamp(min, max)),
        _ => Err(OktaError::validation("limit", "must be a positive integer")),
    }
}

fn after(q: &Query) -> Result<Option<String>, OktaError> {
    match q.get("after") {
        None => Ok(None),
        Some(c) => uncursor(c).map(Some).ok_or_else(|| OktaError::validation("after", "is not a valid cursor")),
    }
}

/// Case-insensitive startsWith, as Okta's `q`.
fn starts(value: Option<&str>, prefix: &str) -> bool {
    value.is_some_and(|v| v.to_lowercase().starts_with(prefix))
}

/// The `self` link (the request as made) and, when `next_after` is set, the `next` link: same
/// path, the effective `limit`, the cursor, and the request's `expand` and `q`.
fn links(
    site: &Site<'_>,
    call: &Call<'_>,
    q: &Query,
    limit: usize,
    next_after: Option<&str>,
) -> Vec<(&'static str, String)> {
    let here = format!("{}{}", site.base, call.path);
    let this = match call.raw_query {
        Some(raw) if !raw.is_empty() => format!("{here}?{raw}"),
        _ => here.clone(),
    };
    let mut out = vec![("self", this)];
    if let Some(id) = next_after {
        let mut next = format!("{here}?limit={limit}&after={}", cursor(id));
        for key in ["expand", "q"] {
            if let Some(v) = q.get(key) {
                next.push_str(&format!("&{key}={}", encode(v)));
            }
        }
        out.push(("next", next));
    }
    out
}

/// Fills a page of at most `limit` from `items`; the id to continue after if more remain.
fn page<'a, I>(
    items: I,
    limit: usize,
    mut render: impl FnMut(&str) -> Result<Option<Value>, OktaError>,
) -> Result<(Vec<Value>, Option<String>), OktaError>
where
    I: Iterator<Item = &'a String>,
{
    let mut out = Vec::new();
    let mut last: Option<&str> = None;
    for id in items {
        let Some(v) = render(id)? else { continue };
        if out.len() == limit {
            return Ok((out, last.map(str::to_owned)));
        }
        out.push(v);
        last = Some(id);
    }
    Ok((out, None))
}

fn app_users(site: &Site<'_>, d: &Directory, call: &Call<'_>, q: &Query) -> Result<Answer, OktaError> {
    let limit = limit(q, 50, 1, 500)?;
    let after = after(q)?;
    let expand = q.get("expand") == Some("user") && !call.no_expand;
    let prefix = q.get("q").map(str::to_lowercase);
    let (items, next) = page(d.app_users_after(after.as_deref()).map(|(id, _)| id), limit, |id| {
        let Some(a) = d.app_user(id) else { return Ok(None) };
        let user = d.user(id).ok_or_else(|| OktaError::internal(&format!("app user {id} has no Okta user")))?;
        if let Some(p) = &prefix {
            let field = |k: &str| user.profile.get(k).and_then(Value::as_str);
            let hit =
                starts(Some(&a.user_name), p) || ["firstName", "lastName", "email"].iter().any(|k| starts(field(k), p));
            if !hit {
                return Ok(None);
            }
        }
        Ok(Some(render::app_user(site, d, id, a, expand.then_some(user))))
    })?;
    Ok(Answer { body: Value::Array(items), links: links(site, call, q, limit, next.as_deref()) })
}

fn app_groups(site: &Site<'_>, d: &Directory, call: &Call<'_>, q: &Query) -> Result<Answer, OktaError> {
    let limit = limit(q, 20, 20, 200)?;
    let after = after(q)?;
    let expand = q.get("expand") == Some("group") && !call.no_expand;
    let prefix = q.get("q").map(str::to_lowercase);
    let (items, next) = page(d.app_groups_after(after.as_deref()).map(|(id, _)| id), limit, |id| {
        let Some(a) = d.app_group(id) else { return Ok(None) };
        let group = d.group(id).ok_or_else(|| OktaError::internal(&format!("app group {id} has no group")))?;
        if let Some(p) = &prefix
            && !starts(group.profile.get("name").and_then(Value::as_str), p)
        {
            return Ok(None);
        }
        Ok(Some(render::app_group(site, id, a, expand.then_some(group))))
    })?;
    Ok(Answer { body: Value::Array(items), links: links(site, call, q, limit, next.as_deref()) })
}

fn group_users(site: &Site<'_>, d: &Directory, call: &Call<'_>, q: &Query, id: &str) -> Result<Answer, OktaError> {
    let group = d.group(id).ok_or_else(|| OktaError::not_found(id, "UserGroup"))?;
    let limit = limit(q, 1000, 1, 1000)?;
    let after = after(q)?;
    let lower = after.as_deref().map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
    let members = group.members.range::<str, _>((lower, std::ops::Bound::Unbounded));
    let (items, next) = page(members, limit, |uid| {
        let user = d.user(uid).ok_or_else(|| OktaError::internal(&format!("member {uid} has no Okta user")))?;
        Ok(Some(render::user(site, user)))
    })?;
    Ok(Answer { body: Value::Array(items), links: links(site, call, q, limit, next.as_deref()) })
}
