//! Tenant and token administration: what the tokens function and the `inlet tenants` /
//! `inlet tokens` commands do. Every change is a read-modify-write of one document with
//! compare-and-swap, retried when another writer got there first, so concurrent admins
//! never lose each other's changes.

use super::record::{Settings, Status, Tenant, TenantChange, TokenInfo, TokenRecord, TokenState, TokenUse, Vault};
use super::{TenantId, token};
use crate::domain::records::{now, timestamp};
use crate::domain::{DomainError, DomainResult};
use crate::scim::error::ScimError;
use crate::scim::schema::Registry;
use crate::store::docs::{Catalog, Documents, Expect, TableDocs};
use crate::store::files::FileDocs;
use crate::store::{StoreError, Table, keys};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

/// Live tokens per tenant: two, so a rotation can overlap (issue new → update the
/// identity provider → revoke old).
pub const MAX_LIVE_TOKENS: usize = 2;
const CAS_ATTEMPTS: usize = 8;
/// Expired token records stay listed (state `expired`) this long, then every vault write
/// drops them, so a tenant's secret stays far below Secrets Manager's 64 KB.
pub const EXPIRED_GRACE: time::Duration = time::Duration::HOUR;
/// At most this many expired records are kept, even within the grace (the newest).
pub const MAX_EXPIRED_KEPT: usize = 8;

#[derive(Clone)]
pub struct Tenants {
    registry: Arc<dyn Catalog>,
    vault: Arc<dyn Documents>,
    usage: Arc<dyn Documents>,
    /// Raised by every change made through this value (and its clones): a [`Gate`](super::Gate)
    /// in the same process (`inlet serve`) re-reads at once instead of waiting out its cache.
    changes: Arc<AtomicU64>,
}

/// A newly issued token: the only time the token itself exists outside the client.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenInfo,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> DomainError {
    StoreError::Backend(format!("unreadable {what}: {e}")).into()
}

fn invalid(detail: impl Into<String>) -> DomainError {
    ScimError::invalid_value(detail).into()
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    crate::scim::filter::parse_time(text)
}

fn later(d: Duration) -> DomainResult<String> {
    let d = time::Duration::try_from(d).map_err(|_| invalid("duration out of range"))?;
    let at = OffsetDateTime::now_utc().checked_add(d).ok_or_else(|| invalid("duration out of range"))?;
    Ok(timestamp(at))
}

fn valid_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(invalid("a tenant name is 1 to 200 printable characters"));
    }
    Ok(name.to_owned())
}

impl TokenRecord {
    pub(super) fn expired_at(&self, at: OffsetDateTime) -> bool {
        self.expires.as_deref().is_some_and(|e| parse_time(e).is_none_or(|e| e <= at))
    }
}

impl Tenants {
    pub fn new(registry: Arc<dyn Catalog>, vault: Arc<dyn Documents>, usage: Arc<dyn Documents>) -> Self {
        Self { registry, vault, usage, changes: Arc::default() }
    }

    /// Registry and token use in the single table; the vault elsewhere (Secrets Manager).
    pub fn on_table(table: Arc<dyn Table>, vault: Arc<dyn Documents>) -> Self {
        let registry = Arc::new(TableDocs::new(Arc::clone(&table), keys::TENANTS));
        Self::new(registry, vault, Arc::new(TableDocs::new(table, keys::TOKEN_USE)))
    }

    /// Everything in files under a local data directory, made owner-only (0700, files 0600).
    pub fn in_dir(dir: &Path) -> DomainResult<Self> {
        crate::store::files::private_dir(dir)?;
        Ok(Self::new(
            Arc::new(FileDocs::open(&dir.join("tenants"), false)?),
            Arc::new(FileDocs::open(&dir.join("secrets"), true)?),
            Arc::new(FileDocs::open(&dir.join("token-use"), false)?),
        ))
    }

