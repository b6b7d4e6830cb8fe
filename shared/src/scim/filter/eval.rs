//! Evaluates a parsed filter against a stored (canonical) resource. The filter is first
//! compiled against the schema (each path resolved to its attributes, each literal
//! converted once), so evaluating it costs work linear in the resource for each comparison.

use super::compare::{Want, compare};
use super::{CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{Attribute, ResourceType, find};
use serde_json::Value;

/// Where paths are resolved: the resource itself, or one element inside a value filter.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceType),
    Element(&'a [Attribute]),
}

/// A filter compiled for one resource type (or one multi-valued attribute's elements).
/// Compile once and reuse it across the resources of a scan.
#[derive(Debug)]
pub struct Matcher<'a>(Node<'a>);

#[derive(Debug)]
enum Node<'a> {
    And(Box<Node<'a>>, Box<Node<'a>>),
    Or(Box<Node<'a>>, Box<Node<'a>>),
    Not(Box<Node<'a>>),
    /// A path the schema does not know: nothing is there.
    Const(bool),
    Present(Loc<'a>),
    Compare(Loc<'a>, CompareOp, Want),
    /// The multi-valued (or complex) attribute `top` inside `ext`, and the filter on its elements.
    ValuePath {
        ext: Option<&'a str>,
        top: &'a Attribute,
        inner: Box<Node<'a>>,
    },
}

/// A path resolved against the schema: extension object, top attribute, and the attribute
/// whose values are compared (`top`, its sub-attribute, or a complex attribute's `value`).
#[derive(Debug, Clone, Copy)]
struct Loc<'a> {
    ext: Option<&'a str>,
    top: &'a Attribute,
    attr: &'a Attribute,
}

impl<'a> Matcher<'a> {
    /// `filter` for resources of type `rt`.
    pub fn new(filter: &Filter, rt: &'a ResourceType) -> Self {
        Self(compile(filter, Scope::Resource(rt)))
    }

    /// `filter` for the elements of the multi-valued `attr` (`members[value eq "…"]`).
    pub fn for_elements(filter: &Filter, attr: &'a Attribute) -> Self {
        Self(compile(filter, Scope::Element(&attr.sub)))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        eval(&self.0, obj)
    }
}

/// Does `resource` (canonical JSON of type `rt`) satisfy `filter`?
pub fn matches(filter: &Filter, resource: &Value, rt: &ResourceType) -> bool {
    Matcher::new(filter, rt).matches(resource)
}

/// Does one element of the multi-valued `attr` satisfy a value filter (`type eq "work"`)?
pub fn matches_element(filter: &Filter, element: &Value, attr: &Attribute) -> bool {
    Matcher::for_elements(filter, attr).matches(element)
}

/// The values at `path` in `resource`, with the attribute that types them. Multi-valued
/// attributes are flattened; a complex attribute without a sub-attribute yields its `value`s.
pub fn values_at<'v, 'a>(
    resource: &'v Value,
    rt: &'a ResourceType,
    path: &AttrPath,
) -> Option<(&'a Attribute, Vec<&'v Value>)> {
    let loc = locate(Scope::Resource(rt), path)?;
    Some((loc.attr, values(resource, loc)))
}

fn compile<'a>(filter: &Filter, scope: Scope<'a>) -> Node<'a> {
    let both = |a: &Filter, b: &Filter| (Box::new(compile(a, scope)), Box::new(compile(b, scope)));
    match filter {
        Filter::And(a, b) => {
            let (a, b) = both(a, b);
            Node::And(a, b)
        }
        Filter::Or(a, b) => {
            let (a, b) = both(a, b);
            Node::Or(a, b)
        }
        Filter::Not(f) => Node::Not(Box::new(compile(f, scope))),
        Filter::Present(path) => locate(scope, path).map_or(Node::Const(false), Node::Present),
        // An unknown attribute has no values: none equals the literal, so only `ne` holds.
        Filter::Compare(path, op, lit) => match locate(scope, path) {
            Some(loc) => Node::Compare(loc, *op, Want::new(loc.attr, lit)),
            None => Node::Const(*op == CompareOp::Ne),
        },
        Filter::ValuePath(path, inner) => match (top_attr(scope, path), ext(scope, path)) {
            (Some(top), Some(ext)) => {
                Node::ValuePath { ext, top, inner: Box::new(compile(inner, Scope::Element(&top.sub))) }
            }
            _ => Node::Const(false),
        },
    }
}

fn eval(node: &Node, obj: &Value) -> bool {
    match node {
        Node::And(a, b) => eval(a, obj) && eval(b, obj),
        Node::Or(a, b) => eval(a, obj) || eval(b, obj),
        Node::Not(f) => !eval(f, obj),
        Node::Const(b) => *b,
        Node::Present(loc) => values(obj, *loc).iter().any(|v| present(v)),
        Node::Compare(loc, op, want) => {
            let vs = values(obj, *loc);
            match op {
                CompareOp::Ne => !vs.iter().any(|v| compare(v, CompareOp::Eq, want)),
                op => vs.iter().any(|v| compare(v, *op, want)),
            }
        }
        Node::ValuePath { ext, top, inner } => match holder(obj, *ext).and_then(|h| h.get(&top.name)) {
            Some(Value::Array(items)) => items.iter().any(|e| eval(inner, e)),
            Some(v @ Value::Object(_)) => eval(inner, v),
            _ => false,
        },
    }
}

