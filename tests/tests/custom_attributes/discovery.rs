//! `/Schemas` and `/ResourceTypes` against RFC 7643 §7 and its schema for schemas (§8.7.2).

use super::{ACME, CORE, Tenant, aliases_decl, cost_decl, server};
use serde_json::{Value, json};

/// RFC 7643 §7 (and its schema for schemas, §8.7.2): what every attribute definition holds.
fn check_attribute(a: &Value, at: &str) {
    let at = format!("{at}.{}", a["name"].as_str().unwrap_or_else(|| panic!("{at}: an attribute without a name: {a}")));
    let kind = a["type"].as_str().unwrap();
    let types = ["string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"];
    assert!(types.contains(&kind), "{at}: type {kind}");
    for flag in ["multiValued", "required", "caseExact"] {
        assert!(a[flag].is_boolean(), "{at}: {flag} is {}", a[flag]);
    }
    assert!(a["description"].is_string(), "{at}: description {}", a["description"]);
    let one_of = |key: &str, values: &[&str]| {
        assert!(a[key].as_str().is_some_and(|v| values.contains(&v)), "{at}: {key} {}", a[key]);
    };
    one_of("mutability", &["readOnly", "readWrite", "immutable", "writeOnly"]);
    one_of("returned", &["always", "never", "default", "request"]);
    one_of("uniqueness", &["none", "server", "global"]);
    if let Some(values) = a.get("canonicalValues") {
        assert!(values.as_array().unwrap().iter().all(Value::is_string), "{at}: canonicalValues {values}");
    }
    match a.get("referenceTypes") {
        Some(r) => assert!(kind == "reference" && !r.as_array().unwrap().is_empty(), "{at}: referenceTypes {r}"),
        None => assert_ne!(kind, "reference", "{at}: a reference without referenceTypes"),
    }
    match a.get("subAttributes") {
        Some(sub) => {
            assert_eq!(kind, "complex", "{at}: subAttributes on a {kind}");
            for s in sub.as_array().unwrap() {
                assert!(s.get("subAttributes").is_none(), "{at}: a sub-attribute with sub-attributes");
                check_attribute(s, &at);
            }
        }
        None => assert_ne!(kind, "complex", "{at}: a complex attribute without subAttributes"),
    }
}

/// `served` carries every field of `declared` (sub-attributes matched by name) unchanged.
fn assert_as_declared(served: &Value, declared: &Value) {
    for (k, v) in declared.as_object().unwrap() {
        match k.as_str() {
            "schema" | "resourceType" => {}
            "subAttributes" => {
                for d in v.as_array().unwrap() {
                    let s = served[k].as_array().unwrap().iter().find(|s| s["name"] == d["name"]);
                    assert_as_declared(s.unwrap_or_else(|| panic!("{} not served: {served}", d["name"])), d);
                }
            }
            _ => assert_eq!(&served[k], v, "{}.{k}: {served}", declared["name"]),
        }
    }
}

fn schema_attr<'v>(schema: &'v Value, name: &str) -> Option<&'v Value> {
    schema["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name)
}

