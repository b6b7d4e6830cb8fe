//! Creating many new records at once (the Okta pull's initial sync). Each record gets exactly
//! the items [`Directory::create`] writes for it — the record, its name marker (put only if
//! absent), its externalId entry, its counter increment and its activity entries — but several
//! records share a transaction (at most [`MAX_TRANSACTION_WRITES`] writes), so 100k users cost
//! a few thousand transactions instead of 100k.
//!
//! Records in one transaction share a counter shard (their increments add up to one write):
//! concurrent transactions then mostly touch different counters, which DynamoDB would
//! otherwise make conflict. A record whose write is refused (its name is taken, or another
//! record of the batch holds the same name) is created on its own afterwards, through
//! `create`, so it meets the very same rules (a conflict, a claim of a manual record).

use super::actor::Caller;
use super::directory::{Directory, Resource};
use super::error::{DomainError, DomainResult};
use super::indexes::unique_values;
use super::records::{Stored, new_id};
use crate::scim::resource::normalize;
use crate::store::keys;
use crate::store::{Key, MAX_TRANSACTION_WRITES, StoreError, Write};
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Records of one counter shard prepared together (24 users of 4 writes fill a transaction).
const CHUNK: usize = 24;

/// One record ready to commit: where its body was in the input, its stored form, and its
/// writes except the counter increment (shared by the transaction).
struct Unit {
    index: usize,
    stored: Stored,
    writes: Vec<Write>,
}

/// What one chunk did: records created (by input position), and records to create on their
/// own (by input position: a member list, a refused write).
type Done = (Vec<(usize, DomainResult<Stored>)>, Vec<usize>);

