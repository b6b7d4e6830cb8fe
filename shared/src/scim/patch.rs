//! PATCH (RFC 7644 §3.5.2) applied to a canonical attribute map, tolerant of what
//! Okta and Entra send: capitalised ops, no-path values with dotted or URN keys,
//! value-filter paths that create the element they name, `Remove` with a value list.
//! Group members are stored as separate records, so operations on them come back
//! as [`MemberOp`]s for the domain to apply instead of editing a growing array.

use super::error::{ScimError, ScimResult};
use super::filter::{self, CompareOp, Filter, Literal};
use super::path::{AttrPath, PatchPath, Target};
use super::resource::{check_immutable, check_required, normalize_value, object_entry, writable};
use super::schema::{Attribute, Mutability, ResourceType};
use serde_json::{Map, Value};
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
    /// A `remove` whose path is an extension schema's URN: the whole extension goes.
    pub extension: Option<String>,
}

/// A member reference as written by the client (`value` is the user id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    pub value: String,
    pub display: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Add(Vec<MemberRef>),
    Remove(Vec<String>),
    /// Remove the members matching a filter other than `value eq "…"`.
    RemoveWhere(Filter),
    /// Replace all members with these (empty: remove all).
    Replace(Vec<MemberRef>),
}

/// Parses a PatchOp body. Op names are case-insensitive (Entra sends `Replace`).
pub fn parse(body: &Value, rt: &ResourceType) -> ScimResult<Vec<Operation>> {
    let Value::Object(fields) = body else {
        return Err(ScimError::invalid_syntax("the PATCH body must be a JSON object"));
    };
    let ops = fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::invalid_syntax("'Operations' must be a non-empty array"))?;
    ops.iter().map(|op| parse_op(op, rt)).collect()
}

fn field<'a>(op: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    op.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn parse_op(op: &Value, rt: &ResourceType) -> ScimResult<Operation> {
    let Value::Object(op) = op else {
        return Err(ScimError::invalid_syntax("each operation must be an object"));
    };
    let kind = match field(op, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        other => return Err(ScimError::invalid_syntax(format!("unknown op {other:?}"))),
    };
    let value = field(op, "value").filter(|v| !v.is_null()).cloned();
    // A path that is an extension's URN names the extension object as a whole: add and
    // replace take its attributes (as the no-path form with that URN key does), remove drops it.
    if let Some(Value::String(p)) = field(op, "path")
        && let Some(ext) = rt.extension(p.trim())
    {
        return match (kind, value) {
            (OpKind::Remove, _) => Ok(Operation { kind, path: None, value: None, extension: Some(ext.id.clone()) }),
            (_, Some(v @ Value::Object(_))) => {
                let value = Some(Value::Object(Map::from_iter([(ext.id.clone(), v)])));
                Ok(Operation { kind, path: None, value, extension: None })
            }
            (_, _) => {
                Err(ScimError::invalid_value(format!("a value for '{}' must be an object of its attributes", ext.id)))
            }
        };
    }
    let path = match field(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(PatchPath::parse(p, rt)?),
        Some(_) => return Err(ScimError::invalid_path("'path' must be a string")),
    };
    match (kind, &path, &value) {
        (OpKind::Remove, None, _) => Err(ScimError::no_target("'remove' needs a path")),
        (OpKind::Add | OpKind::Replace, _, None) => Err(ScimError::invalid_syntax("'add' and 'replace' need a value")),
        _ => Ok(Operation { kind, path, value, extension: None }),
    }
}

