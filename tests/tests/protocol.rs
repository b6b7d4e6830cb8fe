//! Authentication, error bodies, limits on bad input, discovery, durability.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use inlet_e2e::{Server, TOKEN};
use serde_json::json;

fn assert_scim_error(r: &inlet_e2e::Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.raw);
    assert_eq!(r.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(r.body["status"], status.to_string());
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(r.body["scimType"].as_str(), scim_type, "{}", r.raw);
    assert_eq!(r.header("Content-Type"), Some("application/scim+json"));
}

#[test]
fn every_route_needs_this_tenants_token() {
    let s = Server::start();
    for (path, auth) in [
        ("/default/scim/v2/Users", None),
        ("/default/scim/v2/Users", Some("Bearer wrong")),
        ("/default/scim/v2/Groups", Some("Basic e2e-token")),
        ("/other/scim/v2/Users", Some("Bearer e2e-token")),
        ("/Bad_Tenant/scim/v2/Users", Some("Bearer e2e-token")),
        ("/default/scim/v2/Schemas", Some("Bearer ")),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| vec![("Authorization", a)]).unwrap_or_default();
        let r = s.send("GET", path, None, &headers);
        assert_scim_error(&r, 401, None);
    }
    assert_scim_error(&s.call("GET", "/default/scim/v2/Nope", None), 404, None);
    assert_scim_error(&s.call("GET", "/elsewhere", None), 404, None);
    assert_scim_error(&s.call("DELETE", "/default/scim/v2/Users", None), 405, None);
}

#[test]
fn bad_input_gets_clear_scim_errors_and_writes_nothing() {
    let s = Server::start();
    let huge = format!("{{\"userName\":\"big\",\"title\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let r = s.send("POST", "/default/scim/v2/Users", Some(&huge), &[("Authorization", &format!("Bearer {TOKEN}"))]);
    assert_scim_error(&r, 413, None);
    let r = s.send(
        "POST",
        "/default/scim/v2/Users",
        Some("{\"userName\": "),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
    );
    assert_scim_error(&r, 400, Some("invalidSyntax"));
    assert_scim_error(
        &s.scim("POST", "/Users", Some(&json!({"displayName": "no userName"}))),
        400,
        Some("invalidValue"),
    );
    assert_scim_error(
        &s.scim("POST", "/Users", Some(&json!({"userName": "a", "active": "perhaps"}))),
        400,
        Some("invalidValue"),
    );
    let deep = format!("{}userName pr{}", "(".repeat(5000), ")".repeat(5000));
    let r = s.scim(
        "GET",
        &format!("/Users?filter={}", deep.replace('(', "%28").replace(')', "%29").replace(' ', "%20")),
        None,
    );
    assert_scim_error(&r, 400, Some("invalidFilter"));
    assert_scim_error(&s.scim("GET", "/Users?filter=userName%20zz%20%22a%22", None), 400, Some("invalidFilter"));
    assert_scim_error(&s.scim("GET", "/Users?count=abc", None), 400, Some("invalidValue"));
    assert_scim_error(
        &s.scim("PATCH", "/Users/0f5c1c5e-4a5e-4a53-9d0e-2b0f5c1c5e4a", Some(&json!({"Operations": []}))),
        400,
        Some("invalidSyntax"),
    );
    let valid = json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]});
    assert_scim_error(&s.scim("PATCH", "/Users/0f5c1c5e-4a5e-4a53-9d0e-2b0f5c1c5e4a", Some(&valid)), 404, None);
    // Nothing above was written.
    assert_eq!(s.scim("GET", "/Users", None).body["totalResults"], 0);
    // Paging values are clamped, unknown attributes ignored.
    let r = s.scim("GET", "/Users?startIndex=-4&count=100000", None);
    assert_eq!((r.status, r.body["startIndex"].clone()), (200, json!(1)));
    let r = s.scim("POST", "/Users", Some(&json!({"userName": "ok", "adresses": [{"x": 1}], "nickname": "N"})));
    assert_eq!((r.status, r.body.get("adresses").is_none(), r.body["nickName"].as_str()), (201, true, Some("N")));
}

#[test]
fn discovery_tells_the_truth() {
    let s = Server::start();
    let spc = s.scim("GET", "/ServiceProviderConfig", None).body;
    assert_eq!(
        (spc["patch"]["supported"].clone(), spc["bulk"]["supported"].clone(), spc["etag"]["supported"].clone()),
        (json!(true), json!(false), json!(true))
    );
    assert_eq!(s.scim("GET", "/serviceConfiguration", None).status, 200);
    let rts = s.scim("GET", "/ResourceTypes", None).body;
    assert_eq!(rts["Resources"][0]["endpoint"], "/Users");
    assert_eq!(
        rts["Resources"][0]["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    let schemas = s.scim("GET", "/Schemas", None).body;
    assert_eq!(schemas["totalResults"], 4);
    assert_eq!(
        rts["Resources"][0]["schemaExtensions"][1]["schema"],
        "urn:ietf:params:scim:schemas:extension:inlet:2.0:Source"
    );
    let user = s.scim("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", None).body;
    assert_eq!(user["description"], "User Account");
    let user_name = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!((user_name["caseExact"].clone(), user_name["uniqueness"].clone()), (json!(false), json!("server")));
}

#[test]
fn acknowledged_writes_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let table = inlet_e2e::fresh_table();
    let s = Server::start_in(dir.path(), Some(TOKEN), table.clone());
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(
            s.scim("POST", "/Users", Some(&json!({"userName": format!("p{i}")}))).body["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(s.stop().success(), "SIGTERM must shut down cleanly");
    let s = Server::start_in(dir.path(), Some(TOKEN), table);
    assert_eq!(s.scim("GET", "/Users?count=0", None).body["totalResults"], 50);
    for id in &ids {
        assert_eq!(s.scim("GET", &format!("/Users/{id}"), None).status, 200);
    }
}

#[test]
fn first_start_issues_a_token_shown_once() {
    // The local first start: tenant `default`, its token printed once, a digest in the vault.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), None, None);
    let token = s.banner.split("keep it safe): ").nth(1).unwrap().lines().next().unwrap().to_owned();
    assert!(token.starts_with("inlet_"));
    let vault = dir.path().join("secrets/default.json");
    let stored = std::fs::read_to_string(&vault).unwrap();
    assert!(!stored.contains(&token) && stored.contains("sha256"), "only a digest is stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&vault).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(s.scim("GET", "/Users", None).status, 401, "the dev token is not configured");
    assert_eq!(s.with_token("GET", "/default/scim/v2/Users", None, &token).status, 200);
    assert!(s.stop().success());
    let again = Server::start_in(dir.path(), None, None);
    assert!(!again.banner.contains("inlet_"), "the token is shown only at first start");
    assert_eq!(again.with_token("GET", "/default/scim/v2/Users", None, &token).status, 200);
}
