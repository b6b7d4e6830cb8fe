//! Tenants and tokens end to end: a real `inlet serve`, tenants and tokens made with the
//! real `inlet` CLI (on the data directory, or with `--aws` on DynamoDB and Secrets
//! Manager when the suite runs on moto).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use inlet_e2e::{Resp, Server, fresh_table};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn server(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), None, fresh_table(), extra);
    (dir, s)
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true})
}

fn group(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name})
}

/// One route of a tenant: method, path under the tenant's base URL, body.
fn routes(user_id: &str, group_id: &str, tag: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    vec![
        ("GET", "/Users".into(), None),
        ("GET", "/Users?filter=userName%20sw%20%22%22".into(), None),
        ("GET", format!("/Users/{user_id}"), None),
        ("POST", "/Users".into(), Some(user(&format!("new-{tag}@example.com")))),
        ("PUT", format!("/Users/{user_id}"), Some(user(&format!("put-{tag}@example.com")))),
        ("PATCH", format!("/Users/{user_id}"), Some(patch.clone())),
        ("GET", "/Groups".into(), None),
        ("GET", format!("/Groups/{group_id}"), None),
        ("POST", "/Groups".into(), Some(group(&format!("new-{tag}")))),
        ("PUT", format!("/Groups/{group_id}"), Some(group(&format!("put-{tag}")))),
        ("PATCH", format!("/Groups/{group_id}"), Some(patch)),
        ("GET", "/ServiceProviderConfig".into(), None),
        ("GET", "/ResourceTypes".into(), None),
        ("GET", "/Schemas".into(), None),
        ("DELETE", format!("/Groups/{group_id}"), None),
        ("DELETE", format!("/Users/{user_id}"), None),
    ]
}

/// With the tenant's own token every route does its work.
fn expected_own(method: &str) -> u16 {
    match method {
        "POST" => 201,
        // PATCH without `attributes` answers 204 (RFC 7644 §3.5.2).
        "PATCH" | "DELETE" => 204,
        _ => 200,
    }
}

struct Seeded {
    user_id: String,
    group_id: String,
    marker: String,
}

fn seed(s: &Server, tenant: &str, token: &str, n: u32) -> Seeded {
    let marker = format!("secret-of-{tenant}-{n}");
    let u =
        s.with_token("POST", &format!("/{tenant}/scim/v2/Users"), Some(&user(&format!("{marker}@example.com"))), token);
    assert_eq!(u.status, 201, "{}", u.raw);
    let g = s.with_token("POST", &format!("/{tenant}/scim/v2/Groups"), Some(&group(&marker)), token);
    assert_eq!(g.status, 201, "{}", g.raw);
    Seeded { user_id: u.body["id"].as_str().unwrap().into(), group_id: g.body["id"].as_str().unwrap().into(), marker }
}

fn assert_clean(r: &Resp, foreign: &Seeded, what: &str) {
    for secret in [&foreign.marker, &foreign.user_id, &foreign.group_id] {
        assert!(!r.raw.contains(secret.as_str()), "{what}: foreign data in the body: {}", r.raw);
    }
}

