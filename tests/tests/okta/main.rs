//! The Okta API pull end to end: the real `inlet` CLI (and `inlet serve`) against the Okta
//! double, run in this process on a tokio runtime. Each test checks Inlet's directory against
//! the double's org with an independent statement of the mapping (issue 11).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod changes;
mod faults;
mod rules;
mod scale;

use inlet_e2e::{Cli, Run};
use okta_double::{AppUser, Directory, Double, Options, User};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use tokio::runtime::Runtime;

/// The double's default valid token.
pub const TOKEN: &str = "00InletDoubleToken";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const APP_USERS: &str = "/api/v1/apps/{appId}/users";
pub const GROUP_USERS: &str = "/api/v1/groups/{groupId}/users";
/// The client's page sizes (app users, group members).
pub const USERS_PAGE: usize = 500;
pub const MEMBERS_PAGE: usize = 200;

fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap())
}

/// On DynamoDB (moto) data is kept small: moto copies every table per transaction.
pub fn size(embedded: usize, moto: usize) -> usize {
    if std::env::var_os("INLET_E2E_DYNAMODB").is_some() { moto } else { embedded }
}

/// Limits that never bite (each test that wants rate limits sets its own).
pub fn fast() -> Options {
    Options {
        apps_limit: 100_000,
        groups_limit: 100_000,
        users_limit: 100_000,
        other_limit: 100_000,
        ..Options::default()
    }
}

/// A double serving `Directory::generate(users, groups, seed)`.
pub fn double(o: Options, users: usize, groups: usize, seed: u64) -> Double {
    let d = rt().block_on(Double::start(o)).unwrap();
    d.with(|dir| *dir = Directory::generate(users, groups, seed));
    d
}

pub fn stop(d: Double) {
    rt().block_on(d.stop());
}

/// `inlet okta configure` with `token` in a token file.
pub fn configure(cli: &Cli, tenant: &str, url: &str, app: &str, token: &str) -> Run {
    let file = cli.token_file(&format!("{tenant}.token"), token);
    cli.run(&["okta", "configure", tenant, "--domain", url, "--app-id", app, "--token-file", &file, "--json"])
}

/// A tenant in okta_api mode pointed at `d`.
pub fn okta_tenant(cli: &Cli, tenant: &str, d: &Double) {
    cli.json(&["tenants", "create", tenant, "--mode", "okta-api"]);
    let r = configure(cli, tenant, &d.url(), d.app_id(), TOKEN);
    assert!(r.ok, "configure {tenant}: {}", r.stderr);
}

pub fn status(cli: &Cli, tenant: &str) -> Value {
    cli.json(&["okta", "status", tenant])
}

/// `inlet okta sync-now`, which must end Synced; the status it prints.
pub fn sync_now(cli: &Cli, tenant: &str) -> Value {
    let r = cli.run(&["okta", "sync-now", tenant, "--json"]);
    assert!(r.ok, "sync-now {tenant}: {}\n{}", r.stderr, r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["status"], "Synced", "{v:#}");
    v
}

/// The last run's counts, all named.
pub fn counts(v: &Value) -> BTreeMap<String, u64> {
    v["counts"].as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect()
}

/// Counts of a run that changed exactly `changed` (the others zero).
pub fn only(changed: &[(&str, u64)]) -> BTreeMap<String, u64> {
    let mut all: BTreeMap<String, u64> = [
        "created",
        "updated",
        "deactivated",
        "reactivated",
        "groupsCreated",
        "groupsUpdated",
        "groupsDeleted",
        "membersAdded",
        "membersRemoved",
        "groupsSkipped",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), 0))
    .collect();
    for (k, n) in changed {
        assert!(all.insert((*k).to_owned(), *n).is_some(), "unknown count {k}");
    }
    all
}

/// `inlet users|groups list TENANT --json`, sorted by id.
pub fn list(cli: &Cli, what: &str, tenant: &str) -> Vec<Value> {
    let mut all = cli.json(&[what, "list", tenant]).as_array().unwrap().clone();
    all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    all
}

pub fn lists(cli: &Cli, tenant: &str) -> (Vec<Value>, Vec<Value>) {
    (list(cli, "users", tenant), list(cli, "groups", tenant))
}

/// Asserts two lists are equal, showing the first record that differs (not 10k of them).
pub fn same(a: &[Value], b: &[Value], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    if let Some((x, y)) = a.iter().zip(b).find(|(x, y)| x != y) {
        panic!("{what}: first difference:\n{x:#}\n{y:#}");
    }
}

/// The Okta id of the generated user with index `i` (its employeeNumber is i + 1).
pub fn nth(d: &Double, i: usize) -> String {
    let number = format!("{:05}", i + 1);
    d.with(|dir| dir.users().find(|u| u.profile["employeeNumber"] == number.as_str()).unwrap().id.clone())
}

