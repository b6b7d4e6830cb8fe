//! The vendor's operations on tenants and tokens, each recorded in the tenant's activity log.
//! Tenant records and token vaults are documents (the registry, Secrets Manager or files)
//! that no table transaction spans, so the entry is written right after the change: a
//! failure to write it is logged loudly and does not undo or hide the change (an issued
//! token must still be shown once).

use super::activity::Entry;
use super::actor::Actor;
use super::directory::Directory;
use super::error::DomainResult;
use super::tenant::{Issued, Settings, Tenant, TenantChange, TenantId, Tenants};
use crate::scim::schema::Registry;
use serde_json::{Value, json};
use std::time::Duration;

pub struct TenantAdmin<'a> {
    pub tenants: &'a Tenants,
    pub directory: &'a Directory,
    pub actor: Actor,
}

impl TenantAdmin<'_> {
    async fn log(&self, t: &TenantId, e: Entry) {
        if let Err(err) = self.directory.record(t, &self.actor, &[e]).await {
            tracing::error!(tenant = %t, error = %err, "an admin change was made but could not be recorded in the activity log");
        }
    }

    pub async fn create(&self, id: &TenantId, name: Option<&str>, settings: Settings) -> DomainResult<Tenant> {
        let t = self.tenants.create(id, name, settings).await?;
        self.log(
            id,
            Entry::other("tenant.created", "Tenant", id.as_str(), json!({"name": t.name, "settings": t.settings})),
        )
        .await;
        Ok(t)
    }

    pub async fn update(&self, id: &TenantId, change: TenantChange) -> DomainResult<Tenant> {
        let old = self.tenants.show(id).await?;
        let new = self.tenants.update(id, change).await?;
        let changed = changed_fields(&old, &new);
        if !changed.is_empty() {
            let mut e = Entry::other(
                "tenant.updated",
                "Tenant",
                id.as_str(),
                json!({"status": new.status, "settings": new.settings}),
            );
            e.changed = changed;
            self.log(id, e).await;
        }
        Ok(new)
    }

    /// Applies an attribute registry document (`Tenants::apply_schema`); the entry names the
    /// declared attributes and the new version.
    pub async fn apply_schema(&self, id: &TenantId, doc: &Value) -> DomainResult<Registry> {
        let registry = self.tenants.apply_schema(id, doc).await?.schema;
        let names: Vec<String> = registry
            .attributes
            .iter()
            .map(|d| format!("{}:{}", d.schema, d.definition.get("name").and_then(Value::as_str).unwrap_or("?")))
            .collect();
        let detail = json!({"version": registry.version, "attributes": names});
        self.log(id, Entry::other("tenant.schema_applied", "Tenant", id.as_str(), detail)).await;
        Ok(registry)
    }

    pub async fn issue(&self, id: &TenantId, label: Option<&str>, ttl: Option<Duration>) -> DomainResult<Issued> {
        let issued = self.tenants.issue(id, label, ttl).await?;
        let detail = json!({"label": issued.info.label, "expires": issued.info.expires});
        self.log(id, Entry::other("token.issued", "Token", &issued.info.id, detail)).await;
        Ok(issued)
    }

    pub async fn rotate(
        &self,
        id: &TenantId,
        old: &str,
        overlap: Duration,
        label: Option<&str>,
        ttl: Option<Duration>,
    ) -> DomainResult<Issued> {
        let issued = self.tenants.rotate(id, old, overlap, label, ttl).await?;
        let detail = json!({"newTokenId": issued.info.id, "overlapSeconds": overlap.as_secs()});
        self.log(id, Entry::other("token.rotated", "Token", old, detail)).await;
        Ok(issued)
    }

    pub async fn revoke(&self, id: &TenantId, token_id: &str) -> DomainResult<()> {
        self.tenants.revoke(id, token_id).await?;
        self.log(id, Entry::other("token.revoked", "Token", token_id, json!({}))).await;
        Ok(())
    }
}

/// The names of a tenant's fields that differ (`name`, `status`, `settings.readAllUsers`).
fn changed_fields(old: &Tenant, new: &Tenant) -> Vec<String> {
    let (a, b) = (json!(old), json!(new));
    let mut out = Vec::new();
    for key in ["name", "status"] {
        if a.get(key) != b.get(key) {
            out.push(key.to_owned());
        }
    }
    if let (Some(Value::Object(x)), Some(Value::Object(y))) = (a.get("settings"), b.get("settings")) {
        out.extend(x.keys().filter(|k| x.get(*k) != y.get(*k)).map(|k| format!("settings.{k}")));
    }
    out
}
