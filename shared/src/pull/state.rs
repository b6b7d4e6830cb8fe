//! A tenant's sync state (one item): when it is next due, who holds its lease, how the last
//! run went, a running run's progress and checkpoint. Every change is a compare-and-swap on
//! the item's version, so a lease is a conditional write with an expiry: two runs never sync
//! one tenant at once, and a crashed run's lease lapses by itself.

use super::integration::Integration;
use super::{PullError, PullResult};
use crate::domain::TenantId;
use crate::domain::records::timestamp;
use crate::store::{Condition, Index, Item, Query, StoreError, Table, Write, keys};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub owner: String,
    pub until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunError {
    /// Okta's errorCode when Okta refused (E0000011: invalid token, …).
    pub code: Option<String>,
    pub message: String,
    pub at: String,
}

/// How far a run in progress has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub run: String,
    pub phase: String,
    pub pages: u64,
    pub users_seen: u64,
    pub groups_seen: u64,
}

/// What the last completed run changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub deactivated: u64,
    pub reactivated: u64,
    pub groups_created: u64,
    pub groups_updated: u64,
    pub groups_deleted: u64,
    pub members_added: u64,
    pub members_removed: u64,
    /// Okta groups left out, or left as they were: without a name (`profile.name`), or with
    /// one another group holds in Inlet (displayName is unique per tenant): two Okta groups
    /// of one name, or names swapped in one run.
    #[serde(default)]
    pub groups_skipped: u64,
}

impl std::fmt::Display for Counts {
    /// `3 created, 1 updated, …; groups …; members +n -m`: one wording for every report.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} deactivated, {} reactivated; groups {} created, {} updated, {} deleted; members +{} -{}",
            self.created,
            self.updated,
            self.deactivated,
            self.reactivated,
            self.groups_created,
            self.groups_updated,
            self.groups_deleted,
            self.members_added,
            self.members_removed
        )?;
        if self.groups_skipped > 0 {
            write!(f, "; {} groups skipped (no name, or the name taken)", self.groups_skipped)?;
        }
        Ok(())
    }
}

impl Counts {
    pub fn writes(&self) -> u64 {
        self.created
            + self.updated
            + self.deactivated
            + self.reactivated
            + self.groups_created
            + self.groups_updated
            + self.groups_deleted
            + self.members_added
            + self.members_removed
    }
}

/// Where an interrupted run's read of Okta was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointRef {
    pub run: String,
    pub chunks: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// When the tenant is next due; `None` keeps it out of the due list (pull disabled).
    pub next_due: Option<String>,
    pub interval_seconds: u64,
    pub lease: Option<Lease>,
    pub last_run_started: Option<String>,
    pub last_run_ended: Option<String>,
    pub last_success: Option<String>,
    /// The last run's failure; cleared by a success.
    pub last_error: Option<RunError>,
    pub progress: Option<Progress>,
    pub checkpoint: Option<CheckpointRef>,
    pub counts: Counts,
}

fn corrupt(e: impl std::fmt::Display) -> PullError {
    PullError::Domain(StoreError::Backend(format!("unreadable sync state: {e}")).into())
}

pub fn at_offset(seconds: i64) -> String {
    timestamp(OffsetDateTime::now_utc() + time::Duration::seconds(seconds))
}

fn parse(text: &str) -> Option<OffsetDateTime> {
    crate::scim::filter::parse_time(text)
}

impl SyncState {
    /// Due at once (a new or re-configured integration).
    pub fn due_now(self, interval_seconds: u64) -> Self {
        Self { next_due: Some(at_offset(0)), interval_seconds, ..self }
    }

    /// Whether someone other than `owner` holds an unexpired lease.
    pub fn leased_by_other(&self, owner: &str, now: OffsetDateTime) -> bool {
        self.lease.as_ref().is_some_and(|l| l.owner != owner && parse(&l.until).is_some_and(|u| u > now))
    }
}

pub async fn read(table: &dyn Table, t: &TenantId) -> PullResult<Option<(SyncState, u64)>> {
    match table.get(&keys::okta_state(t.as_str())).await? {
        Some(item) => Ok(Some((serde_json::from_slice(&item.body).map_err(corrupt)?, item.version))),
        None => Ok(None),
    }
}

/// The write that replaces the state read at `version` (0: none was there).
pub fn write(t: &TenantId, state: &SyncState, version: u64) -> PullResult<Write> {
    let body = serde_json::to_vec(state).map_err(corrupt)?;
    let mut item = Item { version: version + 1, ..Item::new(keys::okta_state(t.as_str()), body) };
    item.gsi1 = state.next_due.as_deref().map(|due| keys::okta_due(t.as_str(), due));
    let cond = if version == 0 { Condition::NotExists } else { Condition::Version(version) };
    Ok(Write::Put { item, cond })
}