fn top_attr<'a>(scope: Scope<'a>, path: &AttrPath) -> Option<&'a Attribute> {
    match scope {
        Scope::Element(attrs) => find(attrs, &path.attr),
        Scope::Resource(rt) => match &path.urn {
            Some(urn) if !urn.eq_ignore_ascii_case(&rt.core.id) => find(&rt.extension(urn)?.attributes, &path.attr),
            _ => rt.core_attr(&path.attr),
        },
    }
}

/// The extension object holding the path's top attribute: `Some(None)` for the resource
/// itself, `None` for an unknown extension.
fn ext<'a>(scope: Scope<'a>, path: &AttrPath) -> Option<Option<&'a str>> {
    match (scope, &path.urn) {
        (Scope::Resource(rt), Some(urn)) if !urn.eq_ignore_ascii_case(&rt.core.id) => {
            Some(Some(rt.extension(urn)?.id.as_str()))
        }
        _ => Some(None),
    }
}

fn locate<'a>(scope: Scope<'a>, path: &AttrPath) -> Option<Loc<'a>> {
    let top = top_attr(scope, path)?;
    let attr = match &path.sub {
        Some(sub) => top.sub_attr(sub)?,
        None if top.is_complex() => top.sub_attr("value")?,
        None => top,
    };
    Some(Loc { ext: ext(scope, path)?, top, attr })
}

fn holder<'v>(obj: &'v Value, ext: Option<&str>) -> Option<&'v Value> {
    match ext {
        Some(id) => obj.get(id),
        None => Some(obj),
    }
}

