//! A tenant's Okta integration: where its org is, which application, how often to pull, and
//! the API token (kept apart, in its own vault). Configuration rules, each enforced with
//! nothing written when it fails: the tenant is in `okta_api` mode; one integration per
//! tenant (configured again only for the same application of the same org); one Okta org
//! provisions one tenant only — the org claim item is written in the same transaction as the
//! integration, so of two concurrent configures of one org exactly one wins. The token is
//! written under the tenant's hold (`hold`), so it always belongs to the integration recorded.

use super::hold::{self, Hold};
use super::state::{self, SyncState};
use super::{MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, PullError, PullResult};
use crate::domain::TenantId;
use crate::domain::records::now;
use crate::domain::tenant::{Mode, Tenants};
use crate::store::docs::{Documents, Expect};
use crate::store::{Condition, Item, Key, StoreError, Table, Write, keys};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What the integration item holds (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub tenant: String,
    /// The org's base URL as configured (normalised).
    pub domain: String,
    pub app_id: String,
    /// The org's id from `/.well-known/okta-organization`: what makes an org unique.
    pub org_id: String,
    pub interval_seconds: u64,
    pub created: String,
    pub updated: String,
}

/// A configure request, after the credentials were checked against Okta.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub domain: String,
    pub app_id: String,
    pub org_id: String,
    pub interval_seconds: u64,
    pub token: String,
}

#[derive(Serialize, Deserialize)]
struct TokenDoc {
    /// Empty once the integration is disabled (the vault has no delete).
    token: String,
}

#[derive(Clone)]
pub struct Integrations {
    table: Arc<dyn Table>,
    vault: Arc<dyn Documents>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> PullError {
    PullError::Domain(StoreError::Backend(format!("unreadable {what}: {e}")).into())
}

pub fn check_interval(seconds: u64) -> PullResult<u64> {
    if (MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(PullError::Invalid(format!(
            "the pull interval is {MIN_INTERVAL_SECONDS} s to {MAX_INTERVAL_SECONDS} s (default 900 s), not {seconds} s"
        )))
    }
}

/// Okta application ids are letters and digits (`0oa…`).
pub fn check_app_id(id: &str) -> PullResult<()> {
    if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(PullError::Invalid("an Okta application id is 1-64 letters and digits (like 0oa1b2c3d4E5f6G7h8i9)".into()))
    }
}

impl Integrations {
    pub fn new(table: Arc<dyn Table>, vault: Arc<dyn Documents>) -> Self {
        Self { table, vault }
    }

    pub fn table(&self) -> &Arc<dyn Table> {
        &self.table
    }

    pub async fn get(&self, t: &TenantId) -> PullResult<Option<Integration>> {
        Ok(self.get_versioned(t).await?.map(|(i, _)| i))
    }

    async fn get_versioned(&self, t: &TenantId) -> PullResult<Option<(Integration, u64)>> {
        match self.table.get(&keys::okta_config(t.as_str())).await? {
            Some(item) => {
                let i = serde_json::from_slice(&item.body).map_err(|e| corrupt("Okta integration", e))?;
                Ok(Some((i, item.version)))
            }
            None => Ok(None),
        }
    }

    /// The API token, for the puller (and nothing else: the SCIM functions cannot read this vault).
    pub async fn token(&self, t: &TenantId) -> PullResult<Option<String>> {
        let Some(doc) = self.vault.get(t.as_str()).await? else { return Ok(None) };
        let doc: TokenDoc = serde_json::from_slice(&doc.body).map_err(|e| corrupt("Okta token record", e))?;
        Ok(Some(doc.token).filter(|t| !t.is_empty()))
    }

    async fn put_token(&self, t: &TenantId, token: &str) -> PullResult<()> {
        let body = serde_json::to_vec(&TokenDoc { token: token.to_owned() }).map_err(|e| corrupt("token", e))?;
        Ok(self.vault.put(t.as_str(), &body, Expect::Any).await?)
    }

    /// Records a checked integration (see the module notes for the rules), under the
    /// tenant's hold (`hold`).
    pub async fn configure(&self, tenants: &Tenants, t: &TenantId, new: NewIntegration) -> PullResult<Integration> {
        check_interval(new.interval_seconds)?;
        check_app_id(&new.app_id)?;
        let h = hold::take(self.table.as_ref(), t).await?;
        let r = self.configure_held(tenants, t, new, &h).await;
        hold::settle(self.table.as_ref(), t, h, r).await
    }

