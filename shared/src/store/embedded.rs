//! The embedded backend: the single table in a redb file. Reads use redb's MVCC
//! snapshots; writes go through one writer thread that group-commits ([`writer`]). Items
//! that expired are removed lazily, as DynamoDB's TTL does: a sweep at open and then one
//! every [`SWEEP_EVERY`] from the writer, bounded per pass. Every Put of an activity entry
//! is also appended to the change feed ([`Feed`]) in its own transaction.

mod codec;
mod writer;

use super::{Cursor, Feed, Index, Item, Key, Page, Query, StoreError, Table, Write, validate_transaction};
use async_trait::async_trait;
use codec::{decode, decode_entry, key_of_raw, table_key};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use writer::{Job, MAX_BATCH};

/// `pk \0 sk` → encoded item.
const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
/// `gsi1pk \0 gsi1sk \0 pk \0 sk` → nothing.
const GSI1: TableDefinition<&str, ()> = TableDefinition::new("gsi1");
/// (`expires`, `pk \0 sk`) → nothing: what the sweep walks, oldest first.
const EXPIRY: TableDefinition<(i64, &str), ()> = TableDefinition::new("expiry");
/// Feed sequence number → the activity entry as put (key included).
const FEED: TableDefinition<u64, &[u8]> = TableDefinition::new("feed");
/// Counters the store keeps for itself.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The next feed sequence number (kept, so numbers are never reused after every entry is acknowledged).
const NEXT_SEQ: &str = "feed.next";
/// How often the writer sweeps expired items (at most [`writer::SWEEP_MAX`] a pass).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: mpsc::Sender<Job>,
    /// The last feed sequence number committed.
    head: Arc<watch::Sender<u64>>,
}

fn backend(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(e.into().to_string())
}

fn now_seconds() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

impl EmbeddedStore {
    async fn write(&self, transactions: Vec<Vec<Write>>, durable: bool) -> (usize, Result<(), StoreError>) {
        if let Some(e) = transactions.iter().find_map(|w| validate_transaction(w).err()) {
            return (0, Err(e));
        }
        let (done, result) = oneshot::channel();
        if let Err(e) = self.send(Job::Write { transactions, durable, done }).await {
            return (0, Err(e));
        }
        match result.await {
            Ok((outcome, _handed_back)) => outcome,
            Err(_) => (0, Err(StoreError::Backend("the store writer stopped".into()))),
        }
    }

    /// Opens (or creates) `dir/inlet.redb`. Must be called inside a Tokio runtime's context
    /// only for the returned handle's use; the writer runs on its own thread.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        let path = dir.join("inlet.redb");
        let db = Database::create(&path).map_err(backend)?;
        // Every user's data is in this file: the owner alone may read it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| StoreError::Backend(e.to_string()))?;
        }
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(ITEMS).map_err(backend)?;
        txn.open_table(GSI1).map_err(backend)?;
        txn.open_table(EXPIRY).map_err(backend)?;
        txn.open_table(FEED).map_err(backend)?;
        let next_seq = txn.open_table(META).map_err(backend)?.get(NEXT_SEQ).map_err(backend)?.map_or(1, |v| v.value());
        txn.commit().map_err(backend)?;
        let db = Arc::new(db);
        let head = Arc::new(watch::Sender::new(next_seq - 1));
        let (writer, rx) = mpsc::channel(4 * MAX_BATCH);
        let (writer_db, writer_head) = (Arc::clone(&db), Arc::clone(&head));
        std::thread::Builder::new()
            .name("inlet-store-writer".into())
            .spawn(move || writer::write_loop(&writer_db, rx, &writer_head))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        // The first sweep is queued before any caller's write; later ones come from a ticker
        // that holds the writer's channel weakly, so dropping the store still stops the writer.
        writer
            .try_send(Job::Sweep { now: now_seconds(), done: None })
            .map_err(|e| StoreError::Backend(format!("queueing the first sweep: {e}")))?;
        let ticker = writer.downgrade();
        std::thread::Builder::new()
            .name("inlet-store-sweeper".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(SWEEP_EVERY);
                    let Some(tx) = ticker.upgrade() else { break };
                    // A full writer queue skips this pass: the next one comes soon enough.
                    let _ = tx.try_send(Job::Sweep { now: now_seconds(), done: None });
                }
            })
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { db, writer, head })
    }

    /// Removes up to [`writer::SWEEP_MAX`] items that expired before `now` (Unix seconds), as the
    /// writer does on its own every [`SWEEP_EVERY`]; answers how many it removed.
    pub async fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Sweep { now, done: Some(done) }).await?;
        answer.await.map_err(|_| StoreError::Backend("the store writer stopped".into()))?
    }

    async fn send(&self, job: Job) -> Result<(), StoreError> {
        self.writer.send(job).await.map_err(|_| StoreError::Backend("the store is shut down".into()))
    }

    /// Runs a read on a snapshot, on tokio's blocking pool: a read that walks many keys must
    /// not hold up the async workers that serve every other request.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = Arc::clone(&self.db);
        let read = move || {
            let txn = db.begin_read().map_err(backend)?;
            f(&txn).map_err(|e| StoreError::Backend(e.to_string()))
        };
        tokio::task::spawn_blocking(read).await.map_err(|e| StoreError::Backend(format!("read task: {e}")))?
    }
}

