//! Verification on every SCIM request, in the function itself: the tenant record and the
//! tenant's verifiers are cached per process for `ttl` (default 30 s), so a warm function
//! reads them at most once per tenant per `ttl` (the verifiers only for an active tenant),
//! and a revoked token, a disabled tenant or a mode switch takes effect everywhere within
//! `ttl`. A token that matches nothing cached triggers an early re-read (a token issued a
//! moment ago), at most once per [`MIN_REFRESH`], so a flood of bad tokens cannot turn into
//! a flood of reads.
//!
//! Only tenants in the registry get a cache entry, so requests naming made-up tenants can
//! never evict a live one. An id with no entry costs one registry read while the miss
//! budget ([`MISS_RATE`] per second) lasts; past it, the registry's listed ids answer, listed
//! at most once per [`MIN_REFRESH`]. A flood of made-up ids thus costs at most `MISS_RATE`
//! reads per second plus one listing per `MIN_REFRESH` per process, never a vault read,
//! and a real tenant is still recognised during one.

use super::record::{Mode, Settings, Status, Tenant, TokenRecord};
use super::{TenantId, Tenants, token};
use crate::domain::DomainError;
use crate::domain::DomainResult;
use crate::scim::schema::Schemas;
use crate::store::StoreError;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// How long a process trusts what it read of a tenant: the bound on revocation latency.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// Shortest interval between two reads of one tenant's documents.
pub const MIN_REFRESH: Duration = Duration::from_secs(5);
/// A token's last use is written at most this often per process.
const USE_INTERVAL: Duration = Duration::from_secs(300);
/// Bound on remembered token uses (only tokens that were granted are remembered).
const MAX_USES: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// Missing, unknown, foreign, revoked or expired token, or an unknown or disabled
    /// tenant: one answer for all.
    Denied,
    /// A valid token, but the tenant is in `okta_api` mode.
    ScimOff,
}

/// What a token was let in as: its id and the tenant's settings, for the request to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Granted {
        token_id: String,
        settings: Settings,
        schemas: Arc<Schemas>,
    },
    Denied,
    /// A valid token, but the tenant's SCIM provisioning is off (`okta_api` mode, or
    /// provisioning turned off).
    ScimOff,
}

impl Admission {
    pub fn access(&self) -> Access {
        match self {
            Self::Granted { .. } => Access::Granted,
            Self::Denied => Access::Denied,
            Self::ScimOff => Access::ScimOff,
        }
    }
}

/// The schemas of a tenant as read (its declared attributes, validated when applied).
pub fn schemas_of(tenant: &Tenant) -> DomainResult<Arc<Schemas>> {
    Schemas::of(&tenant.schema).map_err(|e| {
        DomainError::Store(StoreError::Backend(format!("tenant {}'s attribute registry is unreadable: {e}", tenant.id)))
    })
}

/// What a valid token (`token_id`) of `tenant` may do.
fn admit(tenant: Option<&Read>, token_id: &str) -> Admission {
    match tenant {
        Some((t, schemas)) if t.status == Status::Active => match t.settings.mode {
            Mode::Scim if t.settings.provisioning => {
                Admission::Granted { token_id: token_id.to_owned(), settings: t.settings, schemas: Arc::clone(schemas) }
            }
            Mode::Scim | Mode::OktaApi => Admission::ScimOff,
        },
        _ => Admission::Denied,
    }
}

struct Entry {
    fetched: Instant,
    /// `Tenants::generation` when read: a change made in this process since makes it stale.
    generation: u64,
    tenant: Option<Read>,
    tokens: Vec<(TokenRecord, [u8; 32])>,
}

impl Entry {
    /// The record whose verifier matches, comparing every verifier in constant time.
    fn find(&self, presented: &[u8; 32]) -> Option<&TokenRecord> {
        self.tokens.iter().fold(None, |found, (t, d)| if bool::from(d.ct_eq(presented)) { Some(t) } else { found })
    }
}

/// A tenant record as read, with the schemas its registry makes.
type Read = (Tenant, Arc<Schemas>);

fn with_schemas(tenant: Option<Tenant>) -> DomainResult<Option<Read>> {
    tenant.map(|t| schemas_of(&t).map(|s| (t, s))).transpose()
}

/// The token id the activity log names for `INLET_DEV_TOKEN`.
pub const DEV_TOKEN_ID: &str = "dev";

pub struct Gate {
    tenants: Tenants,
    ttl: Duration,
    /// A fixed token for one tenant, for local runs and emulators (`INLET_DEV_TOKEN`).
    dev: Option<(TenantId, [u8; 32])>,
    dev_tenant: Mutex<Option<(Instant, u64, Option<Read>)>>,
    /// Entries for tenants in the registry only: bounded by the registry's size.
    cache: Mutex<HashMap<TenantId, Arc<Entry>>>,
    /// The registry's tenant ids; held across a listing so concurrent misses list once.
    known: tokio::sync::Mutex<Known>,
    used: Mutex<HashMap<String, Instant>>,
}

/// Direct registry reads for ids with no entry: a token bucket, so a flood of made-up
/// tenant ids costs at most this many reads per second per process (plus the burst).
const MISS_RATE: f64 = 20.0;
const MISS_BURST: f64 = 100.0;

/// The registry's tenant ids, as last listed, and the budget of direct reads.
struct Known {
    listed: Option<Instant>,
    ids: HashSet<String>,
    misses: (f64, Instant),
}

impl Default for Known {
    fn default() -> Self {
        Self { listed: None, ids: HashSet::new(), misses: (MISS_BURST, Instant::now()) }
    }
}

