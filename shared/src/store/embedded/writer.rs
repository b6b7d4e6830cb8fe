//! The embedded store's one writer thread. It group-commits: it takes every job waiting
//! (transactions, feed acknowledgements, expiry sweeps), applies each inside one redb write
//! transaction, commits durably (fsync), and only then answers them. That keeps "nothing
//! acknowledged is lost" without paying one fsync per request. A batch of deferred writes
//! only ([`crate::store::Table::transact_seq_deferred`]) commits without the fsync; the next
//! durable commit makes it durable, and the feed's head moves past its entries only then.

use super::codec::{decode, decode_meta, encode, encode_entry, gsi_key, key_of_raw, table_key, with_version};
use super::{EXPIRY, FEED, GSI1, ITEMS, META, NEXT_SEQ};
use crate::store::{Condition, Item, StoreError, Write, keys};
use redb::{Database, ReadableTable};
use std::borrow::Cow;
use tokio::sync::{mpsc, oneshot, watch};

/// Jobs committed together at most.
pub const MAX_BATCH: usize = 512;
/// Expired items removed by one sweep at most: a sweep shares its commit with writers.
pub const SWEEP_MAX: usize = 1000;

pub type Outcome = (usize, Result<(), StoreError>);
/// A write job's answer, with its transactions handed back: they are freed on the caller's
/// thread, not on the writer's, which is the store's one serial resource.
pub type Written = (Outcome, Vec<Vec<Write>>);

pub enum Job {
    /// A sequence of transactions from one caller, applied in order until one fails;
    /// `durable`: answered only once on disk.
    Write { transactions: Vec<Vec<Write>>, durable: bool, done: oneshot::Sender<Written> },
    /// Removes feed entries up to and including `through`.
    Ack { through: u64, done: oneshot::Sender<Result<(), StoreError>> },
    /// Removes up to [`SWEEP_MAX`] items whose `expires` is before `now`; answers how many.
    Sweep { now: i64, done: Option<oneshot::Sender<Result<usize, StoreError>>> },
}

enum Answer {
    Write(Outcome),
    Ack,
    Sweep(usize),
}

pub fn write_loop(db: &Database, mut rx: mpsc::Receiver<Job>, head: &watch::Sender<u64>) {
    // The last feed entry appended by a commit not yet durable, and whether there is one.
    let (mut unpublished, mut undurable) = (None, false);
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let durable = batch.iter().any(|j| !matches!(j, Job::Write { durable: false, .. }));
        match commit_batch(db, &batch, durable) {
            Ok((answers, appended_through)) => {
                unpublished = appended_through.or(unpublished);
                undurable = !durable;
                // Readers of the feed learn of new entries only once they are durable.
                if let (true, Some(seq)) = (durable, unpublished.take()) {
                    head.send_replace(seq);
                }
                for (job, answer) in batch.into_iter().zip(answers) {
                    reply(job, Ok(answer));
                }
            }
            Err(e) => {
                for job in batch {
                    reply(job, Err(StoreError::Backend(e.to_string())));
                }
            }
        }
    }
    // The store is closing: what deferred writes left is made durable.
    if undurable {
        match commit_batch(db, &[], true) {
            Ok(_) => {
                if let Some(seq) = unpublished {
                    head.send_replace(seq);
                }
            }
            Err(e) => tracing::warn!(error = %e, "the store's last deferred writes may be lost"),
        }
    }
}

fn reply(job: Job, answer: Result<Answer, StoreError>) {
    match (job, answer) {
        (Job::Write { done, transactions, .. }, Ok(Answer::Write(o))) => drop(done.send((o, transactions))),
        (Job::Ack { done, .. }, Ok(Answer::Ack)) => drop(done.send(Ok(()))),
        (Job::Sweep { done: Some(done), .. }, Ok(Answer::Sweep(n))) => drop(done.send(Ok(n))),
        (Job::Sweep { done: None, .. }, Ok(Answer::Sweep(n))) => {
            if n > 0 {
                tracing::debug!(removed = n, "expired items swept");
            }
        }
        (Job::Write { done, transactions, .. }, Err(e)) => drop(done.send(((0, Err(e)), transactions))),
        (Job::Ack { done, .. }, Err(e)) => drop(done.send(Err(e))),
        (Job::Sweep { done: Some(done), .. }, Err(e)) => drop(done.send(Err(e))),
        (Job::Sweep { done: None, .. }, Err(e)) => tracing::warn!(error = %e, "expiry sweep failed"),
        // Each job gets the answer of its own kind (commit_batch keeps them in step).
        (job, Ok(_)) => reply(job, Err(StoreError::Backend("writer answered out of step".into()))),
    }
}

