//! Groups end to end: Okta group push, Entra member removal, large groups, cascades.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use inlet_e2e::Server;
use serde_json::{Value, json};

fn new_user(s: &Server, name: &str) -> String {
    let r = s.scim("POST", "/Users", Some(&json!({"userName": name, "displayName": format!("D {name}")})));
    assert_eq!(r.status, 201, "{}", r.raw);
    r.body["id"].as_str().unwrap().to_owned()
}

fn member_ids(g: &Value) -> Vec<String> {
    let mut ids: Vec<String> = g["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn okta_group_push() {
    let s = Server::start();
    let (a, b, c) = (new_user(&s, "a@x"), new_user(&s, "b@x"), new_user(&s, "c@x"));
    assert_eq!(s.scim("GET", "/Groups?filter=displayName%20eq%20%22Engineering%22", None).body["totalResults"], 0);
    let g = s.scim("POST", "/Groups", Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": []})));
    assert_eq!(g.status, 201);
    let gid = g.body["id"].as_str().unwrap().to_owned();
    assert_eq!(s.scim("POST", "/Groups", Some(&json!({"displayName": "engineering"}))).status, 409);

    let push = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "remove", "path": format!("members[value eq \"{c}\"]")},
        {"op": "add", "path": "members", "value": [{"value": a, "display": "a@x"}, {"value": b, "display": "b@x"}, {"value": "not-a-user"}]},
        {"op": "replace", "value": {"id": gid, "displayName": "Engineering Team"}},
    ]});
    assert_eq!(s.scim("PATCH", &format!("/Groups/{gid}"), Some(&push)).status, 204);
    let g = s.scim("GET", &format!("/Groups/{gid}"), None).body;
    assert_eq!(g["displayName"], "Engineering Team");
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(member_ids(&g), want);
    assert_eq!(g["members"][0]["type"], "User");
    assert_eq!(
        s.scim("GET", "/Groups?filter=displayName%20eq%20%22engineering%20team%22", None).body["totalResults"],
        1
    );
    let lean = s.scim("GET", &format!("/Groups/{gid}?excludedAttributes=members"), None).body;
    assert!(lean.get("members").is_none() && lean["displayName"] == "Engineering Team");

    // A user's groups are readable on request, and not writable from the user side.
    let u = s.scim("GET", &format!("/Users/{a}?attributes=userName,groups"), None).body;
    assert_eq!(u["groups"][0]["value"], gid.as_str());
    assert_eq!(u["groups"][0]["display"], "Engineering Team");

    // Entra: Remove with a value list removes only those members.
    let entra = json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"value": a}]}]});
    assert_eq!(s.scim("PATCH", &format!("/Groups/{gid}"), Some(&entra)).status, 204);
    assert_eq!(member_ids(&s.scim("GET", &format!("/Groups/{gid}"), None).body), vec![b.clone()]);

    // Deleting a user removes their memberships; deleting the group removes it.
    assert_eq!(s.scim("DELETE", &format!("/Users/{b}"), None).status, 204);
    assert!(s.scim("GET", &format!("/Groups/{gid}"), None).body.get("members").is_none());
    assert_eq!(s.scim("DELETE", &format!("/Groups/{gid}"), None).status, 204);
    assert_eq!(s.scim("GET", &format!("/Groups/{gid}"), None).status, 404);
    assert_eq!(s.scim("GET", &format!("/Users/{a}?attributes=groups"), None).body["groups"], json!([]));
}

#[test]
fn large_group_membership() {
    let s = Server::start();
    let size = inlet_e2e::large_group_size();
    let ids: Vec<String> = (0..size).map(|i| new_user(&s, &format!("m{i}@x"))).collect();
    let gid = s.scim("POST", "/Groups", Some(&json!({"displayName": "All"}))).body["id"].as_str().unwrap().to_owned();
    let chunks = ids.chunks(400).len();
    for chunk in ids.chunks(400) {
        let value: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let r = s.scim(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(&json!({"Operations": [{"op": "add", "path": "members", "value": value}]})),
        );
        assert_eq!(r.status, 204);
    }
    let g = s.scim("GET", &format!("/Groups/{gid}"), None).body;
    assert_eq!(g["members"].as_array().unwrap().len(), size);
    assert_eq!(g["meta"]["version"], format!("W/\"{}\"", 1 + chunks));
    // PUT replaces the member set.
    let r =
        s.scim("PUT", &format!("/Groups/{gid}"), Some(&json!({"displayName": "All", "members": [{"value": ids[7]}]})));
    assert_eq!(r.status, 200);
    assert_eq!(member_ids(&r.body), vec![ids[7].clone()]);
}
