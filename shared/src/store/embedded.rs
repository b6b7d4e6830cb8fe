//! The embedded backend: the single table in a redb file. Reads use redb's MVCC
//! snapshots; writes go through one writer thread that group-commits: it takes every
//! transaction waiting, applies each all-or-nothing inside one redb write
//! transaction, commits durably (fsync), and only then acknowledges them. That keeps
//! "nothing acknowledged is lost" without paying one fsync per request.

use super::{Condition, Cursor, Index, Item, Key, Page, Query, StoreError, Table, Write, validate_transaction};
use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// `pk \0 sk` → encoded item. Keys never contain NUL (see `keys`).
const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
/// `gsi1pk \0 gsi1sk \0 pk \0 sk` → nothing.
const GSI1: TableDefinition<&str, ()> = TableDefinition::new("gsi1");
/// Transactions committed together at most.
const MAX_BATCH: usize = 512;

/// A sequence of transactions from one caller, applied in order until one fails.
struct Pending {
    transactions: Vec<Vec<Write>>,
    done: oneshot::Sender<(usize, Result<(), StoreError>)>,
}

pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: mpsc::Sender<Pending>,
}

fn backend(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(e.into().to_string())
}

fn table_key(k: &Key) -> String {
    format!("{}\0{}", k.pk, k.sk)
}

fn gsi_key(g: &Key, k: &Key) -> String {
    format!("{}\0{}\0{}\0{}", g.pk, g.sk, k.pk, k.sk)
}

impl EmbeddedStore {
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
        txn.commit().map_err(backend)?;
        let db = Arc::new(db);
        let (writer, rx) = mpsc::channel(4 * MAX_BATCH);
        let writer_db = Arc::clone(&db);
        std::thread::Builder::new()
            .name("inlet-store-writer".into())
            .spawn(move || write_loop(&writer_db, rx))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { db, writer })
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

fn write_loop(db: &Database, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        match commit_batch(db, &batch) {
            Ok(results) => {
                for (p, r) in batch.into_iter().zip(results) {
                    let _ = p.done.send(r);
                }
            }
            Err(e) => {
                for p in batch {
                    let _ = p.done.send((0, Err(StoreError::Backend(e.to_string()))));
                }
            }
        }
    }
}

type Outcome = (usize, Result<(), StoreError>);

fn commit_batch(db: &Database, batch: &[Pending]) -> Result<Vec<Outcome>, redb::Error> {
    let txn = db.begin_write()?;
    let mut results = Vec::with_capacity(batch.len());
    {
        let mut items = txn.open_table(ITEMS)?;
        let mut gsi = txn.open_table(GSI1)?;
        for p in batch {
            let mut outcome = (p.transactions.len(), Ok(()));
            for (i, writes) in p.transactions.iter().enumerate() {
                if let Err(e) = apply(&mut items, &mut gsi, writes)? {
                    outcome = (i, Err(e));
                    break;
                }
            }
            results.push(outcome);
        }
    }
    txn.commit()?;
    Ok(results)
}

type Items<'t> = redb::Table<'t, &'static str, &'static [u8]>;
type Gsi<'t> = redb::Table<'t, &'static str, ()>;

