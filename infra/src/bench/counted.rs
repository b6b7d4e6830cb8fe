//! A [`Table`] that counts what is asked of it: calls by kind (each one DynamoDB request on
//! the DynamoDB backend) and the writes inside transactions by the class of item they touch,
//! so a pull's store traffic can be read off without a DynamoDB.

use async_trait::async_trait;
use inlet_shared::store::{Item, Key, Page, Query, StoreError, Table, Write, keys};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// Item classes that hold the directory itself (what a SCIM client can see).
pub const DIRECTORY: [&str; 8] =
    ["user", "group", "membership", "name marker", "externalId", "counter", "pending", "member plan"];
/// Item classes that are the puller's own bookkeeping.
pub const BOOKKEEPING: [&str; 4] = ["pull state", "checkpoint", "members memo", "org claim"];

#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub gets: u64,
    pub get_many: u64,
    pub get_many_keys: u64,
    pub queries: u64,
    pub transactions: u64,
    /// Condition checks inside transactions (they write nothing).
    pub checks: u64,
    /// Puts, deletes, adds and touches by item class ([`class`]).
    pub writes: BTreeMap<&'static str, u64>,
}

impl Tally {
    /// Calls that read.
    pub fn reads(&self) -> u64 {
        self.gets + self.get_many + self.queries
    }

    pub fn writes_of(&self, classes: &[&str]) -> u64 {
        self.writes.iter().filter(|(c, _)| classes.contains(c)).map(|(_, n)| n).sum()
    }

    /// `class n, class n, …` for the given classes that were written.
    pub fn breakdown(&self, classes: &[&str]) -> String {
        let parts: Vec<String> =
            self.writes.iter().filter(|(c, _)| classes.contains(c)).map(|(c, n)| format!("{c} {n}")).collect();
        if parts.is_empty() { "-".into() } else { parts.join(", ") }
    }

    fn add_transaction(&mut self, t: &TransactionTally) {
        self.transactions += 1;
        self.checks += t.checks;
        for (c, n) in &t.writes {
            *self.writes.entry(c).or_default() += n;
        }
    }
}

#[derive(Default)]
struct TransactionTally {
    checks: u64,
    writes: BTreeMap<&'static str, u64>,
}

impl TransactionTally {
    fn of(writes: &[Write]) -> Self {
        let mut t = Self::default();
        for w in writes {
            match w {
                Write::Check { .. } => t.checks += 1,
                other => *t.writes.entry(class(other.key())).or_default() += 1,
            }
        }
        t
    }
}

/// The class of an item, from its key (see `inlet_shared::store::keys`).
pub fn class(key: &Key) -> &'static str {
    if key.pk.starts_with("OKTA#ORG#") {
        return "org claim";
    }
    if key.pk.starts_with("D#") {
        return "registry";
    }
    // `T#{tenant}#{rest}`: tenant ids never hold '#'.
    let Some(rest) = key.pk.strip_prefix("T#").and_then(|r| r.split_once('#')).map(|(_, rest)| rest) else {
        return "other";
    };
    match rest {
        "OKTA" => return "pull state", // CONFIG and STATE
        "OKTA#RUN" => return "checkpoint",
        "OKTA#MEMO" => return "members memo",
        _ => {}
    }
    let kind = rest.split_once('#').map_or(rest, |(k, _)| k);
    match (kind, key.sk.as_str()) {
        ("U", "USER") => "user",
        ("G", "GROUP") => "group",
        ("U" | "G", "PENDING") => "pending",
        ("U", sk) if sk.starts_with(keys::GROUP_OF_PREFIX) => "membership",
        ("G", sk) if sk.starts_with(keys::MEMBER_PREFIX) => "membership",
        ("G", sk) if sk.starts_with(keys::PLAN_PREFIX) => "member plan",
        ("UN" | "GN", _) => "name marker",
        ("UX" | "GX", _) => "externalId",
        ("N", _) => "counter",
        _ => "other",
    }
}

/// Counts the calls made to `inner`.
pub struct Counted<T> {
    inner: T,
    tally: Mutex<Tally>,
}

impl<T: Table> Counted<T> {
    pub fn new(inner: T) -> Self {
        Self { inner, tally: Mutex::new(Tally::default()) }
    }

    /// What was counted since the last take, and a fresh start.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.count())
    }

    fn count(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A panic elsewhere cannot leave a tally half-updated in a way that matters here.
        self.tally.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl<T: Table> Table for Counted<T> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.count().gets += 1;
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        {
            let mut c = self.count();
            c.get_many += 1;
            c.get_many_keys += keys.len() as u64;
        }
        self.inner.get_many(keys).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.count().queries += 1;
        self.inner.query(query).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let t = TransactionTally::of(&writes);
        let result = self.inner.transact(writes).await;
        if result.is_ok() {
            self.count().add_transaction(&t);
        }
        result
    }

    /// Counted per transaction applied (the embedded store commits them under one fsync;
    /// DynamoDB makes one request each).
    async fn transact_seq(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        let tallies: Vec<TransactionTally> = transactions.iter().map(|w| TransactionTally::of(w)).collect();
        let (applied, result) = self.inner.transact_seq(transactions).await;
        let mut c = self.count();
        for t in tallies.iter().take(applied) {
            c.add_transaction(t);
        }
        (applied, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inlet_shared::store::keys::Kind;

    #[test]
    fn keys_fall_in_their_classes() {
        let t = "acme";
        assert_eq!(class(&keys::resource(t, Kind::User, "u1")), "user");
        assert_eq!(class(&keys::resource(t, Kind::Group, "g1")), "group");
        assert_eq!(class(&keys::member(t, "g1", "u1")), "membership");
        assert_eq!(class(&keys::group_of(t, "u1", "g1")), "membership");
        assert_eq!(class(&keys::name_marker(t, Kind::User, "ada")), "name marker");
        assert_eq!(class(&keys::external_id(t, Kind::Group, "x", "g1")), "externalId");
        assert_eq!(class(&keys::counter(t, Kind::User, "scim", "u1")), "counter");
        assert_eq!(class(&keys::pending(t, Kind::Group, "g1")), "pending");
        assert_eq!(class(&keys::plan_chunk(t, "g1", "p", 0)), "member plan");
        assert_eq!(class(&keys::okta_state(t)), "pull state");
        assert_eq!(class(&keys::okta_config(t)), "pull state");
        assert_eq!(class(&keys::okta_run_chunk(t, "r", 0)), "checkpoint");
        assert_eq!(class(&keys::okta_memo_chunk(t, "00g1", 0)), "members memo");
        assert_eq!(class(&keys::okta_org_claim("00o1")), "org claim");
        assert_eq!(class(&keys::document(keys::TENANTS, t)), "registry");
    }
}
