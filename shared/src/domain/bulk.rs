//! Creating many new records at once (the Okta pull). Each record gets exactly the items
//! [`Directory::create`] writes for it — the record, its name marker (put only if absent), its
//! externalId entry, its counter increment and its activity entries — but several records
//! share a transaction (at most [`MAX_TRANSACTION_WRITES`] writes), so 100k users cost a few
//! thousand transactions instead of 100k.
//!
//! Preparing (ids, items, writes: the CPU part) is apart from committing, so a caller can
//! prepare while it waits for something else (the pull prepares while it reads Okta) and
//! commit later only what still holds. Nothing prepared is visible until it is committed.
//!
//! Records in one transaction share a counter shard (their increments add up to one write):
//! concurrent transactions then mostly touch different counters, which DynamoDB would
//! otherwise make conflict. A record whose write is refused (its name is taken, or an earlier
//! record of the same call holds the same name or unique value) is created on its own
//! afterwards, through `create`, so it meets the very same rules (a conflict, a claim of a
//! manual record).

use super::actor::Caller;
use super::directory::{Directory, Resource};
use super::error::{DomainError, DomainResult};
use super::records::new_id;
use crate::store::keys;
use crate::store::{Key, MAX_TRANSACTION_WRITES, StoreError, Write};
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::iter::Peekable;

/// Records of one counter shard in one transaction at most (24 users of 4 writes fill one).
const CHUNK: usize = 24;
/// Transactions sent in one call to a store that commits a call's transactions together.
const GROUP: usize = 128;

/// One record ready to commit: the caller's tag for it, its id, and its writes except the
/// counter increment (shared by the transaction). Its body stays with the caller.
struct Unit {
    tag: usize,
    id: String,
    writes: Vec<Write>,
}

/// Records of one counter shard committed in one transaction.
struct Batch {
    counter: Key,
    units: Vec<Unit>,
}

impl Batch {
    fn writes(&self) -> DomainResult<Vec<Write>> {
        let delta = i64::try_from(self.units.len()).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut writes: Vec<Write> = self.units.iter().flat_map(|u| u.writes.iter().cloned()).collect();
        writes.push(Write::Add { key: self.counter.clone(), delta });
        Ok(writes)
    }

    /// Which unit holds write number `index` of the transaction (none: the counter).
    fn unit_holding(&self, mut index: usize) -> Option<usize> {
        for (pos, u) in self.units.iter().enumerate() {
            if index < u.writes.len() {
                return Some(pos);
            }
            index -= u.writes.len();
        }
        None
    }
}

/// New records prepared and not written, for [`Directory::commit_many`]. Tags are the
/// caller's (positions in its input): answers come back by tag, as the new record's id.
pub struct Prepared {
    res: Resource,
    /// The name and unique-value markers of every record prepared so far: a later record that
    /// needs one goes alone, so the first (in the order prepared) holds it.
    claimed: HashSet<Key>,
    /// Units by counter shard, in the order prepared.
    shards: BTreeMap<Key, Vec<Unit>>,
    /// To create one by one through `create`: a shared marker, or members to add.
    alone: Vec<usize>,
    /// Refused as they were prepared (what `create` would answer).
    failed: Vec<(usize, DomainError)>,
}

impl Prepared {
    pub fn new(res: Resource) -> Self {
        Self { res, claimed: HashSet::new(), shards: BTreeMap::new(), alone: Vec::new(), failed: Vec::new() }
    }
}

/// What committing a group of batches did: ids of records created (by tag), tags of records
/// to create alone.
type Done = (Vec<(usize, DomainResult<String>)>, Vec<usize>);

impl Directory {
    /// Creates a record for each of `bodies`, `parallel` calls to the store in flight; answers
    /// in the order of `bodies`, each as [`Directory::create`] would (the new record's id).
    /// A store failure other than a refused condition fails the whole call (records already
    /// committed stay).
    pub async fn create_many(
        &self,
        c: &Caller,
        res: Resource,
        bodies: &[&Value],
        parallel: usize,
    ) -> DomainResult<Vec<DomainResult<String>>> {
        let mut p = Prepared::new(res);
        self.prepare_many(c, &mut p, bodies.iter().copied().enumerate());
        let mut done = self.commit_many(c, p, |tag| bodies.get(tag).copied(), parallel).await?;
        done.sort_unstable_by_key(|(tag, _)| *tag);
        if done.len() != bodies.len() || done.iter().enumerate().any(|(n, (tag, _))| n != *tag) {
            return Err(StoreError::Backend("a bulk create did not answer every record once".into()).into());
        }
        Ok(done.into_iter().map(|(_, r)| r).collect())
    }