/// Applies `ops` in order to `attrs` (a canonical attribute map without id/meta).
/// Either all operations apply or an error is returned and the caller keeps the original.
pub fn apply(attrs: &mut Map<String, Value>, ops: &[Operation], rt: &ResourceType) -> ScimResult<Vec<MemberOp>> {
    let before = attrs.clone();
    let mut members = Vec::new();
    for op in ops {
        if let Some(ext) = &op.extension {
            attrs.remove(ext);
            continue;
        }
        match (&op.path, &op.value) {
            (Some(path), value) => apply_at(attrs, op.kind, path, value.as_ref(), rt, &mut members, true)?,
            (None, Some(Value::Object(fields))) => {
                for (key, value) in fields {
                    for (path, value) in no_path_entries(key, value, rt) {
                        apply_at(attrs, op.kind, &path, Some(value), rt, &mut members, false)?;
                    }
                }
            }
            (None, _) => return Err(ScimError::invalid_value("a PATCH without a path needs an object value")),
        }
    }
    check_required(attrs, rt, Some(&before))?;
    check_immutable(&before, attrs, rt)?;
    Ok(members)
}

/// Expands one key of a no-path value: an extension URN holding an object becomes one
/// entry per field; a dotted or URN-qualified key is parsed as a path; unknown keys vanish.
fn no_path_entries<'v>(key: &str, value: &'v Value, rt: &ResourceType) -> Vec<(PatchPath, &'v Value)> {
    let plain = |text: &str| AttrPath::parse(text, rt).ok().map(|attr| PatchPath { attr, filter: None, sub: None });
    match (rt.extension(key), value) {
        (Some(ext), Value::Object(fields)) => {
            fields.iter().filter_map(|(k, v)| plain(&format!("{}:{k}", ext.id)).map(|p| (p, v))).collect()
        }
        _ => plain(key).map(|p| vec![(p, value)]).unwrap_or_default(),
    }
}

fn apply_at(
    attrs: &mut Map<String, Value>,
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    rt: &ResourceType,
    members: &mut Vec<MemberOp>,
    explicit: bool,
) -> ScimResult<()> {
    // Unknown attributes are ignored on write, as on POST/PUT (Entra sends misspellings).
    let Some(target) = path.attr.locate(rt) else { return Ok(()) };
    let Target { ext, top, sub } = target;
    let leaf = sub.or(path.sub.as_deref().and_then(|s| top.sub_attr(s))).unwrap_or(top);
    if top.mutability == Mutability::WriteOnly {
        return Ok(()); // password: accepted and discarded
    }
    if !writable(top) || (leaf.mutability == Mutability::ReadOnly && kind != OpKind::Remove) {
        return match explicit {
            true => Err(ScimError::mutability(format!("'{}' is read-only", top.name))),
            false => Ok(()), // Okta repeats `id` inside no-path replaces
        };
    }
    if rt.external_members == Some(top.name.as_str()) {
        members.push(member_op(kind, path, value, top)?);
        return Ok(());
    }
    let container = match ext {
        None => Some(&mut *attrs),
        Some(id) if kind == OpKind::Remove && !attrs.contains_key(id) => return Ok(()),
        Some(id) => object_entry(attrs, id),
    };
    let Some(container) = container else { return Ok(()) };
    let sub_name = sub.map(|s| s.name.as_str()).or(path.sub.as_deref());
    let result = match (&path.filter, top.multi) {
        (Some(f), true) => edit_matching(container, kind, top, f, sub_name, value),
        (Some(_), false) => Err(ScimError::invalid_path(format!("'{}' is not multi-valued", top.name))),
        (None, _) => edit_whole(container, kind, top, sub_name, value),
    };
    if let Some(id) = ext
        && attrs.get(id).and_then(Value::as_object).is_some_and(Map::is_empty)
    {
        attrs.remove(id);
    }
    result
}

fn coerce(attr: &Attribute, value: Option<&Value>) -> ScimResult<Option<Value>> {
    value.map_or(Ok(None), |v| normalize_value(attr, v))
}

