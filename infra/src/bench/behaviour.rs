//! The same edge requests to every server, answers side by side: where the peers differ
//! from Inlet (status codes, page caps, filters, PATCH forms, totalResults). Run after the
//! workload, on the users it left behind.

use crate::client::{Call, Target};
use http::Method;
use serde_json::{Value, json};

const PROBE: &str = "probe-1@bench.test";

fn user_body(user_name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
           "externalId": "probe-ext-1", "active": true, "displayName": "Probe One",
           "name": {"givenName": "Probe", "familyName": "One"},
           "emails": [{"value": user_name, "type": "work", "primary": true}]})
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

async fn send(t: &Target, method: Method, path: &str, body: Option<Value>) -> (String, Value) {
    match t.send(&Call::new(method, path, body)).await {
        Ok((status, body)) => (status.to_string(), body),
        Err(e) => (format!("failed: {e}"), Value::Null),
    }
}

/// `status` and, for a list, `total N, M items`.
async fn list(t: &Target, path: &str) -> String {
    let (status, body) = send(t, Method::GET, path, None).await;
    let total = body.get("totalResults").and_then(Value::as_u64);
    let items = body.get("Resources").and_then(Value::as_array).map(Vec::len);
    match (total, items) {
        (Some(total), Some(items)) => format!("{status}: total {total}, {items} items"),
        _ => status,
    }
}

/// `status` and the user's `active` afterwards.
async fn patch_active(t: &Target, id: &str, ops: Value) -> String {
    let (status, _) = send(t, Method::PATCH, &format!("/Users/{id}"), Some(patch(ops))).await;
    let (_, user) = send(t, Method::GET, &format!("/Users/{id}"), None).await;
    format!("{status}: active {}", user.get("active").unwrap_or(&Value::Null))
}

async fn group_members(t: &Target, gid: &str) -> usize {
    let (_, group) = send(t, Method::GET, &format!("/Groups/{gid}"), None).await;
    group.get("members").and_then(Value::as_array).map_or(0, Vec::len)
}

/// The answers of one server, in the order of `LABELS`.
async fn probe(t: &Target) -> Vec<String> {
    let mut out = Vec::new();
    let (status, created) = send(t, Method::POST, "/Users", Some(user_body(PROBE))).await;
    let id = created.get("id").and_then(Value::as_str).unwrap_or("no-id").to_owned();
    out.push(status);
    out.push(send(t, Method::POST, "/Users", Some(user_body(PROBE))).await.0);
    let no_user_name = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "active": true});
    out.push(send(t, Method::POST, "/Users", Some(no_user_name)).await.0);
    out.push(send(t, Method::GET, "/Users/00000000-0000-4000-8000-000000000000", None).await.0);
    let wrong = Target::new(t.name, t.base.clone(), "wrong-token".into());
    out.push(send(&wrong, Method::GET, "/Users?count=1", None).await.0);
    out.push(list(t, "/Users?startIndex=1&count=100").await);
    out.push(list(t, "/Users?startIndex=1&count=1000").await);
    out.push(list(t, "/Users?filter=userName%20eq%20%22PROBE-1%40BENCH.TEST%22").await);
    out.push(list(t, "/Users?filter=externalId%20eq%20%22probe-ext-1%22").await);
    out.push(list(t, "/Users?filter=userName%20sw%20%22probe-%22").await);
    out.push(list(t, "/Users?filter=userName%20eq%20%22probe-1%40bench.test%22%20and%20active%20eq%20true").await);
    let (status, user) = send(t, Method::GET, &format!("/Users/{id}?attributes=userName"), None).await;
    out.push(format!("{status}: displayName {}", if user.get("displayName").is_some() { "sent" } else { "left out" }));
    out.push(patch_active(t, &id, json!([{"op": "replace", "value": {"active": false}}])).await);
    out.push(patch_active(t, &id, json!([{"op": "replace", "path": "active", "value": true}])).await);
    out.push(patch_active(t, &id, json!([{"op": "Replace", "path": "active", "value": "False"}])).await);
    out.push(patch_active(t, &id, json!([{"op": "frobnicate", "path": "active", "value": true}])).await);
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "probe-group",
                       "members": [{"value": id}]});
    let (status, g) = send(t, Method::POST, "/Groups", Some(group.clone())).await;
    let gid = g.get("id").and_then(Value::as_str).unwrap_or("no-id").to_owned();
    out.push(format!("{status}: {} members", group_members(t, &gid).await));
    out.push(send(t, Method::POST, "/Groups", Some(group)).await.0);
    let remove = json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
    let (status, _) = send(t, Method::PATCH, &format!("/Groups/{gid}"), Some(patch(remove))).await;
    out.push(format!("{status}: {} members", group_members(t, &gid).await));
    let add = json!([{"op": "add", "path": "members", "value": [{"value": id}]}]);
    let (status, _) = send(t, Method::PATCH, &format!("/Groups/{gid}"), Some(patch(add))).await;
    out.push(format!("{status}: {} members", group_members(t, &gid).await));
    let (status, _) = send(t, Method::DELETE, &format!("/Users/{id}"), None).await;
    let (after, _) = send(t, Method::GET, &format!("/Users/{id}"), None).await;
    out.push(format!("{status}, then GET {after}"));
    out
}

const LABELS: &[&str] = &[
    "POST user",
    "POST same userName again",
    "POST user without userName",
    "GET unknown id",
    "wrong bearer token",
    "list count=100",
    "list count=1000",
    "userName eq, other case",
    "externalId eq",
    "userName sw",
    "userName eq .. and active eq true",
    "GET ?attributes=userName",
    "PATCH replace {active:false}",
    "PATCH replace path active true",
    "PATCH Replace path active \"False\"",
    "PATCH op frobnicate",
    "POST group with 1 member, GET",
    "POST same group again",
    "PATCH remove members[value eq]",
    "PATCH add members +1",
    "DELETE user",
];

pub async fn run(targets: &[Target]) {
    let mut columns = Vec::new();
    for t in targets {
        columns.push(probe(t).await);
    }
    println!("\nSame requests, each server's answer:");
    let header: String = targets.iter().map(|t| format!(" {:<28}", t.name)).collect();
    println!("  {:<36}{header}", "request");
    for (i, label) in LABELS.iter().enumerate() {
        let cells: String = columns.iter().map(|c| format!(" {:<28}", c.get(i).map_or("-", String::as_str))).collect();
        println!("  {label:<36}{cells}");
    }
}
