//! Users and groups of a tenant: read, replace, patch and delete (create in `create.rs`), keeping the
//! uniqueness markers, externalId index entries, counters and activity entries in the same
//! transaction as the record they describe. Who may change what is `actor`'s rule.

use super::activity::{self, Entry};
use super::actor::{Access, Caller};
use super::error::{DomainError, DomainResult};
use super::indexes::{index_writes, stamp, unique_values};
use super::members::{self, MemberRecord};
use super::plan;
use super::records::{Stored, now, valid_id};
use super::retry::{Tries, backoff};
use super::tenant::TenantId;
use crate::scim::patch::{self, MemberOp, MemberRef};
use crate::scim::resource::{check_immutable, keep_immutable, normalize};
use crate::scim::schema::{ResourceType, SOURCE_SCHEMA};
use crate::store::keys::{self, Kind};
use crate::store::{Condition, Item, Key, MAX_TRANSACTION_WRITES, StoreError, Table, Write};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Which resource a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    /// The SCIM resource type's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }
    pub(crate) fn kind(self) -> Kind {
        match self {
            Self::User => Kind::User,
            Self::Group => Kind::Group,
        }
    }
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
        }
    }
    pub fn unique_attr(self) -> &'static str {
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
    /// How long activity entries are kept.
    pub(crate) retention: Duration,
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

/// What a change is, for its activity entries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    Write,
    /// A provisioning write that takes a manual record over.
    Claim,
}

