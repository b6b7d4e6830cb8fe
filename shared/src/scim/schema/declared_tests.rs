use super::*;
use crate::scim::error::ScimType;
use serde_json::json;
use std::sync::Arc;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn aliases() -> Value {
    json!({
        "schema": USER_SCHEMA, "name": "aliases", "type": "complex", "multiValued": true,
        "subAttributes": [
            {"name": "type", "type": "string", "canonicalValues": ["email"]},
            {"name": "value", "type": "string", "uniqueness": "server"},
        ],
    })
}

fn cost_center() -> Value {
    json!({"schema": ACME, "name": "costCenter", "type": "string"})
}

fn apply(reg: &Registry, attrs: Vec<Value>) -> ScimResult<Registry> {
    reg.apply(&json!({ "attributes": attrs }))
}

fn refused(attrs: Vec<Value>) -> String {
    let e = apply(&Registry::default(), attrs).unwrap_err();
    assert_eq!(e.status, 400);
    e.detail
}

#[test]
fn declared_attributes_extend_the_tenant_schemas() {
    let reg = apply(&Registry::default(), vec![aliases(), cost_center()]).unwrap();
    assert_eq!(reg.version, 1);
    let s = Schemas::of(&reg).unwrap();
    let a = s.user.core_attr("ALIASES").unwrap();
    assert_eq!((a.kind, a.multi, a.since), (AttrType::Complex, true, Some(1)));
    assert_eq!(a.sub_attr("value").unwrap().uniqueness, Uniqueness::Server);
    let ext = s.user.extension(ACME).unwrap();
    assert_eq!((ext.name.as_str(), ext.attributes.len()), ("acme", 1));
    // Groups are untouched; /Schemas lists core User, enterprise, Source, acme, Group.
    assert_eq!(s.group, *GROUP_TYPE);
    let ids: Vec<&str> = s.all().iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, [USER_SCHEMA, ENTERPRISE_SCHEMA, SOURCE_SCHEMA, ACME, GROUP_SCHEMA]);
    // What `show` prints applies again unchanged (versions kept).
    let again = reg.apply(&json!({"attributes": reg.to_json()["attributes"]})).unwrap();
    assert_eq!((again.version, again.attributes[0].since), (2, 1));
    assert_eq!(Schemas::of(&again).unwrap().user, s.user);
}

