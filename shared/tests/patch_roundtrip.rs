//! Property tests of PATCH over generated users and groups, with operations drawn from the
//! paths the schema defines (simple, complex sub-attributes, multi-valued with value filters,
//! enterprise-extension URNs, no-path objects):
//! - whatever `apply` accepts is canonical: rendered, serialised and normalised again, it
//!   gives back the same attributes;
//! - `replace` is idempotent (RFC 7644 §3.5.2.3): applying it twice equals applying it once.
//!
//! The seed is fixed so CI sees the same cases every run; `PROPTEST_RNG_SEED=<n>` (and
//! `PROPTEST_CASES`) explore others.

use inlet_shared::domain::records::Stored;
use inlet_shared::scim::patch::{MemberOp, apply, parse};
use inlet_shared::scim::resource::normalize;
use inlet_shared::scim::schema::{ENTERPRISE_SCHEMA, GROUP_TYPE, PATCH_OP, ResourceType, USER_TYPE};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::{Map, Value, json};

const BASE: &str = "https://example.com/t/scim/v2";

fn config() -> Config {
    let base = Config::default();
    let rng_seed = match std::env::var_os("PROPTEST_RNG_SEED") {
        Some(_) => base.rng_seed,
        None => RngSeed::Fixed(0x1a7e_5c1e),
    };
    Config { failure_persistence: None, rng_seed, ..base }
}

// ---- generated resources ----

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9@.]{1,8}"
}

/// Canonical and non-canonical `type` values (type is not case-exact, so `Work` matches `work`).
fn kind() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["work", "home", "other", "mobile", "Work"])
}

/// Booleans as Okta (true) and Entra ("True") write them.
fn boolean() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::from),
        prop::sample::select(vec!["True", "False", "true"]).prop_map(Value::from)
    ]
}

fn typed_value() -> impl Strategy<Value = Value> {
    (word(), prop::option::of(kind()), prop::option::of(any::<bool>()), prop::option::of(word())).prop_map(
        |(value, kind, primary, display)| {
            let mut m = Map::new();
            m.insert("value".into(), json!(value));
            kind.map(|k| m.insert("type".into(), json!(k)));
            primary.map(|p| m.insert("primary".into(), json!(p)));
            display.map(|d| m.insert("display".into(), json!(d)));
            Value::Object(m)
        },
    )
}

fn address() -> impl Strategy<Value = Value> {
    (prop::option::of(kind()), prop::option::of(word()), prop::option::of(word()), any::<bool>())
        .prop_map(|(kind, locality, street, primary)| json!({"type": kind, "locality": locality, "streetAddress": street, "primary": primary}))
}

fn enterprise() -> impl Strategy<Value = Value> {
    (prop::option::of(word()), prop::option::of(word()), prop::option::of(word())).prop_map(
        |(department, number, manager)| json!({"department": department, "employeeNumber": number, "manager": manager}),
    )
}

fn user() -> impl Strategy<Value = Value> {
    (
        (word(), prop::option::of(word()), prop::option::of(word()), prop::option::of(boolean())),
        (prop::option::of(word()), prop::option::of(word())),
        prop::collection::vec(typed_value(), 0..3),
        prop::collection::vec(typed_value(), 0..3),
        prop::collection::vec(address(), 0..2),
        prop::option::of(enterprise()),
    )
        .prop_map(|((user_name, display, title, active), (given, family), emails, phones, addresses, ent)| {
            json!({
                "schemas": [USER_TYPE.core.id, ENTERPRISE_SCHEMA],
                "userName": user_name, "displayName": display, "title": title, "active": active,
                "name": {"givenName": given, "familyName": family},
                "emails": emails, "phoneNumbers": phones, "addresses": addresses,
                ENTERPRISE_SCHEMA: ent.unwrap_or_else(|| json!({})),
            })
        })
}

