//! The items kept beside a record in its own transactions: the uniqueness marker, the
//! externalId entry, the collection it is listed in, its counter shard, and one marker per
//! value of a declared `uniqueness: server` attribute.

use super::actor::Caller;
use super::directory::Resource;
use super::error::{DomainError, DomainResult};
use super::records::Stored;
use super::tenant::TenantId;
use crate::scim::error::ScimError;
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, Attribute, ResourceType, Uniqueness};
use crate::store::keys;
use crate::store::{Condition, Item, Key, Write};
use serde_json::{Map, Value};

/// Most values of unique attributes one record may hold (each is an item written in its
/// transactions, which hold at most 100 writes).
pub const MAX_UNIQUE_VALUES: usize = 20;

/// One value of a declared unique attribute, as a record holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UniqueValue {
    /// The attribute, as messages name it (`aliases.value`).
    pub label: String,
    pub value: String,
    /// `keys::value_id` of it.
    pub id: String,
}

/// The values of every declared unique attribute in `attrs` (canonical, as stored).
pub(crate) fn unique_values(rt: &ResourceType, attrs: &Map<String, Value>) -> Vec<UniqueValue> {
    let mut out: Vec<UniqueValue> = Vec::new();
    for (ext, top) in rt.top_attributes() {
        let Some(since) = top.since else { continue };
        let holder = match ext {
            None => Some(attrs),
            Some(id) => attrs.get(id).and_then(Value::as_object),
        };
        let Some(value) = holder.and_then(|h| h.get(&top.name)) else { continue };
        let schema = ext.unwrap_or(&rt.core.id);
        let elements: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            v => vec![v],
        };
        let mut add = |leaf: &Attribute, path: String, v: &Value| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return,
            };
            let id = keys::value_id(&slot(schema, &path, since), &folded(leaf, &text));
            if !out.iter().any(|u| u.id == id) {
                out.push(UniqueValue { label: path, value: text, id });
            }
        };
        if top.uniqueness == Uniqueness::Server {
            elements.iter().for_each(|v| add(top, top.name.clone(), v));
        }
        for sub in top.sub.iter().filter(|s| s.uniqueness == Uniqueness::Server) {
            let path = format!("{}.{}", top.name, sub.name);
            elements.iter().filter_map(|e| e.get(&sub.name)).for_each(|v| add(sub, path.clone(), v));
        }
    }
    out
}

/// Names one unique attribute (or sub-attribute) in one declaration of it.
fn slot(schema: &str, path: &str, since: u64) -> String {
    format!("{}:{}#{since}", schema.to_ascii_lowercase(), path.to_ascii_lowercase())
}

fn folded(leaf: &Attribute, text: &str) -> String {
    if leaf.case_exact { text.to_owned() } else { keys::fold(text) }
}

/// The marker id `path eq value` finds, if `path` is a declared unique attribute (a complex
/// one without a sub-attribute compares its `value`, as filters do).
/// `text`: the literal was a string.
pub(crate) fn value_lookup(rt: &ResourceType, path: &AttrPath, value: &str, text: bool) -> Option<String> {
    let t = path.locate(rt)?;
    let since = t.top.since?;
    let leaf = match t.sub {
        Some(s) => Some(s),
        None if t.top.is_complex() => Some(t.top.sub_attr("value")?),
        None => None,
    };
    let (leaf, p) = match leaf {
        Some(s) => (s, format!("{}.{}", t.top.name, s.name)),
        None => (t.top, t.top.name.clone()),
    };
    // As filters compare: an integer attribute takes `42` or `"42"`; a string one, strings.
    let value = match leaf.kind {
        AttrType::Integer => value.trim().parse::<i64>().ok()?.to_string(),
        _ if text => value.to_owned(),
        _ => return None,
    };
    (leaf.uniqueness == Uniqueness::Server)
        .then(|| keys::value_id(&slot(t.ext.unwrap_or(&rt.core.id), &p, since), &folded(leaf, &value)))
}

/// Marks `s` as written by `c`: the registry version and the unique values it now holds.
pub(crate) fn stamp(c: &Caller, res: Resource, s: &mut Stored) -> DomainResult<()> {
    let values = unique_values(c.rt(res), &s.attrs);
    if values.len() > MAX_UNIQUE_VALUES {
        return Err(DomainError::Scim(ScimError::invalid_value(format!(
            "a {} may hold at most {MAX_UNIQUE_VALUES} values of unique attributes; this one has {}",
            res.noun(),
            values.len()
        ))));
    }
    s.registry = c.schemas.version;
    s.unique = values.into_iter().map(|u| u.id).collect();
    s.unique.sort();
    Ok(())
}

/// The index items that change between `old` and `new` (either may be absent). The
/// name marker, when written, comes first: `Directory::explain` relies on its position.
pub(crate) fn index_writes(t: &TenantId, res: Resource, old: Option<&Stored>, new: Option<&Stored>) -> Vec<Write> {
    let (t, kind, attr) = (t.as_str(), res.kind(), res.unique_attr());
    let mut writes = Vec::new();
    let name = |s: &Stored| keys::fold(s.unique_name(attr));
    if old.map(name) != new.map(name) {
        if let Some(n) = new {
            let marker = Item::new(keys::name_marker(t, kind, n.unique_name(attr)), n.id.clone().into_bytes());
            writes.push(Write::Put { item: marker, cond: Condition::NotExists });
        }
        if let Some(o) = old {
            writes.push(Write::Delete { key: keys::name_marker(t, kind, o.unique_name(attr)), cond: Condition::None });
        }
    }
    let xid = |s: &Stored| s.external_id().map(|x| keys::external_id(t, kind, x, &s.id));
    if old.and_then(xid) != new.and_then(xid) {
        if let Some(k) = new.and_then(xid) {
            writes.push(Write::Put { item: Item::new(k, Vec::new()), cond: Condition::None });
        }
        if let Some(k) = old.and_then(xid) {
            writes.push(Write::Delete { key: k, cond: Condition::None });
        }
    }
    // Each owner has its own count: a claim moves the record from one to the other.
    let counter = |s: &Stored| keys::counter(t, kind, s.source.owner().name(), &s.id);
    if old.map(counter) != new.map(counter) {
        if let Some(n) = new {
            writes.push(Write::Add { key: counter(n), delta: 1 });
        }
        if let Some(o) = old {
            writes.push(Write::Add { key: counter(o), delta: -1 });
        }
    }
    // Unique values, last (`Directory::explain` finds a refused one by its key).
    let (before, after) = (old.map_or(&[][..], |s| &s.unique[..]), new.map_or(&[][..], |s| &s.unique[..]));
    if let Some(n) = new {
        for id in after.iter().filter(|id| !before.contains(id)) {
            let item = Item::new(keys::value_marker(t, kind, id), n.id.clone().into_bytes());
            writes.push(Write::Put { item, cond: Condition::NotExists });
        }
    }
    for id in before.iter().filter(|id| !after.contains(id)) {
        writes.push(Write::Delete { key: keys::value_marker(t, kind, id), cond: Condition::None });
    }
    writes
}

/// The id a uniqueness marker points at.
pub(crate) fn marker_target(item: &Item) -> Option<String> {
    String::from_utf8(item.body.clone()).ok()
}

pub(crate) fn key_of(t: &TenantId, res: Resource, id: &str) -> Key {
    keys::resource(t.as_str(), res.kind(), id)
}
