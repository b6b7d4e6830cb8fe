//! The Groups function: `/Groups` under `/{tenant}/scim/v2`.

use bytes::Bytes;
use inlet_shared::api::{self, App, Endpoint};

/// The routes this function serves; API Gateway sends it exactly these.
pub const ENDPOINTS: &[Endpoint] = &[Endpoint::Groups];

pub async fn handle(app: &App, req: http::Request<Bytes>) -> http::Response<Bytes> {
    api::handle(app, req, ENDPOINTS).await
}