    pub async fn create(&self, id: &TenantId, name: Option<&str>, settings: Settings) -> DomainResult<Tenant> {
        let at = now();
        let tenant = Tenant {
            id: id.to_string(),
            name: valid_name(name.unwrap_or(id.as_str()))?,
            status: Status::Active,
            settings,
            schema: Registry::default(),
            created: at.clone(),
            updated: at,
        };
        let body = serde_json::to_vec(&tenant).map_err(|e| corrupt("tenant", e))?;
        match self.registry.put(id.as_str(), &body, Expect::Absent).await {
            Ok(()) => Ok(tenant),
            Err(StoreError::ConditionFailed { .. }) => Err(DomainError::Conflict(format!("tenant {id} exists"))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn list(&self) -> DomainResult<Vec<Tenant>> {
        let docs = self.registry.list().await?;
        docs.iter().map(|d| serde_json::from_slice(&d.body).map_err(|e| corrupt("tenant", e))).collect()
    }

    /// Every tenant id in the registry (the gate's existence check).
    pub(super) async fn ids(&self) -> DomainResult<Vec<String>> {
        Ok(self.registry.list().await?.into_iter().map(|d| d.name).collect())
    }

    /// The tenant, if it exists.
    pub async fn find(&self, id: &TenantId) -> DomainResult<Option<Tenant>> {
        Ok(read(&*self.registry, id, "tenant").await?.map(|(t, _)| t))
    }

    pub async fn show(&self, id: &TenantId) -> DomainResult<Tenant> {
        self.find(id).await?.ok_or_else(|| DomainError::NotFound(format!("tenant {id}")))
    }

    pub async fn update(&self, id: &TenantId, change: TenantChange) -> DomainResult<Tenant> {
        let name = change.name.as_deref().map(valid_name).transpose()?;
        let missing = || Err(DomainError::NotFound(format!("tenant {id}")));
        let result = modify(&*self.registry, id, "tenant", missing, |tenant: &mut Tenant, _| {
            if let Some(n) = &name {
                tenant.name.clone_from(n);
            }
            tenant.status = change.status.unwrap_or(tenant.status);
            tenant.settings.apply(change.settings);
            tenant.updated = now();
            Ok(tenant.clone())
        })
        .await;
        self.changed();
        result
    }

    /// Replaces the tenant's declared attributes with those of `doc` (`{"attributes": [ … ]}`),
    /// validated; the registry's version goes up by one. Compare-and-swap on the tenant record,
    /// so two concurrent applies cannot lose one another's version.
    pub async fn apply_schema(&self, id: &TenantId, doc: &serde_json::Value) -> DomainResult<Tenant> {
        let missing = || Err(DomainError::NotFound(format!("tenant {id}")));
        let result = modify(&*self.registry, id, "tenant", missing, |tenant: &mut Tenant, _| {
            tenant.schema = tenant.schema.apply(doc)?;
            tenant.updated = now();
            Ok(tenant.clone())
        })
        .await;
        self.changed();
        result
    }

    /// Issues a token, if the tenant has fewer than [`MAX_LIVE_TOKENS`] live ones.
    pub async fn issue(&self, id: &TenantId, label: Option<&str>, ttl: Option<Duration>) -> DomainResult<Issued> {
        self.show(id).await?;
        let expires = ttl.map(later).transpose()?;
        let issued = self
            .change_vault(id, |vault, at| {
                if vault.tokens.iter().filter(|t| !t.expired_at(at)).count() >= MAX_LIVE_TOKENS {
                    return Err(DomainError::TooMany(format!(
                        "tenant {id} has {MAX_LIVE_TOKENS} live tokens; revoke one first"
                    )));
                }
                Ok(add_token(vault, label, expires.clone()))
            })
            .await?;
        Ok(issued)
    }

    /// Rotation with overlap: a new token, and `old` expiring `overlap` from now (or sooner,
    /// if it already did), in one write.
    pub async fn rotate(
        &self,
        id: &TenantId,
        old: &str,
        overlap: Duration,
        label: Option<&str>,
        ttl: Option<Duration>,
    ) -> DomainResult<Issued> {
        self.show(id).await?;
        let (old_expires, expires) = (later(overlap)?, ttl.map(later).transpose()?);
        self.change_vault(id, |vault, at| {
            let others = vault.tokens.iter().filter(|t| t.id != old && !t.expired_at(at)).count();
            let current = vault.tokens.iter_mut().find(|t| t.id == old && !t.expired_at(at));
            let current = current.ok_or_else(|| DomainError::NotFound(format!("live token {old}")))?;
            if others + 1 >= MAX_LIVE_TOKENS {
                return Err(DomainError::TooMany(format!(
                    "tenant {id} already has another live token; revoke it first"
                )));
            }
            if current.expires.as_deref().and_then(parse_time).is_none_or(|e| Some(e) > parse_time(&old_expires)) {
                current.expires = Some(old_expires.clone());
            }
            Ok(add_token(vault, label, expires.clone()))
        })
        .await
    }

    pub async fn revoke(&self, id: &TenantId, token_id: &str) -> DomainResult<()> {
        self.show(id).await?;
        self.change_vault(id, |vault, _| {
            let before = vault.tokens.len();
            vault.tokens.retain(|t| t.id != token_id);
            if vault.tokens.len() == before {
                return Err(DomainError::NotFound(format!("token {token_id}")));
            }
            Ok(())
        })
        .await
    }

    /// Metadata of every token of the tenant (never a token or a verifier).
    pub async fn tokens(&self, id: &TenantId) -> DomainResult<Vec<TokenInfo>> {
        self.show(id).await?;
        let at = OffsetDateTime::now_utc();
        let mut infos = Vec::new();
        for t in self.verifiers(id).await? {
            let used: Option<TokenUse> = read(&*self.usage, &use_name(id, &t.id), "token use").await?.map(|(u, _)| u);
            infos.push(info(&t, at, used.map(|u| u.last_used)));
        }
        Ok(infos)
    }

    /// The tenant's token records, for the request path.
    pub(super) async fn verifiers(&self, id: &TenantId) -> DomainResult<Vec<TokenRecord>> {
        Ok(read::<Vault>(&*self.vault, id, "vault").await?.map(|(v, _)| v.tokens).unwrap_or_default())
    }

    pub(super) async fn record_use(&self, id: &TenantId, token_id: &str) -> DomainResult<()> {
        let body = serde_json::to_vec(&TokenUse { last_used: now() }).map_err(|e| corrupt("token use", e))?;
        Ok(self.usage.put(&use_name(id, token_id), &body, Expect::Any).await?)
    }

    async fn change_vault<R>(
        &self,
        id: &TenantId,
        mut change: impl FnMut(&mut Vault, OffsetDateTime) -> DomainResult<R>,
    ) -> DomainResult<R> {
        let empty = || Ok(Vault { tenant: id.to_string(), tokens: Vec::new() });
        let result = modify(&*self.vault, id, "vault", empty, |vault, at| {
            let result = change(vault, at)?;
            prune(vault, at);
            Ok(result)
        })
        .await;
        self.changed();
        result
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// How many changes this process made (see `changes`).
    pub fn generation(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }
}

/// Drops token records expired more than [`EXPIRED_GRACE`] before `at`, and all but the
/// [`MAX_EXPIRED_KEPT`] most recently expired ones.
pub(super) fn prune(vault: &mut Vault, at: OffsetDateTime) {
    let horizon = at.saturating_sub(EXPIRED_GRACE);
    // An unreadable expiry counts as expired (see `expired_at`), so it goes too.
    vault.tokens.retain(|t| !t.expired_at(horizon));
    let mut expired: Vec<(Option<OffsetDateTime>, String)> = vault
        .tokens
        .iter()
        .filter(|t| t.expired_at(at))
        .map(|t| (t.expires.as_deref().and_then(parse_time), t.id.clone()))
        .collect();
    expired.sort_unstable_by(|a, b| b.cmp(a));
    let dropped: Vec<String> = expired.into_iter().skip(MAX_EXPIRED_KEPT).map(|(_, id)| id).collect();
    vault.tokens.retain(|t| !dropped.contains(&t.id));
}

/// Read-modify-write of one document with compare-and-swap, retried when another writer got
/// there first. A missing document is `missing()`: a fresh one (created only if absent), or
/// an error.
async fn modify<T: Serialize + DeserializeOwned, R>(
    docs: &dyn Documents,
    id: &TenantId,
    what: &str,
    missing: impl Fn() -> DomainResult<T>,
    mut change: impl FnMut(&mut T, OffsetDateTime) -> DomainResult<R>,
) -> DomainResult<R> {
    for _ in 0..CAS_ATTEMPTS {
        let (mut doc, expect) = match read::<T>(docs, id, what).await? {
            Some((doc, tag)) => (doc, Expect::Tag(tag)),
            None => (missing()?, Expect::Absent),
        };
        let result = change(&mut doc, OffsetDateTime::now_utc())?;
        let body = serde_json::to_vec(&doc).map_err(|e| corrupt(what, e))?;
        match docs.put(id.as_str(), &body, expect).await {
            Ok(()) => return Ok(result),
            Err(StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::Busy)
}

/// The name of a token's last-use document (also the gate's key for when it last wrote one).
pub(super) fn use_name(id: &TenantId, token_id: &str) -> String {
    format!("{id}.{token_id}")
}

fn add_token(vault: &mut Vault, label: Option<&str>, expires: Option<String>) -> Issued {
    let secret = token::generate();
    let record = TokenRecord {
        id: token::new_id(),
        label: label.unwrap_or("").to_owned(),
        sha256: token::to_hex(&token::digest(&secret)),
        created: now(),
        expires,
    };
    let info = info(&record, OffsetDateTime::now_utc(), None);
    vault.tokens.push(record);
    Issued { token: secret, info }
}

fn info(t: &TokenRecord, at: OffsetDateTime, last_used: Option<String>) -> TokenInfo {
    TokenInfo {
        id: t.id.clone(),
        label: t.label.clone(),
        created: t.created.clone(),
        expires: t.expires.clone(),
        last_used,
        state: if t.expired_at(at) { TokenState::Expired } else { TokenState::Live },
    }
}

async fn read<T: DeserializeOwned>(
    docs: &dyn Documents,
    name: impl std::fmt::Display,
    what: &str,
) -> DomainResult<Option<(T, String)>> {
    let Some(doc) = docs.get(&name.to_string()).await? else { return Ok(None) };
    let value = serde_json::from_slice(&doc.body).map_err(|e| corrupt(what, e))?;
    Ok(Some((value, doc.tag)))
}