#[test]
fn schemas_describe_declared_attributes_as_rfc_7643_defines() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "described");
    let homepage = json!({"schema": CORE, "name": "homepage", "type": "reference", "referenceTypes": ["external"],
                          "description": "Their page", "returned": "request", "mutability": "immutable"});
    let code = json!({"schema": "urn:ietf:params:scim:schemas:extension:acme:2.0:Group", "resourceType": "Group",
                      "name": "costCode", "type": "integer", "uniqueness": "server", "required": true,
                      "description": "Budget code"});
    let declared = [aliases_decl(), cost_decl(), homepage, code];
    t.declare(json!(declared));
    let plain = Tenant::new(&s, "plain");

    let all = t.scim("GET", "/Schemas", None).body;
    assert_eq!(all["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]), "{all}");
    let schemas = all["Resources"].as_array().unwrap();
    assert_eq!(all["totalResults"], schemas.len());
    for schema in schemas {
        let id = schema["id"].as_str().unwrap();
        assert!(schema["name"].is_string() && id.starts_with("urn:"), "{schema}");
        assert_eq!(schema["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]), "{id}");
        assert_eq!(schema["meta"]["resourceType"], "Schema", "{id}");
        let attrs = schema["attributes"].as_array().unwrap();
        assert!(!attrs.is_empty(), "{id}");
        attrs.iter().for_each(|a| check_attribute(a, id));
    }
    let by_id = |id: &str| schemas.iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("{id} not in /Schemas"));
    for d in &declared {
        let schema = by_id(d["schema"].as_str().unwrap());
        assert_as_declared(schema_attr(schema, d["name"].as_str().unwrap()).unwrap(), d);
    }
    // Declared core attributes are appended; the built-in ones are all still there.
    let core = by_id(CORE);
    assert!(schema_attr(core, "userName").is_some() && schema_attr(core, "emails").is_some());
    let one = t.scim("GET", &format!("/Schemas/{ACME}"), None);
    assert_eq!(one.status, 200, "{}", one.raw);
    assert_eq!(&one.body, by_id(ACME));
    assert_eq!(one.body["attributes"].as_array().unwrap().len(), 1);

    let extensions = |tenant: &Tenant, rt: &str| -> Vec<String> {
        let r = tenant.scim("GET", &format!("/ResourceTypes/{rt}"), None);
        assert_eq!(r.status, 200, "{}", r.raw);
        r.body["schemaExtensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["schema"].as_str().unwrap().to_owned())
            .collect()
    };
    let user_ext = t.scim("GET", "/ResourceTypes/User", None).body;
    let acme = user_ext["schemaExtensions"].as_array().unwrap().iter().find(|e| e["schema"] == ACME);
    assert_eq!(acme, Some(&json!({"schema": ACME, "required": false})), "{user_ext}");
    assert!(extensions(&t, "Group").contains(&"urn:ietf:params:scim:schemas:extension:acme:2.0:Group".to_owned()));
    let listed = t.scim("GET", "/ResourceTypes", None).body;
    assert!(listed.to_string().contains(ACME), "{listed}");

    // Another tenant of the same server sees none of it.
    let theirs = plain.scim("GET", "/Schemas", None).body;
    let theirs_core = theirs["Resources"].as_array().unwrap().iter().find(|s| s["id"] == CORE).unwrap();
    assert!(schema_attr(theirs_core, "aliases").is_none() && schema_attr(theirs_core, "homepage").is_none());
    assert!(!theirs.to_string().contains("acme"), "{theirs}");
    assert_eq!(plain.scim("GET", &format!("/Schemas/{ACME}"), None).status, 404);
    assert!(!extensions(&plain, "User").contains(&ACME.to_owned()));

    // `inlet schema show`: one line per attribute and sub-attribute.
    let (ok, text) = s.cli(&["schema", "show", "described"]);
    assert!(ok);
    let rows: Vec<Vec<&str>> = text.lines().skip(2).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 6, "{text}");
    assert_eq!(rows[2], ["User", CORE, "aliases.value", "string", "false", "server", "false", "1"], "{text}");
    let group = "urn:ietf:params:scim:schemas:extension:acme:2.0:Group";
    assert_eq!(rows[5], ["Group", group, "costCode", "integer", "false", "server", "true", "1"], "{text}");
}

/// An extension with a required attribute must be sent on every create (the POST is refused
/// without it), so `/ResourceTypes` must say the extension is required (RFC 7643 §6: a
/// non-required extension may be left out of a resource).
#[test]
fn an_extension_with_a_required_attribute_is_a_required_extension() {
    let (s, _dir) = server();
    let t = Tenant::new(&s, "strict");
    t.declare(json!([{"schema": ACME, "name": "division", "type": "string", "required": true}]));
    let r = t.scim("POST", "/Users", Some(&json!({"schemas": [CORE], "userName": "new@acme.com"})));
    assert_eq!(r.status, 400, "{}", r.raw);
    let rt = t.scim("GET", "/ResourceTypes/User", None).body;
    let ext = rt["schemaExtensions"].as_array().unwrap().iter().find(|e| e["schema"] == ACME).cloned();
    assert_eq!(ext, Some(json!({"schema": ACME, "required": true})), "{rt}");
}
