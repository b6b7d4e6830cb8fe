//! The storage contract: one single table of items addressed by partition and sort
//! key, with one overloaded global secondary index (GSI1), conditional all-or-nothing
//! transactions and atomic counters — exactly what DynamoDB offers, so the embedded
//! backend and the DynamoDB backend are interchangeable and pass the same
//! [`contract`] tests. The item design (which keys exist) lives in [`keys`].

#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;
pub mod deferred;
pub mod docs;
#[cfg(any(test, feature = "contract-tests"))]
pub mod docs_contract;
#[cfg(feature = "aws")]
pub mod dynamo;
pub mod embedded;
pub mod files;
pub mod keys;
#[cfg(feature = "aws")]
pub mod secrets;

use async_trait::async_trait;

/// DynamoDB's TransactWriteItems limit; both backends refuse more, so callers chunk.
pub const MAX_TRANSACTION_WRITES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Key,
    /// The item's key in GSI1, if it is indexed there.
    pub gsi1: Option<Key>,
    /// Optimistic-concurrency version, set by the caller and checked by [`Condition::Version`].
    pub version: u64,
    /// A number changed atomically by [`Write::Add`] (sharded counters).
    pub count: i64,
    /// The document, opaque to the store.
    pub body: Vec<u8>,
    /// When the item may be removed (Unix seconds; DynamoDB's TTL attribute `ttl`). Removal
    /// is lazy in both backends (DynamoDB takes up to days), so readers that care compare it
    /// with the time themselves.
    pub expires: Option<i64>,
}