#[test]
fn isolation_matrix() {
    let (_d, s) = server(&[]);
    let ta = s.tenant_with_token("tenant-a");
    let tb = s.tenant_with_token("tenant-b");
    let revoked = s.cli_json(&["tokens", "issue", "tenant-a", "--label", "revoked"]);
    s.cli_json(&["tokens", "revoke", "tenant-a", revoked["id"].as_str().unwrap()]);
    let expired = s.cli_json(&["tokens", "issue", "tenant-a", "--expires-in", "1s"]);
    std::thread::sleep(Duration::from_millis(1200));
    let revoked = revoked["token"].as_str().unwrap().to_owned();
    let expired = expired["token"].as_str().unwrap().to_owned();
    let mut well_formed_unknown = ta.clone();
    well_formed_unknown.replace_range(10..11, if &ta[10..11] == "A" { "B" } else { "A" });

    let mut n = 0;
    for (tenant, own, other_tenant, other_token) in
        [("tenant-a", &ta, "tenant-b", &tb), ("tenant-b", &tb, "tenant-a", &ta)]
    {
        n += 1;
        let foreign = seed(&s, other_tenant, other_token, n);
        let base = format!("/{tenant}/scim/v2");
        let denied: Vec<(&str, String)> = vec![
            ("foreign", other_token.clone()),
            ("revoked", revoked.clone()),
            ("expired", expired.clone()),
            ("malformed", "not-a-token".into()),
            ("altered", well_formed_unknown.clone()),
            ("wrong scheme", format!("Basic {own}")),
            ("empty bearer", "Bearer ".into()),
        ];
        for kind in
            ["own", "foreign", "revoked", "expired", "malformed", "altered", "wrong scheme", "empty bearer", "missing"]
        {
            n += 1;
            let mine = seed(&s, tenant, own, n);
            for (method, path, body) in routes(&mine.user_id, &mine.group_id, &format!("{kind}-{n}").replace(' ', "-"))
            {
                let what = format!("{kind} token, {method} {base}{path}");
                let r = match kind {
                    "own" => s.with_token(method, &format!("{base}{path}"), body.as_ref(), own),
                    "missing" => s.send(method, &format!("{base}{path}"), body.map(|b| b.to_string()).as_deref(), &[]),
                    k => {
                        let token = &denied.iter().find(|(d, _)| *d == k).unwrap().1;
                        s.with_token(method, &format!("{base}{path}"), body.as_ref(), token)
                    }
                };
                let want = if kind == "own" { expected_own(method) } else { 401 };
                assert_eq!(r.status, want, "{what}: {}", r.raw);
                assert_clean(&r, &foreign, &what);
                if want == 401 {
                    assert_eq!(r.body["status"], "401", "{what}: a SCIM error body");
                    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"));
                }
            }
        }
        // Own token, the other tenant's resource ids: not found, never shown.
        for path in [format!("/Users/{}", foreign.user_id), format!("/Groups/{}", foreign.group_id)] {
            let r = s.with_token("GET", &format!("{base}{path}"), None, own);
            assert_eq!(r.status, 404, "{path}");
            // The 404 may echo the id that was asked for, but nothing of the resource.
            assert!(!r.raw.contains(&foreign.marker), "{path}: {}", r.raw);
        }
    }
    // An unknown tenant answers exactly like a wrong token.
    let unknown = s.with_token("GET", "/tenant-zz/scim/v2/Users", None, &ta);
    let wrong = s.with_token("GET", "/tenant-b/scim/v2/Users", None, &ta);
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
}

#[test]
fn disabled_and_okta_api_tenants_are_refused() {
    let (_d, s) = server(&["--auth-cache-seconds", "1"]);
    let t = s.tenant_with_token("pull");
    assert_eq!(s.with_token("GET", "/pull/scim/v2/Users", None, &t).status, 200);
    s.cli_json(&["tenants", "update", "pull", "--mode", "okta-api"]);
    std::thread::sleep(Duration::from_millis(1100));
    let r = s.with_token("GET", "/pull/scim/v2/Users", None, &t);
    assert_eq!(r.status, 403, "{}", r.raw);
    assert!(r.body["detail"].as_str().unwrap().contains("okta_api"));
    s.cli_json(&["tenants", "update", "pull", "--mode", "scim"]);
    s.cli_json(&["tenants", "disable", "pull"]);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(s.with_token("GET", "/pull/scim/v2/Users", None, &t).status, 401);
    s.cli_json(&["tenants", "enable", "pull"]);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(s.with_token("GET", "/pull/scim/v2/Users", None, &t).status, 200);
}

#[test]
fn rotation_overlaps_without_downtime() {
    let (_d, s) = server(&["--auth-cache-seconds", "1"]);
    let old = s.cli_json(&["tenants", "create", "rot"]);
    assert_eq!(old["id"], "rot");
    let first = s.cli_json(&["tokens", "issue", "rot", "--label", "okta"]);
    let (t1, id1) = (first["token"].as_str().unwrap().to_owned(), first["id"].as_str().unwrap().to_owned());
    let path = "/rot/scim/v2/Users";
    assert_eq!(s.with_token("GET", path, None, &t1).status, 200);
    let second = s.cli_json(&["tokens", "rotate", "rot", &id1, "--overlap", "1h"]);
    let t2 = second["token"].as_str().unwrap().to_owned();
    // Both work during the overlap, with no pause in between.
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        assert_eq!(s.with_token("GET", path, None, &t1).status, 200, "the old token during the overlap");
        if s.with_token("GET", path, None, &t2).status == 200 {
            break;
        }
    }
    assert_eq!(s.with_token("GET", path, None, &t2).status, 200, "the new token works within seconds");
    let listed = s.cli_json(&["tokens", "list", "rot"]);
    assert!(listed.as_array().unwrap().iter().any(|t| t["id"] == id1.as_str() && t["expires"].is_string()));
    assert!(!listed.to_string().contains(&t1), "listing never shows a token");
    let (ok, _) = s.cli(&["tokens", "issue", "rot"]);
    assert!(!ok, "a third live token is refused");
    s.cli_json(&["tokens", "revoke", "rot", &id1]);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(s.with_token("GET", path, None, &t1).status, 401);
    assert_eq!(s.with_token("GET", path, None, &t2).status, 200);
}

