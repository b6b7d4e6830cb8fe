//! The SCIM 2.0 protocol (RFC 7643/7644), free of I/O: schemas, filters, paths, PATCH,
//! resource normalisation, projection, list parameters and discovery documents.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;

/// Sets `key` on a JSON object (a no-op on anything else, which never happens for the
/// objects built here; unlike `v[key] = …` it cannot panic).
pub(crate) fn set(v: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_owned(), value);
    }
}