fn group() -> impl Strategy<Value = Value> {
    (word(), prop::option::of(word())).prop_map(|(name, ext)| json!({"displayName": name, "externalId": ext}))
}

// ---- generated operations: (op, path, value) ----

type Op = (String, Option<String>, Option<Value>);

/// Op names as written by different clients.
fn op_name(lower: &'static str, capitalised: &'static str) -> impl Strategy<Value = String> {
    prop::sample::select(vec![lower, capitalised]).prop_map(str::to_owned)
}

fn ext(attr: &str) -> String {
    format!("{ENTERPRISE_SCHEMA}:{attr}")
}

/// `replace` operations that RFC 7644 makes idempotent: none rewrites what its own value filter selects on.
fn user_replace() -> impl Strategy<Value = Op> {
    // More arms than prop_oneof! takes unboxed.
    let path_value = prop_oneof![
        (
            prop::sample::select(vec![
                "displayName",
                "nickName",
                "title",
                "userType",
                "locale",
                "externalId",
                "userName"
            ]),
            word()
        )
            .prop_map(|(p, w)| (p.to_owned(), json!(w)))
            .boxed(),
        boolean().prop_map(|b| ("active".to_owned(), b)).boxed(),
        (prop::sample::select(vec!["name.givenName", "name.familyName", "name.formatted"]), word())
            .prop_map(|(p, w)| (p.to_owned(), json!(w)))
            .boxed(),
        (prop::option::of(word()), prop::option::of(word()))
            .prop_map(|(g, f)| ("name".to_owned(), json!({"givenName": g, "familyName": f})))
            .boxed(),
        (
            prop::sample::select(vec!["emails", "phoneNumbers", "ims", "roles"]),
            prop::collection::vec(typed_value(), 1..3)
        )
            .prop_map(|(p, v)| (p.to_owned(), json!(v)))
            .boxed(),
        (prop::sample::select(vec!["emails", "phoneNumbers"]), kind(), word())
            .prop_map(|(a, k, w)| (format!("{a}[type eq \"{k}\"].value"), json!(w)))
            .boxed(),
        (kind(), word()).prop_map(|(k, w)| (format!("emails[type eq \"{k}\"].display"), json!(w))).boxed(),
        (kind(), any::<bool>()).prop_map(|(k, b)| (format!("emails[type eq \"{k}\"].primary"), json!(b))).boxed(),
        (kind(), word(), word())
            .prop_map(|(k, v, d)| (format!("emails[type eq \"{k}\"]"), json!({"value": v, "display": d})))
            .boxed(),
        (word(), word()).prop_map(|(v, d)| (format!("emails[value eq \"{v}\"].display"), json!(d))).boxed(),
        word().prop_map(|w| ("addresses[type eq \"work\" and primary eq true].locality".to_owned(), json!(w))).boxed(),
        word().prop_map(|w| ("emails.display".to_owned(), json!(w))).boxed(),
        (prop::sample::select(vec!["department", "employeeNumber", "costCenter", "division"]), word())
            .prop_map(|(a, w)| (ext(a), json!(w)))
            .boxed(),
        word().prop_map(|w| (ext("manager"), json!(w))).boxed(),
        word().prop_map(|w| (ext("manager"), json!({"value": w}))).boxed(),
        word().prop_map(|w| (ext("manager.value"), json!(w))).boxed(),
    ];
    let with_path =
        (op_name("replace", "Replace"), path_value).prop_map(|(op, (path, value))| (op, Some(path), Some(value)));
    let no_path = (op_name("replace", "Replace"), word(), word(), boolean(), word()).prop_map(|(op, d, g, a, c)| {
        let value = json!({
            "displayName": d, "name.givenName": g, "active": a,
            ext("costCenter"): c, ENTERPRISE_SCHEMA: {"division": d},
        });
        (op, None, Some(value))
    });
    prop_oneof![4 => with_path, 1 => no_path]
}

