//! Users and groups of a tenant: create, read, replace, patch and delete, keeping the
//! uniqueness markers, externalId index entries and counters in the same
//! transaction as the record they describe.

use super::error::{DomainError, DomainResult};
use super::members::{self, MemberRecord};
use super::plan;
use super::records::{Stored, new_id, now, valid_id};
use super::tenant::TenantId;
use crate::scim::patch::{self, MemberOp, MemberRef};
use crate::scim::resource::normalize;
use crate::scim::schema::{GROUP_TYPE, ResourceType, USER_TYPE};
use crate::store::keys::{self, Kind};
use crate::store::{Condition, Item, Key, MAX_TRANSACTION_WRITES, StoreError, Table, Write};
use serde_json::Value;
use std::sync::Arc;

/// Attempts at a read-modify-write before giving up with [`DomainError::Busy`].
const ATTEMPTS: usize = 8;

/// Which resource a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    pub fn rt(self) -> &'static ResourceType {
        match self {
            Self::User => &USER_TYPE,
            Self::Group => &GROUP_TYPE,
        }
    }
    pub(crate) fn kind(self) -> Kind {
        match self {
            Self::User => Kind::User,
            Self::Group => Kind::Group,
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
    fn unique_attr(self) -> &'static str {
        match self {
            Self::User => "userName",
            Self::Group => "displayName",
        }
    }
}

/// The identity store of every tenant, over any [`Table`] backend.
#[derive(Clone)]
pub struct Directory {
    pub(crate) table: Arc<dyn Table>,
}

/// A failed commit, before it is turned into what the client sees.
pub(crate) enum CommitError {
    /// A write's condition failed at this index of the record's own writes.
    Condition(usize),
    /// The record has a pending multi-transaction change (`plan`) to wait for or settle.
    Locked,
    Other(DomainError),
}

impl CommitError {
    /// A failed transaction made of the record's own writes (`head_len` of them) followed by
    /// a write on its lock: which part failed.
    pub(crate) fn locking(e: StoreError, head_len: usize) -> Self {
        match e {
            StoreError::ConditionFailed { index } if index < head_len => Self::Condition(index),
            StoreError::ConditionFailed { .. } => Self::Locked,
            e => Self::Other(e.into()),
        }
    }
}

impl From<StoreError> for CommitError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed { index } => Self::Condition(index),
            e => Self::Other(e.into()),
        }
    }
}

