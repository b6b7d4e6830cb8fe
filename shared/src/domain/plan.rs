//! Changes too large for one transaction (DynamoDB takes 100 writes), as a recoverable
//! sequence:
//!
//! 1. One transaction commits the change: the record's own writes, a lock item in the
//!    record's partition (`PENDING`, put only if absent: one pending change per user or group)
//!    and, for a member change, its plan (every step, in chunks of at most 64 KiB).
//! 2. Transactions of at most 100 writes apply the steps, each led by a check that the lock is
//!    still this change's (its version is drawn at random per change).
//! 3. One transaction deletes the lock and the plan.
//!
//! Readers of a group's members apply a pending plan on top of what is stored
//! (`members::list`), so they see the change whole from step 1 on. A writer that meets a lock
//! waits for it, or settles it (steps 2 and 3 again: every step is idempotent) once it is older
//! than [`LEASE`], so a crash mid-way is completed by the next write, or by [`repair`].
//! Deleting a user or group with many memberships uses the same lock: step 1 deletes the
//! record, step 2 deletes whatever memberships remain (no new one can be added to a record
//! that is gone).

use super::directory::{CommitError, Directory, Resource};
use super::error::{DomainError, DomainResult};
use super::members::{query_all, removal, step_writes, undecodable, unit_at};
use super::tenant::TenantId;
use crate::scim::error::ScimError;
use crate::store::keys::{self, Kind};
use crate::store::{Condition, Index, Item, Key, MAX_TRANSACTION_WRITES, Query, StoreError, Table, Write};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// A lock older than this is taken to be abandoned (its writer crashed or timed out).
pub const LEASE: Duration = Duration::from_secs(5);
const CHUNK_BYTES: usize = 64 * 1024;
/// DynamoDB refuses transactions over 4 MB; the plan and the head must fit in one.
const MAX_PLAN_BYTES: usize = 3 * 1024 * 1024;

/// One membership change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum Step {
    Add {
        user: String,
        display: Option<String>,
    },
    /// A member's display text changes.
    Display {
        user: String,
        display: Option<String>,
    },
    Remove {
        user: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum What {
    Members,
    DeleteUser,
    DeleteGroup,
}

#[derive(Debug, Serialize, Deserialize)]
struct LockBody {
    plan: String,
    what: What,
    chunks: usize,
    #[serde(rename = "takenMs")]
    taken_ms: i64,
}

/// A pending change, as its lock item says.
pub(crate) struct Pending {
    key: Key,
    version: u64,
    body: LockBody,
}

fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    now.unix_timestamp() * 1000 + i64::from(now.millisecond())
}

impl Pending {
    pub(crate) fn decode(item: &Item) -> DomainResult<Self> {
        let body = serde_json::from_slice(&item.body).map_err(|e| undecodable("pending change", e))?;
        Ok(Self { key: item.key.clone(), version: item.version, body })
    }

    /// The steps of a member change, from the chunk items of its partition (others ignored).
    pub(crate) fn steps(&self, chunks: &[&Item]) -> DomainResult<Vec<Step>> {
        if self.body.what != What::Members {
            return Ok(Vec::new());
        }
        let prefix = format!("{}{}#", keys::PLAN_PREFIX, self.body.plan);
        let mut mine: Vec<&&Item> = chunks.iter().filter(|i| i.key.sk.starts_with(&prefix)).collect();
        if mine.len() != self.body.chunks {
            return Err(undecodable("pending change", format!("{} of {} plan chunks", mine.len(), self.body.chunks)));
        }
        mine.sort_by(|a, b| a.key.sk.cmp(&b.key.sk));
        let mut steps = Vec::new();
        for chunk in mine {
            let part: Vec<Step> = serde_json::from_slice(&chunk.body).map_err(|e| undecodable("plan chunk", e))?;
            steps.extend(part);
        }
        Ok(steps)
    }

    fn guard(&self) -> Write {
        Write::Check { key: self.key.clone(), cond: Condition::Version(self.version) }
    }

    fn stale(&self) -> bool {
        u128::try_from(now_ms() - self.body.taken_ms).is_ok_and(|age| age > LEASE.as_millis())
    }
}

fn lock_item(t: &TenantId, kind: Kind, id: &str, what: What, chunks: usize) -> DomainResult<(Item, Pending)> {
    let body = LockBody { plan: uuid::Uuid::new_v4().simple().to_string(), what, chunks, taken_ms: now_ms() };
    let key = keys::pending(t.as_str(), kind, id);
    // Random per change, so a guard can never pass on a later change's lock.
    let version = rand::random::<u64>() >> 12;
    let item = Item {
        key: key.clone(),
        gsi1: Some(keys::pending_listed(t.as_str(), kind, id)),
        version,
        count: 0,
        body: serde_json::to_vec(&body).map_err(|e| undecodable("pending change", e))?,
        expires: None,
    };
    Ok((item, Pending { key, version, body }))
}