#[test]
fn invalid_declarations_are_refused_with_the_attribute_named() {
    let d = refused(vec![json!({"schema": USER_SCHEMA, "name": "userName", "type": "string"})]);
    assert!(d.contains("'userName' is a standard attribute"), "{d}");
    let d = refused(vec![json!({"schema": USER_SCHEMA, "name": "ID", "type": "string"})]);
    assert!(d.contains("standard attribute"), "{d}");
    let d = refused(vec![json!({"schema": "acme", "name": "x", "type": "string"})]);
    assert!(d.contains("is not a schema URN"), "{d}");
    let d = refused(vec![json!({"schema": ENTERPRISE_SCHEMA, "name": "x", "type": "string"})]);
    assert!(d.contains("built in"), "{d}");
    let d =
        refused(vec![json!({"schema": "urn:ietf:params:scim:api:messages:2.0:Foo", "name": "x", "type": "string"})]);
    assert!(d.contains("reserved"), "{d}");
    let d = refused(vec![json!({"schema": ACME, "name": "x", "type": "text"})]);
    assert!(d.contains("type 'text' is not one of"), "{d}");
    let d = refused(vec![json!({"schema": ACME, "name": "x"})]);
    assert!(d.contains("'type' is required"), "{d}");
    let d = refused(vec![json!({"schema": ACME, "name": "9x", "type": "string"})]);
    assert!(d.contains("not an attribute name"), "{d}");
    let d = refused(vec![json!({"schema": ACME, "name": "x", "type": "complex"})]);
    assert!(d.contains("needs 'subAttributes'"), "{d}");
    let nested = json!({"schema": ACME, "name": "x", "type": "complex",
        "subAttributes": [{"name": "y", "type": "complex", "subAttributes": [{"name": "z", "type": "string"}]}]});
    assert!(refused(vec![nested]).contains("cannot be complex"));
    let d = refused(vec![json!({"schema": ACME, "name": "x", "type": "boolean", "uniqueness": "server"})]);
    assert!(d.contains("uniqueness"), "{d}");
    let d = refused(vec![json!({"schema": ACME, "name": "x", "type": "string", "uniqueness": "global"})]);
    assert!(d.contains("uniqueness 'global' is not one of"), "{d}");
    let d = refused(vec![
        json!({"schema": ACME, "name": "x", "type": "string", "mutability": "writeOnly", "returned": "default"}),
    ]);
    assert!(d.contains("writeOnly"), "{d}");
    let d = refused(vec![json!({"schema": ACME, "name": "x", "type": "string", "colour": "red"})]);
    assert!(d.contains("unknown field 'colour'"), "{d}");
    let d = refused(vec![cost_center(), json!({"schema": ACME, "name": "COSTCENTER", "type": "string"})]);
    assert!(d.contains("declared twice"), "{d}");
    let group = json!({"schema": ACME, "resourceType": "Group", "name": "y", "type": "string"});
    assert!(refused(vec![cost_center(), group]).contains("one extension schema belongs to one resource type"));
    let wrong = json!({"schema": GROUP_SCHEMA, "resourceType": "User", "name": "y", "type": "string"});
    assert!(refused(vec![wrong]).contains("is the Group schema"));
    let e = Registry::default().apply(&json!({"attrs": []})).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn a_shape_change_needs_a_removal_first_and_then_starts_afresh() {
    let v1 = apply(&Registry::default(), vec![cost_center()]).unwrap();
    let mut changed = cost_center();
    changed["type"] = json!("integer");
    let d = apply(&v1, vec![changed.clone()]).unwrap_err().detail;
    assert!(d.contains("remove it first"), "{d}");
    // A description or canonical values may change in place.
    let mut described = cost_center();
    described["description"] = json!("Where the cost is booked");
    assert_eq!(apply(&v1, vec![described]).unwrap().attributes[0].since, 1);
    let v2 = apply(&v1, vec![]).unwrap();
    let v3 = apply(&v2, vec![changed]).unwrap();
    assert_eq!((v3.version, v3.attributes[0].since), (3, 3));
}

#[test]
fn values_from_before_a_declaration_are_not_the_attribute_s() {
    let v1 = apply(&Registry::default(), vec![cost_center(), aliases()]).unwrap();
    let v3 = apply(&apply(&v1, vec![aliases()]).unwrap(), vec![aliases(), cost_center()]).unwrap();
    let stored = json!({"userName": "u", "aliases": [{"value": "a"}], ACME: {"costCenter": "c"}});
    let Value::Object(stored) = stored else { unreachable!() };
    let s = Schemas::of(&v3).unwrap();
    let mut written_at_1 = stored.clone();
    s.user.retain_current(&mut written_at_1, 1);
    // aliases was never removed (since 1); costCenter was removed and declared again at 3.
    assert_eq!(Value::Object(written_at_1), json!({"userName": "u", "aliases": [{"value": "a"}]}));
    let mut written_at_3 = stored.clone();
    s.user.retain_current(&mut written_at_3, 3);
    assert_eq!(Value::Object(written_at_3), Value::Object(stored));
}

fn tenant(attrs: Vec<Value>) -> Arc<Schemas> {
    Schemas::of(&apply(&Registry::default(), attrs).unwrap()).unwrap()
}

#[test]
fn declared_types_are_checked_and_coerced_like_built_in_ones() {
    use crate::scim::resource::normalize;
    let s = tenant(vec![
        json!({"schema": ACME, "name": "level", "type": "integer"}),
        json!({"schema": ACME, "name": "vip", "type": "boolean"}),
        json!({"schema": ACME, "name": "score", "type": "decimal"}),
        json!({"schema": ACME, "name": "hired", "type": "dateTime"}),
        json!({"schema": USER_SCHEMA, "name": "badges", "type": "string", "multiValued": true}),
    ]);
    let body = json!({"userName": "u", "badges": "gold", "nickname2": "dropped",
        ACME: {"level": "3", "vip": "True", "score": 1.5, "hired": "2024-01-02T03:04:05Z", "other": 1}});
    let out = Value::Object(normalize(&body, &s.user).unwrap());
    assert_eq!(
        out,
        json!({"userName": "u", "badges": ["gold"],
               ACME: {"level": 3, "vip": true, "score": 1.5, "hired": "2024-01-02T03:04:05Z"}})
    );
    for (field, bad) in
        [("level", json!("three")), ("vip", json!("maybe")), ("score", json!("x")), ("hired", json!("soon"))]
    {
        let e = normalize(&json!({"userName": "u", ACME: {field: bad}}), &s.user).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{field}");
        assert!(e.detail.contains(field), "{}", e.detail);
    }
    // Without the declarations, the same body keeps only the built-in attributes.
    let bin = tenant(vec![json!({"schema": ACME, "name": "photo", "type": "binary"})]);
    assert!(normalize(&json!({"userName": "u", ACME: {"photo": "aGVsbG8="}}), &bin.user).is_ok());
    let e = normalize(&json!({"userName": "u", ACME: {"photo": "%% not base64"}}), &bin.user).unwrap_err();
    assert!(e.detail.contains("'photo' must be base64"), "{}", e.detail);
    let e = normalize(&json!({"userName": "u", ACME: {"level": 4.5}}), &s.user).unwrap_err();
    assert_eq!(e.detail, "'level' must be an integer");
    let plain = normalize(&body, &USER_TYPE).unwrap();
    assert_eq!(Value::Object(plain), json!({"userName": "u"}));
}

#[test]
fn returned_mutability_and_required_are_honoured() {
    use crate::scim::patch::{apply as patch, parse};
    use crate::scim::projection::Projection;
    use crate::scim::resource::{check_immutable, normalize};
    let s = tenant(vec![
        json!({"schema": USER_SCHEMA, "name": "pin", "type": "string", "mutability": "writeOnly"}),
        json!({"schema": USER_SCHEMA, "name": "badge", "type": "string", "returned": "request"}),
        json!({"schema": USER_SCHEMA, "name": "employeeKey", "type": "string", "mutability": "immutable"}),
        json!({"schema": ACME, "name": "region", "type": "string", "required": true}),
    ]);
    let rt = &s.user;
    let e = normalize(&json!({"userName": "u"}), rt).unwrap_err();
    assert_eq!(e.detail, format!("'{ACME}:region' is required"));
    let attrs = normalize(
        &json!({"userName": "u", "pin": "1234", "badge": "b", "employeeKey": "k", ACME: {"region": "eu"}}),
        rt,
    )
    .unwrap();
    let shown = Projection::default().apply(Value::Object(attrs.clone()), rt);
    assert!(shown.get("pin").is_none() && shown.get("badge").is_none() && shown["employeeKey"] == "k", "{shown}");
    let asked = Projection::parse(Some("badge,pin"), None, rt).unwrap().apply(Value::Object(attrs.clone()), rt);
    assert_eq!(asked["badge"], "b");
    assert!(asked.get("pin").is_none());
    // Immutable: set once, kept; required: cannot be removed by a PATCH...
    let mut changed = attrs.clone();
    changed.insert("employeeKey".into(), json!("other"));
    assert_eq!(check_immutable(&attrs, &changed, rt).unwrap_err().scim_type, Some(ScimType::Mutability));
    // A PUT that leaves it out keeps it.
    let mut put = normalize(&json!({"userName": "u2", ACME: {"region": "us"}}), rt).unwrap();
    crate::scim::resource::keep_immutable(&attrs, &mut put, rt);
    assert_eq!(put["employeeKey"], "k");
    assert!(check_immutable(&attrs, &put, rt).is_ok());
    let remove = parse(&json!({"Operations": [{"op": "remove", "path": format!("{ACME}:region")}]}), rt).unwrap();
    let mut copy = attrs.clone();
    assert!(patch(&mut copy, &remove, rt).is_err());
    // ...but is not demanded of a record that never had it (declared after it was written).
    let mut old = normalize(&json!({"userName": "u", ACME: {"region": "eu"}}), rt).unwrap();
    old.remove(ACME);
    let deactivate = parse(&json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}), rt).unwrap();
    assert!(patch(&mut old, &deactivate, rt).is_ok());
}

