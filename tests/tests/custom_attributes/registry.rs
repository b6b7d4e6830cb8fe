//! Registry changes on a tenant with users, and declarations `inlet schema apply` refuses.

use super::{ACME, CORE, COST, Run, Tenant, alias_values, aliases_decl, cost_decl, okta_user, server};
use serde_json::{Value, json};

#[test]
fn registry_changes_apply_to_existing_users_as_documented() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "changing");
    // Before any declaration, aliases are dropped like any unknown attribute.
    let bob = t.create(&okta_user("bob@acme.com", &["early@acme.com"]));
    let id = bob["id"].as_str().unwrap();
    assert!(bob.get("aliases").is_none(), "{bob}");

    // Declared on a tenant with a user: the user is unchanged, then can be given aliases.
    t.declare(json!([aliases_decl()]));
    assert!(t.get(id, "").get("aliases").is_none());
    assert!(t.find(r#"aliases.value eq "early@acme.com""#, "").is_empty());
    let add = json!([{"op": "add", "path": "aliases", "value": [{"type": "email", "value": "first@acme.com"}]}]);
    t.patched(id, add);
    assert_eq!(t.find(r#"aliases.value eq "first@acme.com""#, ""), [id]);

    // A shape change in place is refused and changes nothing.
    let v2 = t.declare(json!([aliases_decl(), cost_decl()]));
    assert_eq!(v2["attributes"][0]["declaredInVersion"], 1, "{v2}");
    assert_eq!(v2["attributes"][1]["declaredInVersion"], 2, "{v2}");
    let mut case_exact = aliases_decl();
    case_exact["subAttributes"][1]["caseExact"] = json!(true);
    let mut retyped = cost_decl();
    retyped["type"] = json!("integer");
    for changed in [json!([case_exact, cost_decl()]), json!([aliases_decl(), retyped])] {
        let Run(ok, _, err) = t.apply(&json!({ "attributes": changed }));
        assert!(!ok && err.contains("remove it first"), "{err}");
        assert_eq!(t.show(), v2);
    }
    assert!(
        !t.apply(&json!({"attributes": [aliases_decl(), {"schema": ACME, "name": "CostCenter", "type": "string"}]})).0
    );
    // Whatever else changes (description, returned) is changed in place.
    let mut described = cost_decl();
    described["description"] = json!("Where the cost goes");
    assert_eq!(t.declare(json!([aliases_decl(), described]))["attributes"][1]["description"], "Where the cost goes");
    t.patched(id, json!([{"op": "add", "value": {COST: "CC-1"}}]));

    // Removed: its values are hidden at once, not filterable, not accepted.
    t.declare(json!([cost_decl()]));
    let got = t.get(id, "");
    assert!(got.get("aliases").is_none(), "{got}");
    assert_eq!(got[ACME]["costCenter"], "CC-1");
    assert!(t.find(r#"aliases.value eq "first@acme.com""#, "").is_empty());
    let got =
        t.patched(id, json!([{"op": "add", "path": "aliases", "value": [{"type": "email", "value": "x@acme.com"}]}]));
    assert!(got.get("aliases").is_none(), "{got}");

    // Declared again: it starts afresh; the old values stay hidden and are nobody's.
    let again = t.declare(json!([cost_decl(), aliases_decl()]));
    assert_eq!(again["attributes"][1]["declaredInVersion"], again["version"], "{again}");
    assert!(t.get(id, "").get("aliases").is_none());
    assert!(t.find(r#"aliases.value eq "first@acme.com""#, "").is_empty());
    let carol = t.create(&okta_user("carol@acme.com", &["first@acme.com"]));
    assert_eq!(t.find(r#"aliases.value eq "first@acme.com""#, ""), [carol["id"].as_str().unwrap()]);
    let got = t.patched(
        id,
        json!([{"op": "add", "path": "aliases", "value": [{"type": "email", "value": "second@acme.com"}]}]),
    );
    assert_eq!(alias_values(&got), ["second@acme.com"], "{got}");

    // A required attribute declared later: demanded of new records, not of a PATCH to old ones.
    t.declare(
        json!([cost_decl(), aliases_decl(), {"schema": ACME, "name": "division", "type": "string", "required": true}]),
    );
    let r = t.scim("POST", "/Users", Some(&okta_user("dan@acme.com", &[])));
    assert_eq!(r.status, 400, "{}", r.raw);
    assert!(r.body["detail"].as_str().unwrap().contains("division"), "{}", r.raw);
    assert_eq!(t.patched(id, json!([{"op": "replace", "value": {"active": false}}]))["active"], false);
    let mut dan = okta_user("dan@acme.com", &[]);
    dan[ACME] = json!({"division": "Sales"});
    t.create(&dan);
}

#[test]
fn bad_declarations_are_refused_by_name() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "refused");
    let cases = [
        (json!({"attributes": [{"schema": CORE, "name": "userName", "type": "string"}]}), "userName"),
        (json!({"attributes": [{"schema": CORE, "name": "Emails", "type": "string"}]}), "Emails"),
        (json!({"attributes": [{"schema": "acme-custom", "name": "costCenter", "type": "string"}]}), "acme-custom"),
        (
            json!({"attributes": [{"schema": "urn:ietf:params:scim:schemas:core:2.0:Group", "resourceType": "User",
                                "name": "badge", "type": "string"}]}),
            "badge",
        ),
        (json!({"attributes": [{"schema": ACME, "name": "costCenter", "type": "text"}]}), "text"),
        (json!({"attributes": [{"schema": ACME, "name": "flag", "type": "boolean", "uniqueness": "server"}]}), "flag"),
        (json!({"attributes": [{"schema": ACME, "name": "tags", "type": "complex"}]}), "tags"),
        (json!({"attributes": [cost_decl(), cost_decl()]}), "costCenter"),
        (json!({"attribute": []}), "attributes"),
    ];
    for (doc, named) in cases {
        let Run(ok, out, err) = t.apply(&doc);
        assert!(!ok, "{doc} was accepted: {out}");
        assert!(err.contains(named), "{doc}: the message does not name {named}: {err}");
    }
    // A relative --file is the caller's file, also when a running server runs the command.
    let here = tempfile::tempdir().unwrap();
    std::fs::write(here.path().join("bad.json"), json!({"attributes": [{"schema": "x", "name": "y"}]}).to_string())
        .unwrap();
    let Run(ok, _, err) = t.cli_in(here.path(), &["schema", "apply", "refused", "--file", "bad.json"], "");
    assert!(!ok && err.contains("not a schema URN"), "{err}");
    let Run(ok, _, err) = t.cli(&["schema", "apply", "refused", "--file", "-"], "{not json");
    assert!(!ok && err.contains("not JSON"), "{err}");
    let Run(ok, _, err) = t.cli(&["schema", "show", "nobody"], "");
    assert!(!ok && err.contains("nobody"), "{err}");
    let too_many: Vec<Value> = (0..9)
        .map(|i| json!({"schema": ACME, "name": format!("code{i}"), "type": "string", "uniqueness": "server"}))
        .collect();
    let Run(ok, _, err) = t.apply(&json!({ "attributes": too_many }));
    assert!(!ok && err.contains('8'), "{err}");
    assert_eq!(t.show(), json!({"version": 0, "attributes": []}));
}
