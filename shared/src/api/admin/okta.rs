//! `/admin/tenants/{t}/okta`: a tenant's Okta API pull.
//!
//! | method | path                          | does |
//! |--------|-------------------------------|------|
//! | GET    | `/admin/tenants/{t}/okta`     | status (never the token) |
//! | PUT    | `/admin/tenants/{t}/okta`     | configure `{domain, appId, token, intervalSeconds?}`: checked with Okta first |
//! | DELETE | `/admin/tenants/{t}/okta`     | disable (204) |
//! | POST   | `/admin/tenants/{t}/okta/sync`| make the tenant due now (202) |

use super::super::error::ApiError;
use super::Admin;
use crate::domain::TenantId;
use crate::pull::configure::{Credentials, check};
use crate::pull::{DEFAULT_INTERVAL_SECONDS, PullError, state};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Configure {
    domain: String,
    app_id: String,
    token: String,
    interval_seconds: Option<u64>,
}

pub async fn status(admin: &Admin, t: &TenantId) -> Result<Value, ApiError> {
    admin.tenants.show(t).await?;
    let integration = admin.integrations.get(t).await?;
    let (s, _) = state::read(admin.integrations.table().as_ref(), t).await?.unwrap_or_default();
    let view = state::view(t, integration.as_ref(), &s, time::OffsetDateTime::now_utc());
    serde_json::to_value(view).map_err(|e| ApiError::from(PullError::Invalid(e.to_string())))
}

pub async fn configure(admin: &Admin, t: &TenantId, raw: &[u8]) -> Result<Value, ApiError> {
    let c: Configure = serde_json::from_slice(raw).map_err(|e| {
        PullError::Invalid(format!("invalid request: {e} (fields: domain, appId, token, intervalSeconds)"))
    })?;
    // The mode is checked before Okta is called, and again where it is recorded.
    let tenant = admin.tenants.show(t).await?;
    if tenant.settings.mode != crate::domain::tenant::Mode::OktaApi {
        return Err(PullError::Refused(format!("tenant {t} is in scim mode: switch it to okta_api first")).into());
    }
    let creds = Credentials {
        domain: c.domain,
        app_id: c.app_id,
        token: c.token,
        interval_seconds: c.interval_seconds.unwrap_or(DEFAULT_INTERVAL_SECONDS),
    };
    let checked = check(creds, crate::okta::Limits::default()).await?;
    let integration = admin.integrations.configure(&admin.tenants, t, checked).await?;
    Ok(json!(integration))
}

pub async fn disable(admin: &Admin, t: &TenantId) -> Result<(), ApiError> {
    Ok(admin.integrations.disable(t).await?)
}

pub async fn sync_soon(admin: &Admin, t: &TenantId) -> Result<Value, ApiError> {
    let table = admin.integrations.table().as_ref();
    let integration = admin.integrations.get(t).await?.ok_or_else(|| PullError::NotConfigured(t.to_string()))?;
    let (s, v) = state::read(table, t).await?.unwrap_or_default();
    let s = state::SyncState { next_due: Some(state::at_offset(0)), ..s };
    state::swap(table, t, &s, v).await?.ok_or(PullError::Busy)?;
    Ok(json!({"tenant": integration.tenant, "due": s.next_due}))
}