    /// Prepares a record for each body (CPU only, nothing read or written).
    pub fn prepare_many<'b>(&self, c: &Caller, p: &mut Prepared, bodies: impl IntoIterator<Item = (usize, &'b Value)>) {
        let res = p.res;
        let (t, kind, owner) = (c.tenant.as_str(), res.kind(), c.actor.owner());
        for (tag, body) in bodies {
            let (stored, writes, members) = match self.new_record(c, res, body, new_id()) {
                Ok(r) => r,
                Err(e) => {
                    p.failed.push((tag, e));
                    continue;
                }
            };
            let mut markers = vec![keys::name_marker(t, kind, stored.unique_name(res.unique_attr()))];
            markers.extend(stored.unique.iter().map(|id| keys::value_marker(t, kind, id)));
            let shared = markers.iter().any(|m| p.claimed.contains(m));
            p.claimed.extend(markers);
            if shared || members.is_some() {
                p.alone.push(tag);
                continue;
            }
            let writes = writes.into_iter().filter(|w| !matches!(w, Write::Add { .. })).collect();
            let shard = keys::counter(t, kind, owner.name(), &stored.id);
            p.shards.entry(shard).or_default().push(Unit { tag, id: stored.id, writes });
        }
    }

    /// Commits the prepared records the caller still has a body for (`body`: the one each
    /// was prepared from; the others are dropped unwritten); answers each by tag, as
    /// [`Directory::create`] would (the new record's id).
    pub async fn commit_many<'b>(
        &self,
        c: &Caller,
        p: Prepared,
        body: impl Fn(usize) -> Option<&'b Value>,
        parallel: usize,
    ) -> DomainResult<Vec<(usize, DomainResult<String>)>> {
        let keep = |tag: usize| body(tag).is_some();
        let Prepared { res, shards, mut alone, failed, .. } = p;
        let mut out: Vec<(usize, DomainResult<String>)> =
            failed.into_iter().filter(|(tag, _)| keep(*tag)).map(|(tag, e)| (tag, Err(e))).collect();
        alone.retain(|tag| keep(*tag));
        // Batches taken from each shard in turn, so the transactions in flight rarely share one.
        let mut queues: Vec<(Key, Peekable<std::vec::IntoIter<Unit>>)> = shards
            .into_iter()
            .map(|(k, units)| {
                let kept: Vec<Unit> = units.into_iter().filter(|u| keep(u.tag)).collect();
                (k, kept.into_iter().peekable())
            })
            .collect();
        let mut batches: Vec<Batch> = Vec::new();
        while !queues.is_empty() {
            for (counter, q) in &mut queues {
                let units = next_batch(q);
                if !units.is_empty() {
                    batches.push(Batch { counter: counter.clone(), units });
                }
            }
            queues.retain_mut(|(_, q)| q.peek().is_some());
        }
        // A store with one writer commits a call's transactions together: fewer, larger commits.
        let per_call = if self.table.commits_together() { GROUP } else { 1 };
        let mut groups: Vec<VecDeque<Batch>> = Vec::new();
        let mut rest = batches.into_iter().peekable();
        while rest.peek().is_some() {
            groups.push(rest.by_ref().take(per_call).collect());
        }
        let done: Vec<DomainResult<Done>> = futures::stream::iter(groups.into_iter().map(|g| self.commit_group(g)))
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
        for d in done {
            let (created, refused) = d?;
            out.extend(created);
            alone.extend(refused);
        }
        // One by one, in the order prepared: each meets `create`'s rules as if it had been alone.
        alone.sort_unstable();
        for tag in alone {
            if let Some(b) = body(tag) {
                out.push((tag, self.create(c, res, b).await.map(|s| s.id)));
            }
        }
        Ok(out)
    }

    /// Commits `group` in order, one transaction a batch; a unit whose condition fails is set
    /// aside (for `create`) and the rest committed again.
    async fn commit_group(&self, mut group: VecDeque<Batch>) -> DomainResult<Done> {
        let (mut created, mut alone) = (Vec::new(), Vec::new());
        while !group.is_empty() {
            let txs = group.iter().map(Batch::writes).collect::<DomainResult<Vec<_>>>()?;
            let (applied, result) = self.table.transact_seq(txs).await;
            for b in group.drain(..applied.min(group.len())) {
                created.extend(b.units.into_iter().map(|u| (u.tag, Ok(u.id))));
            }
            match result {
                Ok(()) => break,
                Err(StoreError::ConditionFailed { index }) => {
                    let Some(b) = group.front_mut() else { return Err(DomainError::Busy) };
                    let Some(pos) = b.unit_holding(index) else { return Err(DomainError::Busy) };
                    alone.push(b.units.remove(pos).tag);
                    if b.units.is_empty() {
                        group.pop_front();
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok((created, alone))
    }
}

/// The next units of one shard for a transaction: [`CHUNK`] at most, within the write limit
/// with the shared counter increment.
fn next_batch(q: &mut Peekable<std::vec::IntoIter<Unit>>) -> Vec<Unit> {
    let (mut units, mut size) = (Vec::new(), 1);
    while units.len() < CHUNK {
        let (first, room) = (units.is_empty(), MAX_TRANSACTION_WRITES.saturating_sub(size));
        let Some(u) = q.next_if(|u| first || u.writes.len() <= room) else { break };
        size += u.writes.len();
        units.push(u);
    }
    units
}

#[cfg(test)]
#[path = "bulk_tests.rs"]
mod tests;
