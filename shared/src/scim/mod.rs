//! The SCIM 2.0 protocol (RFC 7643/7644), free of I/O: schemas, filters, paths, PATCH,
//! resource normalisation, projection, list parameters and discovery documents.

pub mod error;
pub mod filter;
pub mod path;
pub mod schema;
pub mod patch;
pub mod resource;
pub mod discovery;
pub mod list;
pub mod projection;
