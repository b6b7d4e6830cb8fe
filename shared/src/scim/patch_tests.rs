use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::{ENTERPRISE_SCHEMA, GROUP_TYPE, USER_TYPE};
use serde_json::json;

fn user() -> Map<String, Value> {
    match json!({
        "userName": "bjensen", "active": true, "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@work.example", "type": "work", "primary": true}, {"value": "b@home.example", "type": "home"}],
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn run(attrs: &mut Map<String, Value>, body: Value, rt: &ResourceType) -> ScimResult<Vec<MemberOp>> {
    let ops = parse(&body, rt)?;
    let mut copy = attrs.clone();
    let members = apply(&mut copy, &ops, rt)?;
    *attrs = copy;
    Ok(members)
}

fn patch(ops: Value) -> ScimResult<Map<String, Value>> {
    let mut u = user();
    run(&mut u, json!({"schemas": [crate::scim::schema::PATCH_OP], "Operations": ops}), &USER_TYPE)?;
    Ok(u)
}

#[test]
fn okta_no_path_deactivate() {
    let u = patch(json!([{"op": "replace", "value": {"active": false}}])).unwrap();
    assert_eq!(u["active"], json!(false));
}

#[test]
fn entra_capitalised_ops_and_string_booleans() {
    let u = patch(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
    assert_eq!(u["active"], json!(false));
    let u = patch(json!([{"op": "Add", "path": "title", "value": "Boss"}])).unwrap();
    assert_eq!(u["title"], json!("Boss"));
}

#[test]
fn value_filter_paths_edit_and_create_elements() {
    let u = patch(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work.example"}]))
        .unwrap();
    assert_eq!(u["emails"][0]["value"], json!("new@work.example"));
    assert_eq!(u["emails"][1]["value"], json!("b@home.example"));
    let u = patch(json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"}])).unwrap();
    assert_eq!(u["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555"}]));
    let u = patch(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}])).unwrap();
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(1));
    let e = patch(json!([{"op": "replace", "path": "emails[type eq \"other\" or type eq \"x\"].value", "value": "z"}]))
        .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
}

#[test]
fn entra_no_path_replace_with_dotted_and_urn_keys() {
    let u = patch(json!([{"op": "Replace", "value": {
        "name.givenName": "Babs",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m-1",
        "id": "ignored",
    }}]))
    .unwrap();
    assert_eq!(u["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
    assert_eq!(u[ENTERPRISE_SCHEMA], json!({"employeeNumber": "701984", "manager": {"value": "m-1"}}));
}

#[test]
fn urn_qualified_paths_and_complex_merge() {
    let u = patch(json!([
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Ops"},
        {"op": "replace", "path": "name", "value": {"familyName": "J"}},
    ]))
    .unwrap();
    assert_eq!(u[ENTERPRISE_SCHEMA]["department"], json!("Ops"));
    assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "J"}));
    let u = patch(
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]),
    )
    .unwrap();
    assert!(!u.contains_key(ENTERPRISE_SCHEMA));
}

#[test]
fn add_to_multi_valued_appends_and_moves_primary() {
    let u =
        patch(json!([{"op": "add", "path": "emails", "value": [{"value": "c@x", "type": "other", "primary": true}]}]))
            .unwrap();
    let emails = u["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), 3);
    assert_eq!(emails.iter().filter(|e| e["primary"] == json!(true)).count(), 1);
    assert_eq!(emails[2]["value"], json!("c@x"));
}

#[test]
fn entra_remove_with_value_list() {
    let u = patch(json!([{"op": "Remove", "path": "emails", "value": [{"value": "b@home.example"}]}])).unwrap();
    assert_eq!(u["emails"], json!([{"value": "b@work.example", "type": "work", "primary": true}]));
}

#[test]
fn mutability_and_syntax_errors_leave_resource_unchanged() {
    let cases = [
        (json!([{"op": "replace", "path": "id", "value": "x"}]), ScimType::Mutability),
        (json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]), ScimType::Mutability),
        (json!([{"op": "remove", "path": "userName"}]), ScimType::InvalidValue),
        (json!([{"op": "remove"}]), ScimType::NoTarget),
        (json!([{"op": "jump", "path": "title", "value": "x"}]), ScimType::InvalidSyntax),
        (json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]), ScimType::InvalidPath),
        (json!([{"op": "replace", "path": "active", "value": "perhaps"}]), ScimType::InvalidValue),
        (json!([]), ScimType::InvalidSyntax),
    ];
    for (ops, want) in cases {
        let mut u = user();
        let body = json!({"Operations": ops});
        let err = run(&mut u, body, &USER_TYPE).unwrap_err();
        assert_eq!(err.scim_type, Some(want), "{ops}");
        assert_eq!(u, user());
    }
}