fn user_op() -> impl Strategy<Value = Op> {
    let add = (
        op_name("add", "Add"),
        prop_oneof![
            (
                prop::sample::select(vec!["emails", "phoneNumbers", "entitlements"]),
                prop::collection::vec(typed_value(), 1..3)
            )
                .prop_map(|(p, v)| (p.to_owned(), json!(v))),
            (kind(), word()).prop_map(|(k, w)| (format!("phoneNumbers[type eq \"{k}\"].value"), json!(w))),
            word().prop_map(|w| ("nickName".to_owned(), json!(w))),
            word().prop_map(|w| (ext("department"), json!(w))),
        ],
    )
        .prop_map(|(op, (path, value))| (op, Some(path), Some(value)));
    let remove = (
        op_name("remove", "Remove"),
        prop::sample::select(vec![
            "title".to_owned(),
            "name.givenName".to_owned(),
            "name".to_owned(),
            "emails".to_owned(),
            "emails[type eq \"home\"]".to_owned(),
            "emails[type eq \"work\"].display".to_owned(),
            "phoneNumbers[primary eq true]".to_owned(),
            "emails.primary".to_owned(),
            ext("department"),
            ext("manager"),
        ]),
    )
        .prop_map(|(op, path)| (op, Some(path), None));
    prop_oneof![2 => user_replace(), 1 => add, 1 => remove]
}

fn group_replace() -> impl Strategy<Value = Op> {
    prop_oneof![
        (prop::sample::select(vec!["displayName", "externalId"]), word())
            .prop_map(|(p, w)| (Some(p.to_owned()), json!(w))),
        prop::collection::vec(word(), 0..3).prop_map(|ids| (
            Some("members".to_owned()),
            json!(ids.iter().map(|v| json!({"value": v})).collect::<Vec<_>>())
        )),
        (word(), word()).prop_map(|(d, e)| (None, json!({"displayName": d, "externalId": e}))),
    ]
    .prop_flat_map(|(path, value)| {
        op_name("replace", "Replace").prop_map(move |op| (op, path.clone(), Some(value.clone())))
    })
}

fn group_op() -> impl Strategy<Value = Op> {
    let add = (op_name("add", "Add"), prop::collection::vec(word(), 1..3))
        .prop_map(|(op, ids)| (op, Some("members".to_owned()), Some(json!(ids))));
    let remove = (op_name("remove", "Remove"), word())
        .prop_map(|(op, id)| (op, Some(format!("members[value eq \"{id}\"]")), None));
    prop_oneof![group_replace(), add, remove, Just(("remove".to_owned(), Some("externalId".to_owned()), None))]
}

