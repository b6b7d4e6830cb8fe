//! Declared types are checked; `returned` (request, never, writeOnly) is honoured.

use super::{ACME, CORE, Tenant, encode, server};
use serde_json::json;

#[test]
fn declared_types_are_checked_and_returned_is_honoured() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "typed");
    t.declare(json!([
        {"schema": CORE, "name": "seniority", "type": "integer"},
        {"schema": CORE, "name": "contractor", "type": "boolean"},
        {"schema": CORE, "name": "badge", "type": "string", "returned": "request"},
        {"schema": CORE, "name": "pin", "type": "string", "mutability": "writeOnly"},
        {"schema": ACME, "name": "vault", "type": "string", "returned": "never"},
    ]));
    let base = json!({"schemas": [CORE], "userName": "typed@acme.com"});
    for (attr, bad) in [("seniority", json!("seven")), ("contractor", json!("yes")), ("seniority", json!(true))] {
        let mut body = base.clone();
        body[attr] = bad;
        let r = t.scim("POST", "/Users", Some(&body));
        assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{}", r.raw);
        assert!(r.body["detail"].as_str().unwrap().contains(attr), "{}", r.raw);
    }
    let mut body = base.clone();
    for (k, v) in
        [("seniority", json!(7)), ("contractor", json!(true)), ("badge", json!("B-1")), ("pin", json!("1234"))]
    {
        body[k] = v;
    }
    body[ACME] = json!({"vault": "secret"});
    body["favouriteColour"] = json!("blue");
    let created = t.create(&body);
    let id = created["id"].as_str().unwrap();
    for shown in [&created, &t.get(id, "")] {
        assert_eq!((&shown["seniority"], &shown["contractor"]), (&json!(7), &json!(true)), "{shown}");
        for hidden in ["badge", "pin", ACME, "favouriteColour"] {
            assert!(shown.get(hidden).is_none(), "{hidden} shown: {shown}");
        }
    }
    assert_eq!(t.get(id, "?attributes=badge")["badge"], "B-1");
    let listed = t.scim("GET", "/Users?attributes=badge,userName", None).body;
    assert_eq!(listed["Resources"][0]["badge"], "B-1", "{listed}");
    for never in ["pin", &format!("{ACME}:vault")] {
        let got = t.get(id, &format!("?attributes={}", encode(never)));
        assert!(got.get("pin").is_none() && got.get(ACME).is_none(), "{got}");
    }
    assert!(t.get(id, "?excludedAttributes=seniority").get("seniority").is_none());
    // Stored all the same: a filter on the request-only attribute finds the user.
    assert_eq!(t.find(r#"badge eq "B-1""#, ""), [id]);
    assert_eq!(t.find("seniority gt 5", ""), [id]);
    assert!(t.find("seniority lt 5", "").is_empty());
}

/// RFC 7643 §2.3.6: a binary value is base64-encoded; anything else is not of the declared type.
#[test]
fn binary_values_must_be_base64() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "binary");
    t.declare(json!([{"schema": CORE, "name": "photoBytes", "type": "binary"}]));
    let ok = t.create(&json!({"schemas": [CORE], "userName": "a@acme.com", "photoBytes": "aGVsbG8="}));
    assert_eq!(ok["photoBytes"], "aGVsbG8=");
    let bad = json!({"schemas": [CORE], "userName": "b@acme.com", "photoBytes": "%%% not base64"});
    let r = t.scim("POST", "/Users", Some(&bad));
    assert_eq!((r.status, r.body["scimType"].as_str()), (400, Some("invalidValue")), "{}", r.raw);
    assert!(r.body["detail"].as_str().unwrap().contains("photoBytes"), "{}", r.raw);
}