/// The non-null values at `loc`: one pass over the attribute's elements.
fn values<'v>(obj: &'v Value, loc: Loc<'_>) -> Vec<&'v Value> {
    let mut out = Vec::new();
    let mut push = |v: &'v Value| match v {
        Value::Array(items) => out.extend(items.iter().filter(|x| !x.is_null())),
        Value::Null => {}
        v => out.push(v),
    };
    match holder(obj, loc.ext).and_then(|h| h.get(&loc.top.name)) {
        None => {}
        Some(v) if !loc.top.is_complex() => push(v),
        Some(Value::Array(items)) => items.iter().filter_map(|item| item.get(&loc.attr.name)).for_each(push),
        Some(v) => {
            if let Some(x) = v.get(&loc.attr.name) {
                push(x);
            }
        }
    }
    out
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use crate::scim::filter::parse;
    use crate::scim::schema::{GROUP_TYPE, USER_TYPE};
    use serde_json::json;

    fn user() -> serde_json::Value {
        json!({
            "id": "2819c223", "userName": "Bjensen@Example.com", "active": true,
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@jensen.org", "type": "home"}],
            "meta": {"created": "2024-01-23T04:56:22.000Z", "lastModified": "2024-05-13T04:42:34Z"},
            "externalId": "AbC",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations", "manager": {"value": "26118915"}}
        })
    }

    fn check(f: &str) -> bool {
        super::matches(&parse(f, &USER_TYPE).unwrap(), &user(), &USER_TYPE)
    }

    #[test]
    fn string_operators_fold_case_unless_case_exact() {
        assert!(check(r#"userName eq "bjensen@example.com""#));
        assert!(check(r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#));
        assert!(check(r#"name.familyName co "ens""#));
        assert!(check(r#"userName sw "bjen""#));
        assert!(check(r#"userName ew ".COM""#));
        assert!(!check(r#"userName ne "bjensen@example.com""#));
        assert!(check(r#"title ne "boss""#));
        assert!(check(r#"externalId eq "AbC""#));
        assert!(!check(r#"externalId eq "abc""#), "externalId is caseExact");
        assert!(check(r#"id eq "2819c223""#));
    }

    #[test]
    fn typed_comparisons() {
        assert!(check("active eq true"));
        assert!(check(r#"active eq "True""#));
        assert!(!check("active eq false"));
        assert!(!check(r#"meta.lastModified gt "2024-05-13T00:42:34-05:00""#));
        assert!(check(r#"meta.lastModified ge "2024-05-12T23:42:34-05:00""#));
        assert!(check("meta.created gt 2015-10-10T14:38:21.8617979-07:00"));
        assert!(check(r#"meta.created lt "2024-01-23T04:56:22.001Z""#));
        assert!(check(r#"name.givenName gt "B""#));
    }

    #[test]
    fn multi_valued_complex_and_logic() {
        assert!(check(r#"emails co "jensen.org""#));
        assert!(check(r#"emails.value ew "@example.com""#));
        assert!(check(r#"emails[type eq "work" and value co "@example"]"#));
        assert!(!check(r#"emails[type eq "home" and value co "@example"]"#));
        assert!(check(r#"emails[type eq "home"] and not (active eq false)"#));
        assert!(check(r#"(title pr or name.givenName pr) and emails pr"#));
        assert!(!check("title pr"));
        assert!(check(r#"name.FamilyName eq Jensen and (emails.Value co example.com or emails.Value co example.org)"#));
    }

    #[test]
    fn extension_attributes_by_urn() {
        assert!(check(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#));
        assert!(check(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#));
        assert!(!check(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division pr"#));
    }

    #[test]
    fn entra_value_filter_then_sub_attribute_is_about_one_element() {
        for (f, want) in [
            (r#"emails[type eq "work"].value eq "bjensen@example.com""#, true),
            (r#"emails[TYPE eq "WORK"].Value eq "BJENSEN@example.com""#, true),
            (r#"emails[type eq "home"].value eq "babs@jensen.org""#, true),
            // Both emails exist, but not as one element: a work address babs@… does not.
            (r#"emails[type eq "work"].value eq "babs@jensen.org""#, false),
            (r#"emails[type eq "other"].value eq "babs@jensen.org""#, false),
            (r#"emails[type eq "work"].value ne "bjensen@example.com""#, false),
            (r#"emails[type eq "home"].value ne "bjensen@example.com""#, true),
            (r#"emails[type eq "work"].value co "example""#, true),
            (r#"emails[type eq "work"].value co "jensen.org""#, false),
            (r#"emails[type eq "work"].value sw "bjen""#, true),
            (r#"emails[type eq "work"].value sw "babs""#, false),
            (r#"emails[type eq "work"].value ew ".COM""#, true),
            (r#"emails[type eq "work"].value ew ".org""#, false),
            (r#"emails[type eq "work"].value gt "b""#, true),
            (r#"emails[type eq "work"].value lt "b""#, false),
            (r#"emails[type eq "work"].value ge "bjensen@example.com""#, true),
            (r#"emails[type eq "work"].value le "bjensen@example.com""#, true),
            (r#"emails[type eq "home"].value le "b""#, false),
            (r#"emails[type eq "home"].value lt "bj""#, true),
            (r#"emails[type eq "work"].primary pr"#, true),
            (r#"emails[type eq "home"].primary pr"#, false),
            (r#"emails[type eq "work"].primary eq true"#, true),
            (r#"emails[type eq "home"].primary eq true"#, false),
            (r#"emails[type eq "work" or type eq "home"].value ew ".org""#, true),
            (r#"emails[type eq "work"].value eq "bjensen@example.com" and active eq false"#, false),
            (r#"not (emails[type eq "work"].value eq "babs@jensen.org")"#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value pr].value eq "26118915""#,
                true,
            ),
        ] {
            assert_eq!(check(f), want, "{f}");
        }
        assert!(check(r#"emails.primary pr"#), "the whole-resource form still sees the work email's primary");
    }

    #[test]
    fn each_literal_is_converted_once_whatever_the_resource_size() {
        use crate::scim::filter::compare::CONVERSIONS;
        let emails: Vec<_> = (0..2000).map(|i| json!({"value": format!("u{i}@x"), "type": "work"})).collect();
        let big = json!({"userName": "u", "emails": emails});
        let lit = "Q".repeat(4000);
        for (f, comparisons) in [
            (format!(r#"emails.value eq "{lit}""#), 1),
            (format!(r#"emails[value co "{lit}"]"#), 1),
            (format!(r#"emails[type eq "work"].value sw "{lit}""#), 2),
        ] {
            let filter = parse(&f, &USER_TYPE).unwrap();
            CONVERSIONS.with(|c| c.set(0));
            let m = super::Matcher::new(&filter, &USER_TYPE);
            for _ in 0..3 {
                assert!(!m.matches(&big));
            }
            assert_eq!(CONVERSIONS.with(|c| c.get()), comparisons, "{}", &f[..30]);
        }
    }

    #[test]
    fn values_at_flattens_multi_valued_attributes() {
        let u = user();
        let path = crate::scim::path::AttrPath::parse("emails.type", &USER_TYPE).unwrap();
        let (attr, vs) = super::values_at(&u, &USER_TYPE, &path).unwrap();
        assert_eq!((attr.name.as_str(), vs), ("type", vec![&json!("work"), &json!("home")]));
        let path = crate::scim::path::AttrPath::parse("emails", &USER_TYPE).unwrap();
        assert_eq!(super::values_at(&u, &USER_TYPE, &path).unwrap().1.len(), 2);
        let path = crate::scim::path::AttrPath::parse("nickName", &USER_TYPE).unwrap();
        assert!(super::values_at(&u, &USER_TYPE, &path).unwrap().1.is_empty());
        let path = crate::scim::path::AttrPath::parse("bogus", &USER_TYPE).unwrap();
        assert!(super::values_at(&u, &USER_TYPE, &path).is_none());
    }

    #[test]
    fn group_display_name() {
        let g = json!({"displayName": "Engineering"});
        assert!(super::matches(&parse(r#"displayName eq "engineering""#, &GROUP_TYPE).unwrap(), &g, &GROUP_TYPE));
    }
}