impl Known {
    fn take_miss(&mut self, now: Instant) -> bool {
        let (tokens, at) = self.misses;
        let tokens = (tokens + now.saturating_duration_since(at).as_secs_f64() * MISS_RATE).min(MISS_BURST);
        let granted = tokens >= 1.0;
        self.misses = (if granted { tokens - 1.0 } else { tokens }, now);
        granted
    }
}

impl Gate {
    pub fn new(tenants: Tenants, ttl: Duration) -> Self {
        Self {
            tenants,
            ttl,
            dev: None,
            dev_tenant: Mutex::default(),
            cache: Mutex::default(),
            known: tokio::sync::Mutex::default(),
            used: Mutex::default(),
        }
    }

    pub fn with_dev_token(mut self, tenant: TenantId, dev_token: &str) -> Self {
        self.dev = Some((tenant, token::digest(dev_token)));
        self
    }

    pub async fn check(&self, t: &TenantId, bearer: &str) -> DomainResult<Access> {
        Ok(self.admit(t, bearer).await?.access())
    }

    /// [`Self::check`], with what the request needs to act: the token's id and the settings.
    pub async fn admit(&self, t: &TenantId, bearer: &str) -> DomainResult<Admission> {
        let presented = token::digest(bearer);
        if self.dev.as_ref().is_some_and(|(dt, d)| dt == t && bool::from(d.ct_eq(&presented))) {
            return self.dev_access(t).await;
        }
        if !self.worth_reading(t).await? {
            return Ok(Admission::Denied);
        }
        let mut entry = self.entry(t, false).await?;
        if entry.find(&presented).is_none() && entry.fetched.elapsed() >= MIN_REFRESH {
            entry = self.entry(t, true).await?;
        }
        let Some(record) = entry.find(&presented) else { return Ok(Admission::Denied) };
        if record.expired_at(OffsetDateTime::now_utc()) {
            return Ok(Admission::Denied);
        }
        let admission = admit(entry.tenant.as_ref(), &record.id);
        if admission != Admission::Denied {
            self.note_use(t, &record.id).await;
        }
        Ok(admission)
    }

    /// Local runs only: the tenant record (cached like any) still decides; the vault is not
    /// consulted, so emulators need no Secrets Manager.
    async fn dev_access(&self, t: &TenantId) -> DomainResult<Admission> {
        let cached = self.dev_tenant.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let generation = self.tenants.generation();
        let tenant = match cached.filter(|(at, g, _)| at.elapsed() < self.ttl && *g == generation) {
            Some((_, _, tenant)) => tenant,
            None => {
                let tenant = with_schemas(self.tenants.find(t).await?)?;
                *self.dev_tenant.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), generation, tenant.clone()));
                tenant
            }
        };
        Ok(admit(tenant.as_ref(), DEV_TOKEN_ID))
    }

    /// Is `t` worth a registry read? Yes if it has an entry, is among the listed ids, or
    /// the miss budget allows a direct read (then [`Self::entry`] finds out). Past the
    /// budget the listed ids answer, listed again at most once per [`MIN_REFRESH`].
    async fn worth_reading(&self, t: &TenantId) -> DomainResult<bool> {
        if self.cache.lock().unwrap_or_else(PoisonError::into_inner).contains_key(t) {
            return Ok(true);
        }
        let mut known = self.known.lock().await;
        if known.ids.contains(t.as_str()) || known.take_miss(Instant::now()) {
            return Ok(true);
        }
        if known.listed.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
            return Ok(false);
        }
        known.ids = self.tenants.ids().await?.into_iter().collect();
        known.listed = Some(Instant::now());
        Ok(known.ids.contains(t.as_str()))
    }

    async fn entry(&self, t: &TenantId, refresh: bool) -> DomainResult<Arc<Entry>> {
        let cached = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(t).cloned();
        let generation = self.tenants.generation();
        if let Some(e) = cached.filter(|e| !refresh && e.fetched.elapsed() < self.ttl && e.generation == generation) {
            return Ok(e);
        }
        // The vault is read only for tenants that exist and are active.
        let tenant = self.tenants.find(t).await?;
        if tenant.is_none() {
            // Gone from the registry since it was listed: forget it, cache nothing.
            self.cache.lock().unwrap_or_else(PoisonError::into_inner).remove(t);
            self.known.lock().await.ids.remove(t.as_str());
        }
        let records = match &tenant {
            Some(found) if found.status == Status::Active => self.tenants.verifiers(t).await?,
            _ => Vec::new(),
        };
        let tenant = with_schemas(tenant)?;
        let tokens = records.into_iter().filter_map(|r| token::from_hex(&r.sha256).map(|d| (r, d))).collect();
        let entry = Arc::new(Entry { fetched: Instant::now(), generation, tenant, tokens });
        if entry.tenant.is_some() {
            self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(t.clone(), Arc::clone(&entry));
        }
        Ok(entry)
    }

    /// Records a token's last use, at most every [`USE_INTERVAL`]; a failure is logged,
    /// never the request's failure.
    async fn note_use(&self, t: &TenantId, token_id: &str) {
        let key = super::admin::use_name(t, token_id);
        {
            let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
            if used.get(&key).is_some_and(|at| at.elapsed() < USE_INTERVAL) {
                return;
            }
            if used.len() >= MAX_USES {
                used.clear();
            }
            used.insert(key, Instant::now());
        }
        if let Err(e) = self.tenants.record_use(t, token_id).await {
            tracing::warn!(tenant = %t, token = token_id, error = %e, "could not record token use");
        }
    }
}