impl Directory {
    /// Creates a record for each of `bodies`, `parallel` transactions in flight; answers in
    /// the order of `bodies`, each as [`Directory::create`] would. A store failure other than
    /// a refused condition fails the whole call (records already committed stay).
    pub async fn create_many(
        &self,
        c: &Caller,
        res: Resource,
        bodies: &[&Value],
        parallel: usize,
    ) -> DomainResult<Vec<DomainResult<Stored>>> {
        let (t, kind, owner) = (c.tenant.as_str(), res.kind(), c.actor.owner());
        let ids: Vec<String> = bodies.iter().map(|_| new_id()).collect();
        // A record sharing a name or a unique value with an earlier one goes alone after the
        // bulk, so the first in input order holds it (the store refuses a taken one either
        // way; this only keeps the order `create` one by one would give).
        let mut claimed: HashSet<String> = HashSet::new();
        let mut alone = Vec::new();
        let mut shards: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
        for (n, (id, body)) in ids.iter().zip(bodies).enumerate() {
            let mut wants: Vec<String> = body
                .get(res.unique_attr())
                .and_then(Value::as_str)
                .map(|v| format!("n:{}", keys::fold(v)))
                .into_iter()
                .collect();
            if let Ok(attrs) = normalize(body, c.rt(res)) {
                wants.extend(unique_values(c.rt(res), &attrs).into_iter().map(|v| format!("v:{}", v.id)));
            }
            let shared = wants.iter().any(|w| claimed.contains(w));
            claimed.extend(wants);
            if shared {
                alone.push(n);
                continue;
            }
            shards.entry(keys::counter(t, kind, owner.name(), id)).or_default().push(n);
        }
        // Chunks taken from each shard in turn, so the transactions in flight rarely share one.
        let mut queues: Vec<(Key, std::vec::IntoIter<usize>)> =
            shards.into_iter().map(|(k, v)| (k, v.into_iter())).collect();
        let mut chunks: Vec<(Key, Vec<usize>)> = Vec::new();
        while !queues.is_empty() {
            for (key, q) in &mut queues {
                let chunk: Vec<usize> = q.by_ref().take(CHUNK).collect();
                if !chunk.is_empty() {
                    chunks.push((key.clone(), chunk));
                }
            }
            queues.retain(|(_, q)| q.len() > 0);
        }
        let ids = &ids;
        let work = chunks.into_iter().map(|(counter, chunk)| self.create_chunk(c, res, bodies, ids, counter, chunk));
        let done: Vec<DomainResult<Done>> =
            futures::stream::iter(work).buffer_unordered(parallel.max(1)).collect().await;
        let mut out: Vec<Option<DomainResult<Stored>>> = bodies.iter().map(|_| None).collect();
        for d in done {
            let (created, refused) = d?;
            for (n, r) in created {
                if let Some(slot) = out.get_mut(n) {
                    *slot = Some(r);
                }
            }
            alone.extend(refused);
        }
        // One by one, in input order: each meets `create`'s rules as if it had been alone.
        alone.sort_unstable();
        for n in alone {
            if let (Some(body), Some(slot)) = (bodies.get(n), out.get_mut(n)) {
                *slot = Some(self.create(c, res, body).await);
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(n, r)| {
                r.ok_or_else(|| DomainError::Store(StoreError::Backend(format!("record {n} was not created"))))
            })
            .collect()
    }

    /// Prepares a chunk of one counter shard and commits it in as few transactions as fit.
    async fn create_chunk(
        &self,
        c: &Caller,
        res: Resource,
        bodies: &[&Value],
        ids: &[String],
        counter: Key,
        chunk: Vec<usize>,
    ) -> DomainResult<Done> {
        let mut created = Vec::new();
        let mut alone = Vec::new();
        let mut batch: Vec<Unit> = Vec::new();
        let mut size = 1; // the counter increment
        let mut names: HashSet<Key> = HashSet::new();
        for n in chunk {
            let (Some(body), Some(id)) = (bodies.get(n), ids.get(n)) else { continue };
            let unit = match self.prepare(c, res, body, id, n) {
                Ok(Some(u)) => u,
                Ok(None) => {
                    alone.push(n);
                    continue;
                }
                Err(e) => {
                    created.push((n, Err(e)));
                    continue;
                }
            };
            // The markers (name, unique values) are the only keys another new record may share;
            // one transaction may not write a key twice.
            let (t, kind) = (c.tenant.as_str(), res.kind());
            let mut markers = vec![keys::name_marker(t, kind, unit.stored.unique_name(res.unique_attr()))];
            markers.extend(unit.stored.unique.iter().map(|id| keys::value_marker(t, kind, id)));
            if markers.iter().any(|m| names.contains(m)) {
                alone.push(n);
                continue;
            }
            if size + unit.writes.len() > MAX_TRANSACTION_WRITES {
                self.commit_units(&counter, std::mem::take(&mut batch), &mut created, &mut alone).await?;
                size = 1;
                names.clear();
            }
            size += unit.writes.len();
            names.extend(markers);
            batch.push(unit);
        }
        self.commit_units(&counter, batch, &mut created, &mut alone).await?;
        Ok((created, alone))
    }

    /// The record `create` would make of `body` (with `id`) and its writes; `None` when it
    /// carries members (those go through `create`).
    fn prepare(&self, c: &Caller, res: Resource, body: &Value, id: &str, index: usize) -> DomainResult<Option<Unit>> {
        let (stored, writes, members) = self.new_record(c, res, body, id.to_owned())?;
        if members.is_some() {
            return Ok(None);
        }
        // The counter increment is the transaction's, summed over its records.
        let writes = writes.into_iter().filter(|w| !matches!(w, Write::Add { .. })).collect();
        Ok(Some(Unit { index, stored, writes }))
    }

    /// Commits `batch` with one counter increment for all; a unit whose condition fails is
    /// set aside (for `create`) and the rest committed again.
    async fn commit_units(
        &self,
        counter: &Key,
        mut batch: Vec<Unit>,
        created: &mut Vec<(usize, DomainResult<Stored>)>,
        alone: &mut Vec<usize>,
    ) -> DomainResult<()> {
        while !batch.is_empty() {
            let delta = i64::try_from(batch.len()).map_err(|e| StoreError::Backend(e.to_string()))?;
            let mut writes: Vec<Write> = batch.iter().flat_map(|u| u.writes.iter().cloned()).collect();
            writes.push(Write::Add { key: counter.clone(), delta });
            match self.table.transact(writes).await {
                Ok(()) => {
                    created.extend(batch.into_iter().map(|u| (u.index, Ok(u.stored))));
                    return Ok(());
                }
                Err(StoreError::ConditionFailed { index }) => {
                    let Some(pos) = unit_holding(&batch, index) else { return Err(DomainError::Busy) };
                    alone.push(batch.remove(pos).index);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Which unit of `batch` holds write number `index` of its transaction (none: the counter).
fn unit_holding(batch: &[Unit], mut index: usize) -> Option<usize> {
    for (pos, u) in batch.iter().enumerate() {
        if index < u.writes.len() {
            return Some(pos);
        }
        index -= u.writes.len();
    }
    None
}

#[cfg(test)]
#[path = "bulk_tests.rs"]
mod tests;
