//! Users end to end: lifecycle, uniqueness, Okta's and Entra's request shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use inlet_e2e::Server;
use serde_json::{Value, json};

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "externalId": format!("x-{name}"),
           "name": {"givenName": "Ada", "familyName": "Lovelace"}, "emails": [{"value": name, "type": "work", "primary": true}],
           "active": true, "password": "Sup3r-secret!", "groups": []})
}

#[test]
fn okta_user_lifecycle() {
    let s = Server::start();
    // Okta looks the user up first: absent is 200 with zero results.
    let r = s.scim("GET", "/Users?filter=userName%20eq%20%22ada%40example.com%22&startIndex=1&count=100", None);
    assert_eq!((r.status, r.body["totalResults"].clone()), (200, json!(0)));

    let r = s.scim("POST", "/Users", Some(&user("ada@example.com")));
    assert_eq!(r.status, 201, "{}", r.raw);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.header("Location"), Some(format!("http://{}/default/scim/v2/Users/{id}", s.addr).as_str()));
    assert_eq!(r.header("ETag"), Some("W/\"1\""));
    assert_eq!(r.header("Content-Type"), Some("application/scim+json"));
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(!r.raw.contains("Sup3r-secret!") && r.body.get("password").is_none());

    // userName is unique case-insensitively.
    let dup = s.scim("POST", "/Users", Some(&user("ADA@example.COM")));
    assert_eq!((dup.status, dup.body["scimType"].as_str()), (409, Some("uniqueness")));

    let r = s.scim("GET", "/Users?filter=userName%20eq%20%22ADA%40EXAMPLE.COM%22", None);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    let r = s.scim("GET", "/Users?filter=externalId%20eq%20%22x-ada%40example.com%22", None);
    assert_eq!(r.body["totalResults"], 1);

    // Okta updates with GET then a full PUT.
    let mut full = s.scim("GET", &format!("/Users/{id}"), None).body;
    full["name"]["givenName"] = json!("Augusta");
    let r = s.scim("PUT", &format!("/Users/{id}"), Some(&full));
    assert_eq!((r.status, r.body["name"]["givenName"].as_str()), (200, Some("Augusta")));
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");

    // Deactivation keeps the user and their data.
    let r = s.scim(
        "PATCH",
        &format!("/Users/{id}"),
        Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]})),
    );
    assert_eq!(r.status, 204);
    let r = s.scim("GET", &format!("/Users/{id}"), None);
    assert_eq!((r.body["active"].clone(), r.body["name"]["givenName"].clone()), (json!(false), json!("Augusta")));
    assert_eq!(s.scim("GET", "/Users?filter=active%20eq%20false", None).body["totalResults"], 1);

    // A stale If-Match is refused; the current one is accepted.
    let stale = s.send(
        "PATCH",
        &format!("/default/scim/v2/Users/{id}"),
        Some(r#"{"Operations":[{"op":"replace","path":"title","value":"x"}]}"#),
        &[("Authorization", "Bearer e2e-token"), ("If-Match", "W/\"1\"")],
    );
    assert_eq!(stale.status, 412);
    let fresh = s.send(
        "PATCH",
        &format!("/default/scim/v2/Users/{id}?attributes=title"),
        Some(r#"{"Operations":[{"op":"replace","path":"title","value":"x"}]}"#),
        &[("Authorization", "Bearer e2e-token"), ("If-Match", "W/\"3\"")],
    );
    assert_eq!((fresh.status, fresh.body["title"].as_str()), (200, Some("x")));

    assert_eq!(s.scim("DELETE", &format!("/Users/{id}"), None).status, 204);
    assert_eq!(s.scim("GET", &format!("/Users/{id}"), None).status, 404);
    assert_eq!(s.scim("DELETE", &format!("/Users/{id}"), None).status, 404);
    // The userName is free again.
    assert_eq!(s.scim("POST", "/Users", Some(&user("ada@example.com"))).status, 201);
}

#[test]
fn entra_patch_dialect() {
    let s = Server::start();
    let manager = s.scim("POST", "/Users", Some(&user("boss@example.com"))).body["id"].as_str().unwrap().to_owned();
    let id = s.scim("POST", "/Users", Some(&user("emp@example.com"))).body["id"].as_str().unwrap().to_owned();
    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 1"},
        {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "42"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": manager},
        {"op": "Replace", "value": {"name.familyName": "Byron", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D"}},
    ]});
    assert_eq!(s.scim("PATCH", &format!("/Users/{id}"), Some(&ops)).status, 204);
    let u = s.scim("GET", &format!("/Users/{id}"), None).body;
    let ent = &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(u["active"], false);
    assert_eq!(u["emails"][0]["value"], "new@example.com");
    assert_eq!(u["phoneNumbers"], json!([{"type": "mobile", "value": "+44 1"}]));
    assert_eq!(u["name"]["familyName"], "Byron");
    assert_eq!((ent["employeeNumber"].as_str(), ent["department"].as_str()), (Some("42"), Some("R&D")));
    assert_eq!(ent["manager"]["value"], manager.as_str());
    assert!(
        u["schemas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    // Entra's connection test: a random GUID filter is 200 with an empty list.
    let r = s.scim("GET", "/Users?filter=id%20eq%20%2201234567-89ab-4cde-8f01-23456789abcd%22", None);
    assert_eq!((r.status, r.body["totalResults"].clone()), (200, json!(0)));
    // Read-only attributes are refused with mutability, and nothing changes.
    let r = s.scim(
        "PATCH",
        &format!("/Users/{id}"),
        Some(&json!({"Operations": [{"op": "replace", "path": "id", "value": "x"}]})),
    );
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("mutability")));
}

#[test]
fn listing_pages_are_stable_and_complete() {
    let s = Server::start();
    for i in 0..25 {
        assert_eq!(s.scim("POST", "/Users", Some(&user(&format!("u{i:02}@x.test")))).status, 201);
    }
    let mut seen = Vec::new();
    for start in [1, 11, 21] {
        let r = s.scim("GET", &format!("/Users?startIndex={start}&count=10"), None);
        assert_eq!((r.body["totalResults"].clone(), r.body["startIndex"].clone()), (json!(25), json!(start)));
        seen.extend(r.body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
    let r = s.scim("GET", "/Users?sortBy=userName&sortOrder=descending&count=2&attributes=userName", None);
    assert_eq!(
        r.body["Resources"],
        json!([{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": r.body["Resources"][0]["id"], "userName": "u24@x.test"},
                                          {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": r.body["Resources"][1]["id"], "userName": "u23@x.test"}])
    );
    let r = s.scim(
        "GET",
        "/Users?filter=userName%20sw%20%22u1%22%20and%20not%20(userName%20eq%20%22u10%40x.test%22)",
        None,
    );
    assert_eq!(r.body["totalResults"], 9);
    let r = s.scim(
        "POST",
        "/Users/.search",
        Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "emails[type eq \"work\" and value ew \"@x.test\"]", "count": 5})),
    );
    assert_eq!((r.body["totalResults"].clone(), r.body["itemsPerPage"].clone()), (json!(25), json!(5)));
    let r = s.scim("GET", "/Users?count=0", None);
    assert_eq!((r.body["totalResults"].clone(), r.body["Resources"].clone()), (json!(25), json!([])));
}