/// Edits an attribute without a value filter.
fn edit_whole(
    obj: &mut Map<String, Value>,
    kind: OpKind,
    top: &Attribute,
    sub: Option<&str>,
    value: Option<&Value>,
) -> ScimResult<()> {
    let name = top.name.as_str();
    match (kind, sub) {
        (OpKind::Remove, None) if top.multi && value.is_some() => {
            // Entra: `{"op":"Remove","path":"emails","value":[{"value":"x"}]}` removes only those.
            let gone: HashSet<String> = match coerce(top, value)? {
                Some(Value::Array(items)) => {
                    items.iter().filter_map(|g| g.get("value")).map(Value::to_string).collect()
                }
                _ => HashSet::new(),
            };
            if let Some(Value::Array(items)) = obj.get_mut(name) {
                items.retain(|i| !i.get("value").is_some_and(|v| gone.contains(&v.to_string())));
            }
        }
        (OpKind::Remove, None) => {
            obj.remove(name);
        }
        (OpKind::Remove, Some(sub)) => {
            for item in elements(obj.get_mut(name)) {
                item.remove(sub);
            }
        }
        (_, Some(sub)) => {
            let Some(sub_attr) = top.sub_attr(sub) else { return Ok(()) };
            let v = coerce(sub_attr, value)?;
            if top.multi && !obj.get(name).is_some_and(Value::is_array) {
                obj.insert(name.to_owned(), Value::Array(vec![Value::Object(Map::new())]));
            }
            if !top.multi {
                object_entry(obj, name);
            }
            for item in elements(obj.get_mut(name)) {
                set_or_remove(item, &sub_attr.name, v.clone());
            }
        }
        (OpKind::Add, None) if top.multi => {
            let Some(Value::Array(new)) = coerce(top, value)? else { return Ok(()) };
            let slot = obj.entry(name.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            if let Value::Array(items) = slot {
                if new.iter().any(is_primary) {
                    items.iter_mut().filter_map(Value::as_object_mut).for_each(|i| {
                        i.remove("primary");
                    });
                }
                // Objects serialise with sorted keys, so equal values have equal text: one pass.
                let mut seen: HashSet<String> = items.iter().map(Value::to_string).collect();
                for v in new {
                    if seen.insert(v.to_string()) {
                        items.push(v);
                    }
                }
            }
        }
        (_, None) if top.is_complex() && !top.multi => {
            // RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged.
            let Some(Value::Object(new)) = coerce(top, value)? else { return Ok(()) };
            if let Some(existing) = object_entry(obj, name) {
                existing.extend(new);
            }
        }
        (_, None) => set_or_remove(obj, name, coerce(top, value)?),
    }
    drop_empty(obj, name);
    Ok(())
}

/// Edits the elements of a multi-valued attribute selected by a value filter.
fn edit_matching(
    obj: &mut Map<String, Value>,
    kind: OpKind,
    top: &Attribute,
    filter: &Filter,
    sub: Option<&str>,
    value: Option<&Value>,
) -> ScimResult<()> {
    let name = top.name.as_str();
    let sub_attr = sub.and_then(|s| top.sub_attr(s));
    let new = match (kind, sub_attr) {
        (OpKind::Remove, _) => None,
        (_, Some(sa)) => coerce(sa, value)?,
        (_, None) => coerce(&Attribute { multi: false, ..top.clone() }, value)?,
    };
    let mut matched = 0;
    if let Some(Value::Array(items)) = obj.get_mut(name) {
        let hit = |i: &Value| filter::matches_element(filter, i, top);
        if kind == OpKind::Remove && sub_attr.is_none() {
            let before = items.len();
            items.retain(|i| !hit(i));
            matched = before - items.len();
        } else {
            for item in items.iter_mut().filter(|i| hit(i)) {
                matched += 1;
                let Some(item) = item.as_object_mut() else { continue };
                match (sub_attr, &new) {
                    (Some(sa), v) => set_or_remove(item, &sa.name, v.clone()),
                    (None, Some(Value::Object(fields))) => item.extend(fields.clone()),
                    (None, _) => {}
                }
            }
        }
    }
    if matched == 0 && kind != OpKind::Remove {
        // Entra: `emails[type eq "work"].value` on a user without a work email creates it.
        let (Some(sa), Some(v), Some((key, lit))) = (sub_attr, new, simple_equality(filter, top)) else {
            return Err(ScimError::no_target(format!("no value of '{name}' matches the filter")));
        };
        let mut item = Map::new();
        item.insert(key.to_owned(), lit);
        item.insert(sa.name.clone(), v);
        let slot = obj.entry(name.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = slot {
            items.push(Value::Object(item));
        }
    }
    drop_empty(obj, name);
    Ok(())
}

/// `type eq "work"` → ("type", "work"), so the element it names can be created.
fn simple_equality<'a>(filter: &Filter, top: &'a Attribute) -> Option<(&'a str, Value)> {
    match filter {
        Filter::Compare(p, CompareOp::Eq, lit) if p.sub.is_none() && p.urn.is_none() => {
            let attr = top.sub_attr(&p.attr)?;
            let v = match lit {
                Literal::Str(s) => Value::String(s.clone()),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Num(n) => serde_json::Number::from_f64(*n).map(Value::Number)?,
                Literal::Null => return None,
            };
            // Stored as the schema types it (`primary eq "True"` → true), like any written value.
            let v = normalize_value(attr, &v).ok().flatten()?;
            Some((attr.name.as_str(), v))
        }
        _ => None,
    }
}

fn member_op(kind: OpKind, path: &PatchPath, value: Option<&Value>, top: &Attribute) -> ScimResult<MemberOp> {
    if path.sub.is_some() || path.attr.sub.is_some() {
        return Err(ScimError::invalid_path("members can only be added, replaced or removed whole"));
    }
    let refs = member_refs(top, value)?;
    Ok(match (kind, &path.filter) {
        (OpKind::Remove, Some(f)) => match member_ids(f) {
            Some(ids) => MemberOp::Remove(ids),
            None => MemberOp::RemoveWhere(f.clone()),
        },
        (OpKind::Remove, None) if value.is_some() => MemberOp::Remove(refs.into_iter().map(|m| m.value).collect()),
        (OpKind::Remove, None) => MemberOp::Replace(Vec::new()),
        (OpKind::Add, _) => MemberOp::Add(refs),
        (OpKind::Replace, None) => MemberOp::Replace(refs),
        (OpKind::Replace, Some(_)) => {
            return Err(ScimError::invalid_path("replace members whole, or remove and add them"));
        }
    })
}

fn member_refs(top: &Attribute, value: Option<&Value>) -> ScimResult<Vec<MemberRef>> {
    let Some(Value::Array(items)) = coerce(top, value)? else { return Ok(Vec::new()) };
    Ok(MemberRef::from_normalized(&items))
}

impl MemberRef {
    /// The references in normalised `members` values (see `resource::normalize_value`).
    pub fn from_normalized(items: &[Value]) -> Vec<Self> {
        items
            .iter()
            .filter_map(|m| {
                let value = m.get("value")?.as_str()?.to_owned();
                let display = m.get("display").and_then(Value::as_str).map(str::to_owned);
                Some(Self { value, display })
            })
            .collect()
    }
}

/// `value eq "a" or value eq "b"` → ["a", "b"]: the common member filters need no lookup.
fn member_ids(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare(p, CompareOp::Eq, Literal::Str(s))
            if p.attr.eq_ignore_ascii_case("value") && p.sub.is_none() =>
        {
            Some(vec![s.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = member_ids(a)?;
            ids.extend(member_ids(b)?);
            Some(ids)
        }
        _ => None,
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

fn elements(slot: Option<&mut Value>) -> Vec<&mut Map<String, Value>> {
    match slot {
        Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        Some(Value::Object(m)) => vec![m],
        _ => Vec::new(),
    }
}

fn set_or_remove(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => obj.insert(key.to_owned(), v),
        None => obj.remove(key),
    };
}

/// Unassigned is absent: drop an attribute left as `[]`, `{}` or a list of empty objects.
fn drop_empty(obj: &mut Map<String, Value>, name: &str) {
    let empty = match obj.get_mut(name) {
        Some(Value::Array(items)) => {
            items.retain(|i| !i.as_object().is_some_and(Map::is_empty));
            items.is_empty()
        }
        Some(Value::Object(m)) => m.is_empty(),
        _ => false,
    };
    if empty {
        obj.remove(name);
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