impl Directory {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table }
    }

    pub async fn get(&self, t: &TenantId, res: Resource, id: &str) -> DomainResult<Stored> {
        if !valid_id(id) {
            return Err(self.not_found(res, id));
        }
        let item = self
            .table
            .get(&keys::resource(t.as_str(), res.kind(), id))
            .await?
            .ok_or_else(|| self.not_found(res, id))?;
        Stored::decode(&item.body, item.version)
    }

    pub async fn create(&self, t: &TenantId, res: Resource, body: &Value) -> DomainResult<Stored> {
        let mut attrs = normalize(body, res.rt())?;
        let members = take_members(&mut attrs, res);
        let at = now();
        let stored = Stored { id: new_id(), created: at.clone(), last_modified: at, attrs, version: 1 };
        let mut head = vec![Write::Put { item: self.item(t, res, &stored)?, cond: Condition::NotExists }];
        head.extend(index_writes(t, res, None, Some(&stored)));
        let add = members.map(|m| vec![MemberOp::Add(m)]).unwrap_or_default();
        self.commit(t, &stored, head, add).await.map_err(|e| self.explain(e, res, &stored))?;
        Ok(stored)
    }

    pub async fn replace(
        &self,
        t: &TenantId,
        res: Resource,
        id: &str,
        body: &Value,
        if_match: Option<u64>,
    ) -> DomainResult<Stored> {
        let mut attrs = normalize(body, res.rt())?;
        let members = take_members(&mut attrs, res);
        let member_ops = match (res, members) {
            (Resource::Group, m) => vec![MemberOp::Replace(m.unwrap_or_default())],
            (Resource::User, _) => Vec::new(),
        };
        self.update(t, res, id, if_match, move |_| Ok((attrs.clone(), member_ops.clone()))).await
    }

    pub async fn patch(
        &self,
        t: &TenantId,
        res: Resource,
        id: &str,
        body: &Value,
        if_match: Option<u64>,
    ) -> DomainResult<Stored> {
        let ops = patch::parse(body, res.rt())?;
        self.update(t, res, id, if_match, |old| {
            let mut attrs = old.attrs.clone();
            let member_ops = patch::apply(&mut attrs, &ops, res.rt())?;
            Ok((attrs, member_ops))
        })
        .await
    }

    /// Read-modify-write with optimistic concurrency: retried when another writer won,
    /// unless the client pinned a version with If-Match (then 412). A change of members
    /// only does not rewrite the group: it touches it (raises its version), so concurrent
    /// changes of distinct members all succeed.
    async fn update<F>(
        &self,
        t: &TenantId,
        res: Resource,
        id: &str,
        if_match: Option<u64>,
        change: F,
    ) -> DomainResult<Stored>
    where
        F: Fn(&Stored) -> DomainResult<(serde_json::Map<String, Value>, Vec<MemberOp>)>,
    {
        let mut tries = Tries::new();
        while let Some(attempt) = tries.next() {
            let old = self.get(t, res, id).await?;
            if if_match.is_some_and(|v| v != old.version) {
                return Err(DomainError::PreconditionFailed);
            }
            let (attrs, member_ops) = change(&old)?;
            if attrs == old.attrs && member_ops.is_empty() {
                return Ok(old);
            }
            let key = keys::resource(t.as_str(), res.kind(), id);
            let members_only = attrs == old.attrs;
            let new = Stored { attrs, last_modified: now(), version: old.version + 1, ..old.clone() };
            let mut head = if members_only {
                let cond = if if_match.is_some() { Condition::Version(old.version) } else { Condition::Exists };
                vec![Write::Touch { key, cond }]
            } else {
                vec![Write::Put { item: self.item(t, res, &new)?, cond: Condition::Version(old.version) }]
            };
            head.extend(index_writes(t, res, Some(&old), Some(&new)));
            match self.commit(t, &new, head, member_ops).await {
                // A touch leaves the body as it was; the version is read back for the ETag.
                Ok(()) if members_only => return self.get(t, res, id).await,
                Ok(()) => return Ok(new),
                Err(CommitError::Condition(0)) if if_match.is_some() => return Err(DomainError::PreconditionFailed),
                Err(CommitError::Condition(0)) if members_only => return Err(self.not_found(res, id)),
                Err(CommitError::Condition(0)) => backoff(attempt).await,
                Err(CommitError::Locked) => {
                    tries.waited(plan::wait_for(self.table.as_ref(), t, res.kind(), id, tries.deadline).await)?
                }
                Err(e) => return Err(self.explain(e, res, &new)),
            }
        }
        Err(DomainError::Busy)
    }

    /// Deletes a resource with its memberships: in one transaction, conditioned on the version
    /// read (a membership added since then has touched a user, and an added member has touched
    /// the group), or, past one transaction's size, as a pending clean-up (`plan`).
    pub async fn delete(&self, t: &TenantId, res: Resource, id: &str, if_match: Option<u64>) -> DomainResult<()> {
        let table = self.table.as_ref();
        let mut tries = Tries::new();
        while let Some(attempt) = tries.next() {
            let old = match self.get(t, res, id).await {
                Ok(old) => old,
                Err(e @ DomainError::NotFound(_)) => {
                    // A clean-up left behind by a failed DELETE is finished by its retry.
                    plan::settle(table, t, res.kind(), id).await?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            if if_match.is_some_and(|v| v != old.version) {
                return Err(DomainError::PreconditionFailed);
            }
            let mut head = vec![Write::Delete {
                key: keys::resource(t.as_str(), res.kind(), id),
                cond: Condition::Version(old.version),
            }];
            head.extend(index_writes(t, res, Some(&old), None));
            // Each membership is two deletions; the rest of the transaction is the head and a check.
            let room = (MAX_TRANSACTION_WRITES - head.len() - 1) / 2;
            let result = if let Some(links) = members::links(table, t, res, id, room).await? {
                let lock = keys::pending(t.as_str(), res.kind(), id);
                let mut writes = head.clone();
                writes.push(Write::Check { key: lock, cond: Condition::NotExists });
                writes.extend(links.into_iter().flatten());
                table.transact(writes).await.map_err(|e| CommitError::locking(e, head.len()))
            } else {
                plan::run_delete(self, t, res.kind(), id, head).await
            };
            match result {
                Ok(()) => return Ok(()),
                Err(CommitError::Condition(_)) if if_match.is_some() => return Err(DomainError::PreconditionFailed),
                Err(CommitError::Condition(_)) => backoff(attempt).await,
                Err(CommitError::Locked) => {
                    tries.waited(plan::wait_for(table, t, res.kind(), id, tries.deadline).await)?
                }
                Err(CommitError::Other(e)) => return Err(e),
            }
        }
        Err(DomainError::Busy)
    }

    /// Members of a group, in user-id order.
    pub async fn members(&self, t: &TenantId, group_id: &str) -> DomainResult<Vec<MemberRecord>> {
        members::list(self, t, group_id).await
    }

    /// Members of a group if there are at most `most` (`None` past it), without reading more.
    pub async fn members_at_most(
        &self,
        t: &TenantId,
        group_id: &str,
        most: usize,
    ) -> DomainResult<Option<Vec<MemberRecord>>> {
        members::list_at_most(self, t, group_id, most).await
    }

    /// The groups a user belongs to, as (group id, displayName).
    pub async fn groups_of(&self, t: &TenantId, user_id: &str) -> DomainResult<Vec<(String, String)>> {
        members::groups_of(self, t, user_id).await
    }

    /// Completes every abandoned multi-transaction change of a tenant (all pending ones with
    /// `force`); returns how many.
    pub async fn repair(&self, t: &TenantId, force: bool) -> DomainResult<usize> {
        plan::repair(self, t, force).await
    }

    pub(crate) fn item(&self, t: &TenantId, res: Resource, s: &Stored) -> DomainResult<Item> {
        Ok(Item {
            key: keys::resource(t.as_str(), res.kind(), &s.id),
            gsi1: Some(keys::listed(t.as_str(), res.kind(), &s.id)),
            version: s.version,
            count: 0,
            body: s.encode(res.noun())?,
            expires: None,
        })
    }

    async fn commit(&self, t: &TenantId, s: &Stored, head: Vec<Write>, ops: Vec<MemberOp>) -> Result<(), CommitError> {
        if ops.is_empty() {
            return Ok(self.table.transact(head).await?);
        }
        members::commit_with_members(self, t, &s.id, head, ops).await
    }

    fn not_found(&self, res: Resource, id: &str) -> DomainError {
        DomainError::NotFound(format!("{} {id}", res.noun()))
    }

    fn explain(&self, e: CommitError, res: Resource, s: &Stored) -> DomainError {
        match e {
            // Index 1 is the name marker (see `index_writes`, which puts it first).
            CommitError::Condition(1) => DomainError::Conflict(format!(
                "a {} with {} '{}' already exists",
                res.noun(),
                res.unique_attr(),
                s.unique_name(res.rt())
            )),
            CommitError::Condition(_) | CommitError::Locked => DomainError::Busy,
            CommitError::Other(e) => e,
        }
    }
}

/// The retry budget of one write: [`ATTEMPTS`] lost races, while waiting for other writers'
/// pending changes (which queue, rather than race) is bounded by time instead, [`LOCK_BUDGET`].
struct Tries {
    lost: usize,
    waited: bool,
    deadline: std::time::Instant,
}

/// How long one request may spend queueing behind other writers' pending changes: below the
/// functions' 15 s timeout.
const LOCK_BUDGET: std::time::Duration = std::time::Duration::from_secs(12);

impl Tries {
    fn new() -> Self {
        Self { lost: 0, waited: false, deadline: std::time::Instant::now() + LOCK_BUDGET }
    }

    /// The number of races lost so far, or `None` when the budget is spent.
    fn next(&mut self) -> Option<usize> {
        if std::mem::take(&mut self.waited) {
            return (std::time::Instant::now() < self.deadline).then_some(self.lost);
        }
        let n = self.lost;
        self.lost += 1;
        (n < ATTEMPTS).then_some(n)
    }

    /// After waiting out another writer's change: the next try does not count as a lost race.
    fn waited(&mut self, wait: DomainResult<()>) -> DomainResult<()> {
        self.waited = true;
        wait
    }
}

/// A short, jittered pause before retrying a lost race, so that racing writers spread out.
async fn backoff(attempt: usize) {
    let base = 1u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % (base + 1);
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

/// Group members arrive inside the resource on POST/PUT; they are stored apart.
fn take_members(attrs: &mut serde_json::Map<String, Value>, res: Resource) -> Option<Vec<MemberRef>> {
    let name = res.rt().external_members?;
    let Some(Value::Array(items)) = attrs.remove(name) else { return None };
    Some(MemberRef::from_normalized(&items))
}

/// The index items that change between `old` and `new` (either may be absent). The
/// name marker, when written, comes first: `explain` relies on its position.
fn index_writes(t: &TenantId, res: Resource, old: Option<&Stored>, new: Option<&Stored>) -> Vec<Write> {
    let (t, kind, rt) = (t.as_str(), res.kind(), res.rt());
    let mut writes = Vec::new();
    let name = |s: &Stored| keys::fold(s.unique_name(rt));
    if old.map(name) != new.map(name) {
        if let Some(n) = new {
            let marker = Item::new(keys::name_marker(t, kind, n.unique_name(rt)), n.id.clone().into_bytes());
            writes.push(Write::Put { item: marker, cond: Condition::NotExists });
        }
        if let Some(o) = old {
            writes.push(Write::Delete { key: keys::name_marker(t, kind, o.unique_name(rt)), cond: Condition::None });
        }
    }
    let xid = |s: &Stored| s.external_id().map(|x| keys::external_id(t, kind, x, &s.id));
    if old.and_then(xid) != new.and_then(xid) {
        if let Some(k) = new.and_then(xid) {
            writes.push(Write::Put { item: Item::new(k, Vec::new()), cond: Condition::None });
        }
        if let Some(k) = old.and_then(xid) {
            writes.push(Write::Delete { key: k, cond: Condition::None });
        }
    }
    let id = new.or(old).map(|s| s.id.as_str()).unwrap_or_default();
    match (old, new) {
        (None, Some(_)) => writes.push(Write::Add { key: keys::counter(t, kind, id), delta: 1 }),
        (Some(_), None) => writes.push(Write::Add { key: keys::counter(t, kind, id), delta: -1 }),
        _ => {}
    }
    writes
}

/// The id a uniqueness marker points at.
pub(crate) fn marker_target(item: &Item) -> Option<String> {
    String::from_utf8(item.body.clone()).ok()
}

pub(crate) fn key_of(t: &TenantId, res: Resource, id: &str) -> Key {
    keys::resource(t.as_str(), res.kind(), id)
}