/// With the default auth cache (30 s): how long after `inlet tokens revoke` the token is
/// refused by a server that had it cached. Printed; must be within 60 s.
#[test]
fn revocation_takes_effect_within_a_minute() {
    let (_d, s) = server(&[]);
    let issued = s.cli_json(&{
        s.cli_json(&["tenants", "create", "rev"]);
        ["tokens", "issue", "rev"]
    });
    let token = issued["token"].as_str().unwrap();
    let path = "/rev/scim/v2/Users";
    assert_eq!(s.with_token("GET", path, None, token).status, 200);
    s.cli_json(&["tokens", "revoke", "rev", issued["id"].as_str().unwrap()]);
    let revoked_at = Instant::now();
    while s.with_token("GET", path, None, token).status == 200 {
        assert!(revoked_at.elapsed() < Duration::from_secs(60), "still accepted 60 s after revocation");
        std::thread::sleep(Duration::from_millis(250));
    }
    println!("revocation latency: {:.1} s (auth cache 30 s)", revoked_at.elapsed().as_secs_f64());
}

#[test]
fn over_the_rate_limit_answers_429_with_retry_after() {
    let (_d, s) = server(&["--rate-limit", "5"]);
    let ta = s.tenant_with_token("busy");
    let tb = s.tenant_with_token("calm");
    let statuses: Vec<Resp> = (0..30).map(|_| s.with_token("GET", "/busy/scim/v2/Users", None, &ta)).collect();
    let limited = statuses.iter().find(|r| r.status == 429).expect("a burst of 30 over 5/s is limited");
    assert!(statuses.iter().filter(|r| r.status == 200).count() >= 10, "the burst allowance (2 × rate) passes");
    let retry: u64 = limited.header("Retry-After").unwrap().parse().expect("an integer Retry-After");
    assert!(retry >= 1);
    assert_eq!(limited.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(limited.body["status"], "429");
    assert_eq!(s.with_token("GET", "/calm/scim/v2/Users", None, &tb).status, 200, "other tenants are unaffected");
    std::thread::sleep(Duration::from_secs(retry));
    assert_eq!(s.with_token("GET", "/busy/scim/v2/Users", None, &ta).status, 200, "after Retry-After");
}

#[test]
fn the_cli_manages_tenants_and_tokens() {
    let (_d, s) = server(&[]);
    let created =
        s.cli_json(&["tenants", "create", "acme-emea", "--name", "Acme EMEA", "--send-enrollment-email", "true"]);
    assert_eq!(created["name"], "Acme EMEA");
    assert_eq!(
        created["settings"],
        json!({"mode": "scim", "provisioning": true, "sendEnrollmentEmail": true,
        "includeManuallyProvisionedUsers": false, "readAllUsers": false})
    );
    let (ok, _) = s.cli(&["tenants", "create", "acme-emea"]);
    assert!(!ok, "a tenant is created once");
    let (ok, _) = s.cli(&["tenants", "create", "Acme_EMEA"]);
    assert!(!ok, "tenant ids are URL-safe slugs");
    let (ok, _) = s.cli(&["tenants", "update", "acme-emea", "--mode", "both"]);
    assert!(!ok, "mode is scim or okta-api");
    let updated = s.cli_json(&["tenants", "update", "acme-emea", "--read-all-users", "true"]);
    assert_eq!(
        (updated["settings"]["readAllUsers"].clone(), updated["settings"]["sendEnrollmentEmail"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(s.cli_json(&["tenants", "show", "acme-emea"]), updated);
    let ids: Vec<Value> =
        s.cli_json(&["tenants", "list"]).as_array().unwrap().iter().map(|t| t["id"].clone()).collect();
    assert!(ids.contains(&json!("acme-emea")));
    let (ok, text) = s.cli(&["tenants", "list"]);
    assert!(ok && text.contains("acme-emea") && text.contains("Acme EMEA"));

    let (ok, text) = s.cli(&["tokens", "issue", "acme-emea", "--label", "okta prod"]);
    assert!(ok && text.contains("/acme-emea/scim/v2") && text.contains("shown"), "{text}");
    let token = text.split_whitespace().find(|w| w.starts_with("inlet_")).unwrap();
    assert_eq!(s.with_token("GET", "/acme-emea/scim/v2/Users", None, token).status, 200);
    let (ok, text) = s.cli(&["tokens", "list", "acme-emea"]);
    assert!(ok && text.contains("okta prod") && !text.contains(token) && text.contains("live"), "{text}");
    let listed = s.cli_json(&["tokens", "list", "acme-emea"]);
    assert!(listed[0]["lastUsed"].is_string(), "last use is recorded: {listed}");
    let (ok, _) = s.cli(&["tokens", "revoke", "acme-emea", "tk-unknown"]);
    assert!(!ok);
    let (ok, _) = s.cli(&["tokens", "issue", "nobody"]);
    assert!(!ok, "no tokens for unknown tenants");
    let disabled = s.cli_json(&["tenants", "disable", "acme-emea"]);
    assert_eq!(disabled["status"], "disabled");
}