#[test]
fn password_and_unknown_attributes_are_ignored() {
    let u = patch(json!([{"op": "replace", "path": "password", "value": "hunter2"}, {"op": "add", "path": "titel", "value": "x"}])).unwrap();
    assert_eq!(u, user());
}

#[test]
fn group_member_operations() {
    let mut g = match json!({"displayName": "Eng"}) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let ops = run(
        &mut g,
        json!({"Operations": [
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u2", "display": "Two"}, "u3"]},
            {"op": "Remove", "path": "members", "value": [{"value": "u4"}]},
            {"op": "remove", "path": "members[display eq \"x\"]"},
            {"op": "replace", "value": {"id": "gid", "displayName": "Engineering", "members": [{"value": "u9"}]}},
            {"op": "remove", "path": "members"},
        ]}),
        &GROUP_TYPE,
    )
    .unwrap();
    assert_eq!(g["displayName"], json!("Engineering"));
    assert!(!g.contains_key("members"));
    assert_eq!(ops.len(), 6);
    assert_eq!(ops[0], MemberOp::Remove(vec!["u1".into()]));
    assert_eq!(
        ops[1],
        MemberOp::Add(vec![
            MemberRef { value: "u2".into(), display: Some("Two".into()) },
            MemberRef { value: "u3".into(), display: None }
        ])
    );
    assert_eq!(ops[2], MemberOp::Remove(vec!["u4".into()]));
    assert!(matches!(ops[3], MemberOp::RemoveWhere(_)));
    assert_eq!(ops[4], MemberOp::Replace(vec![MemberRef { value: "u9".into(), display: None }]));
    assert_eq!(ops[5], MemberOp::Replace(Vec::new()));
}

#[test]
fn extension_urn_paths_apply_or_remove_the_whole_extension() {
    let add = json!([{"op": "add", "path": ENTERPRISE_SCHEMA, "value": {"employeeNumber": "42", "department": "D"}}]);
    let u = patch(add).unwrap();
    assert_eq!(u[ENTERPRISE_SCHEMA], json!({"employeeNumber": "42", "department": "D"}));
    let mut u = u;
    let replace = json!({"Operations": [{"op": "replace", "path": ENTERPRISE_SCHEMA.to_uppercase(), "value": {"department": "E"}}]});
    run(&mut u, replace, &USER_TYPE).unwrap();
    assert_eq!(u[ENTERPRISE_SCHEMA], json!({"employeeNumber": "42", "department": "E"}));
    run(&mut u, json!({"Operations": [{"op": "remove", "path": ENTERPRISE_SCHEMA}]}), &USER_TYPE).unwrap();
    assert!(!u.contains_key(ENTERPRISE_SCHEMA));
    let e = patch(json!([{"op": "add", "path": ENTERPRISE_SCHEMA, "value": "42"}])).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn large_adds_and_removes_stay_linear_and_deduplicate() {
    let emails: Vec<Value> = (0..20_000).map(|i| json!({"value": format!("u{i}@x.example")})).collect();
    let started = std::time::Instant::now();
    let mut u = patch(json!([{"op": "add", "path": "emails", "value": emails.clone()}])).unwrap();
    run(&mut u, json!({"Operations": [{"op": "add", "path": "emails", "value": emails.clone()}]}), &USER_TYPE).unwrap();
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(20_002));
    run(&mut u, json!({"Operations": [{"op": "Remove", "path": "emails", "value": emails}]}), &USER_TYPE).unwrap();
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(2));
    // Quadratic work on 20k values takes minutes in a debug build; linear takes well under one.
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}
