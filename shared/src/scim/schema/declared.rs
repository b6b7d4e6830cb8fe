//! A tenant's attribute registry: attributes the vendor declares on top of RFC 7643's
//! schemas, each an RFC 7643 §7 attribute definition plus the schema URN it lives in (the
//! core User or Group schema, or an extension URN the vendor chooses). Validated here, kept
//! with the tenant, and turned into the tenant's [`Schemas`], which everything else
//! (normalisation, PATCH, filters, projection, `/Schemas`) reads.
//!
//! An attribute keeps the registry version it was declared in (`since`). Its shape (type,
//! multiValued, caseExact, uniqueness, sub-attributes) cannot change in place: it is removed,
//! then declared again, and values stored before the new declaration are not its values.

use super::definition::{definition, parse_attr};
use super::render::attr_json;
use super::{
    AttrType, Attribute, COMMON, ENTERPRISE_SCHEMA, GROUP_SCHEMA, GROUP_TYPE, ResourceType, SOURCE_SCHEMA, Schema,
    USER_SCHEMA, USER_TYPE, Uniqueness, find,
};
use crate::scim::error::{ScimError, ScimResult};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::{Arc, LazyLock};

/// Most attributes one tenant may declare.
pub const MAX_DECLARED: usize = 100;
/// Most `uniqueness: server` attributes (or sub-attributes) per resource type: each value
/// of one is an index item written in the record's transaction.
pub const MAX_UNIQUE: usize = 8;

/// The resource an attribute belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resource {
    User,
    Group,
}

/// What the vendor declares and the tenant keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    /// Raised by every change; 0 = nothing ever declared.
    pub version: u64,
    pub attributes: Vec<Declared>,
}

/// One declared attribute, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Declared {
    pub schema: String,
    pub resource_type: Resource,
    pub since: u64,
    /// The RFC 7643 §7 definition, canonical (every field spelled out).
    pub definition: Value,
}

impl Registry {
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// The registry after applying `doc` (`{"attributes": [ … ]}`, the whole new set): every
    /// entry validated, versions carried over for attributes that stay, a changed shape refused.
    pub fn apply(&self, doc: &Value) -> ScimResult<Registry> {
        let entries = doc
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| ScimError::invalid_syntax("the document must be {\"attributes\": [ … ]}"))?;
        if let Some(extra) = doc.as_object().and_then(|o| o.keys().find(|k| *k != "attributes")) {
            return Err(ScimError::invalid_syntax(format!("unknown field '{extra}' (only 'attributes')")));
        }
        if entries.len() > MAX_DECLARED {
            return Err(ScimError::too_many(format!("at most {MAX_DECLARED} attributes may be declared")));
        }
        let version = self.version + 1;
        let mut out: Vec<(Declared, Attribute)> = Vec::with_capacity(entries.len());
        for entry in entries {
            let (schema, resource, attr) = parse_entry(entry)?;
            let label = format!("{schema}:{}", attr.name);
            if out
                .iter()
                .any(|(d, a)| d.schema.eq_ignore_ascii_case(&schema) && a.name.eq_ignore_ascii_case(&attr.name))
            {
                return Err(ScimError::invalid_value(format!("'{label}' is declared twice")));
            }
            if let Some((d, _)) =
                out.iter().find(|(d, _)| d.schema.eq_ignore_ascii_case(&schema) && d.resource_type != resource)
            {
                return Err(ScimError::invalid_value(format!(
                    "'{}' already extends {:?}; one extension schema belongs to one resource type",
                    d.schema, d.resource_type
                )));
            }
            let since = match self.find(&schema, &attr.name) {
                Some((old, old_attr)) => {
                    if shape(&old_attr) != shape(&attr) || old.resource_type != resource {
                        return Err(ScimError::invalid_value(format!(
                            "'{label}' changes its name's case, type, multiValued, caseExact, uniqueness or \
                             sub-attributes; remove it first (apply without it), then declare it again \
                             (values stored under the old definition are then dropped)"
                        )));
                    }
                    old.since
                }
                None => version,
            };
            let definition = attr_json(&attr);
            out.push((Declared { schema, resource_type: resource, since, definition }, attr));
        }
        for resource in [Resource::User, Resource::Group] {
            let unique =
                out.iter().filter(|(d, _)| d.resource_type == resource).map(|(_, a)| unique_leaves(a)).sum::<usize>();
            if unique > MAX_UNIQUE {
                return Err(ScimError::too_many(format!(
                    "at most {MAX_UNIQUE} attributes of a {resource:?} may be declared uniqueness 'server'"
                )));
            }
        }
        Ok(Registry { version, attributes: out.into_iter().map(|(d, _)| d).collect() })
    }

    fn find(&self, schema: &str, name: &str) -> Option<(&Declared, Attribute)> {
        self.attributes.iter().filter(|d| d.schema.eq_ignore_ascii_case(schema)).find_map(|d| {
            let attr = definition(&d.definition).ok()?;
            attr.name.eq_ignore_ascii_case(name).then_some((d, attr))
        })
    }

    /// The registry as the vendor reads it back (and may apply again): `{"version", "attributes"}`.
    pub fn to_json(&self) -> Value {
        let attributes: Vec<Value> = self
            .attributes
            .iter()
            .map(|d| {
                let mut v = d.definition.clone();
                if let Some(o) = v.as_object_mut() {
                    o.insert("schema".into(), Value::from(d.schema.as_str()));
                    o.insert("resourceType".into(), Value::from(format!("{:?}", d.resource_type)));
                    o.insert("declaredInVersion".into(), Value::from(d.since));
                }
                v
            })
            .collect();
        serde_json::json!({"version": self.version, "attributes": attributes})
    }
}

