//! A client of Okta's Management API for the Okta-API pull mode: the read-only calls a sync
//! of an app's assigned users and groups needs, with an SSWS token, Link-header pagination and
//! rate-limit pacing. Built from Okta's published spec (`shared/reference/okta-management-endpoints.yaml`).
//!
//! - [`url`]: org URL, token and id checks; [`link`]: RFC 8288 `Link` parsing;
//! - [`pacing`]: when to send, as pure functions; [`client`]: the HTTP client (the only clock);
//! - [`model`]: the API's objects; [`map`]: app users and groups → SCIM resources.

pub mod client;
mod error;
pub mod link;
pub mod map;
pub mod model;
pub mod pacing;
mod stats;
pub mod url;

#[cfg(test)]
mod client_tests;

pub use client::{Limits, OktaClient};
pub use error::OktaError;
pub use map::{PulledUser, pulled_active, pulled_user, scim_group_name, scim_user};
pub use model::{AppGroup, AppUser, Group, Member, OrgMetadata, Page, User, UserProfile};
pub use stats::{BucketCounts, Stats};
pub use url::{ApiToken, OrgUrl};
