//! Named documents with compare-and-swap writes: the tenant registry, the token vault and
//! token-use records. Three backends keep them: files in the local data directory, items
//! of the single table, and AWS Secrets Manager (for the vault). They pass the same
//! [`super::docs_contract`] checks.

use super::{Condition, Item, Query, StoreError, Table, Write, keys};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub name: String,
    pub body: Vec<u8>,
    /// Changes with every write; what [`Expect::Tag`] compares.
    pub tag: String,
}

/// What a write expects to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// No document of that name.
    Absent,
    /// The document as last read (its tag).
    Tag(String),
    /// Anything: last writer wins (token-use records).
    Any,
}

#[async_trait]
pub trait Documents: Send + Sync {
    async fn get(&self, name: &str) -> Result<Option<Doc>, StoreError>;
    /// Writes `body` if `expect` holds, else fails with [`StoreError::ConditionFailed`].
    async fn put(&self, name: &str, body: &[u8], expect: Expect) -> Result<(), StoreError>;
}

/// Documents that can also be listed (the tenant registry).
#[async_trait]
pub trait Catalog: Documents {
    /// Every document, in name order.
    async fn list(&self) -> Result<Vec<Doc>, StoreError>;
}

/// Names are chosen by Inlet (tenant ids, token ids), never by clients; this keeps them
/// safe as file names, sort keys and secret names alike.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = (1..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !name.starts_with('.');
    ok.then_some(()).ok_or_else(|| StoreError::Invalid(format!("invalid document name {name:?}")))
}

/// Documents as items of one partition of the single table (`keys::document`).
pub struct TableDocs {
    table: Arc<dyn Table>,
    collection: &'static str,
}

impl TableDocs {
    pub fn new(table: Arc<dyn Table>, collection: &'static str) -> Self {
        Self { table, collection }
    }

    fn doc(item: Item) -> Doc {
        Doc { tag: item.version.to_string(), name: item.key.sk, body: item.body }
    }
}

#[async_trait]
impl Documents for TableDocs {
    async fn get(&self, name: &str) -> Result<Option<Doc>, StoreError> {
        check_name(name)?;
        Ok(self.table.get(&keys::document(self.collection, name)).await?.map(Self::doc))
    }

    async fn put(&self, name: &str, body: &[u8], expect: Expect) -> Result<(), StoreError> {
        check_name(name)?;
        let key = keys::document(self.collection, name);
        let (cond, version) = match expect {
            Expect::Absent => (Condition::NotExists, 1),
            Expect::Tag(tag) => {
                let v: u64 = tag.parse().map_err(|_| StoreError::ConditionFailed { index: 0 })?;
                (Condition::Version(v), v + 1)
            }
            // Unconditional, but still a new tag: readers can tell the document changed.
            Expect::Any => (Condition::None, self.table.get(&key).await?.map_or(1, |i| i.version + 1)),
        };
        let mut item = Item::new(key, body.to_vec());
        item.version = version;
        self.table.transact(vec![Write::Put { item, cond }]).await
    }
}

#[async_trait]
impl Catalog for TableDocs {
    async fn list(&self) -> Result<Vec<Doc>, StoreError> {
        let mut q = Query::new(super::Index::Table, keys::document_partition(self.collection), "", 1000);
        let mut docs = Vec::new();
        loop {
            let page = self.table.query(&q).await?;
            docs.extend(page.items.into_iter().map(Self::doc));
            match page.next {
                Some(next) => q.after = Some(next),
                None => return Ok(docs),
            }
        }
    }
}
