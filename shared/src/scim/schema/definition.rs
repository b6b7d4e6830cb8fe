//! One RFC 7643 §7 attribute definition, as a vendor declares it: parsed and validated into
//! an [`Attribute`], each refusal naming the attribute.

use super::render::{mutability_name, returned_name, type_name, uniqueness_name};
use super::{AttrType, Attribute, Mutability, Returned, Uniqueness, find};
use crate::scim::error::{ScimError, ScimResult};
use serde_json::{Map, Value};

fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn text<'a>(o: &'a Map<String, Value>, key: &str, label: &str) -> ScimResult<Option<&'a str>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ScimError::invalid_value(format!("'{label}': '{key}' must be a string"))),
    }
}

fn flag(o: &Map<String, Value>, key: &str, label: &str) -> ScimResult<bool> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ScimError::invalid_value(format!("'{label}': '{key}' must be true or false"))),
    }
}

fn strings(o: &Map<String, Value>, key: &str, label: &str) -> ScimResult<Vec<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ScimError::invalid_value(format!("'{label}': '{key}' must be an array of strings"))),
        Some(_) => Err(ScimError::invalid_value(format!("'{label}': '{key}' must be an array of strings"))),
    }
}

/// One of `choices` (by its RFC 7643 spelling, case-insensitively), or `default` when absent.
fn pick<T: Copy>(
    o: &Map<String, Value>,
    key: &str,
    label: &str,
    choices: &[T],
    name_of: fn(T) -> &'static str,
    default: T,
) -> ScimResult<T> {
    let Some(given) = text(o, key, label)? else { return Ok(default) };
    choices.iter().copied().find(|c| name_of(*c).eq_ignore_ascii_case(given)).ok_or_else(|| {
        let names: Vec<&str> = choices.iter().map(|c| name_of(*c)).collect();
        ScimError::invalid_value(format!("'{label}': {key} '{given}' is not one of {}", names.join(", ")))
    })
}

const KNOWN: [&str; 12] = [
    "name",
    "type",
    "multiValued",
    "description",
    "required",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
    "canonicalValues",
    "referenceTypes",
    "subAttributes",
];

const TYPES: [AttrType; 8] = [
    AttrType::String,
    AttrType::Boolean,
    AttrType::Decimal,
    AttrType::Integer,
    AttrType::DateTime,
    AttrType::Binary,
    AttrType::Reference,
    AttrType::Complex,
];

/// One RFC 7643 §7 attribute definition, validated. `top`: a top-level attribute (may be
/// complex); sub-attributes may not be.
pub(super) fn parse_attr(v: &Value, label: &str, top: bool) -> ScimResult<Attribute> {
    let Value::Object(o) = v else {
        return Err(ScimError::invalid_syntax(format!("'{label}': an attribute definition must be an object")));
    };
    if let Some(unknown) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ScimError::invalid_value(format!("'{label}': unknown field '{unknown}'")));
    }
    let name = text(o, "name", label)?.unwrap_or_default().to_owned();
    if !valid_name(&name) {
        return Err(ScimError::invalid_value(format!(
            "'{label}': '{name}' is not an attribute name (a letter, then letters, digits, '-' or '_'; at most 64)"
        )));
    }
    let kind = match text(o, "type", label)? {
        None => return Err(ScimError::invalid_value(format!("'{label}': 'type' is required"))),
        Some(_) => pick(o, "type", label, &TYPES, type_name, AttrType::String)?,
    };
    let uniqueness =
        pick(o, "uniqueness", label, &[Uniqueness::None, Uniqueness::Server], uniqueness_name, Uniqueness::None)?;
    let mutability = pick(
        o,
        "mutability",
        label,
        &[Mutability::ReadWrite, Mutability::Immutable, Mutability::ReadOnly, Mutability::WriteOnly],
        mutability_name,
        Mutability::ReadWrite,
    )?;
    let returned = pick(
        o,
        "returned",
        label,
        &[Returned::Default, Returned::Always, Returned::Request, Returned::Never],
        returned_name,
        if mutability == Mutability::WriteOnly { Returned::Never } else { Returned::Default },
    )?;
    let sub_defs = match o.get("subAttributes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(ScimError::invalid_value(format!("'{label}': 'subAttributes' must be an array"))),
    };
    let mut sub: Vec<Attribute> = Vec::with_capacity(sub_defs.len());
    for d in &sub_defs {
        let s = parse_attr(d, &format!("{label}.{}", d.get("name").and_then(Value::as_str).unwrap_or("?")), false)?;
        if find(&sub, &s.name).is_some() {
            return Err(ScimError::invalid_value(format!("'{label}': sub-attribute '{}' is declared twice", s.name)));
        }
        sub.push(s);
    }
    let attr = Attribute {
        name,
        kind,
        multi: flag(o, "multiValued", label)?,
        required: flag(o, "required", label)?,
        case_exact: flag(o, "caseExact", label)?,
        mutability,
        returned,
        uniqueness,
        canonical: strings(o, "canonicalValues", label)?,
        reference_types: strings(o, "referenceTypes", label)?,
        description: text(o, "description", label)?.unwrap_or_default().to_owned(),
        sub,
        since: None,
    };
    check(&attr, label, top)?;
    Ok(attr)
}

fn check(a: &Attribute, label: &str, top: bool) -> ScimResult<()> {
    let refuse = |why: &str| Err(ScimError::invalid_value(format!("'{label}': {why}")));
    match (a.kind, a.sub.is_empty()) {
        (AttrType::Complex, _) if !top => refuse("a sub-attribute cannot be complex (RFC 7643 §2.3.8)"),
        (AttrType::Complex, true) => refuse("a complex attribute needs 'subAttributes'"),
        (AttrType::Complex, false) => Ok(()),
        (_, false) => refuse("only a complex attribute has 'subAttributes'"),
        (_, true) => Ok(()),
    }?;
    if a.uniqueness == Uniqueness::Server
        && !matches!(a.kind, AttrType::String | AttrType::Reference | AttrType::Integer)
    {
        return refuse("only string, reference and integer attributes can be uniqueness 'server'");
    }
    if a.mutability == Mutability::WriteOnly && a.returned != Returned::Never {
        return refuse("a writeOnly attribute is returned 'never'");
    }
    if a.required && a.mutability == Mutability::ReadOnly {
        return refuse("a readOnly attribute cannot be required (no client could set it)");
    }
    if !a.reference_types.is_empty() && a.kind != AttrType::Reference {
        return refuse("only a reference attribute has 'referenceTypes'");
    }
    Ok(())
}

/// A kept definition, read back.
pub(super) fn definition(v: &Value) -> ScimResult<Attribute> {
    parse_attr(v, v.get("name").and_then(Value::as_str).unwrap_or("?"), true)
}
