//! The identity domain: tenants (and their tokens), users, groups and their memberships,
//! over the storage contract. Knows SCIM resources but nothing of HTTP.

pub mod activity;
pub mod actor;
pub mod audit;
pub mod bulk;
mod claim;
mod create;
#[cfg(any(test, feature = "contract-tests"))]
pub mod declared_checks;
pub mod directory;
pub mod error;
mod indexes;
#[cfg(any(test, feature = "contract-tests"))]
pub mod invariants;
#[cfg(any(test, feature = "contract-tests"))]
mod invariants_log;
pub mod listing;
pub mod members;
pub(crate) mod plan;
#[cfg(any(test, feature = "contract-tests"))]
pub mod races;
pub mod records;
mod retry;
pub mod tenant;

pub use actor::{Actor, Caller, Source};
pub use directory::{Directory, Resource};
pub use error::{DomainError, DomainResult};
pub use tenant::TenantId;