impl Directory {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Self { table, retention: activity::DEFAULT_RETENTION }
    }

    /// This directory with every write deferred ([`crate::store::deferred`]): for bulk work
    /// that ends with an ordinary write of its own and is redone when it stopped before it.
    pub fn deferred(&self) -> Self {
        let table: Arc<dyn Table> = Arc::new(crate::store::deferred::Deferred::new(Arc::clone(&self.table)));
        Self { table, retention: self.retention }
    }

    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// A record as stored, whoever owns it.
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

    /// A record as `c` may see it: one it cannot see does not exist for it.
    pub async fn get_as(&self, c: &Caller, res: Resource, id: &str) -> DomainResult<Stored> {
        let s = self.get(&c.tenant, res, id).await?;
        if c.sees(&s.source) { Ok(s) } else { Err(self.not_found(res, id)) }
    }

    pub async fn replace(
        &self,
        c: &Caller,
        res: Resource,
        id: &str,
        body: &Value,
        if_match: Option<u64>,
    ) -> DomainResult<Stored> {
        let rt = c.rt(res);
        let mut attrs = normalize(body, rt)?;
        attrs.remove(SOURCE_SCHEMA);
        let members = take_members(&mut attrs, rt);
        let member_ops = match (res, members) {
            (Resource::Group, m) => vec![MemberOp::Replace(m.unwrap_or_default())],
            (Resource::User, _) => Vec::new(),
        };
        self.update(c, res, id, if_match, Why::Write, move |old| {
            let (before, mut attrs) = (old.known_attrs(rt), attrs.clone());
            keep_immutable(&before, &mut attrs, rt);
            check_immutable(&before, &attrs, rt)?;
            Ok((attrs, member_ops.clone()))
        })
        .await
    }

    pub async fn patch(
        &self,
        c: &Caller,
        res: Resource,
        id: &str,
        body: &Value,
        if_match: Option<u64>,
    ) -> DomainResult<Stored> {
        let rt = c.rt(res);
        let ops = patch::parse(body, rt)?;
        self.update(c, res, id, if_match, Why::Write, |old| {
            let mut attrs = old.known_attrs(rt);
            let member_ops = patch::apply(&mut attrs, &ops, rt)?;
            attrs.remove(SOURCE_SCHEMA);
            Ok((attrs, member_ops))
        })
        .await
    }

    /// Read-modify-write with optimistic concurrency: retried when another writer won,
    /// unless the client pinned a version with If-Match (then 412). A change of members
    /// only does not rewrite the group: it touches it (raises its version), so concurrent
    /// changes of distinct members all succeed.
    pub(super) async fn update<F>(
        &self,
        c: &Caller,
        res: Resource,
        id: &str,
        if_match: Option<u64>,
        why: Why,
        change: F,
    ) -> DomainResult<Stored>
    where
        F: Fn(&Stored) -> DomainResult<(Map<String, Value>, Vec<MemberOp>)>,
    {
        let t = &c.tenant;
        let mut tries = Tries::new();
        while let Some(attempt) = tries.next() {
            let old = match why {
                Why::Claim => self.get(t, res, id).await?,
                Why::Write => self.get_as(c, res, id).await?,
            };
            let claim = match c.access(&old.source) {
                Access::Write => false,
                Access::Claim => true,
                Access::ReadOnly => return Err(DomainError::Owned(c.refusal(res.noun(), id, &old.source))),
            };
            if if_match.is_some_and(|v| v != old.version) {
                return Err(DomainError::PreconditionFailed);
            }
            // Written under attribute declarations newer than this caller's cached ones: a
            // change from here could drop values it does not know of. 503: the retry comes
            // after the cache has caught up (`Gate` ttl).
            if old.registry > c.schemas.version {
                return Err(DomainError::Busy);
            }
            let (attrs, member_ops) = change(&old)?;
            if attrs == old.attrs && member_ops.is_empty() && !claim {
                return Ok(old);
            }
            let key = keys::resource(t.as_str(), res.kind(), id);
            let members_only = attrs == old.attrs && !claim;
            let source = if claim { c.actor.source() } else { old.source.clone() };
            let mut new = Stored { attrs, source, last_modified: now(), version: old.version + 1, ..old.clone() };
            stamp(c, res, &mut new)?;
            let mut head = if members_only {
                let cond = if if_match.is_some() { Condition::Version(old.version) } else { Condition::Exists };
                vec![Write::Touch { key, cond }]
            } else {
                vec![Write::Put { item: self.item(t, res, &new)?, cond: Condition::Version(old.version) }]
            };
            head.extend(index_writes(t, res, Some(&old), Some(&new)));
            head.extend(activity::writes(c, &activity::update_entries(c, res, &old, &new, claim), self.retention)?);
            let keys = head_keys(&head);
            match self.commit(c, &new, head, member_ops).await {
                // A touch leaves the body as it was; the version is read back for the ETag.
                Ok(()) if members_only => return self.get(t, res, id).await,
                Ok(()) => return Ok(new),
                Err(CommitError::Condition(0)) if if_match.is_some() => return Err(DomainError::PreconditionFailed),
                // A member change meeting another (a plan is conditioned on the version it
                // read): they queue, bounded by time like a wait for a lock, not by attempts.
                Err(CommitError::Condition(0)) if members_only => {
                    backoff(attempt.min(2)).await;
                    tries.waited(Ok(()))?
                }
                // Gone (the next read says so) or changed since the read: read again.
                Err(CommitError::Condition(0)) => backoff(attempt).await,
                Err(CommitError::Locked) => {
                    tries.waited(plan::wait_for(self.table.as_ref(), t, res.kind(), id, tries.deadline).await)?
                }
                Err(e) => return Err(self.explain(e, c, res, &new, &keys)),
            }
        }
        Err(DomainError::Busy)
    }

    /// Deletes a resource with its memberships: in one transaction, conditioned on the version
    /// read (a membership added since then has touched a user, and an added member has touched
    /// the group), or, past one transaction's size, as a pending clean-up (`plan`).
    pub async fn delete(&self, c: &Caller, res: Resource, id: &str, if_match: Option<u64>) -> DomainResult<()> {
        let (t, table) = (&c.tenant, self.table.as_ref());
        let mut tries = Tries::new();
        while let Some(attempt) = tries.next() {
            let old = match self.get_as(c, res, id).await {
                Ok(old) => old,
                Err(e @ DomainError::NotFound(_)) => {
                    // A clean-up left behind by a failed DELETE is finished by its retry.
                    plan::settle(table, t, res.kind(), id).await?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            if c.access(&old.source) != Access::Write {
                return Err(DomainError::Owned(c.refusal(res.noun(), id, &old.source)));
            }
            if if_match.is_some_and(|v| v != old.version) {
                return Err(DomainError::PreconditionFailed);
            }
            let mut head = vec![Write::Delete {
                key: keys::resource(t.as_str(), res.kind(), id),
                cond: Condition::Version(old.version),
            }];
            head.extend(index_writes(t, res, Some(&old), None));
            head.extend(activity::writes(c, &[Entry::record("deleted", c, res, &old)], self.retention)?);
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

    /// The groups a user belongs to that `c` sees, as (group id, displayName).
    pub async fn groups_of(&self, c: &Caller, user_id: &str) -> DomainResult<Vec<(String, String)>> {
        members::groups_of(self, c, user_id).await
    }

    /// Completes every abandoned multi-transaction change of a tenant (all pending ones with
    /// `force`); returns how many.
    pub async fn repair(&self, t: &TenantId, force: bool) -> DomainResult<usize> {
        plan::repair(self, t, force).await
    }

    pub(crate) fn item(&self, t: &TenantId, res: Resource, s: &Stored) -> DomainResult<Item> {
        Ok(Item {
            key: keys::resource(t.as_str(), res.kind(), &s.id),
            gsi1: Some(keys::listed(t.as_str(), res.kind(), s.source.owner().name(), &s.id)),
            version: s.version,
            count: 0,
            body: s.encode(res.noun())?,
            expires: None,
        })
    }

    pub(super) async fn commit(
        &self,
        c: &Caller,
        s: &Stored,
        head: Vec<Write>,
        ops: Vec<MemberOp>,
    ) -> Result<(), CommitError> {
        if ops.is_empty() {
            return Ok(self.table.transact(head).await?);
        }
        members::commit_with_members(self, c, s, head, ops).await
    }

    fn not_found(&self, res: Resource, id: &str) -> DomainError {
        DomainError::NotFound(format!("{} {id}", res.noun()))
    }

    /// Why a commit of `s` failed; `keys`: the keys of its transaction's writes, in order.
    pub(super) fn explain(&self, e: CommitError, c: &Caller, res: Resource, s: &Stored, keys: &[Key]) -> DomainError {
        // A refused unique value marker, if the failed write was one.
        let taken = match &e {
            CommitError::Condition(i) => keys.get(*i).and_then(|key| {
                unique_values(c.rt(res), &s.attrs)
                    .into_iter()
                    .find(|u| keys::value_marker(c.tenant.as_str(), res.kind(), &u.id) == *key)
            }),
            _ => None,
        };
        match (e, taken) {
            (CommitError::Condition(_), Some(u)) => DomainError::Conflict(format!(
                "another {} already has {} '{}' (unique in the tenant)",
                res.noun(),
                u.label,
                u.value
            )),
            // Index 1 is the name marker (see `index_writes`, which puts it first).
            (CommitError::Condition(1), None) if keys.get(1).is_some_and(|k| k.sk == "UNIQUE") => {
                DomainError::Conflict(format!(
                    "a {} with {} '{}' already exists",
                    res.noun(),
                    res.unique_attr(),
                    s.unique_name(res.unique_attr())
                ))
            }
            (CommitError::Condition(_) | CommitError::Locked, _) => DomainError::Busy,
            (CommitError::Other(e), _) => e,
        }
    }
}

pub(super) fn head_keys(head: &[Write]) -> Vec<Key> {
    head.iter().map(|w| w.key().clone()).collect()
}

/// Group members arrive inside the resource on POST/PUT; they are stored apart.
pub(super) fn take_members(attrs: &mut Map<String, Value>, rt: &ResourceType) -> Option<Vec<MemberRef>> {
    let name = rt.external_members?;
    let Some(Value::Array(items)) = attrs.remove(name) else { return None };
    Some(MemberRef::from_normalized(&items))
}