#[test]
fn filters_sort_keys_and_discovery_see_declared_attributes() {
    use crate::scim::discovery::{resource_types, schemas};
    use crate::scim::filter::{matches, parse};
    let s = tenant(vec![aliases(), cost_center()]);
    let user = json!({"userName": "u", "aliases": [{"type": "email", "value": "A@x"}], ACME: {"costCenter": "CC-1"}});
    for f in [
        r#"aliases.value eq "a@x""#,
        r#"aliases[type eq "email" and value sw "a"]"#,
        &format!(r#"{ACME}:costCenter eq "CC-1""#),
        "aliases pr",
    ] {
        assert!(matches(&parse(f, &s.user).unwrap(), &user, &s.user), "{f}");
    }
    assert!(!matches(&parse(r#"aliases.value eq "a@x""#, &USER_TYPE).unwrap(), &user, &USER_TYPE));
    let all = schemas("https://x/t/scim/v2", None, &s).unwrap();
    assert_eq!(all.len(), 5);
    let core = schemas("b", Some(USER_SCHEMA), &s).unwrap().pop().unwrap();
    let declared = core["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "aliases").unwrap().clone();
    assert_eq!(declared["subAttributes"][1]["uniqueness"], "server");
    assert_eq!(declared["multiValued"], true);
    let ext = schemas("b", Some(ACME), &s).unwrap().pop().unwrap();
    assert_eq!(ext["attributes"][0]["name"], "costCenter");
    let rt = resource_types("b", Some("User"), &s).unwrap().pop().unwrap();
    let exts: Vec<&str> =
        rt["schemaExtensions"].as_array().unwrap().iter().filter_map(|e| e["schema"].as_str()).collect();
    assert!(exts.contains(&ACME), "{exts:?}");
    assert!(schemas("b", Some(ACME), &Schemas::builtin()).is_none());
}