/// The steps in chunks of at most [`CHUNK_BYTES`] (JSON arrays).
fn chunk_steps(steps: &[Step]) -> DomainResult<Vec<Vec<u8>>> {
    let mut chunks = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for s in steps {
        let one = serde_json::to_vec(s).map_err(|e| undecodable("plan step", e))?;
        if !current.is_empty() && current.len() + one.len() + 2 > CHUNK_BYTES {
            current.push(b']');
            chunks.push(std::mem::take(&mut current));
        }
        current.push(if current.is_empty() { b'[' } else { b',' });
        current.extend(one);
    }
    if !current.is_empty() {
        current.push(b']');
        chunks.push(current);
    }
    Ok(chunks)
}

fn too_large(steps: usize) -> CommitError {
    CommitError::Other(DomainError::Scim(ScimError::too_many(format!(
        "a change of {steps} memberships is more than one request may make; send it in smaller requests"
    ))))
}

/// A member change too large for one transaction: commits it with its plan, then applies it.
pub(crate) async fn run_members(
    dir: &Directory,
    t: &TenantId,
    group_id: &str,
    head: Vec<Write>,
    steps: Vec<Step>,
) -> Result<(), CommitError> {
    let chunks = chunk_steps(&steps).map_err(CommitError::Other)?;
    if head.len() + 1 + chunks.len() > MAX_TRANSACTION_WRITES
        || chunks.iter().map(Vec::len).sum::<usize>() > MAX_PLAN_BYTES
    {
        return Err(too_large(steps.len()));
    }
    let (lock, pending) =
        lock_item(t, Kind::Group, group_id, What::Members, chunks.len()).map_err(CommitError::Other)?;
    let mut writes = head.clone();
    writes.push(Write::Put { item: lock, cond: Condition::NotExists });
    for (n, body) in chunks.into_iter().enumerate() {
        let key = keys::plan_chunk(t.as_str(), group_id, &pending.body.plan, n);
        writes.push(Write::Put { item: Item::new(key, body), cond: Condition::NotExists });
    }
    dir.table.transact(writes).await.map_err(|e| CommitError::locking(e, head.len()))?;
    // Committed: readers see the change whole from here on.
    complete(dir.table.as_ref(), t, group_id, &pending, Some(steps)).await.map_err(committed)
}

/// Deletes a record with many memberships: `head` (the record's own deletion, conditioned on
/// the version read) with the lock, then the memberships.
pub(crate) async fn run_delete(
    dir: &Directory,
    t: &TenantId,
    kind: Kind,
    id: &str,
    head: Vec<Write>,
) -> Result<(), CommitError> {
    let what = if kind == Kind::User { What::DeleteUser } else { What::DeleteGroup };
    let (lock, pending) = lock_item(t, kind, id, what, 0).map_err(CommitError::Other)?;
    let mut writes = head.clone();
    writes.push(Write::Put { item: lock, cond: Condition::NotExists });
    dir.table.transact(writes).await.map_err(|e| CommitError::locking(e, head.len()))?;
    complete(dir.table.as_ref(), t, id, &pending, None).await.map_err(committed)
}

fn committed(e: DomainError) -> CommitError {
    CommitError::Other(DomainError::Unfinished(e.to_string()))
}

