use super::*;
use crate::scim::error::ScimType;
use serde_json::json;

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
