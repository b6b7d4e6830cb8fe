//! Evaluates a parsed filter against a stored (canonical) resource. Comparisons are
//! typed by the attribute's schema: strings fold case unless `caseExact`, dateTimes
//! compare as instants, booleans and numbers as themselves.

use super::{CompareOp, Filter, Literal};
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, Attribute, ResourceType, find};
use serde_json::Value;
use std::cmp::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where paths are resolved: the resource itself, or one element inside a value filter.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceType),
    Element(&'static [Attribute]),
}

/// Does `resource` (canonical JSON of type `rt`) satisfy `filter`?
pub fn matches(filter: &Filter, resource: &Value, rt: &ResourceType) -> bool {
    eval(filter, resource, Scope::Resource(rt))
}

/// Does one element of the multi-valued `attr` satisfy a value filter (`type eq "work"`)?
pub fn matches_element(filter: &Filter, element: &Value, attr: &'static Attribute) -> bool {
    eval(filter, element, Scope::Element(attr.sub))
}

/// The values at `path` in `resource`, with the attribute that types them. Multi-valued
/// attributes are flattened; a complex attribute without a sub-attribute yields its `value`s.
pub fn values_at<'v>(
    resource: &'v Value,
    rt: &ResourceType,
    path: &AttrPath,
) -> Option<(&'static Attribute, Vec<&'v Value>)> {
    resolve(resource, Scope::Resource(rt), path)
}

fn eval(filter: &Filter, obj: &Value, scope: Scope<'_>) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, obj, scope) && eval(b, obj, scope),
        Filter::Or(a, b) => eval(a, obj, scope) || eval(b, obj, scope),
        Filter::Not(f) => !eval(f, obj, scope),
        Filter::Present(path) => resolve(obj, scope, path).is_some_and(|(_, vs)| vs.iter().any(|v| present(v))),
        Filter::Compare(path, op, lit) => {
            let Some((attr, values)) = resolve(obj, scope, path) else {
                return *op == CompareOp::Ne;
            };
            match op {
                CompareOp::Ne => !values.iter().any(|v| compare(v, attr, CompareOp::Eq, lit)),
                op => values.iter().any(|v| compare(v, attr, *op, lit)),
            }
        }
        Filter::ValuePath(path, inner) => {
            let Some(attr) = top_attr(scope, path) else { return false };
            let Some(container) = container(obj, scope, path) else { return false };
            match container.get(attr.name) {
                Some(Value::Array(items)) => items.iter().any(|e| eval(inner, e, Scope::Element(attr.sub))),
                Some(v @ Value::Object(_)) => eval(inner, v, Scope::Element(attr.sub)),
                _ => false,
            }
        }
    }
}

fn top_attr(scope: Scope<'_>, path: &AttrPath) -> Option<&'static Attribute> {
    match scope {
        Scope::Element(attrs) => find(attrs, &path.attr),
        Scope::Resource(rt) => match &path.urn {
            Some(urn) if !urn.eq_ignore_ascii_case(rt.core.id) => find(rt.extension(urn)?.attributes, &path.attr),
            _ => rt.core_attr(&path.attr),
        },
    }
}

/// The object holding the path's top attribute: the resource, or its extension object.
fn container<'v>(obj: &'v Value, scope: Scope<'_>, path: &AttrPath) -> Option<&'v Value> {
    match (scope, &path.urn) {
        (Scope::Resource(rt), Some(urn)) if !urn.eq_ignore_ascii_case(rt.core.id) => obj.get(rt.extension(urn)?.id),
        _ => Some(obj),
    }
}

fn resolve<'v>(obj: &'v Value, scope: Scope<'_>, path: &AttrPath) -> Option<(&'static Attribute, Vec<&'v Value>)> {
    let top = top_attr(scope, path)?;
    let value = container(obj, scope, path)?.get(top.name);
    let (attr, sub_name) = match &path.sub {
        Some(sub) => (top.sub_attr(sub)?, Some(sub)),
        None if top.is_complex() => (top.sub_attr("value")?, None),
        None => (top, None),
    };
    let mut out = Vec::new();
    let mut push = |v: &'v Value| match v {
        Value::Array(items) => out.extend(items.iter().filter(|x| !x.is_null())),
        Value::Null => {}
        v => out.push(v),
    };
    match (value, top.is_complex()) {
        (None, _) => {}
        (Some(v), false) => push(v),
        (Some(Value::Array(items)), true) => {
            for item in items {
                if let Some(x) = item.get(attr.name) {
                    push(x);
                }
            }
        }
        (Some(v), true) => {
            if let Some(x) = v.get(sub_name.map_or(attr.name, |_| attr.name)) {
                push(x);
            }
        }
    }
    Some((attr, out))
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

fn lit_str(lit: &Literal) -> Option<String> {
    match lit {
        Literal::Str(s) => Some(s.clone()),
        Literal::Num(n) => Some(n.to_string()),
        Literal::Bool(b) => Some(b.to_string()),
        Literal::Null => None,
    }
}

/// Parses an RFC 3339 dateTime (any number of fractional digits, as Entra sends).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn ordered(ord: Option<Ordering>, op: CompareOp) -> bool {
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare(value: &Value, attr: &Attribute, op: CompareOp, lit: &Literal) -> bool {
    if *lit == Literal::Null {
        return match op {
            CompareOp::Eq => value.is_null(),
            CompareOp::Ne => !value.is_null(),
            _ => false,
        };
    }
    match attr.kind {
        AttrType::Boolean => {
            let want = match lit {
                Literal::Bool(b) => Some(*b),
                Literal::Str(s) => s.to_ascii_lowercase().parse::<bool>().ok(),
                _ => None,
            };
            matches!(op, CompareOp::Eq | CompareOp::Ne)
                && ordered(value.as_bool().zip(want).map(|(a, b)| a.cmp(&b)), op)
        }
        AttrType::Integer | AttrType::Decimal => {
            let want = match lit {
                Literal::Num(n) => Some(*n),
                Literal::Str(s) => s.parse().ok(),
                _ => None,
            };
            ordered(value.as_f64().zip(want).and_then(|(a, b)| a.partial_cmp(&b)), op)
        }
        AttrType::DateTime => {
            let have = value.as_str().and_then(parse_time);
            let want = lit_str(lit).as_deref().and_then(parse_time);
            ordered(have.zip(want).map(|(a, b)| a.cmp(&b)), op)
        }
        AttrType::Complex => false,
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            let (Some(have), Some(want)) = (value.as_str(), lit_str(lit)) else { return false };
            let (have, want) =
                if attr.case_exact { (have.to_owned(), want) } else { (have.to_lowercase(), want.to_lowercase()) };
            match op {
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                CompareOp::Ew => have.ends_with(&want),
                op => ordered(Some(have.cmp(&want)), op),
            }
        }
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
    fn group_display_name() {
        let g = json!({"displayName": "Engineering"});
        assert!(super::matches(&parse(r#"displayName eq "engineering""#, &GROUP_TYPE).unwrap(), &g, &GROUP_TYPE));
    }
}