/// What may not change in place: how stored values are shaped, compared and indexed.
type Shape = (String, AttrType, bool, bool, Uniqueness, Vec<(String, AttrType, bool, Uniqueness)>);

fn shape(a: &Attribute) -> Shape {
    let sub = a.sub.iter().map(|s| (s.name.clone(), s.kind, s.case_exact, s.uniqueness)).collect();
    (a.name.clone(), a.kind, a.multi, a.case_exact, a.uniqueness, sub)
}

fn unique_leaves(a: &Attribute) -> usize {
    usize::from(a.uniqueness == Uniqueness::Server)
        + a.sub.iter().filter(|s| s.uniqueness == Uniqueness::Server).count()
}

fn parse_entry(entry: &Value) -> ScimResult<(String, Resource, Attribute)> {
    let Value::Object(fields) = entry else {
        return Err(ScimError::invalid_syntax("each attribute must be an object"));
    };
    let mut fields = fields.clone();
    let name = fields.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
    let schema = match fields.remove("schema") {
        Some(Value::String(s)) => s,
        _ => return Err(ScimError::invalid_value(format!("'{name}': 'schema' (the URN it lives in) is required"))),
    };
    let resource = match fields.remove("resourceType") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.eq_ignore_ascii_case("user") => Some(Resource::User),
        Some(Value::String(r)) if r.eq_ignore_ascii_case("group") => Some(Resource::Group),
        Some(other) => {
            return Err(ScimError::invalid_value(format!("'{name}': resourceType {other} is not User or Group")));
        }
    };
    // What `show` prints may be applied again.
    fields.remove("declaredInVersion");
    let resource = resource_of(&schema, resource, &name)?;
    let attr = parse_attr(&Value::Object(fields), &format!("{schema}:{name}"), true)?;
    let builtin = match resource {
        Resource::User => &USER_TYPE,
        Resource::Group => &GROUP_TYPE,
    };
    let clash = schema.eq_ignore_ascii_case(&builtin.core.id)
        && (builtin.core_attr(&attr.name).is_some() || attr.name.eq_ignore_ascii_case("schemas"));
    if clash {
        return Err(ScimError::invalid_value(format!(
            "'{}' is a standard attribute of {schema}; declare a new name or use an extension schema",
            attr.name
        )));
    }
    Ok((schema, resource, attr))
}

/// Which resource an attribute of `schema` belongs to; refuses URNs RFC 7643 or Inlet reserve.
fn resource_of(schema: &str, given: Option<Resource>, name: &str) -> ScimResult<Resource> {
    let valid = schema.len() <= 200
        && schema.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        && schema.chars().all(|c| c.is_ascii_alphanumeric() || ":._-".contains(c))
        && !schema.contains("::")
        && !schema.ends_with(':')
        && schema.split(':').count() >= 3;
    if !valid {
        return Err(ScimError::invalid_value(format!(
            "'{name}': '{schema}' is not a schema URN (urn:…, letters, digits, ':', '.', '_', '-')"
        )));
    }
    let is = |urn: &str| schema.eq_ignore_ascii_case(urn);
    let core = if is(USER_SCHEMA) {
        Some(Resource::User)
    } else if is(GROUP_SCHEMA) {
        Some(Resource::Group)
    } else {
        None
    };
    if let Some(core) = core {
        return match given {
            Some(g) if g != core => {
                Err(ScimError::invalid_value(format!("'{name}': {schema} is the {core:?} schema, not {g:?}'s")))
            }
            _ => Ok(core),
        };
    }
    let lower = schema.to_ascii_lowercase();
    if is(ENTERPRISE_SCHEMA) || is(SOURCE_SCHEMA) {
        return Err(ScimError::invalid_value(format!("'{name}': {schema} is built in; its attributes are fixed")));
    }
    if lower.starts_with("urn:ietf:params:scim:") && !lower.starts_with("urn:ietf:params:scim:schemas:extension:") {
        return Err(ScimError::invalid_value(format!(
            "'{name}': {schema} is reserved by RFC 7643/7644; use the core User or Group schema or an extension URN"
        )));
    }
    Ok(given.unwrap_or(Resource::User))
}

