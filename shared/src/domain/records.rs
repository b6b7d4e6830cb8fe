//! How a resource is stored (one item body) and rendered back as SCIM JSON.

use super::actor::Source;
use super::error::{DomainError, DomainResult};
use crate::scim::schema::{ResourceType, Returned, SOURCE_SCHEMA};
use crate::store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

/// The stored body of a user or group item: canonical attributes plus server-kept meta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    pub id: String,
    pub created: String,
    #[serde(rename = "lastModified")]
    pub last_modified: String,
    /// Canonical attributes (`resource::normalize`), including `externalId` and extension objects.
    pub attrs: Map<String, Value>,
    /// Who provisioned it (shown read-only in the Inlet extension, `SOURCE_SCHEMA`).
    pub source: Source,
    /// The version of the tenant's attribute registry it was written under (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub registry: u64,
    /// The unique value markers it holds (`keys::value_id`), exactly as written, so a later
    /// change or delete removes these whatever the registry says by then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<String>,
    /// Not serialised: it is the item's version.
    #[serde(skip)]
    pub version: u64,
}

/// The largest stored representation of a user or group: far below DynamoDB's 400 KB item
/// limit, and a page of the largest lists well inside Lambda's 6 MB response (the page is cut
/// short by size, see `api::resources`).
pub const MAX_RECORD_BYTES: usize = 100 * 1024;

impl Stored {
    /// The stored body, refused past [`MAX_RECORD_BYTES`].
    pub fn encode(&self, noun: &str) -> DomainResult<Vec<u8>> {
        let body = serde_json::to_vec(self)
            .map_err(|e| DomainError::Store(StoreError::Backend(format!("unencodable record: {e}"))))?;
        if body.len() > MAX_RECORD_BYTES {
            return Err(DomainError::TooLarge(format!(
                "the {noun} would take {} bytes stored, more than the {MAX_RECORD_BYTES} allowed",
                body.len()
            )));
        }
        Ok(body)
    }

    pub fn decode(body: &[u8], version: u64) -> DomainResult<Self> {
        let mut s: Self = serde_json::from_slice(body)
            .map_err(|e| DomainError::Store(StoreError::Backend(format!("undecodable record: {e}"))))?;
        s.version = version;
        Ok(s)
    }

    pub fn external_id(&self) -> Option<&str> {
        self.attrs.get("externalId").and_then(Value::as_str)
    }

    /// The value of the uniquely named attribute `attr` (userName or group displayName).
    pub fn unique_name<'a>(&'a self, attr: &str) -> &'a str {
        self.attrs.get(attr).and_then(Value::as_str).unwrap_or_default()
    }

    /// The stored attributes the tenant's current schemas still know (what a PATCH starts from).
    pub fn known_attrs(&self, rt: &ResourceType) -> Map<String, Value> {
        let mut attrs = self.attrs.clone();
        rt.retain_current(&mut attrs, self.registry);
        attrs
    }

    /// The attributes as the tenant's current schemas give them: values of attributes no
    /// longer declared (or declared again since) left out, `returned: never` ones too.
    pub fn current_attrs(&self, rt: &ResourceType) -> Map<String, Value> {
        let mut attrs = self.attrs.clone();
        rt.retain_current(&mut attrs, self.registry);
        for (ext, a) in rt.top_attributes().filter(|(_, a)| a.returned == Returned::Never) {
            match ext {
                None => {
                    attrs.remove(&a.name);
                }
                Some(id) => {
                    if let Some(Value::Object(e)) = attrs.get_mut(id) {
                        e.remove(&a.name);
                    }
                }
            }
        }
        attrs.retain(|_, v| !v.as_object().is_some_and(Map::is_empty));
        attrs
    }

    pub fn etag(&self) -> String {
        etag(self.version)
    }

    /// The SCIM representation. `base` is the tenant's SCIM base URL (for `meta.location`).
    pub fn render(&self, rt: &ResourceType, base: &str) -> Value {
        let attrs = self.current_attrs(rt);
        let mut schemas = vec![Value::from(rt.core.id.as_str())];
        schemas.extend(
            rt.extensions
                .iter()
                .filter(|e| e.id != SOURCE_SCHEMA && attrs.contains_key(&e.id))
                .map(|e| Value::from(e.id.as_str())),
        );
        schemas.push(Value::from(SOURCE_SCHEMA));
        let mut out = Map::with_capacity(attrs.len() + 4);
        out.insert("schemas".into(), Value::Array(schemas));
        out.insert("id".into(), Value::from(self.id.as_str()));
        out.extend(attrs);
        let mut source = json!({"kind": self.source.owner().name()});
        if let (Source::Scim { token }, Some(o)) = (&self.source, source.as_object_mut()) {
            o.insert("tokenId".into(), Value::from(token.as_str()));
        }
        out.insert(SOURCE_SCHEMA.into(), source);
        out.insert(
            "meta".into(),
            json!({
                "resourceType": rt.name,
                "created": self.created,
                "lastModified": self.last_modified,
                "location": format!("{base}{}/{}", rt.endpoint, self.id),
                "version": self.etag(),
            }),
        );
        Value::Object(out)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Now, as SCIM dateTime with millisecond precision in UTC.
pub fn now() -> String {
    timestamp(OffsetDateTime::now_utc())
}

/// A UTC time as SCIM dateTime with millisecond precision.
pub fn timestamp(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// Server-made ids are UUIDs; anything else cannot name a resource (and never reaches a key).
pub fn valid_id(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok()
}

/// Time-ordered (UUIDv7): records made together sit together in the embedded store's B-tree,
/// so a bulk create rewrites far fewer pages than with random ids; the 74 random bits keep ids
/// unguessable, and DynamoDB hashes the partition key either way.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
