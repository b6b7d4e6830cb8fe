//! List and search parameters (RFC 7644 §3.4.2, §3.4.3) and the ListResponse.

use super::error::{ScimError, ScimResult};
use super::filter::{self, Filter};
use super::path::AttrPath;
use super::projection::Projection;
use super::schema::{LIST_RESPONSE, ResourceType};
use serde_json::{Value, json};

/// Page size when the client names none (Okta asks for 100, Entra for 100 or less).
pub const DEFAULT_COUNT: usize = 100;
/// Largest page served; a larger `count` is lowered to this (RFC 7644 §3.4.2.4 allows it).
pub const MAX_COUNT: usize = 1000;

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based, as in SCIM; values below 1 are treated as 1.
    pub start_index: usize,
    pub count: usize,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    pub projection: Projection,
}

/// The raw parameters, from a query string or a `/.search` body.
#[derive(Debug, Default)]
pub struct ListParams<'a> {
    pub filter: Option<&'a str>,
    pub start_index: Option<&'a str>,
    pub count: Option<&'a str>,
    pub sort_by: Option<&'a str>,
    pub sort_order: Option<&'a str>,
    pub attributes: Option<&'a str>,
    pub excluded_attributes: Option<&'a str>,
}

fn number(name: &str, text: Option<&str>) -> ScimResult<Option<i64>> {
    text.map(|t| t.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("'{name}' must be an integer"))))
        .transpose()
}

impl ListQuery {
    pub fn parse(p: &ListParams<'_>, rt: &ResourceType) -> ScimResult<Self> {
        let filter = match p.filter.map(str::trim) {
            None | Some("") => None,
            Some(f) => Some(filter::parse(f, rt)?),
        };
        let start_index = number("startIndex", p.start_index)?.unwrap_or(1).max(1);
        let count = number("count", p.count)?.map_or(DEFAULT_COUNT as i64, |c| c.clamp(0, MAX_COUNT as i64));
        let sort_by = p.sort_by.filter(|s| !s.trim().is_empty()).map(|s| AttrPath::parse(s.trim(), rt)).transpose()?;
        let descending = match p.sort_order.map(str::to_ascii_lowercase).as_deref() {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(o) => return Err(ScimError::invalid_value(format!("unknown sortOrder '{o}'"))),
        };
        Ok(Self {
            filter,
            start_index: usize::try_from(start_index).unwrap_or(1),
            count: usize::try_from(count).unwrap_or(0),
            sort_by,
            descending,
            projection: Projection::parse(p.attributes, p.excluded_attributes, rt)?,
        })
    }

    /// Parameters from a `POST /.search` body (RFC 7644 §3.4.3): the same names, with
    /// `attributes` as JSON arrays and numbers as JSON numbers.
    pub fn from_search(body: &Value, rt: &ResourceType) -> ScimResult<Self> {
        let Value::Object(fields) = body else {
            return Err(ScimError::invalid_syntax("the search body must be a JSON object"));
        };
        let get = |name: &str| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        // A parameter of the wrong JSON type is refused, not ignored: ignoring `filter`
        // would answer with every resource.
        let text = |name: &str| -> ScimResult<Option<String>> {
            let wrong =
                || ScimError::invalid_value(format!("'{name}' must be a string, a number or a list of strings"));
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => {
                    let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                    Ok(Some(names.ok_or_else(wrong)?.join(",")))
                }
                Some(_) => Err(wrong()),
            }
        };
        let (filter, start, count, sort_by, order, attrs, excluded) = (
            text("filter")?,
            text("startIndex")?,
            text("count")?,
            text("sortBy")?,
            text("sortOrder")?,
            text("attributes")?,
            text("excludedAttributes")?,
        );
        Self::parse(
            &ListParams {
                filter: filter.as_deref(),
                start_index: start.as_deref(),
                count: count.as_deref(),
                sort_by: sort_by.as_deref(),
                sort_order: order.as_deref(),
                attributes: attrs.as_deref(),
                excluded_attributes: excluded.as_deref(),
            },
            rt,
        )
    }
}

pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::USER_TYPE;

    #[test]
    fn paging_is_clamped_and_validated() {
        let q = ListQuery::parse(
            &ListParams { start_index: Some("0"), count: Some("100000"), ..Default::default() },
            &USER_TYPE,
        )
        .unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_COUNT));
        let q = ListQuery::parse(&ListParams { count: Some("-5"), ..Default::default() }, &USER_TYPE).unwrap();
        assert_eq!(q.count, 0);
        assert!(ListQuery::parse(&ListParams { count: Some("ten"), ..Default::default() }, &USER_TYPE).is_err());
        assert!(
            ListQuery::parse(&ListParams { sort_order: Some("sideways"), ..Default::default() }, &USER_TYPE).is_err()
        );
    }

    #[test]
    fn search_body_uses_the_same_rules() {
        let body = serde_json::json!({"schemas": [crate::scim::schema::SEARCH_REQUEST], "filter": "userName eq \"a\"",
                                      "startIndex": 3, "count": 7, "attributes": ["userName"]});
        let q = ListQuery::from_search(&body, &USER_TYPE).unwrap();
        assert!(q.filter.is_some());
        assert_eq!((q.start_index, q.count), (3, 7));
        assert!(!q.projection.is_default());
    }

    #[test]
    fn search_body_of_the_wrong_type_is_refused() {
        for body in [
            serde_json::json!({"filter": true}),
            serde_json::json!({"filter": {"userName": "a"}}),
            serde_json::json!({"attributes": ["userName", 7]}),
            serde_json::json!({"count": [1]}),
        ] {
            let e = ListQuery::from_search(&body, &USER_TYPE).unwrap_err();
            assert_eq!(e.scim_type, Some(crate::scim::error::ScimType::InvalidValue), "{body}");
        }
        let q = ListQuery::from_search(&serde_json::json!({"filter": null, "count": 5}), &USER_TYPE).unwrap();
        assert!(q.filter.is_none() && q.count == 5);
        let many: Vec<String> = (0..=crate::scim::projection::MAX_ATTRIBUTE_PATHS).map(|i| format!("a{i}")).collect();
        let e = ListQuery::from_search(&serde_json::json!({"attributes": many}), &USER_TYPE).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::scim::error::ScimType::InvalidValue));
    }

    #[test]
    fn filter_bounds_reach_list_queries() {
        let chain = vec!["userName pr"; crate::scim::filter::MAX_FILTER_COMPARISONS + 1].join(" or ");
        let e = ListQuery::parse(&ListParams { filter: Some(&chain), ..Default::default() }, &USER_TYPE).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::scim::error::ScimType::InvalidFilter));
        let entra = r#"emails[type eq "work"].value eq "x@y""#;
        let q = ListQuery::parse(&ListParams { filter: Some(entra), ..Default::default() }, &USER_TYPE).unwrap();
        assert!(q.filter.is_some_and(|f| f.required_equalities().is_empty()));
    }
}