/// Compare-and-swap of the state: `Ok(None)` when another writer got there first.
pub async fn swap(table: &dyn Table, t: &TenantId, state: &SyncState, version: u64) -> PullResult<Option<u64>> {
    match table.transact(vec![write(t, state, version)?]).await {
        Ok(()) => Ok(Some(version + 1)),
        Err(StoreError::ConditionFailed { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Tenants due at `now`, soonest first, at most `limit`: reads the due list from its start
/// and stops at the first entry not yet due, so the cost is the due tenants, not all.
pub async fn due(table: &dyn Table, now: OffsetDateTime, limit: usize) -> PullResult<Vec<TenantId>> {
    let now = timestamp(now);
    let mut found = Vec::new();
    let mut q = Query::new(Index::Gsi1, keys::OKTA_DUE, "", limit.clamp(1, 100));
    loop {
        let page = table.query(&q).await?;
        for item in &page.items {
            let Some(sk) = item.gsi1.as_ref().map(|g| g.sk.as_str()) else { continue };
            let Some((at, tenant)) = sk.rsplit_once('#') else { continue };
            if at > now.as_str() || found.len() >= limit {
                return Ok(found);
            }
            found.extend(TenantId::parse(tenant));
        }
        match page.next {
            Some(c) => q.after = Some(c),
            None => return Ok(found),
        }
    }
}

/// The status as the vendor's console shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub tenant: String,
    /// `Pending initial sync`, `Sync in progress`, `Synced` or `Not synced`.
    pub status: &'static str,
    pub configured: bool,
    pub domain: Option<String>,
    pub app_id: Option<String>,
    pub org_id: Option<String>,
    pub interval_seconds: Option<u64>,
    pub seconds_since_last_success: Option<i64>,
    pub last_success: Option<String>,
    pub last_error: Option<RunError>,
    pub last_run_started: Option<String>,
    pub last_run_ended: Option<String>,
    pub next_due: Option<String>,
    pub progress: Option<Progress>,
    pub counts: Counts,
}

/// A last success older than this many intervals (plus a margin for a slow run) is stale.
pub const STALE_INTERVALS: i64 = 3;
const STALE_MARGIN_SECONDS: i64 = 300;

pub fn view(t: &TenantId, integration: Option<&Integration>, state: &SyncState, now: OffsetDateTime) -> StatusView {
    let last_success = state.last_success.as_deref().and_then(parse);
    let since = last_success.map(|s| (now - s).whole_seconds());
    let interval = integration.map_or(state.interval_seconds, |i| i.interval_seconds);
    let stale_after =
        i64::try_from(interval).unwrap_or(i64::MAX / 4).saturating_mul(STALE_INTERVALS) + STALE_MARGIN_SECONDS;
    // A run holds an unexpired lease, or paused with a checkpoint; a crashed run's lease lapses.
    let leased = state.lease.as_ref().is_some_and(|l| parse(&l.until).is_some_and(|u| u > now));
    let running = state.progress.is_some() && (leased || state.checkpoint.is_some());
    let status = if running && state.last_error.is_none() {
        "Sync in progress"
    } else if state.last_error.is_some() || since.is_some_and(|s| s > stale_after) {
        "Not synced"
    } else if last_success.is_none() {
        "Pending initial sync"
    } else {
        "Synced"
    };
    StatusView {
        tenant: t.to_string(),
        status,
        configured: integration.is_some(),
        domain: integration.map(|i| i.domain.clone()),
        app_id: integration.map(|i| i.app_id.clone()),
        org_id: integration.map(|i| i.org_id.clone()),
        interval_seconds: integration.map(|i| i.interval_seconds),
        seconds_since_last_success: since,
        last_success: state.last_success.clone(),
        last_error: state.last_error.clone(),
        last_run_started: state.last_run_started.clone(),
        last_run_ended: state.last_run_ended.clone(),
        next_due: state.next_due.clone(),
        progress: state.progress.clone(),
        counts: state.counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    #[test]
    fn statuses() {
        let now = OffsetDateTime::now_utc();
        let s = SyncState::default();
        assert_eq!(view(&t(), None, &s, now).status, "Pending initial sync");
        let s = SyncState {
            progress: Some(Progress::default()),
            lease: Some(Lease { owner: "a".into(), until: at_offset(60) }),
            interval_seconds: 900,
            ..s
        };
        assert_eq!(view(&t(), None, &s, now).status, "Sync in progress");
        let crashed = SyncState { lease: Some(Lease { owner: "a".into(), until: at_offset(-1) }), ..s.clone() };
        assert_eq!(view(&t(), None, &crashed, now).status, "Pending initial sync");
        let s = SyncState { progress: None, lease: None, last_success: Some(timestamp(now)), ..s };
        assert_eq!(view(&t(), None, &s, now).status, "Synced");
        let old = SyncState { last_success: Some(timestamp(now - time::Duration::hours(2))), ..s.clone() };
        let v = view(&t(), None, &old, now);
        assert_eq!(v.status, "Not synced");
        assert!(v.seconds_since_last_success.unwrap() >= 7200);
        let failed = SyncState {
            last_error: Some(RunError { code: Some("E0000011".into()), message: "x".into(), at: timestamp(now) }),
            ..s
        };
        assert_eq!(view(&t(), None, &failed, now).status, "Not synced");
    }

    #[test]
    fn leases_expire() {
        let now = OffsetDateTime::now_utc();
        let s = SyncState { lease: Some(Lease { owner: "a".into(), until: at_offset(60) }), ..SyncState::default() };
        assert!(s.leased_by_other("b", now));
        assert!(!s.leased_by_other("a", now));
        assert!(!s.leased_by_other("b", now + time::Duration::seconds(61)));
    }
}
