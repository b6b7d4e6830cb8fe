//! Verification on every SCIM request, in the function itself: the tenant record and the
//! tenant's verifiers are cached per process for `ttl` (default 30 s), so a warm function
//! reads them at most once per tenant per `ttl` (the verifiers only for an active tenant),
//! and a revoked token, a disabled tenant or a mode switch takes effect everywhere within
//! `ttl`. A token that matches nothing cached triggers an early re-read (a token issued a
//! moment ago), at most once per [`MIN_REFRESH`], so a flood of bad tokens cannot turn into
//! a flood of reads.

use super::record::{Mode, Status, Tenant, TokenRecord};
use super::{TenantId, Tenants, token};
use crate::domain::DomainResult;
use std::collections::HashMap;
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
/// Bound on cached tenants (unknown tenant ids are cached too, as misses).
const MAX_CACHED: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// Missing, unknown, foreign, revoked or expired token, or an unknown or disabled
    /// tenant: one answer for all.
    Denied,
    /// A valid token, but the tenant is in `okta_api` mode.
    ScimOff,
}

/// What a valid token of `tenant` may do.
fn admit(tenant: Option<&Tenant>) -> Access {
    match tenant {
        Some(t) if t.status == Status::Active => match t.settings.mode {
            Mode::Scim => Access::Granted,
            Mode::OktaApi => Access::ScimOff,
        },
        _ => Access::Denied,
    }
}

struct Entry {
    fetched: Instant,
    tenant: Option<Tenant>,
    tokens: Vec<(TokenRecord, [u8; 32])>,
}

impl Entry {
    /// The record whose verifier matches, comparing every verifier in constant time.
    fn find(&self, presented: &[u8; 32]) -> Option<&TokenRecord> {
        self.tokens.iter().fold(None, |found, (t, d)| if bool::from(d.ct_eq(presented)) { Some(t) } else { found })
    }
}

pub struct Gate {
    tenants: Tenants,
    ttl: Duration,
    /// A fixed token for one tenant, for local runs and emulators (`INLET_DEV_TOKEN`).
    dev: Option<(TenantId, [u8; 32])>,
    dev_tenant: Mutex<Option<(Instant, Option<Tenant>)>>,
    cache: Mutex<HashMap<TenantId, Arc<Entry>>>,
    used: Mutex<HashMap<String, Instant>>,
}

impl Gate {
    pub fn new(tenants: Tenants, ttl: Duration) -> Self {
        Self { tenants, ttl, dev: None, dev_tenant: Mutex::default(), cache: Mutex::default(), used: Mutex::default() }
    }

    pub fn with_dev_token(mut self, tenant: TenantId, dev_token: &str) -> Self {
        self.dev = Some((tenant, token::digest(dev_token)));
        self
    }

    pub async fn check(&self, t: &TenantId, bearer: &str) -> DomainResult<Access> {
        let presented = token::digest(bearer);
        if self.dev.as_ref().is_some_and(|(dt, d)| dt == t && bool::from(d.ct_eq(&presented))) {
            return self.dev_access(t).await;
        }
        let mut entry = self.entry(t, false).await?;
        if entry.find(&presented).is_none() && entry.fetched.elapsed() >= MIN_REFRESH {
            entry = self.entry(t, true).await?;
        }
        let Some(record) = entry.find(&presented) else { return Ok(Access::Denied) };
        if record.expired_at(OffsetDateTime::now_utc()) {
            return Ok(Access::Denied);
        }
        let access = admit(entry.tenant.as_ref());
        if access != Access::Denied {
            self.note_use(t, &record.id).await;
        }
        Ok(access)
    }

    /// Local runs only: the tenant record (cached like any) still decides; the vault is not
    /// consulted, so emulators need no Secrets Manager.
    async fn dev_access(&self, t: &TenantId) -> DomainResult<Access> {
        let cached = self.dev_tenant.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let tenant = match cached.filter(|(at, _)| at.elapsed() < self.ttl) {
            Some((_, tenant)) => tenant,
            None => {
                let tenant = self.tenants.find(t).await?;
                *self.dev_tenant.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), tenant.clone()));
                tenant
            }
        };
        Ok(admit(tenant.as_ref()))
    }

    async fn entry(&self, t: &TenantId, refresh: bool) -> DomainResult<Arc<Entry>> {
        let cached = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(t).cloned();
        if let Some(e) = cached.filter(|e| !refresh && e.fetched.elapsed() < self.ttl) {
            return Ok(e);
        }
        // The vault is read only for tenants that exist and are active: requests naming made-up
        // tenants cost one table read, never a Secrets Manager call.
        let tenant = self.tenants.find(t).await?;
        let records = match &tenant {
            Some(found) if found.status == Status::Active => self.tenants.verifiers(t).await?,
            _ => Vec::new(),
        };
        let tokens = records.into_iter().filter_map(|r| token::from_hex(&r.sha256).map(|d| (r, d))).collect();
        let entry = Arc::new(Entry { fetched: Instant::now(), tenant, tokens });
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(t.clone(), Arc::clone(&entry));
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
            if used.len() >= MAX_CACHED {
                used.clear();
            }
            used.insert(key, Instant::now());
        }
        if let Err(e) = self.tenants.record_use(t, token_id).await {
            tracing::warn!(tenant = %t, token = token_id, error = %e, "could not record token use");
        }
    }
}
