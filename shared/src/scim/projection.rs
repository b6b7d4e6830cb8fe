//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) over a canonical resource.

use super::error::{ScimError, ScimResult};
use super::filter::Matcher;
use super::path::{PatchPath, Target};
use super::schema::{ResourceType, Returned};
use serde_json::{Map, Value};

/// Always returned, whatever the client asks for.
const ALWAYS: [&str; 2] = ["schemas", "id"];
/// Most paths in one `attributes` or `excludedAttributes` list (the schemas have fewer
/// attributes than this); applying a projection costs this many passes at most.
pub const MAX_ATTRIBUTE_PATHS: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Vec<PatchPath>,
    excluded: Vec<PatchPath>,
}

/// Splits a comma-separated attribute list, keeping commas inside `[...]` filters; stops
/// (with an error) past MAX_ATTRIBUTE_PATHS entries rather than splitting all of a huge list.
fn split_list<'t>(name: &str, text: &'t str) -> ScimResult<Vec<&'t str>> {
    let mut depth = 0i32;
    let commas = text.char_indices().filter(move |&(_, c)| {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        c == ',' && depth == 0
    });
    let (mut parts, mut start) = (Vec::new(), 0);
    for end in commas.map(|(i, _)| i).chain(std::iter::once(text.len())) {
        // `start` is just past a one-byte ',' or 0, `end` at a ',' or the end: both boundaries.
        let part = text.get(start..end).ok_or_else(|| ScimError::invalid_value(format!("'{name}' is malformed")))?;
        start = end + 1;
        match part.trim() {
            "" => {}
            _ if parts.len() == MAX_ATTRIBUTE_PATHS => {
                return Err(ScimError::invalid_value(format!(
                    "'{name}' lists more than {MAX_ATTRIBUTE_PATHS} attributes"
                )));
            }
            p => parts.push(p),
        }
    }
    Ok(parts)
}

fn parse_list(name: &str, text: Option<&str>, rt: &ResourceType) -> ScimResult<Vec<PatchPath>> {
    let Some(text) = text else { return Ok(Vec::new()) };
    split_list(name, text)?
        .into_iter()
        .map(|p| PatchPath::parse(p, rt).map_err(|e| ScimError::invalid_value(format!("'{name}': {}", e.detail))))
        .collect()
}

impl Projection {
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>, rt: &ResourceType) -> ScimResult<Self> {
        Ok(Self {
            attributes: parse_list("attributes", attributes, rt)?,
            excluded: parse_list("excludedAttributes", excluded, rt)?,
        })
    }

    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Will the response contain top-level attribute `name`? Lets callers skip loading
    /// data nobody asked for (group members, a user's groups). `returned: request`
    /// attributes are only included when listed in `attributes`.
    pub fn includes(&self, name: &str, returned: Returned) -> bool {
        let named = |list: &[PatchPath]| list.iter().any(|p| p.attr.attr.eq_ignore_ascii_case(name));
        let whole_excluded = self
            .excluded
            .iter()
            .any(|p| p.attr.attr.eq_ignore_ascii_case(name) && p.attr.sub.is_none() && p.sub.is_none());
        match returned {
            Returned::Always => true,
            Returned::Never => false,
            Returned::Request => named(&self.attributes),
            Returned::Default => !whole_excluded && (self.attributes.is_empty() || named(&self.attributes)),
        }
    }

    pub fn apply(&self, full: Value, rt: &ResourceType) -> Value {
        let Value::Object(src) = full else { return full };
        let mut out = if self.attributes.is_empty() {
            src.clone()
        } else {
            let mut out: Map<String, Value> =
                ALWAYS.iter().filter_map(|k| src.get(*k).map(|v| ((*k).to_owned(), v.clone()))).collect();
            for p in &self.attributes {
                copy_path(&src, &mut out, p, rt);
            }
            out
        };
        for p in &self.excluded {
            remove_path(&mut out, p, rt);
        }
        // `returned` (RFC 7643 §7): `request` attributes only when asked for by name,
        // `always` ones whatever was asked, `never` ones never.
        for (ext, a) in rt.top_attributes() {
            let keep = match a.returned {
                Returned::Request | Returned::Never => self.includes(&a.name, a.returned),
                Returned::Always | Returned::Default => true,
            };
            let holder = match ext {
                None => Some(&mut out),
                Some(id) => out.get_mut(id).and_then(Value::as_object_mut),
            };
            let Some(holder) = holder else { continue };
            if !keep {
                holder.remove(&a.name);
            } else if a.returned == Returned::Always && !holder.contains_key(&a.name) {
                let found = match ext {
                    None => src.get(&a.name),
                    Some(id) => src.get(id).and_then(|e| e.get(&a.name)),
                };
                if let Some(v) = found {
                    holder.insert(a.name.clone(), v.clone());
                }
            }
        }
        out.retain(|k, v| k == "schemas" || !v.as_object().is_some_and(Map::is_empty));
        // `schemas` names the extensions the projected resource still carries.
        let kept: Vec<Value> = match out.get("schemas") {
            Some(Value::Array(ids)) => ids
                .iter()
                .filter(|id| id.as_str().is_none_or(|id| rt.extension(id).is_none() || out.contains_key(id)))
                .cloned()
                .collect(),
            _ => return Value::Object(out),
        };
        out.insert("schemas".into(), Value::Array(kept));
        Value::Object(out)
    }
}

