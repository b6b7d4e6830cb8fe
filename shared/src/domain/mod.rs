//! The identity domain: tenants (and their tokens), users, groups and their memberships,
//! over the storage contract. Knows SCIM resources but nothing of HTTP.

pub mod directory;
pub mod error;
pub mod listing;
pub mod members;
mod plan;
pub mod records;
pub mod tenant;

pub use directory::{Directory, Resource};
pub use error::{DomainError, DomainResult};
pub use tenant::TenantId;
