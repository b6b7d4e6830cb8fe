//! First start of `inlet serve`: with no tenants yet, tenant `default` is created and
//! given a token, printed once (only its digest is kept, in the 0600 vault).

use inlet_shared::domain::tenant::{Settings, TenantId, Tenants};

pub const DEFAULT_TENANT: &str = "default";

/// Makes sure the tenants `serve` announces exist; returns a token issued just now, if any.
/// With a dev token, `default` is created if missing but gets no issued token.
pub async fn first_start(tenants: &Tenants, dev_token: bool) -> Result<Option<String>, String> {
    let default = TenantId::parse(DEFAULT_TENANT).ok_or("invalid default tenant")?;
    let existing = tenants.list().await.map_err(|e| e.to_string())?;
    if existing.iter().any(|t| t.id == DEFAULT_TENANT) || (!existing.is_empty() && !dev_token) {
        return Ok(None);
    }
    tenants.create(&default, Some("Default tenant"), Settings::default()).await.map_err(|e| e.to_string())?;
    if dev_token {
        return Ok(None);
    }
    let issued = tenants.issue(&default, Some("first start"), None).await.map_err(|e| e.to_string())?;
    Ok(Some(issued.token))
}
