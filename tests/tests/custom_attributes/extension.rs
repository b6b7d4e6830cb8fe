//! An Entra-style extension attribute: no-path PATCH with URN-qualified keys, filter, sort.

use super::{ACME, CORE, COST, Tenant, cost_decl, server};
use serde_json::json;

#[test]
fn entra_extension_attribute_through_no_path_patch() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "entra");
    t.declare(json!([cost_decl()]));
    let user = |name: &str| json!({"schemas": [CORE], "userName": name, "active": true, "externalId": name});
    let first = t.create(&user("first@contoso.com"))["id"].as_str().unwrap().to_owned();
    // Entra's POST: the extension's attributes in its object, its URN in `schemas`.
    let mut body = user("second@contoso.com");
    body["schemas"] = json!([CORE, ACME]);
    body[ACME] = json!({"costCenter": "CC-2"});
    let created = t.create(&body);
    assert_eq!(created[ACME]["costCenter"], "CC-2");
    let second = created["id"].as_str().unwrap().to_owned();

    // Entra: `Add` with no path and the URN-qualified attribute as the key.
    let got = t.patched(&first, json!([{"op": "Add", "value": {COST: "CC-7"}}]));
    assert_eq!(got[ACME], json!({"costCenter": "CC-7"}));
    assert!(got["schemas"].as_array().unwrap().contains(&json!(ACME)), "{got}");
    let got = t.patched(&second, json!([{"op": "Replace", "path": COST, "value": "CC-3"}]));
    assert_eq!(got[ACME]["costCenter"], "CC-3");

    assert_eq!(t.find(&format!(r#"{COST} eq "CC-7""#), ""), [first.as_str()]);
    assert_eq!(t.find(&format!(r#"{COST} eq "cc-3""#), ""), [second.as_str()], "caseExact false");
    assert_eq!(t.find(&format!("{COST} pr"), &format!("&sortBy={COST}")), [second.as_str(), first.as_str()]);
    let desc = format!("&sortBy={COST}&sortOrder=descending");
    assert_eq!(t.find(&format!("{COST} pr"), &desc), [first.as_str(), second.as_str()]);

    // Removing it (Entra's `Remove` with the URN path) takes the extension out of `schemas`.
    let got = t.patched(&first, json!([{"op": "Remove", "path": COST}]));
    assert!(got.get(ACME).is_none() && !got["schemas"].as_array().unwrap().contains(&json!(ACME)), "{got}");
}
