//! A view of a table whose transactions are all deferred ([`Table::transact_seq_deferred`]):
//! what a bulk writer builds its directory on, so every write of its work (the records, their
//! memberships, plans and activity entries) is deferred without the domain knowing.

use super::{Item, Key, Page, Query, StoreError, Table, Write};
use async_trait::async_trait;
use std::sync::Arc;

pub struct Deferred(Arc<dyn Table>);

impl Deferred {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self(table)
    }
}

#[async_trait]
impl Table for Deferred {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.0.get(key).await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.0.get_many(keys).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.0.query(query).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.0.transact_seq_deferred(vec![writes]).await.1
    }

    async fn transact_seq(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        self.0.transact_seq_deferred(transactions).await
    }

    async fn transact_seq_deferred(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        self.0.transact_seq_deferred(transactions).await
    }

    fn commits_together(&self) -> bool {
        self.0.commits_together()
    }
}