/// One transaction, already validated by `transact_seq`: every condition is checked
/// before anything is written.
fn apply(items: &mut Items<'_>, gsi: &mut Gsi<'_>, writes: &[Write]) -> Result<Result<(), StoreError>, redb::Error> {
    let mut existing = Vec::with_capacity(writes.len());
    for (index, w) in writes.iter().enumerate() {
        // Conditions need only the metadata; the body is read only to keep it on `Add`.
        let found = match items.get(table_key(w.key()).as_str())? {
            Some(v) if matches!(w, Write::Add { .. } | Write::Touch { .. }) => {
                Some(decode(w.key().clone(), v.value())?)
            }
            Some(v) => Some(decode_meta(w.key().clone(), v.value())?),
            None => None,
        };
        let (cond, must_exist) = match w {
            Write::Put { cond, .. } | Write::Delete { cond, .. } | Write::Check { cond, .. } => (*cond, false),
            Write::Add { .. } => (Condition::None, false),
            Write::Touch { cond, .. } => (*cond, true),
        };
        if !cond.holds(found.as_ref()) || (must_exist && found.is_none()) {
            return Ok(Err(StoreError::ConditionFailed { index }));
        }
        existing.push(found);
    }
    for (w, old) in writes.iter().zip(existing) {
        let new = match w {
            Write::Check { .. } => continue,
            Write::Put { item, .. } => Some(item.clone()),
            Write::Delete { .. } => None,
            Write::Add { key, delta } => {
                let mut item = old.clone().unwrap_or_else(|| Item::new(key.clone(), Vec::new()));
                item.count = item.count.saturating_add(*delta);
                Some(item)
            }
            Write::Touch { .. } => old.clone().map(|mut item| {
                item.version = item.version.saturating_add(1);
                item
            }),
        };
        if let Some(g) = old.as_ref().and_then(|o| o.gsi1.as_ref()) {
            gsi.remove(gsi_key(g, w.key()).as_str())?;
        }
        match new {
            Some(item) => {
                if let Some(g) = &item.gsi1 {
                    gsi.insert(gsi_key(g, &item.key).as_str(), ())?;
                }
                items.insert(table_key(&item.key).as_str(), encode(&item).as_slice())?;
            }
            None => {
                items.remove(table_key(w.key()).as_str())?;
            }
        }
    }
    Ok(Ok(()))
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// `version u64 | count i64 | has_gsi u8 [| len pk | len sk] | body`, little-endian.
fn encode(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(item.body.len() + 64);
    out.extend_from_slice(&item.version.to_le_bytes());
    out.extend_from_slice(&item.count.to_le_bytes());
    match &item.gsi1 {
        Some(g) => {
            out.push(1);
            put_str(&mut out, &g.pk);
            put_str(&mut out, &g.sk);
        }
        None => out.push(0),
    }
    out.extend_from_slice(&item.body);
    out
}

/// The item without its body.
fn decode_meta(key: Key, bytes: &[u8]) -> Result<Item, redb::Error> {
    decode_parts(key, bytes, false)
}

fn decode(key: Key, bytes: &[u8]) -> Result<Item, redb::Error> {
    decode_parts(key, bytes, true)
}

fn decode_parts(key: Key, bytes: &[u8], with_body: bool) -> Result<Item, redb::Error> {
    let corrupt = || redb::Error::Corrupted(format!("item {key:?} is not decodable"));
    let take = |at: usize, n: usize| bytes.get(at..at + n).ok_or_else(corrupt);
    let word = |at: usize| -> Result<[u8; 8], redb::Error> { take(at, 8)?.try_into().map_err(|_| corrupt()) };
    let version = u64::from_le_bytes(word(0)?);
    let count = i64::from_le_bytes(word(8)?);
    let mut at = 17;
    let gsi1 = match take(16, 1)? {
        [1] => {
            let mut text = || -> Result<String, redb::Error> {
                let len: [u8; 4] = take(at, 4)?.try_into().map_err(|_| corrupt())?;
                let len = u32::from_le_bytes(len) as usize;
                let s = String::from_utf8(take(at + 4, len)?.to_vec()).map_err(|_| corrupt())?;
                at += 4 + len;
                Ok(s)
            };
            let pk = text()?;
            Some(Key { pk, sk: text()? })
        }
        _ => None,
    };
    let body = if with_body { bytes.get(at..).ok_or_else(corrupt)?.to_vec() } else { Vec::new() };
    Ok(Item { key, gsi1, version, count, body, expires: None })
}

/// The half-open range of keys starting with `prefix`.
fn prefix_range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}\u{10FFFF}"))
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
        let (from, to) = prefix_range(&format!("{}\0{}", q.pk, q.sk_prefix));
        let start = match &q.after {
            // Strictly after the cursor: the cursor itself plus "\0" sorts right after it.
            Some(Cursor(c)) if c.as_str() >= from.as_str() && c.as_str() < to.as_str() => format!("{c}\0"),
            Some(_) => return Err(StoreError::Invalid("cursor does not belong to this query".into())),
            None => from,
        };
        let q = q.clone();
        self.read(move |txn| {
            let items = txn.open_table(ITEMS)?;
            let mut out = Vec::new();
            let mut last = None;
            let mut more = false;
            let mut skipped = 0;
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
                let table_raw = match q.index {
                    Index::Table => raw.to_owned(),
                    Index::Gsi1 => raw.splitn(3, '\0').nth(2).unwrap_or_default().to_owned(),
                };
                let (pk, sk) = table_raw.split_once('\0').unwrap_or_default();
                if let Some(v) = items.get(table_raw.as_str())? {
                    out.push(decode(Key::new(pk, sk), v.value())?);
                }
                last = Some(raw.to_owned());
                Ok(true)
            };
            match q.index {
                Index::Table => {
                    for entry in items.range(start.as_str()..to.as_str())? {
                        if !visit(entry?.0.value())? {
                            break;
                        }
                    }
                }
                Index::Gsi1 => {
                    let gsi = txn.open_table(GSI1)?;
                    for entry in gsi.range(start.as_str()..to.as_str())? {
                        if !visit(entry?.0.value())? {
                            break;
                        }
                    }
                }
            }
            Ok(Page { items: out, next: if more { last.map(Cursor) } else { None } })
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.transact_seq(vec![writes]).await.1
    }

    async fn transact_seq(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        if let Some(e) = transactions.iter().find_map(|w| validate_transaction(w).err()) {
            return (0, Err(e));
        }
        let (done, result) = oneshot::channel();
        if self.writer.send(Pending { transactions, done }).await.is_err() {
            return (0, Err(StoreError::Backend("the store is shut down".into())));
        }
        result.await.unwrap_or((0, Err(StoreError::Backend("the store writer stopped".into()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_storage_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        super::super::contract::run_all(&store).await;
    }

    #[tokio::test]
    async fn table_documents_pass_the_document_contract() {
        let dir = tempfile::tempdir().unwrap();
        let docs = super::super::docs::TableDocs::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()), "contract");
        super::super::docs_contract::run_all(&docs).await;
        super::super::docs_contract::run_listing(&docs).await;
    }

    #[tokio::test]
    async fn committed_writes_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::new("T#t#U#1", "USER");
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            let mut item = Item::new(key.clone(), b"{}".to_vec());
            item.gsi1 = Some(Key::new("T#t#USERS", "1"));
            store.transact(vec![Write::Put { item, cond: Condition::NotExists }]).await.unwrap();
        }
        // The writer thread holds the database until its channel closes; wait for it.
        let mut reopened = None;
        for _ in 0..500 {
            if let Ok(s) = EmbeddedStore::open(dir.path()) {
                reopened = Some(s);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let store = reopened.expect("the database reopens once the writer has stopped");
        assert_eq!(store.get(&key).await.unwrap().map(|i| i.body), Some(b"{}".to_vec()));
    }
}
