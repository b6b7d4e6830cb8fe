//! Normalises what a client writes into Inlet's canonical form: attribute names in
//! schema case, values coerced to their schema type (Entra's `"True"`, a bare string
//! for a `{value}` complex), unknown and read-only attributes dropped, `password`
//! discarded. Everything stored and compared downstream is canonical.

use super::error::{ScimError, ScimResult};
use super::path::AttrPath;
use super::schema::{AttrType, Attribute, Mutability, ResourceType, find};
use serde_json::{Map, Value};

/// Entra's reference code sends a member's name as `displayName`; RFC 7643 calls it `display`.
const SUB_ALIASES: &[(&str, &str)] = &[("displayName", "display")];

/// Is this attribute one a client may write? (`password` is writeOnly: accepted, then discarded.)
pub fn writable(attr: &Attribute) -> bool {
    matches!(attr.mutability, Mutability::ReadWrite | Mutability::Immutable)
}

/// Normalises a whole resource body (POST/PUT) into its attribute map, without
/// `schemas`, `id` or `meta`. Fails if a required attribute is missing.
pub fn normalize(body: &Value, rt: &ResourceType) -> ScimResult<Map<String, Value>> {
    let Value::Object(input) = body else {
        return Err(ScimError::invalid_syntax("the request body must be a JSON object"));
    };
    let mut out = Map::new();
    for (key, value) in input {
        if let Some(ext) = rt.extension(key) {
            let Value::Object(fields) = value else {
                return Err(ScimError::invalid_value(format!("'{key}' must be an object")));
            };
            let attrs = normalize_fields(fields, &ext.attributes)?;
            if !attrs.is_empty() {
                out.insert(ext.id.clone(), Value::Object(attrs));
            }
            continue;
        }
        // Top-level keys may be URN-qualified (`urn:…:User:department`); anything unknown is ignored.
        let Ok(path) = AttrPath::parse(key, rt) else { continue };
        if path.sub.is_some() {
            continue;
        }
        let (container, attrs) = match &path.urn {
            Some(urn) if !urn.eq_ignore_ascii_case(&rt.core.id) => match rt.extension(urn) {
                Some(ext) => (Some(ext.id.as_str()), ext.attributes.as_slice()),
                None => continue,
            },
            _ => (None, rt.core.attributes.as_slice()),
        };
        let attr = match container {
            None => rt.core_attr(&path.attr),
            Some(_) => find(attrs, &path.attr),
        };
        let Some(attr) = attr else { continue };
        if !writable(attr) {
            continue;
        }
        if let Some(v) = normalize_value(attr, value)? {
            let target = match container {
                None => Some(&mut out),
                Some(id) => object_entry(&mut out, id),
            };
            if let Some(target) = target {
                target.insert(attr.name.clone(), v);
            }
        }
    }
    check_required(&out, rt, None)?;
    Ok(out)
}

/// The object at `key`, created if missing or not an object (so always `Some`).
pub fn object_entry<'m>(map: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Map<String, Value>> {
    let slot = map.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Required attributes (userName, displayName, and those the tenant declared required) must
/// be present and non-empty. `before`, for a PATCH: a declared required attribute the record
/// did not have (it was declared after the record was written) is not demanded by a PATCH,
/// so an identity provider can still deactivate the record; one it had cannot be removed.
pub fn check_required(
    attrs: &Map<String, Value>,
    rt: &ResourceType,
    before: Option<&Map<String, Value>>,
) -> ScimResult<()> {
    let holder = |m: &'_ Map<String, Value>, ext: Option<&str>, name: &str| -> Option<Value> {
        match ext {
            None => m.get(name).cloned(),
            Some(id) => m.get(id).and_then(|e| e.get(name)).cloned(),
        }
    };
    for (ext, attr) in rt.top_attributes().filter(|(_, a)| a.required) {
        let demanded = attr.since.is_none() || before.is_none_or(|b| holder(b, ext, &attr.name).is_some());
        let present = match holder(attrs, ext, &attr.name) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        if demanded && !present {
            let label = ext.map_or_else(|| attr.name.clone(), |id| format!("{id}:{}", attr.name));
            return Err(ScimError::invalid_value(format!("'{label}' is required")));
        }
    }
    Ok(())
}

