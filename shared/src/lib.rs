//! Inlet's common crate. Layers, from the inside out:
//! - [`scim`]: the SCIM 2.0 protocol, pure (no I/O);
//! - [`store`]: the single-table storage contract and its backends;
//! - [`domain`]: tenants, users, groups, ownership, on top of the store;
//! - [`api`]: framework-independent request handling shared by every entry point;
//! - `okta` (feature `okta`): a client of Okta's Management API, for the pull mode;
//! - [`events`]: carrying the activity log's outbox records to the vendor's product;
//! - [`pull`]: the Okta API pull mode, a client of the domain like the SCIM API;
//! - [`startup`]: the composition root every entry point builds itself from.

pub mod api;
#[cfg(feature = "aws")]
pub mod aws;
pub mod domain;
pub mod events;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "okta")]
pub mod okta;
pub mod pull;
pub mod scim;
pub mod startup;
pub mod store;