/// Steps 2 and 3 of a pending change. `steps` when the caller has them (the writer that made
/// the change); otherwise read from the plan. `id` is the record whose partition holds the lock.
async fn complete(
    table: &dyn Table,
    t: &TenantId,
    id: &str,
    p: &Pending,
    steps: Option<Vec<Step>>,
) -> DomainResult<()> {
    let ours = match p.body.what {
        What::Members => {
            let steps = match steps {
                Some(s) => s,
                None => {
                    let pk = keys::partition(t.as_str(), Kind::Group, id);
                    let chunks = query_all(table, pk, &format!("{}{}#", keys::PLAN_PREFIX, p.body.plan)).await?;
                    p.steps(&chunks.iter().collect::<Vec<_>>())?
                }
            };
            let units = steps.iter().map(|s| step_writes(t, id, s, false)).collect::<DomainResult<Vec<_>>>()?;
            apply(table, p, units).await?
        }
        What::DeleteUser | What::DeleteGroup => loop {
            let units = remaining_memberships(table, t, p.body.what, id).await?;
            if units.is_empty() {
                break true;
            }
            if !apply(table, p, units).await? {
                break false;
            }
        },
    };
    if !ours {
        return Ok(()); // someone else settled it, lock and all
    }
    let mut writes = vec![Write::Delete { key: p.key.clone(), cond: Condition::Version(p.version) }];
    writes.extend(
        (0..p.body.chunks)
            .map(|n| Write::Delete { key: keys::plan_chunk(t.as_str(), id, &p.body.plan, n), cond: Condition::None }),
    );
    match table.transact(writes).await {
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Up to a page of the memberships left behind by a deleted user or group, as removals.
async fn remaining_memberships(table: &dyn Table, t: &TenantId, what: What, id: &str) -> DomainResult<Vec<Vec<Write>>> {
    let (res, kind, prefix) = match what {
        What::DeleteUser => (Resource::User, Kind::User, keys::GROUP_OF_PREFIX),
        _ => (Resource::Group, Kind::Group, keys::MEMBER_PREFIX),
    };
    let q = Query::new(Index::Table, keys::partition(t.as_str(), kind, id), prefix, 1000);
    table.query(&q).await?.items.iter().map(|i| removal(t, res, id, &i.key.sk)).collect()
}

/// Applies `units` in transactions led by the lock's guard. A unit whose own condition fails
/// (its user is gone) is dropped. `false` when the lock is no longer this change's.
async fn apply(table: &dyn Table, p: &Pending, mut units: Vec<Vec<Write>>) -> DomainResult<bool> {
    while !units.is_empty() {
        let mut batches: Vec<Vec<Vec<Write>>> = Vec::new();
        let mut size = MAX_TRANSACTION_WRITES;
        for u in units.drain(..) {
            if size + u.len() > MAX_TRANSACTION_WRITES {
                batches.push(Vec::new());
                size = 1;
            }
            size += u.len();
            if let Some(b) = batches.last_mut() {
                b.push(u);
            }
        }
        let txs =
            batches.iter().map(|b| std::iter::once(p.guard()).chain(b.iter().flatten().cloned()).collect()).collect();
        let (applied, result) = table.transact_seq(txs).await;
        match result {
            Ok(()) => return Ok(true),
            Err(StoreError::ConditionFailed { index: 0 }) => return Ok(false),
            Err(StoreError::ConditionFailed { index }) => {
                let mut rest = batches.into_iter().skip(applied);
                let Some(mut failed) = rest.next() else { return Err(StoreError::ConditionFailed { index }.into()) };
                if let Some(pos) = unit_at(&failed, index - 1) {
                    failed.remove(pos);
                }
                units = failed.into_iter().chain(rest.flatten()).collect();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

/// Settles the pending change of a record if there is one: completes it (whoever started it).
pub(crate) async fn settle(table: &dyn Table, t: &TenantId, kind: Kind, id: &str) -> DomainResult<()> {
    match table.get(&keys::pending(t.as_str(), kind, id)).await? {
        Some(item) => complete(table, t, id, &Pending::decode(&item)?, None).await,
        None => Ok(()),
    }
}

/// Waits until the record has no pending change, settling one that outlived its lease; 503
/// (`Busy`) if it is still there at `deadline`.
pub(crate) async fn wait_for(
    table: &dyn Table,
    t: &TenantId,
    kind: Kind,
    id: &str,
    deadline: Instant,
) -> DomainResult<()> {
    let mut delay = Duration::from_millis(5);
    loop {
        let Some(item) = table.get(&keys::pending(t.as_str(), kind, id)).await? else { return Ok(()) };
        let p = Pending::decode(&item)?;
        if p.stale() {
            return complete(table, t, id, &p, None).await;
        }
        if Instant::now() >= deadline {
            return Err(DomainError::Busy);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// Settles every pending change of a tenant older than its lease (all of them with `force`):
/// the repair pass after a crash. Returns how many it settled.
pub async fn repair(dir: &Directory, t: &TenantId, force: bool) -> DomainResult<usize> {
    let mut q = Query::new(Index::Gsi1, keys::pending_list(t.as_str()), "", 100);
    let mut settled = 0;
    loop {
        let page = dir.table.query(&q).await?;
        for item in &page.items {
            let p = Pending::decode(item)?;
            let id = item.gsi1.as_ref().and_then(|g| g.sk.split_once('#')).map(|(_, id)| id.to_owned());
            let id = id.ok_or_else(|| undecodable("pending change key", &item.key.pk))?;
            if force || p.stale() {
                complete(dir.table.as_ref(), t, &id, &p, None).await?;
                settled += 1;
            }
        }
        match page.next {
            Some(c) => q.after = Some(c),
            None => return Ok(settled),
        }
    }
}
