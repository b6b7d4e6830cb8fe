//! Attribute paths (RFC 7644 §3.10): `userName`, `name.givenName`,
//! `urn:…:enterprise:2.0:User:manager.value`, and PATCH's value-filter form
//! `emails[type eq "work"].value`.

use super::error::{ScimError, ScimResult};
use super::filter::{self, Filter};
use super::schema::{Attribute, ResourceType, find};

/// `[urn:]attr[.sub]`; `urn` is the schema URN as written (resolved against the resource type later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

/// A PATCH target: `attr[filter].sub`, each part optional but `attr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

fn valid_name(name: &str) -> bool {
    name == "$ref"
        || name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl AttrPath {
    /// Parses `[urn:]attr[.sub]`. A URN prefix is matched against the resource type's
    /// schemas first, because schema URNs themselves contain `.` and `:`.
    pub fn parse(text: &str, rt: &ResourceType) -> ScimResult<Self> {
        let (urn, rest) = split_urn(text, rt)?;
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        if !valid_name(attr) || sub.is_some_and(|s| !valid_name(s)) {
            return Err(ScimError::invalid_path(format!("'{text}' is not a valid attribute path")));
        }
        Ok(Self { urn, attr: attr.to_owned(), sub: sub.map(str::to_owned) })
    }
}

/// Where a path points in a canonical resource: its top attribute (inside extension
/// object `ext`, if any) and optional sub-attribute.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub ext: Option<&'a str>,
    pub top: &'a Attribute,
    pub sub: Option<&'a Attribute>,
}

impl AttrPath {
    /// Resolves the path against `rt`'s schemas; `None` for an unknown attribute.
    pub fn locate<'a>(&self, rt: &'a ResourceType) -> Option<Target<'a>> {
        let (ext, top) = match &self.urn {
            Some(urn) if !urn.eq_ignore_ascii_case(&rt.core.id) => {
                let ext = rt.extension(urn)?;
                (Some(ext.id.as_str()), find(&ext.attributes, &self.attr)?)
            }
            _ => (None, rt.core_attr(&self.attr)?),
        };
        let sub = match &self.sub {
            Some(name) => Some(top.sub_attr(name)?),
            None => None,
        };
        Some(Target { ext, top, sub })
    }
}

fn split_urn<'a>(text: &'a str, rt: &ResourceType) -> ScimResult<(Option<String>, &'a str)> {
    if !text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return Ok((None, text));
    }
    for id in rt.schema_ids() {
        if let Some(rest) = text.get(id.len() + 1..)
            && text.get(..id.len()).is_some_and(|p| p.eq_ignore_ascii_case(id))
            && text.as_bytes().get(id.len()) == Some(&b':')
        {
            return Ok((Some(id.to_owned()), rest));
        }
    }
    // An unknown schema: the attribute is what follows the last ':'.
    match text.rsplit_once(':') {
        Some((urn, rest)) if !rest.is_empty() => Ok((Some(urn.to_owned()), rest)),
        _ => Err(ScimError::invalid_path(format!("'{text}' names no attribute"))),
    }
}

impl PatchPath {
    pub fn parse(text: &str, rt: &ResourceType) -> ScimResult<Self> {
        let text = text.trim();
        let Some(open) = text.find('[') else {
            return Ok(Self { attr: AttrPath::parse(text, rt)?, filter: None, sub: None });
        };
        let close = text
            .rfind(']')
            .filter(|&c| c > open)
            .ok_or_else(|| ScimError::invalid_path(format!("'{text}' has an unclosed '['")))?;
        let attr = AttrPath::parse(text.get(..open).unwrap_or_default(), rt)?;
        if attr.sub.is_some() {
            return Err(ScimError::invalid_path("a value filter must follow a top-level attribute"));
        }
        let inner = text.get(open + 1..close).unwrap_or_default();
        let filter = filter::parse(inner, rt).map_err(|e| ScimError::invalid_path(e.detail))?;
        let sub = match text.get(close + 1..).unwrap_or_default() {
            "" => None,
            rest => match rest.strip_prefix('.') {
                Some(s) if valid_name(s) => Some(s.to_owned()),
                _ => return Err(ScimError::invalid_path(format!("unexpected '{rest}' after ']'"))),
            },
        };
        Ok(Self { attr, filter: Some(filter), sub })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::USER_TYPE;

    #[test]
    fn parses_plain_dotted_and_urn_paths() {
        let p = AttrPath::parse("name.givenName", &USER_TYPE).unwrap();
        assert_eq!((p.urn, p.attr.as_str(), p.sub.as_deref()), (None, "name", Some("givenName")));
        let p = AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", &USER_TYPE)
            .unwrap();
        assert_eq!(p.urn.as_deref(), Some(crate::scim::schema::ENTERPRISE_SCHEMA));
        assert_eq!((p.attr.as_str(), p.sub.as_deref()), ("manager", Some("value")));
        assert!(AttrPath::parse("9bad", &USER_TYPE).is_err());
        assert!(AttrPath::parse("a.b.c", &USER_TYPE).is_err());
    }

    #[test]
    fn parses_value_filter_paths() {
        let p = PatchPath::parse(r#"emails[type eq "work"].value"#, &USER_TYPE).unwrap();
        assert_eq!(p.attr.attr, "emails");
        assert!(p.filter.is_some());
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert!(PatchPath::parse(r#"emails[type eq "work""#, &USER_TYPE).is_err());
        assert!(PatchPath::parse(r#"emails[type eq "work"]x"#, &USER_TYPE).is_err());
    }
}
