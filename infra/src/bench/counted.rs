//! A [`Table`] that counts what is asked of it: calls by kind (each one DynamoDB request on
//! the DynamoDB backend) and the writes inside transactions by the class of item they touch,
//! so a pull's store traffic can be read off without a DynamoDB. A sizing `Counted` also
//! estimates the DynamoDB units of those writes ([`crate::units`]), reading each written
//! item's state before the transaction from the inner store (those reads are not counted).

use crate::units::{self, Wru};
use async_trait::async_trait;
use inlet_shared::events::Outgoing;
use inlet_shared::store::{Item, Key, Page, Query, StoreError, Table, Write, keys};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// Item classes that hold the directory itself (what a SCIM client can see).
pub const DIRECTORY: [&str; 8] =
    ["user", "group", "membership", "name marker", "externalId", "counter", "pending", "member plan"];
/// Activity-log entries (each user or group entry is also an event's outbox record).
pub const ACTIVITY: &str = "activity";
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
    /// With sizing: DynamoDB write units by item class, read units of the condition checks,
    /// bytes of the items put by class, and the activity entries that are events.
    pub wru: BTreeMap<&'static str, Wru>,
    pub check_rru: u64,
    pub put_bytes: BTreeMap<&'static str, u64>,
    pub events: u64,
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

    /// Write units of the given classes (with sizing).
    pub fn wru_of(&self, classes: &[&str]) -> Wru {
        let mut total = Wru::default();
        for (_, w) in self.wru.iter().filter(|(c, _)| classes.contains(c)) {
            total.add(*w);
        }
        total
    }

    /// Every class written, but those given.
    pub fn classes_but(&self, but: &[&str]) -> Vec<&'static str> {
        self.writes.keys().copied().filter(|c| !but.contains(c)).collect()
    }

    fn add_transaction(&mut self, t: &TransactionTally) {
        self.transactions += 1;
        self.checks += t.checks;
        self.check_rru += t.check_rru;
        self.events += t.events;
        for (c, n) in &t.writes {
            *self.writes.entry(c).or_default() += n;
        }
        for (c, w) in &t.wru {
            self.wru.entry(c).or_default().add(*w);
        }
        for (c, n) in &t.put_bytes {
            *self.put_bytes.entry(c).or_default() += n;
        }
    }
}

#[derive(Default)]
struct TransactionTally {
    checks: u64,
    writes: BTreeMap<&'static str, u64>,
    check_rru: u64,
    events: u64,
    wru: BTreeMap<&'static str, Wru>,
    put_bytes: BTreeMap<&'static str, u64>,
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

    /// Adds the units of `writes`, given the state of each item before (`before`, in order).
    fn size(&mut self, writes: &[Write], before: &[Option<Item>]) -> Result<(), StoreError> {
        for (w, old) in writes.iter().zip(before) {
            let old = old.as_ref();
            let c = class(w.key());
            let units = match w {
                Write::Check { .. } => {
                    self.check_rru += units::check(old);
                    continue;
                }
                Write::Put { item, .. } => {
                    *self.put_bytes.entry(c).or_default() += units::size(item);
                    // An unreadable entry is a broken invariant: the tally fails with it.
                    if Outgoing::from_item(item).map_err(|e| StoreError::Backend(e.to_string()))?.is_some() {
                        self.events += 1;
                    }
                    units::write(old, Some(item))
                }
                Write::Delete { .. } => units::write(old, None),
                Write::Touch { .. } => {
                    let after = old.map(|i| Item { version: i.version + 1, ..i.clone() });
                    units::write(old, after.as_ref())
                }
                Write::Add { key, delta } => {
                    let after = match old {
                        Some(i) => Item { count: i.count + delta, ..i.clone() },
                        None => Item { count: *delta, ..Item::new(key.clone(), Vec::new()) },
                    };
                    units::write(old, Some(&after))
                }
            };
            self.wru.entry(c).or_default().add(units);
        }
        Ok(())
    }
}

/// The class of an item, from its key (see `inlet_shared::store::keys`).
pub fn class(key: &Key) -> &'static str {
    if keys::is_activity(&key.pk) {
        return ACTIVITY;
    }
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
    sizing: bool,
}

impl<T: Table> Counted<T> {
    async fn counted_seq(&self, transactions: Vec<Vec<Write>>, deferred: bool) -> (usize, Result<(), StoreError>) {
        // Sized against the state before the first: a later transaction's items are rarely an
        // earlier one's.
        let mut tallies = Vec::with_capacity(transactions.len());
        for w in &transactions {
            match self.tally_of(w).await {
                Ok(t) => tallies.push(t),
                Err(e) => return (0, Err(e)),
            }
        }
        let (applied, result) = if deferred {
            self.inner.transact_seq_deferred(transactions).await
        } else {
            self.inner.transact_seq(transactions).await
        };
        let mut c = self.count();
        for t in tallies.iter().take(applied) {
            c.add_transaction(t);
        }
        (applied, result)
    }

    pub fn new(inner: T) -> Self {
        Self { inner, tally: Mutex::new(Tally::default()), sizing: false }
    }

    /// Also estimates the DynamoDB units of every transaction.
    pub fn sizing(inner: T) -> Self {
        Self { sizing: true, ..Self::new(inner) }
    }

    /// The tally of `writes`, sized from the items' current state when sizing.
    async fn tally_of(&self, writes: &[Write]) -> Result<TransactionTally, StoreError> {
        let mut t = TransactionTally::of(writes);
        if self.sizing {
            let mut before = Vec::with_capacity(writes.len());
            for w in writes {
                before.push(self.inner.get(w.key()).await?);
            }
            t.size(writes, &before)?;
        }
        Ok(t)
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
        let t = self.tally_of(&writes).await?;
        let result = self.inner.transact(writes).await;
        if result.is_ok() {
            self.count().add_transaction(&t);
        }
        result
    }

    /// Counted per transaction applied (the embedded store commits them under one fsync;
    /// DynamoDB makes one request each).
    async fn transact_seq(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        self.counted_seq(transactions, false).await
    }

    async fn transact_seq_deferred(&self, transactions: Vec<Vec<Write>>) -> (usize, Result<(), StoreError>) {
        self.counted_seq(transactions, true).await
    }

    fn commits_together(&self) -> bool {
        self.inner.commits_together()
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
        assert_eq!(class(&keys::activity(t, 1, "e1")), ACTIVITY);
    }
}
