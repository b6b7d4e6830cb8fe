//! Tenants: each vendor customer (or customer location) is one, with its own SCIM base
//! URL (the tenant id is in the path), settings and bearer tokens.
//!
//! Where things live: the tenant record (name, status, settings) in the registry, a
//! [`Catalog`](crate::store::docs::Catalog) of documents; the token verifiers in the
//! vault, one document per tenant (Secrets Manager in AWS, 0600 files locally); each
//! token's last use in a third collection, written by the request path.

mod admin;
pub mod gate;
mod id;
mod record;
#[cfg(test)]
mod tests;
pub mod token;

pub use admin::{Issued, MAX_LIVE_TOKENS, Tenants};
pub use gate::{Access, Admission, Gate, schemas_of};
pub use id::TenantId;
pub use record::{Mode, Settings, SettingsChange, Status, Tenant, TenantChange, TokenInfo, TokenState};