/// Every table a write may touch, open in one write transaction.
struct Tables<'t> {
    items: redb::Table<'t, &'static str, &'static [u8]>,
    gsi: redb::Table<'t, &'static str, ()>,
    expiry: redb::Table<'t, (i64, &'static str), ()>,
    feed: redb::Table<'t, u64, &'static [u8]>,
    /// The next feed sequence number.
    next_seq: u64,
}

/// Commits the batch; answers each job, and the last feed sequence number appended, if any.
fn commit_batch(db: &Database, batch: &[Job], durable: bool) -> Result<(Vec<Answer>, Option<u64>), redb::Error> {
    let mut txn = db.begin_write()?;
    if !durable {
        txn.set_durability(redb::Durability::None)?;
    }
    let mut answers = Vec::with_capacity(batch.len());
    let appended_through;
    {
        let mut meta = txn.open_table(META)?;
        let next_seq = meta.get(NEXT_SEQ)?.map_or(1, |v| v.value());
        let mut t = Tables {
            items: txn.open_table(ITEMS)?,
            gsi: txn.open_table(GSI1)?,
            expiry: txn.open_table(EXPIRY)?,
            feed: txn.open_table(FEED)?,
            next_seq,
        };
        for job in batch {
            answers.push(match job {
                Job::Write { transactions, .. } => {
                    let mut outcome = (transactions.len(), Ok(()));
                    for (i, writes) in transactions.iter().enumerate() {
                        if let Err(e) = apply(&mut t, writes)? {
                            outcome = (i, Err(e));
                            break;
                        }
                    }
                    Answer::Write(outcome)
                }
                Job::Ack { through, .. } => {
                    t.feed.retain_in(..=*through, |_, _| false)?;
                    Answer::Ack
                }
                Job::Sweep { now, .. } => Answer::Sweep(sweep(&mut t, *now)?),
            });
        }
        appended_through = (t.next_seq > next_seq).then(|| t.next_seq - 1);
        if appended_through.is_some() {
            meta.insert(NEXT_SEQ, t.next_seq)?;
        }
    }
    txn.commit()?;
    Ok((answers, appended_through))
}

