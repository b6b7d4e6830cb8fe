//! The `/_double/` control API (no auth, no rate limit, not logged); documented in the crate
//! docs. Answers are JSON; a failure is `{"error": "..."}` with 400 or 404.

use super::{Reply, State, lock};
use crate::directory::Directory;
use crate::directory::model::{AppUserStatus, DirectoryError, UserStatus};
use crate::faults::FaultSpec;
use crate::render::{self, Site};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

const MAX_BODY: usize = 1 << 20;

type Answer = Result<(StatusCode, Value), (StatusCode, String)>;

pub async fn handle(state: &State, req: Request<Incoming>) -> Reply {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return reply(Err((StatusCode::BAD_REQUEST, format!("cannot read the body: {e}")))),
    };
    let path = parts.uri.path().trim_start_matches("/_double").trim_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    reply(route(state, &parts.method, &segments, &body))
}

fn reply(answer: Answer) -> Reply {
    let (status, body) = match answer {
        Ok(ok) => ok,
        Err((status, message)) => (status, json!({"error": message})),
    };
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, (StatusCode, String)> {
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| (StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

fn missing(e: DirectoryError) -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, e.to_string())
}

fn done(r: Result<(), DirectoryError>) -> Answer {
    r.map(|()| (StatusCode::OK, json!({"ok": true}))).map_err(missing)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    profile: Map<String, Value>,
    #[serde(default = "yes")]
    assign: bool,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserPatch {
    #[serde(default)]
    profile: Map<String, Value>,
    status: Option<UserStatus>,
    #[serde(default)]
    app_profile: Map<String, Value>,
    app_status: Option<AppUserStatus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    assign: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    users: usize,
    groups: usize,
    #[serde(default)]
    seed: u64,
}

fn yes() -> bool {
    true
}

fn route(state: &State, method: &Method, segments: &[&str], body: &Bytes) -> Answer {
    let site = Site { base: &state.base, app_id: &state.app_id };
    let ok = |v: Value| Ok((StatusCode::OK, v));
    match (method.as_str(), segments) {
        ("GET", ["requests"]) => {
            let mut r = lock(&state.log).clone();
            r.max_concurrency = state.flight.max();
            ok(serde_json::to_value(r).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?)
        }
        ("DELETE", ["requests"]) => {
            *lock(&state.log) = crate::Requests::default();
            state.flight.reset_max();
            ok(json!({"ok": true}))
        }
        ("POST", ["faults"]) => {
            let fault = parse::<FaultSpec>(body)?.into_fault().map_err(|e| (StatusCode::BAD_REQUEST, e))?;
            let mut faults = lock(&state.faults);
            faults.push(fault);
            Ok((StatusCode::CREATED, json!({"pending": faults.pending()})))
        }
        ("DELETE", ["faults"]) => {
            lock(&state.faults).clear();
            ok(json!({"ok": true}))
        }
        ("DELETE", ["limits"]) => {
            state.limits.reset();
            ok(json!({"ok": true}))
        }
        ("POST", ["tokens", token, "revoke"]) => {
            lock(&state.tokens).revoked.insert((*token).to_owned());
            ok(json!({"ok": true}))
        }
        ("POST", ["generate"]) => {
            let g: Generate = parse(body)?;
            *lock(&state.directory) = Directory::generate(g.users, g.groups, g.seed);
            ok(summary(&lock(&state.directory)))
        }
        ("GET", ["directory"]) => ok(summary(&lock(&state.directory))),
        ("POST", ["users"]) => {
            let new: NewUser = parse(body)?;
            let mut d = lock(&state.directory);
            let id = d.add_user(new.profile);
            if new.assign {
                d.assign(&id).map_err(missing)?;
            }
            for g in &new.groups {
                d.add_member(g, &id).map_err(missing)?;
            }
            Ok((StatusCode::CREATED, json!({"id": id})))
        }
        ("GET", ["users", id]) => {
            let d = lock(&state.directory);
            let user = d.user(id).ok_or_else(|| missing(DirectoryError::NoUser((*id).to_owned())))?;
            let app_user = d.app_user(id).map(|a| render::app_user(&site, &d, id, a, None));
            ok(json!({"user": render::user(&site, user), "appUser": app_user, "groups": d.groups_of(id)}))
        }
        ("PATCH", ["users", id]) => {
            let patch: UserPatch = parse(body)?;
            let mut d = lock(&state.directory);
            for (k, v) in patch.profile {
                d.update_profile(id, &k, v).map_err(missing)?;
            }
            if let Some(s) = patch.status {
                d.set_user_status(id, s).map_err(missing)?;
            }
            for (k, v) in patch.app_profile {
                d.update_app_profile(id, &k, v).map_err(missing)?;
            }
            if let Some(s) = patch.app_status {
                d.set_app_user_status(id, s).map_err(missing)?;
            }
            ok(json!({"ok": true}))
        }
        ("DELETE", ["users", id]) => done(lock(&state.directory).delete_user(id)),
        ("POST", ["users", id, "assign"]) => done(lock(&state.directory).assign(id)),
        ("POST", ["users", id, "unassign"]) => done(lock(&state.directory).unassign(id)),
        ("POST", ["groups"]) => {
            let new: NewGroup = parse(body)?;
            let mut d = lock(&state.directory);
            let id = d.add_group(&new.name, &new.description);
            if new.assign {
                d.assign_group(&id).map_err(missing)?;
            }
            Ok((StatusCode::CREATED, json!({"id": id})))
        }
        ("PATCH", ["groups", id]) => {
            let patch: Map<String, Value> = parse(body)?;
            let mut d = lock(&state.directory);
            for (k, v) in patch {
                d.set_group_profile(id, &k, v).map_err(missing)?;
            }
            ok(json!({"ok": true}))
        }
        ("DELETE", ["groups", id]) => done(lock(&state.directory).delete_group(id)),
        ("POST", ["groups", id, "assign"]) => done(lock(&state.directory).assign_group(id)),
        ("POST", ["groups", id, "unassign"]) => done(lock(&state.directory).unassign_group(id)),
        ("PUT", ["groups", id, "members", user]) => done(lock(&state.directory).add_member(id, user)),
        ("DELETE", ["groups", id, "members", user]) => done(lock(&state.directory).remove_member(id, user)),
        _ => Err((StatusCode::NOT_FOUND, format!("no control route {method} /_double/{}", segments.join("/")))),
    }
}

fn summary(d: &Directory) -> Value {
    json!({
        "users": d.users().count(),
        "appUsers": d.app_users().count(),
        "groups": d.groups().count(),
        "appGroups": d.app_groups().count(),
    })
}