impl Item {
    pub fn new(key: Key, body: Vec<u8>) -> Self {
        Self { key, gsi1: None, version: 0, count: 0, body, expires: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    None,
    NotExists,
    Exists,
    /// The item exists with exactly this version.
    Version(u64),
}

impl Condition {
    pub fn holds(self, existing: Option<&Item>) -> bool {
        match self {
            Self::None => true,
            Self::NotExists => existing.is_none(),
            Self::Exists => existing.is_some(),
            Self::Version(v) => existing.is_some_and(|i| i.version == v),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Write {
    Put {
        item: Item,
        cond: Condition,
    },
    Delete {
        key: Key,
        cond: Condition,
    },
    /// Fails the transaction unless `cond` holds; writes nothing.
    Check {
        key: Key,
        cond: Condition,
    },
    /// Adds `delta` to the item's `count`, creating the item (count 0) if missing.
    Add {
        key: Key,
        delta: i64,
    },
    /// Raises the version of an item that exists (and meets `cond`) by one, leaving the rest
    /// of it as it is: how a change stored beside an item (a membership) tells writers that
    /// are conditioned on the item's version that something changed. Fails on a missing item
    /// whatever `cond` says.
    Touch {
        key: Key,
        cond: Condition,
    },
}

impl Write {
    pub fn key(&self) -> &Key {
        match self {
            Self::Put { item, .. } => &item.key,
            Self::Delete { key, .. } | Self::Check { key, .. } | Self::Add { key, .. } | Self::Touch { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
}

/// Items of one partition whose sort key starts with `sk_prefix` (or lies in `between`), in
/// sort-key order (descending with `reverse`).
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk_prefix: String,
    /// Resume after this cursor (from a previous [`Page`]), in the query's direction.
    pub after: Option<Cursor>,
    /// Pass over this many matching items first (SCIM's `startIndex`); backends skip
    /// keys without reading the items.
    pub skip: usize,
    pub limit: usize,
    /// Newest first: descending sort-key order.
    pub reverse: bool,
    /// Only sort keys in this inclusive range (with an empty `sk_prefix`: DynamoDB's key
    /// condition takes one sort-key test).
    pub between: Option<(String, String)>,
}

impl Query {
    pub fn new(index: Index, pk: impl Into<String>, sk_prefix: impl Into<String>, limit: usize) -> Self {
        Self {
            index,
            pk: pk.into(),
            sk_prefix: sk_prefix.into(),
            after: None,
            skip: 0,
            limit,
            reverse: false,
            between: None,
        }
    }
}

/// Opaque position in a query, meaningful only to the backend that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow.
    pub next: Option<Cursor>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The condition of write number `index` in the transaction did not hold; nothing was written.
    #[error("condition of write {index} failed")]
    ConditionFailed { index: usize },
    /// The request breaks the contract (too many writes, one key twice, a bad cursor).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// The backend failed; the transaction may be retried.
    #[error("storage backend: {0}")]
    Backend(String),
}

#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// The items that exist among `keys` (any order; at most 100 keys).
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError>;
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;
    /// Applies all writes or none. At most [`MAX_TRANSACTION_WRITES`], each key once.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Applies `transactions` in order, each all-or-nothing, stopping at the first that
    /// fails. Returns how many were applied and that failure, if any. A backend may commit
    /// them together (the embedded one does, under one fsync).
    async fn transact_seq(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        let total = transactions.len();
        for (i, writes) in transactions.into_iter().enumerate() {
            if let Err(e) = self.transact(writes).await {
                return (i, Err(e));
            }
        }
        (total, Ok(()))
    }

    /// [`Table::transact_seq`] for bulk work that may be lost with the process until the
    /// next ordinary write commits: visible at once, in order, and made durable by any
    /// ordinary write that commits after it (everything before it becomes durable with it).
    /// For a writer that ends with an ordinary write of its own and redoes its work when it
    /// stopped before that one (the pull's apply). A backend whose every write is durable
    /// (DynamoDB) makes no difference.
    async fn transact_seq_deferred(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        self.transact_seq(transactions).await
    }

    /// Whether [`Table::transact_seq`] commits a call's transactions together (one writer,
    /// one commit): a caller with many independent transactions then sends them in few calls.
    /// Elsewhere (DynamoDB: one request each) it sends them side by side.
    fn commits_together(&self) -> bool {
        false
    }
}

/// A table's change feed: every Put of an activity entry ([`keys::is_activity`]), in commit
/// order, appended in the Put's own transaction, so a rolled-back change appends nothing.
/// The embedded store's local stand-in for DynamoDB Streams. Entries stay until
/// acknowledged; one consumer (the event relay) reads it.
#[async_trait]
pub trait Feed: Send + Sync {
    /// The oldest unacknowledged entries, at most `limit`, with their sequence numbers
    /// (ascending, never reused).
    async fn next(&self, limit: usize) -> Result<Vec<(u64, Item)>, StoreError>;
    /// Removes every entry numbered up to and including `through`.
    async fn ack(&self, through: u64) -> Result<(), StoreError>;
    /// The sequence number of the last entry committed (0 before the first).
    fn head(&self) -> u64;
    /// Resolves once an entry numbered above `seq` is committed (at once if one is): read
    /// [`Feed::head`] before an empty [`Feed::next`], then wait past it, and no entry is missed.
    async fn wait_past(&self, seq: u64);
}

/// Shared checks every backend applies before a query.
pub fn validate_query(q: &Query) -> Result<(), StoreError> {
    if let Some((lo, hi)) = &q.between {
        // DynamoDB's key condition holds one sort-key test: a range or a prefix, not both.
        if !q.sk_prefix.is_empty() {
            return Err(StoreError::Invalid("a query takes a sort-key prefix or a range, not both".into()));
        }
        if lo > hi {
            return Err(StoreError::Invalid(format!("sort-key range {lo:?}..={hi:?} is empty (low above high)")));
        }
    }
    Ok(())
}

/// Shared checks every backend applies before a transaction.
pub fn validate_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() || writes.len() > MAX_TRANSACTION_WRITES {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to {MAX_TRANSACTION_WRITES} writes, not {}",
            writes.len()
        )));
    }
    let mut keys: Vec<&Key> = writes.iter().map(Write::key).collect();
    keys.sort();
    if keys.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(StoreError::Invalid("a transaction names one key twice".into()));
    }
    if writes.iter().any(|w| matches!(w, Write::Touch { cond: Condition::NotExists, .. })) {
        return Err(StoreError::Invalid("a touch needs an item that exists".into()));
    }
    Ok(())
}