/// One transaction, already validated: every condition is checked before anything is
/// written, so a failed one writes (and appends to the feed) nothing.
fn apply(t: &mut Tables<'_>, writes: &[Write]) -> Result<Result<(), StoreError>, redb::Error> {
    // What each write found, when it had to look first (`None`: an unconditional put or
    // delete learns what it replaced from the write itself, one B-tree walk instead of two).
    let mut existing: Vec<Option<Option<Item>>> = Vec::with_capacity(writes.len());
    // A touch's new bytes: the item as stored at its next version (its body never decoded).
    let mut touched: Vec<Option<Vec<u8>>> = Vec::with_capacity(writes.len());
    for (index, w) in writes.iter().enumerate() {
        touched.push(None);
        let (cond, must_exist) = match w {
            Write::Put { cond: Condition::None, .. } | Write::Delete { cond: Condition::None, .. } => {
                existing.push(None);
                continue;
            }
            Write::Put { cond, .. } | Write::Delete { cond, .. } | Write::Check { cond, .. } => (*cond, false),
            Write::Add { .. } => (Condition::None, false),
            Write::Touch { cond, .. } => (*cond, true),
        };
        // Conditions need only the metadata; the body is read only to keep it on `Add`.
        let found = match t.items.get(table_key(w.key()).as_str())? {
            Some(v) if matches!(w, Write::Add { .. }) => Some(decode(w.key().clone(), v.value())?),
            Some(v) => {
                let meta = decode_meta(w.key().clone(), v.value())?;
                if let (Write::Touch { .. }, Some(slot)) = (w, touched.last_mut()) {
                    *slot = Some(with_version(w.key(), v.value(), meta.version.saturating_add(1))?);
                }
                Some(meta)
            }
            None => None,
        };
        if !cond.holds(found.as_ref()) || (must_exist && found.is_none()) {
            return Ok(Err(StoreError::ConditionFailed { index }));
        }
        existing.push(Some(found));
    }
    for ((w, looked), touched) in writes.iter().zip(existing).zip(touched) {
        // A put's item is borrowed, not copied: the writer thread is the store's bottleneck.
        let new: Option<Cow<'_, Item>> = match w {
            Write::Check { .. } => continue,
            Write::Put { item, .. } => Some(Cow::Borrowed(item)),
            Write::Delete { .. } => None,
            Write::Add { key, delta } => {
                let mut item = looked.clone().flatten().unwrap_or_else(|| Item::new(key.clone(), Vec::new()));
                item.count = item.count.saturating_add(*delta);
                Some(Cow::Owned(item))
            }
            Write::Touch { .. } => looked.clone().flatten().map(|mut item| {
                item.version = item.version.saturating_add(1);
                Cow::Owned(item)
            }),
        };
        let raw = table_key(w.key());
        let unread = looked.is_none();
        let replaced = match (&new, touched) {
            (Some(_), Some(bytes)) => t.items.insert(raw.as_str(), bytes.as_slice())?,
            (Some(item), None) => t.items.insert(raw.as_str(), encode(item).as_slice())?,
            (None, _) => t.items.remove(raw.as_str())?,
        };
        let replaced = match replaced {
            Some(v) if unread => Some(decode_meta(w.key().clone(), v.value())?),
            _ => None,
        };
        let old = looked.unwrap_or(replaced);
        // Index entries change only when the item's own do (a touch or a counter keeps them).
        let (old_gsi, new_gsi) =
            (old.as_ref().and_then(|o| o.gsi1.as_ref()), new.as_ref().and_then(|n| n.gsi1.as_ref()));
        if old_gsi != new_gsi {
            if let Some(g) = old_gsi {
                t.gsi.remove(gsi_key(g, w.key()).as_str())?;
            }
            if let Some(g) = new_gsi {
                t.gsi.insert(gsi_key(g, w.key()).as_str(), ())?;
            }
        }
        let (old_at, new_at) = (old.as_ref().and_then(|o| o.expires), new.as_ref().and_then(|n| n.expires));
        if old_at != new_at {
            if let Some(at) = old_at {
                t.expiry.remove((at, raw.as_str()))?;
            }
            if let Some(at) = new_at {
                t.expiry.insert((at, raw.as_str()), ())?;
            }
        }
        if let (Write::Put { .. }, Some(item)) = (w, &new)
            && keys::is_activity(&item.key.pk)
        {
            t.feed.insert(t.next_seq, encode_entry(item).as_slice())?;
            t.next_seq += 1;
        }
    }
    Ok(Ok(()))
}

/// Removes up to [`SWEEP_MAX`] items that expired before `now` (and their index entries).
fn sweep(t: &mut Tables<'_>, now: i64) -> Result<usize, redb::Error> {
    let mut due = Vec::new();
    for entry in t.expiry.range(..(now, ""))?.take(SWEEP_MAX) {
        let (k, _) = entry?;
        let (at, raw) = k.value();
        due.push((at, raw.to_owned()));
    }
    for (at, raw) in &due {
        t.expiry.remove((*at, raw.as_str()))?;
        let key = key_of_raw(raw, false)?;
        let gsi1 = match t.items.remove(raw.as_str())? {
            Some(v) => decode_meta(key.clone(), v.value())?.gsi1,
            None => None,
        };
        if let Some(g) = gsi1 {
            t.gsi.remove(gsi_key(&g, &key).as_str())?;
        }
    }
    Ok(due.len())
}