/// The raw-key range `[from, to)` a query covers. A range's upper bound is `hi` followed
/// by U+0001: every key whose sort key is `hi` sorts below it (GSI1 keys go on with NUL),
/// every longer sort key above it.
fn query_range(q: &Query) -> (String, String) {
    let base = format!("{}\0", q.pk);
    match &q.between {
        Some((lo, hi)) => (format!("{base}{lo}"), format!("{base}{hi}\u{1}")),
        None => (format!("{base}{}", q.sk_prefix), format!("{base}{}\u{10FFFF}", q.sk_prefix)),
    }
}

/// Walks `range` in the query's direction until `visit` says stop.
fn walk<V: redb::Value + 'static>(
    range: redb::Range<'static, &'static str, V>,
    reverse: bool,
    visit: &mut impl FnMut(&str) -> Result<bool, redb::Error>,
) -> Result<(), redb::Error> {
    let mut step = |entry: Result<
        (redb::AccessGuard<'static, &'static str>, redb::AccessGuard<'static, V>),
        redb::StorageError,
    >| { entry.map_err(redb::Error::from).and_then(|(k, _)| visit(k.value())) };
    if reverse {
        for entry in range.rev() {
            if !step(entry)? {
                break;
            }
        }
    } else {
        for entry in range {
            if !step(entry)? {
                break;
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Table for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS)?;
            let found = items.get(table_key(&key).as_str())?;
            found.map(|v| decode(key.clone(), v.value())).transpose()
        })
        .await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let keys = keys.to_vec();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(v) = items.get(table_key(&key).as_str())? {
                    out.push(decode(key, v.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        super::validate_query(q)?;
        let (from, to) = query_range(q);
        // Strictly after the cursor in the query's direction: going up, the cursor plus "\0"
        // is the next key there can be; going down, the cursor is the exclusive end.
        let (from, to) = match &q.after {
            Some(Cursor(c)) if c.as_str() >= from.as_str() && c.as_str() < to.as_str() => {
                if q.reverse {
                    (from, c.clone())
                } else {
                    (format!("{c}\0"), to)
                }
            }
            Some(_) => return Err(StoreError::Invalid("cursor does not belong to this query".into())),
            None => (from, to),
        };
        let q = q.clone();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS)?;
            let mut out = Vec::new();
            let mut last = None;
            let mut more = false;
            let mut skipped = 0;
            let gsi = q.index == Index::Gsi1;
            let mut visit = |raw: &str| -> Result<bool, redb::Error> {
                if out.len() == q.limit {
                    more = true;
                    return Ok(false);
                }
                // Skipped keys are only counted: the cursor is always the last item returned.
                if skipped < q.skip {
                    skipped += 1;
                    return Ok(true);
                }
                let key = key_of_raw(raw, gsi)?;
                if let Some(v) = items.get(table_key(&key).as_str())? {
                    out.push(decode(key, v.value())?);
                }
                last = Some(raw.to_owned());
                Ok(true)
            };
            match q.index {
                Index::Table => walk(items.range(from.as_str()..to.as_str())?, q.reverse, &mut visit)?,
                Index::Gsi1 => walk(txn.open_table(GSI1)?.range(from.as_str()..to.as_str())?, q.reverse, &mut visit)?,
            }
            Ok(Page { items: out, next: if more { last.map(Cursor) } else { None } })
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.transact_seq(vec![writes]).await.1
    }

    async fn transact_seq(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        self.write(transactions, true).await
    }

    /// Committed without an fsync of its own (redb's non-durable commit): it becomes durable
    /// with the next durable commit, which any ordinary write, acknowledgement or sweep makes.
    async fn transact_seq_deferred(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        self.write(transactions, false).await
    }

    fn commits_together(&self) -> bool {
        true
    }
}

#[async_trait]
impl Feed for EmbeddedStore {
    async fn next(&self, limit: usize) -> Result<Vec<(u64, Item)>, StoreError> {
        // Entries past the head are not durable yet (a deferred write appended them).
        let head = self.head();
        self.read(move |txn| {
            let feed = txn.open_table(FEED)?;
            let mut out = Vec::new();
            for entry in feed.range(..=head)?.take(limit) {
                let (seq, v) = entry?;
                out.push((seq.value(), decode_entry(seq.value(), v.value())?));
            }
            Ok(out)
        })
        .await
    }

    async fn ack(&self, through: u64) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.send(Job::Ack { through, done }).await?;
        answer.await.map_err(|_| StoreError::Backend("the store writer stopped".into()))?
    }

    fn head(&self) -> u64 {
        *self.head.borrow()
    }

    async fn wait_past(&self, seq: u64) {
        let mut rx = self.head.subscribe();
        // The sender lives as long as the store, so this ends only when an entry comes.
        let _ = rx.wait_for(|head| *head > seq).await;
    }
}

#[cfg(test)]
mod tests;
