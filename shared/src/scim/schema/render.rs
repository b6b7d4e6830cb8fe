//! The RFC 7643 §7 representation of schemas and attributes, as `/Schemas` serves it and as
//! a tenant's attribute registry reads it back (`declared`).

use super::{AttrType, Attribute, Mutability, Returned, Schema, Uniqueness};
use serde_json::{Value, json};

pub(super) fn type_name(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

pub(super) fn mutability_name(m: Mutability) -> &'static str {
    match m {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    }
}

pub(super) fn returned_name(r: Returned) -> &'static str {
    match r {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
        Returned::Request => "request",
    }
}

pub(super) fn uniqueness_name(u: Uniqueness) -> &'static str {
    match u {
        Uniqueness::None => "none",
        Uniqueness::Server => "server",
    }
}

pub fn attr_json(a: &Attribute) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": type_name(a.kind),
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": mutability_name(a.mutability),
        "returned": returned_name(a.returned),
        "uniqueness": uniqueness_name(a.uniqueness),
    });
    if !a.canonical.is_empty() {
        crate::scim::set(&mut v, "canonicalValues", json!(a.canonical));
    }
    if a.kind == AttrType::Reference {
        let types = if a.reference_types.is_empty() { vec!["external".to_owned()] } else { a.reference_types.clone() };
        crate::scim::set(&mut v, "referenceTypes", json!(types));
    }
    if !a.sub.is_empty() {
        crate::scim::set(&mut v, "subAttributes", Value::Array(a.sub.iter().map(attr_json).collect()));
    }
    v
}

impl Schema {
    /// The RFC 7643 §7 representation served under `/Schemas`.
    pub fn to_json(&self, location: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(attr_json).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema", "location": location },
        })
    }
}
