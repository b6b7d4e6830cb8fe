//! The Users function: `/Users`, `/Groups` (so a route for any case variant of either lands
//! on a function that answers it), the root `/.search` and the discovery endpoints
//! (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`) under `/{tenant}/scim/v2`.

use bytes::Bytes;
use inlet_shared::api::{self, App, Endpoint};

/// The routes this function answers: Groups too, so a template route for a case variant
/// (`/GROUPS`) that lands here is answered.
pub const ENDPOINTS: &[Endpoint] = &[Endpoint::Users, Endpoint::Groups, Endpoint::Discovery, Endpoint::Search];

pub async fn handle(app: &App, req: http::Request<Bytes>) -> http::Response<Bytes> {
    api::handle(app, req, ENDPOINTS).await
}
