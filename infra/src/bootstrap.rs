//! First start of `inlet serve`: with no tenants yet, tenant `default` is created and
//! given a token, printed once (only its digest is kept, in the 0600 vault).

use inlet_shared::domain::tenant::{Settings, TenantId, Tenants};

pub const DEFAULT_TENANT: &str = "default";

/// Tenant `default` as an id (first start creates it; a dev token is bound to it).
pub fn default_tenant() -> Result<TenantId, String> {
    TenantId::parse(DEFAULT_TENANT).ok_or_else(|| "invalid default tenant".to_owned())
}

/// What the first start found or made.
pub struct Started {
    /// Tenant `default` exists (the banner names its base URL).
    pub has_default: bool,
    /// A token issued just now, to print once.
    pub issued: Option<String>,
}

/// Makes sure the tenants `serve` announces exist; reports whether `default` exists and
/// the token issued just now, if any. With a dev token, `default` is created if missing but
/// gets no issued token.
pub async fn first_start(tenants: &Tenants, dev_token: bool) -> Result<Started, String> {
    let default = default_tenant()?;
    let existing = tenants.list().await.map_err(|e| e.to_string())?;
    let has_default = existing.iter().any(|t| t.id == DEFAULT_TENANT);
    if has_default || (!existing.is_empty() && !dev_token) {
        return Ok(Started { has_default, issued: None });
    }
    tenants.create(&default, Some("Default tenant"), Settings::default()).await.map_err(|e| e.to_string())?;
    if dev_token {
        return Ok(Started { has_default: true, issued: None });
    }
    let issued = tenants.issue(&default, Some("first start"), None).await.map_err(|e| e.to_string())?;
    Ok(Started { has_default: true, issued: Some(issued.token) })
}