/// A profile value as text (null, a list or an object: none).
fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn non_blank(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Issue 11's mapping, stated on its own: the Okta profile, a non-null app-profile value
/// overriding it; blank is absent; displayName falls back to "First Last"; inactive when the
/// assignment or the Okta user is switched off.
pub fn expected_user(user: &User, au: &AppUser) -> Value {
    let attr = |k: &str| non_blank(text(&au.profile, k).or_else(|| text(&user.profile, k)));
    let (first, last) = (attr("firstName"), attr("lastName"));
    let joined = format!("{} {}", first.clone().unwrap_or_default(), last.clone().unwrap_or_default());
    let display = attr("displayName").or_else(|| Some(joined.trim().to_owned()).filter(|s| !s.is_empty()));
    let app_status = serde_json::to_value(au.status).unwrap();
    let user_status = serde_json::to_value(user.status).unwrap();
    let off_app = ["INACTIVE", "SUSPENDED", "DEPROVISIONED", "REVOKED", "UNASSIGNED"];
    let active =
        !off_app.iter().any(|s| app_status == *s) && !["SUSPENDED", "DEPROVISIONED"].iter().any(|s| user_status == *s);
    json!({
        "userName": user.profile["login"],
        "externalId": user.id,
        "displayName": display,
        "name": {"givenName": first, "familyName": last},
        "emails": [{"value": attr("email"), "type": "work", "primary": true}],
        "active": active,
        ENTERPRISE: {"department": attr("department"), "division": attr("division")},
    })
}

/// The mapped attributes of a SCIM user from Inlet, in [`expected_user`]'s shape.
fn got_user(u: &Value) -> Value {
    let e = &u["emails"][0];
    json!({
        "userName": u["userName"],
        "externalId": u["externalId"],
        "displayName": u["displayName"],
        "name": {"givenName": u["name"]["givenName"], "familyName": u["name"]["familyName"]},
        "emails": [{"value": e["value"], "type": e["type"], "primary": e["primary"]}],
        "active": u["active"],
        ENTERPRISE: {"department": u[ENTERPRISE]["department"], "division": u[ENTERPRISE]["division"]},
    })
}

/// Inlet's directory matches the double's org: every active app user present with the mapped
/// attributes (an inactive one, if present, mapped and inactive), every other user inactive,
/// every assigned group present with its name and exactly its members who are active app
/// users, no other pulled group. Returns the lists.
pub fn check(cli: &Cli, tenant: &str, d: &Double) -> (Vec<Value>, Vec<Value>) {
    let (users, groups) = lists(cli, tenant);
    let by_okta: BTreeMap<&str, &Value> = users.iter().map(|u| (u["externalId"].as_str().unwrap(), u)).collect();
    assert_eq!(by_okta.len(), users.len(), "externalIds are unique");
    d.with(|dir| {
        let mut active: BTreeMap<&str, &str> = BTreeMap::new();
        for (id, au) in dir.app_users() {
            let want = expected_user(dir.user(id).unwrap(), au);
            match by_okta.get(id.as_str()) {
                Some(got) => assert_eq!(got_user(got), want, "user {id}"),
                None => assert_eq!(want["active"], false, "active app user {id} is missing"),
            }
            if want["active"] == true {
                active.insert(id, by_okta[id.as_str()]["id"].as_str().unwrap());
            }
        }
        for u in &users {
            if !active.contains_key(u["externalId"].as_str().unwrap()) {
                assert_eq!(u["active"], false, "not an active app user: {u}");
            }
        }
        let by_group: BTreeMap<&str, &Value> = groups.iter().map(|g| (g["externalId"].as_str().unwrap(), g)).collect();
        assert_eq!(by_group.len(), dir.app_groups().count(), "one Inlet group per assigned group");
        for (gid, _) in dir.app_groups() {
            let okta = dir.group(gid).unwrap();
            let got = by_group.get(gid.as_str()).unwrap_or_else(|| panic!("group {gid} is missing"));
            assert_eq!(got["displayName"], okta.profile["name"], "group {gid}");
            let want: BTreeSet<&str> = okta.members.iter().filter_map(|m| active.get(m.as_str()).copied()).collect();
            let have: BTreeSet<&str> = got["members"]
                .as_array()
                .map(|m| m.iter().map(|m| m["value"].as_str().unwrap()).collect())
                .unwrap_or_default();
            assert_eq!(have, want, "members of group {gid}");
        }
    });
    (users, groups)
}

/// Requests to the member listing of the given groups: one per page of members.
pub fn member_pages(d: &Double, groups: &[&str]) -> u64 {
    d.with(|dir| groups.iter().map(|g| dir.group(g).unwrap().members.len().div_ceil(MEMBERS_PAGE).max(1) as u64).sum())
}