    async fn configure_held(
        &self,
        tenants: &Tenants,
        t: &TenantId,
        new: NewIntegration,
        h: &Hold,
    ) -> PullResult<Integration> {
        let tenant = tenants.show(t).await?;
        if tenant.settings.mode != Mode::OktaApi {
            return Err(PullError::Refused(format!(
                "tenant {t} is in scim mode: switch it to okta_api first (`inlet tenants update {t} --mode okta-api`), \
                 which turns its SCIM endpoint off"
            )));
        }
        let existing = self.get_versioned(t).await?;
        // Configuring again is for the same application of the same org (a new token, the
        // org's other domain name, another interval); anything else is a second integration.
        if let Some((old, _)) = &existing
            && (old.org_id != new.org_id || old.app_id != new.app_id)
        {
            return Err(PullError::Refused(format!(
                "tenant {t} already has an Okta integration (application {} of org {} at {}); a tenant has one: \
                 disable it first",
                old.app_id, old.org_id, old.domain
            )));
        }
        // The token is stored first: an integration is never visible without its token. Under
        // the hold no one else writes it, so what was there can be put back.
        let previous = self.vault.get(t.as_str()).await?;
        self.put_token(t, &new.token).await?;
        let at = now();
        let created = existing.as_ref().map_or_else(|| at.clone(), |(old, _)| old.created.clone());
        let integration = Integration {
            tenant: t.to_string(),
            domain: new.domain,
            app_id: new.app_id,
            org_id: new.org_id,
            interval_seconds: new.interval_seconds,
            created,
            updated: at,
        };
        let body = serde_json::to_vec(&integration).map_err(|e| corrupt("integration", e))?;
        let config = keys::okta_config(t.as_str());
        let claim = keys::okta_org_claim(&integration.org_id);
        let (state, state_version) = state::read(self.table.as_ref(), t).await?.unwrap_or_default();
        let state = state.due_now(integration.interval_seconds);
        let mut writes = match &existing {
            None => vec![
                Write::Put { item: Item { version: 1, ..Item::new(config, body) }, cond: Condition::NotExists },
                Write::Put {
                    item: Item::new(claim.clone(), t.as_str().as_bytes().to_vec()),
                    cond: Condition::NotExists,
                },
            ],
            Some((_, v)) => vec![
                Write::Put { item: Item { version: v + 1, ..Item::new(config, body) }, cond: Condition::Version(*v) },
                Write::Check { key: claim.clone(), cond: Condition::Exists },
            ],
        };
        writes.push(state::write(t, &state, state_version)?);
        writes.push(hold::still_held(h));
        let held_at = writes.len() - 1;
        let refused = match self.table.transact(writes).await {
            Ok(()) => return Ok(integration),
            // The hold lapsed and another caller has it: the vault is that one's now.
            Err(StoreError::ConditionFailed { index }) if index == held_at => return Err(PullError::Busy),
            Err(StoreError::ConditionFailed { index: 1 }) => self.org_taken(&claim, &integration.org_id).await,
            Err(StoreError::ConditionFailed { .. }) => PullError::Busy,
            Err(e) => e.into(),
        };
        // The token stored above must not outlive the refusal (the vault has no delete: a
        // tenant that had none gets a blank one).
        match previous {
            Some(doc) => self.vault.put(t.as_str(), &doc.body, Expect::Any).await?,
            None => self.put_token(t, "").await?,
        }
        Err(refused)
    }

    async fn org_taken(&self, claim: &Key, org: &str) -> PullError {
        let holder = match self.table.get(claim).await {
            Ok(Some(item)) => String::from_utf8_lossy(&item.body).into_owned(),
            _ => "another tenant".to_owned(),
        };
        PullError::Refused(format!(
            "Okta org {org} already provisions tenant {holder}: one Okta org provisions one tenant"
        ))
    }

    /// Turns the pull off: the integration, its org claim and its place in the due list go in
    /// one transaction (the status stays readable), and the token is blanked.
    pub async fn disable(&self, t: &TenantId) -> PullResult<()> {
        let h = hold::take(self.table.as_ref(), t).await?;
        let r = self.disable_held(t, &h).await;
        hold::settle(self.table.as_ref(), t, h, r).await
    }

    async fn disable_held(&self, t: &TenantId, h: &Hold) -> PullResult<()> {
        let Some((integration, version)) = self.get_versioned(t).await? else {
            return Err(PullError::NotConfigured(t.to_string()));
        };
        let (state, state_version) = state::read(self.table.as_ref(), t)
            .await?
            .ok_or_else(|| corrupt("sync state", format!("tenant {t} has an integration but no sync state")))?;
        let state = SyncState { next_due: None, ..state };
        let writes = vec![
            Write::Delete { key: keys::okta_config(t.as_str()), cond: Condition::Version(version) },
            Write::Delete { key: keys::okta_org_claim(&integration.org_id), cond: Condition::None },
            state::write(t, &state, state_version)?,
            hold::still_held(h),
        ];
        match self.table.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Err(PullError::Busy),
            Err(e) => return Err(e.into()),
        }
        self.put_token(t, "").await
    }
}