/// A PUT that leaves out an `immutable` attribute already set keeps its value (RFC 7644
/// §3.5.1 compares only the values given), so an identity provider that stops sending it
/// does not fail every later PUT.
pub fn keep_immutable(before: &Map<String, Value>, after: &mut Map<String, Value>, rt: &ResourceType) {
    for (ext, attr) in rt.top_attributes().filter(|(_, a)| a.mutability == Mutability::Immutable) {
        match ext {
            None => {
                if let (Some(old), false) = (before.get(&attr.name), after.contains_key(&attr.name)) {
                    after.insert(attr.name.clone(), old.clone());
                }
            }
            Some(id) => {
                let Some(old) = before.get(id).and_then(|e| e.get(&attr.name)) else { continue };
                if let Some(e) = object_entry(after, id)
                    && !e.contains_key(&attr.name)
                {
                    e.insert(attr.name.clone(), old.clone());
                }
            }
        }
    }
}

/// An `immutable` attribute, once set, keeps its value (RFC 7643 §7): a PUT or PATCH that
/// changes or removes it is refused.
pub fn check_immutable(before: &Map<String, Value>, after: &Map<String, Value>, rt: &ResourceType) -> ScimResult<()> {
    for (ext, attr) in rt.top_attributes().filter(|(_, a)| a.mutability == Mutability::Immutable) {
        let at = |m: &Map<String, Value>| match ext {
            None => m.get(&attr.name).cloned(),
            Some(id) => m.get(id).and_then(|e| e.get(&attr.name)).cloned(),
        };
        if let Some(old) = at(before)
            && at(after).as_ref() != Some(&old)
        {
            return Err(ScimError::mutability(format!(
                "'{}' is immutable: it keeps the value it was set to",
                attr.name
            )));
        }
    }
    Ok(())
}

fn normalize_fields(fields: &Map<String, Value>, attrs: &[Attribute]) -> ScimResult<Map<String, Value>> {
    let mut out = Map::new();
    for (key, value) in fields {
        let alias = || SUB_ALIASES.iter().find(|(a, _)| a.eq_ignore_ascii_case(key)).and_then(|(_, n)| find(attrs, n));
        let attr = find(attrs, key).or_else(alias);
        let Some(attr) = attr.filter(|a| writable(a)) else { continue };
        if let Some(v) = normalize_value(attr, value)? {
            out.insert(attr.name.clone(), v);
        }
    }
    Ok(out)
}

/// Coerces one attribute value to its schema type. `Ok(None)` means "unassigned"
/// (null, empty string list, empty object), which callers treat as absent.
pub fn normalize_value(attr: &Attribute, value: &Value) -> ScimResult<Option<Value>> {
    if !attr.multi {
        return normalize_single(attr, value);
    }
    let items: Vec<Value> = match value {
        Value::Array(items) => items
            .iter()
            .map(|v| normalize_single(attr, v))
            .collect::<ScimResult<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect(),
        Value::Null => Vec::new(),
        v => normalize_single(attr, v)?.into_iter().collect(),
    };
    Ok((!items.is_empty()).then_some(Value::Array(items)))
}

fn invalid(attr: &Attribute, value: &Value) -> ScimError {
    let kind = match value {
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    };
    ScimError::invalid_value(format!("'{}' cannot be {kind}", attr.name))
}