fn body(ops: &[Op]) -> Value {
    let ops: Vec<Value> = ops
        .iter()
        .map(|(op, path, value)| {
            let mut m = Map::new();
            m.insert("op".into(), json!(op));
            path.as_ref().map(|p| m.insert("path".into(), json!(p)));
            value.as_ref().map(|v| m.insert("value".into(), v.clone()));
            Value::Object(m)
        })
        .collect();
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

// ---- the checks ----

/// The attributes after a PATCH and the member operations it asked for.
type Patched = (Map<String, Value>, Vec<MemberOp>);

/// Applies `ops` to a copy of `attrs`, as the domain does; the generated bodies always parse.
fn patched(attrs: &Map<String, Value>, ops: &[Op], rt: &ResourceType) -> Result<Option<Patched>, String> {
    let parsed = parse(&body(ops), rt).map_err(|e| format!("generated PATCH does not parse: {e}"))?;
    let mut copy = attrs.clone();
    Ok(apply(&mut copy, &parsed, rt).ok().map(|members| (copy, members)))
}

/// Rendered as a client sees it, serialised, parsed and normalised as a PUT of it would be.
fn reread(attrs: &Map<String, Value>, rt: &ResourceType) -> Result<Map<String, Value>, String> {
    let stored = Stored {
        id: "2819c223-7f76-453a-919d-413861904646".into(),
        created: "2024-01-23T04:56:22.000Z".into(),
        last_modified: "2024-05-13T04:42:34.000Z".into(),
        attrs: attrs.clone(),
        source: inlet_shared::domain::Source::Manual,
        registry: 0,
        unique: Vec::new(),
        version: 2,
    };
    let text = serde_json::to_string(&stored.render(rt, BASE)).map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    normalize(&value, rt).map_err(|e| format!("rendered resource does not normalise: {e}"))
}

fn check_stable(body: &Value, ops: &[Op], rt: &ResourceType) -> Result<(), TestCaseError> {
    let attrs = normalize(body, rt).map_err(|e| TestCaseError::fail(format!("generated resource: {e}")))?;
    if let Some((after, _)) = patched(&attrs, ops, rt).map_err(TestCaseError::fail)? {
        prop_assert_eq!(reread(&after, rt).map_err(TestCaseError::fail)?, after);
    }
    Ok(())
}

fn check_idempotent(body: &Value, op: &Op, rt: &ResourceType) -> Result<(), TestCaseError> {
    let attrs = normalize(body, rt).map_err(|e| TestCaseError::fail(format!("generated resource: {e}")))?;
    let ops = std::slice::from_ref(op);
    if let Some((once, members_once)) = patched(&attrs, ops, rt).map_err(TestCaseError::fail)? {
        let twice = patched(&once, ops, rt).map_err(TestCaseError::fail)?;
        prop_assert_eq!(twice, Some((once, members_once)), "a second {:?} changed the result", op);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn patched_users_stay_canonical(u in user(), ops in prop::collection::vec(user_op(), 1..4)) {
        check_stable(&u, &ops, &USER_TYPE)?;
    }

    #[test]
    fn patched_groups_stay_canonical(g in group(), ops in prop::collection::vec(group_op(), 1..4)) {
        check_stable(&g, &ops, &GROUP_TYPE)?;
    }

    #[test]
    fn user_replace_is_idempotent(u in user(), op in user_replace()) {
        check_idempotent(&u, &op, &USER_TYPE)?;
    }

    #[test]
    fn group_replace_is_idempotent(g in group(), op in group_replace()) {
        check_idempotent(&g, &op, &GROUP_TYPE)?;
    }
}

/// The properties above only say something about operations that apply: most generated
/// ones must, or the generators have drifted from the schema.
#[test]
fn most_generated_operations_apply() {
    let mut runner = TestRunner::new(config());
    let (mut applied, total) = (0, 200);
    for _ in 0..total {
        let Ok(tree) = (user(), prop::collection::vec(user_op(), 1..4)).new_tree(&mut runner) else { continue };
        let (u, ops) = tree.current();
        let attrs = normalize(&u, &USER_TYPE).unwrap();
        if patched(&attrs, &ops, &USER_TYPE).unwrap().is_some() {
            applied += 1;
        }
    }
    assert!(applied * 2 > total, "only {applied} of {total} generated PATCH requests applied");
}

/// A value filter that matches nothing creates the element it names (Entra), but takes the
/// filter's literal as written: a number or boolean lands in a string attribute, a string in a
/// boolean one. Stored that way, the resource reads back different from what was stored.
#[test]
fn elements_created_by_value_filters_are_canonical() {
    let user = normalize(&json!({"userName": "u", "emails": [{"value": "a@x", "type": "work"}]}), &USER_TYPE).unwrap();
    for path in ["emails[type eq 5].value", "emails[display eq true].value", "emails[primary eq \"True\"].value"] {
        let op = ("add".to_owned(), Some(path.to_owned()), Some(json!("b@x")));
        let (after, _) = patched(&user, &[op], &USER_TYPE).unwrap().unwrap();
        assert_eq!(reread(&after, &USER_TYPE).unwrap(), after, "{path}");
    }
}
