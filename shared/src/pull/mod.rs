//! Okta API pull mode: for tenants whose identity provider cannot push SCIM, Inlet reads the
//! users and groups assigned to the customer's Okta application and reconciles the tenant's
//! directory. This layer sits beside the SCIM API, above the domain: it writes through
//! [`crate::domain::Directory`] like any client, and reads Okta through [`crate::okta`].
//!
//! - [`integration`]: per-tenant configuration, the org claim, the API token in its vault
//!   (changed under a short hold, `hold`);
//! - [`state`]: sync status, the per-tenant lease, the due list;
//! - `sync` / `apply` / `checkpoint` (feature `okta`): one run — read Okta, then apply.

#[cfg(feature = "okta")]
mod apply;
#[cfg(feature = "okta")]
pub mod checkpoint;
#[cfg(feature = "okta")]
pub mod configure;
mod hold;
pub mod integration;
#[cfg(any(test, feature = "contract-tests"))]
pub mod invariants;
#[cfg(feature = "okta")]
mod read;
#[cfg(feature = "okta")]
mod stage;
pub mod state;
#[cfg(feature = "okta")]
pub mod sync;
#[cfg(test)]
mod tests;

pub use integration::{Integration, Integrations, NewIntegration};
pub use state::{Counts, StatusView, SyncState};

use crate::domain::DomainError;
use crate::store::StoreError;

/// Default time between two syncs of a tenant.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 15 * 60;
/// Shortest interval: Okta's app bucket (~50 requests/min for one token) must not be spent
/// on polling.
pub const MIN_INTERVAL_SECONDS: u64 = 60;
pub const MAX_INTERVAL_SECONDS: u64 = 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Invalid(String),
    #[error("tenant {0} has no Okta integration")]
    NotConfigured(String),
    /// A rule of configuration would be broken (mode, one integration, one org per tenant).
    #[error("{0}")]
    Refused(String),
    /// The Okta credentials were checked and refused (or Okta could not be reached).
    #[error("{0}")]
    Okta(String),
    /// Another writer changed the integration at the same time; retry.
    #[error("the integration is being changed concurrently; retry")]
    Busy,
}

impl From<StoreError> for PullError {
    fn from(e: StoreError) -> Self {
        Self::Domain(e.into())
    }
}

pub type PullResult<T> = Result<T, PullError>;