fn normalize_single(attr: &Attribute, value: &Value) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    let v = match (attr.kind, value) {
        (AttrType::Complex, Value::Object(fields)) => {
            let m = normalize_fields(fields, &attr.sub)?;
            return Ok((!m.is_empty()).then_some(Value::Object(m)));
        }
        // `"manager": "id"` and `"members": ["id"]`: a bare string is the `value` sub-attribute.
        (AttrType::Complex, Value::String(s)) if attr.sub_attr("value").is_some() => {
            let mut m = Map::new();
            m.insert("value".to_owned(), Value::String(s.clone()));
            Value::Object(m)
        }
        (AttrType::Boolean, Value::Bool(_)) => value.clone(),
        (AttrType::Boolean, Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(invalid(attr, value)),
        },
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => value.clone(),
        (AttrType::Integer, Value::String(s)) => {
            Value::from(s.trim().parse::<i64>().map_err(|_| invalid(attr, value))?)
        }
        (AttrType::Integer, Value::Number(_)) => {
            return Err(ScimError::invalid_value(format!("'{}' must be an integer", attr.name)));
        }
        (AttrType::Decimal, Value::Number(_)) => value.clone(),
        // As Entra sends numbers and booleans: the text of one is accepted too.
        (AttrType::Decimal, Value::String(s)) => {
            match s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Some(n) => Value::Number(n),
                None => return Err(invalid(attr, value)),
            }
        }
        (AttrType::Binary, Value::String(s)) => {
            use base64::Engine;
            use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
            if STANDARD.decode(s).is_err() && STANDARD_NO_PAD.decode(s).is_err() {
                return Err(ScimError::invalid_value(format!("'{}' must be base64 (RFC 7643 §2.3.6)", attr.name)));
            }
            value.clone()
        }
        (AttrType::DateTime, Value::String(s)) => {
            super::filter::parse_time(s)
                .ok_or_else(|| ScimError::invalid_value(format!("'{}' must be an RFC 3339 dateTime", attr.name)))?;
            value.clone()
        }
        (AttrType::String | AttrType::Reference, Value::String(_)) => value.clone(),
        (AttrType::String, Value::Number(n)) => Value::String(n.to_string()),
        (AttrType::String, Value::Bool(b)) => Value::String(b.to_string()),
        _ => return Err(invalid(attr, value)),
    };
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_SCHEMA, GROUP_TYPE, USER_TYPE};
    use serde_json::json;

    #[test]
    fn canonicalises_names_and_coerces_entra_values() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "UserName": "a@x", "active": "True", "id": "client-chosen", "meta": {"created": "x"},
            "password": "hunter2", "adreses": [{"country": "x"}], "groups": [{"value": "g"}],
            "emails": [{"Primary": true, "Value": "a@x", "type": "work"}, null],
            "name": {"GivenName": "A", "honorificPrefix": null},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "D", "Manager": "m1"},
        });
        let out = Value::Object(normalize(&body, &USER_TYPE).unwrap());
        assert_eq!(
            out,
            json!({
                "userName": "a@x", "active": true,
                "emails": [{"primary": true, "value": "a@x", "type": "work"}],
                "name": {"givenName": "A"},
                ENTERPRISE_SCHEMA: {"department": "D", "manager": {"value": "m1"}},
            })
        );
    }

    #[test]
    fn required_and_type_errors() {
        assert_eq!(
            normalize(&json!({"active": true}), &USER_TYPE).unwrap_err().scim_type,
            Some(crate::scim::error::ScimType::InvalidValue)
        );
        assert!(normalize(&json!({"userName": "a", "active": "maybe"}), &USER_TYPE).is_err());
        assert!(normalize(&json!({"userName": {"x": 1}}), &USER_TYPE).is_err());
        assert!(normalize(&json!([1]), &USER_TYPE).is_err());
        assert!(normalize(&json!({"userName": "  "}), &USER_TYPE).is_err());
    }

    #[test]
    fn members_accept_bare_strings_and_display_name_alias() {
        let out = normalize(
            &json!({"displayName": "G", "members": ["u1", {"value": "u2", "displayName": "Two"}]}),
            &GROUP_TYPE,
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "u1"}, {"value": "u2", "display": "Two"}]));
    }
}