fn holder<'a>(obj: &'a Map<String, Value>, t: &Target) -> Option<&'a Map<String, Value>> {
    match t.ext {
        None => Some(obj),
        Some(id) => obj.get(id)?.as_object(),
    }
}

fn copy_path(src: &Map<String, Value>, out: &mut Map<String, Value>, p: &PatchPath, rt: &ResourceType) {
    let Some(t) = p.attr.locate(rt) else { return };
    let Some(value) = holder(src, &t).and_then(|h| h.get(&t.top.name)) else { return };
    let sub = t.sub.map(|s| s.name.as_str()).or(p.sub.as_deref());
    let matcher = p.filter.as_ref().map(|f| Matcher::for_elements(f, t.top));
    let keep = |item: &Value| matcher.as_ref().is_none_or(|m| m.matches(item));
    let narrow = |item: &Value| match sub {
        None => Some(item.clone()),
        Some(s) => item.get(s).map(|v| {
            let mut m = Map::new();
            m.insert(s.to_owned(), v.clone());
            Value::Object(m)
        }),
    };
    let picked = match value {
        Value::Array(items) => Value::Array(items.iter().filter(|i| keep(i)).filter_map(narrow).collect()),
        v => match narrow(v) {
            Some(v) => v,
            None => return,
        },
    };
    let target = match t.ext {
        None => Some(out),
        Some(id) => super::resource::object_entry(out, id),
    };
    if let Some(target) = target {
        merge(target, &t.top.name, picked);
    }
}

