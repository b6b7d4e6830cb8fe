//! The identity domain: tenants (and their tokens), users, groups and their memberships,
//! over the storage contract. Knows SCIM resources but nothing of HTTP.

pub mod directory;
pub mod error;
#[cfg(any(test, feature = "contract-tests"))]
pub mod invariants;
pub mod listing;
pub mod members;
pub(crate) mod plan;
#[cfg(any(test, feature = "contract-tests"))]
pub mod races;
pub mod records;
pub mod tenant;

pub use directory::{Directory, Resource};
pub use error::{DomainError, DomainResult};
pub use tenant::TenantId;