/// One tenant's resource types: the built-in ones plus what its registry declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schemas {
    pub version: u64,
    pub user: ResourceType,
    pub group: ResourceType,
}

static BUILTIN: LazyLock<Arc<Schemas>> =
    LazyLock::new(|| Arc::new(Schemas { version: 0, user: USER_TYPE.clone(), group: GROUP_TYPE.clone() }));

impl Schemas {
    /// A tenant that declared nothing.
    pub fn builtin() -> Arc<Schemas> {
        Arc::clone(&BUILTIN)
    }

    /// The tenant's schemas. Fails only if a kept registry no longer validates (a broken
    /// invariant: it was validated when applied).
    pub fn of(registry: &Registry) -> ScimResult<Arc<Schemas>> {
        if registry.is_empty() {
            return Ok(Self::builtin());
        }
        let (mut user, mut group) = (USER_TYPE.clone(), GROUP_TYPE.clone());
        for d in &registry.attributes {
            let attr = Attribute { since: Some(d.since), ..definition(&d.definition)? };
            let rt = match d.resource_type {
                Resource::User => &mut user,
                Resource::Group => &mut group,
            };
            if d.schema.eq_ignore_ascii_case(&rt.core.id) {
                rt.core.attributes.push(attr);
                continue;
            }
            match rt.extensions.iter_mut().find(|s| s.id.eq_ignore_ascii_case(&d.schema)) {
                Some(ext) => ext.attributes.push(attr),
                None => rt.extensions.push(Schema {
                    id: d.schema.clone(),
                    name: extension_name(&d.schema),
                    description: format!("Attributes this tenant declared for its {}s", rt.name),
                    attributes: vec![attr],
                }),
            }
        }
        Ok(Arc::new(Schemas { version: registry.version, user, group }))
    }

    /// Every schema a tenant's `/Schemas` lists: core User, its extensions, core Group, its
    /// extensions (the Source extension once, though both types carry it).
    pub fn all(&self) -> Vec<&Schema> {
        let mut out: Vec<&Schema> = vec![&self.user.core];
        out.extend(self.user.extensions.iter());
        out.push(&self.group.core);
        out.extend(self.group.extensions.iter().filter(|s| s.id != SOURCE_SCHEMA));
        out
    }
}

/// `urn:ietf:params:scim:schemas:extension:acme:2.0:User` → `acme`; otherwise the URN's last part.
fn extension_name(urn: &str) -> String {
    let parts: Vec<&str> = urn.split(':').collect();
    let after = parts.iter().position(|p| p.eq_ignore_ascii_case("extension")).and_then(|i| parts.get(i + 1));
    after.or(parts.last()).map_or_else(|| urn.to_owned(), |s| (*s).to_owned())
}

/// Declared attributes are not in RFC 7643's schemas; built-in ones keep `since: None`.
pub fn is_declared(a: &Attribute) -> bool {
    a.since.is_some()
}

impl ResourceType {
    /// Drops from a stored attribute map what the current schemas do not give it: values of
    /// attributes no longer declared, or declared again after the record was written
    /// (`written`: the registry version it was written under).
    pub fn retain_current(&self, attrs: &mut Map<String, Value>, written: u64) {
        let current = |a: &Attribute| a.since.is_none_or(|s| s <= written);
        attrs.retain(|key, value| {
            if let Some(ext) = self.extension(key) {
                if let Value::Object(fields) = value {
                    fields.retain(|k, _| find(&ext.attributes, k).is_some_and(current));
                    return !fields.is_empty();
                }
                return false;
            }
            self.core_attr(key).is_some_and(current) || find(&COMMON, key).is_some()
        });
    }
}

#[cfg(test)]
#[path = "declared_tests.rs"]
mod tests;