/// Two requested sub-attributes of one attribute (`name.givenName,name.familyName`) merge.
fn merge(target: &mut Map<String, Value>, key: &str, new: Value) {
    match (target.get_mut(key), new) {
        (Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
        (Some(Value::Array(have)), Value::Array(add)) if have.len() == add.len() => {
            for (h, a) in have.iter_mut().zip(add) {
                if let (Some(h), Value::Object(a)) = (h.as_object_mut(), a) {
                    h.extend(a);
                }
            }
        }
        (_, new) => {
            target.insert(key.to_owned(), new);
        }
    }
}

fn remove_path(out: &mut Map<String, Value>, p: &PatchPath, rt: &ResourceType) {
    let Some(t) = p.attr.locate(rt) else { return };
    if t.top.returned == Returned::Always {
        return;
    }
    let holder = match t.ext {
        None => Some(out),
        Some(id) => out.get_mut(id).and_then(Value::as_object_mut),
    };
    let Some(holder) = holder else { return };
    match t.sub.map(|s| s.name.as_str()).or(p.sub.as_deref()) {
        None => {
            holder.remove(&t.top.name);
        }
        Some(sub) => match holder.get_mut(&t.top.name) {
            Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).for_each(|i| {
                i.remove(sub);
            }),
            Some(Value::Object(m)) => {
                m.remove(sub);
            }
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::{GROUP_TYPE, USER_TYPE};
    use serde_json::json;

    fn user() -> Value {
        json!({"schemas": ["s"], "id": "1", "userName": "b", "title": "t",
               "name": {"givenName": "B", "familyName": "J", "formatted": "B J"},
               "emails": [{"value": "w@x", "type": "work"}, {"value": "h@x", "type": "home"}],
               "meta": {"resourceType": "User"}})
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_id() {
        let p = Projection::parse(
            Some("userName,name.givenName,name.familyName,emails[type eq \"work\"]"),
            None,
            &USER_TYPE,
        )
        .unwrap();
        assert_eq!(
            p.apply(user(), &USER_TYPE),
            json!({"schemas": ["s"], "id": "1", "userName": "b", "name": {"givenName": "B", "familyName": "J"},
                   "emails": [{"value": "w@x", "type": "work"}]})
        );
        let p = Projection::parse(Some("emails.value"), None, &USER_TYPE).unwrap();
        assert_eq!(p.apply(user(), &USER_TYPE)["emails"], json!([{"value": "w@x"}, {"value": "h@x"}]));
    }

    #[test]
    fn excluded_attributes_never_drop_id() {
        let p = Projection::parse(None, Some("title,name.formatted,id,meta"), &USER_TYPE).unwrap();
        let out = p.apply(user(), &USER_TYPE);
        assert_eq!(out["id"], json!("1"));
        assert!(out.get("title").is_none() && out.get("meta").is_none());
        assert_eq!(out["name"], json!({"givenName": "B", "familyName": "J"}));
    }

    #[test]
    fn lists_are_bounded_and_each_entry_must_be_a_path() {
        let list = |n: usize| vec!["userName"; n].join(",");
        assert!(Projection::parse(Some(&list(MAX_ATTRIBUTE_PATHS)), None, &USER_TYPE).is_ok());
        // Empty entries (",,", a trailing comma) do not count.
        let padded = format!(",{},,", list(MAX_ATTRIBUTE_PATHS));
        assert!(Projection::parse(None, Some(&padded), &USER_TYPE).is_ok());
        let e = Projection::parse(Some(&list(MAX_ATTRIBUTE_PATHS + 1)), None, &USER_TYPE).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)));
        assert_eq!(e.detail, "'attributes' lists more than 100 attributes");
        let e = Projection::parse(None, Some(&list(200_000)), &USER_TYPE).unwrap_err();
        assert_eq!(e.detail, "'excludedAttributes' lists more than 100 attributes");
        // Commas inside a value filter do not split it.
        let inner = vec![r#"type eq "a,b""#; 50].join(" or ");
        let one = format!("emails[{inner}],{}", list(MAX_ATTRIBUTE_PATHS - 1));
        assert!(Projection::parse(Some(&one), None, &USER_TYPE).is_ok());
        for bad in ["user name", "emails[type eq]", "9x", "name.a.b", "emails[type pr"] {
            let e = Projection::parse(Some(bad), None, &USER_TYPE).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{bad}");
            assert!(e.detail.starts_with("'attributes': "), "{}", e.detail);
        }
    }

    #[test]
    fn includes_tells_whether_to_load_members_and_groups() {
        let none = Projection::default();
        assert!(none.includes("members", Returned::Default));
        assert!(!none.includes("groups", Returned::Request));
        let ex = Projection::parse(None, Some("members"), &GROUP_TYPE).unwrap();
        assert!(!ex.includes("members", Returned::Default));
        let only = Projection::parse(Some("displayName"), None, &GROUP_TYPE).unwrap();
        assert!(!only.includes("members", Returned::Default));
        let groups = Projection::parse(Some("userName,groups"), None, &USER_TYPE).unwrap();
        assert!(groups.includes("groups", Returned::Request));
    }
}
