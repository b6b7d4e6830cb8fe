//! Group membership: one item per (group, user) in the group's partition (carrying the
//! member's display text) and its twin in the user's partition, written and deleted in the
//! same transaction, so a group's members and a user's groups are both strongly consistent
//! reads. A group of 100k members is 100k small items, never one growing document.
//!
//! Adding a member also touches the user's record (raises its version): a user DELETE is
//! conditioned on the version it read, so a membership added after that read makes the
//! delete retry instead of leaving the membership behind.

use super::activity;
use super::actor::{Caller, Owner};
use super::directory::{CommitError, Directory, Resource};
use super::error::{DomainError, DomainResult};
use super::indexes::key_of;
use super::plan::{self, Pending, Step};
use super::records::{Stored, valid_id};
use super::tenant::TenantId;
use crate::scim::filter::matches_element;
use crate::scim::patch::MemberOp;
use crate::scim::schema::{GROUP_TYPE, find};
use crate::store::keys::{self, Kind};
use crate::store::{Condition, Index, Item, Key, MAX_TRANSACTION_WRITES, Query, StoreError, Table, Write};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Items read per query page and keys per batched read.
const PAGE: usize = 1000;
const BATCH_GET: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub user_id: String,
    pub display: Option<String>,
}

impl MemberRecord {
    /// The member as the `members` sub-attributes, for value filters (`members[display eq …]`).
    fn to_json(&self) -> Value {
        json!({"value": self.user_id, "display": self.display, "type": "User"})
    }
}

/// The body of a group-side membership item.
#[derive(Serialize, Deserialize)]
struct MemberBody {
    display: Option<String>,
}

pub(crate) fn undecodable(what: &str, e: impl std::fmt::Display) -> DomainError {
    DomainError::Store(StoreError::Backend(format!("undecodable {what}: {e}")))
}

/// Every item of a table partition whose sort key starts with `sk_prefix`, following pages.
pub(crate) async fn query_all(table: &dyn Table, pk: String, sk_prefix: &str) -> DomainResult<Vec<Item>> {
    query_all_index(table, Index::Table, pk, sk_prefix).await
}

/// [`query_all`] in either index.
pub(crate) async fn query_all_index(
    table: &dyn Table,
    index: Index,
    pk: String,
    sk_prefix: &str,
) -> DomainResult<Vec<Item>> {
    let mut out = Vec::new();
    let mut q = Query::new(index, pk, sk_prefix, PAGE);
    loop {
        let page = table.query(&q).await?;
        out.extend(page.items);
        match page.next {
            Some(c) => q.after = Some(c),
            None => return Ok(out),
        }
    }
}

/// Items for `keys`, in batches the backends accept.
pub(crate) async fn get_all(table: &dyn Table, keys: &[Key]) -> DomainResult<Vec<Item>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH_GET) {
        out.extend(table.get_many(chunk).await?);
    }
    Ok(out)
}

fn member_record(i: &Item) -> DomainResult<MemberRecord> {
    let user_id = keys::member_user_id(&i.key.sk).ok_or_else(|| undecodable("membership key", &i.key.sk))?;
    let body: MemberBody = serde_json::from_slice(&i.body).map_err(|e| undecodable("membership", e))?;
    Ok(MemberRecord { user_id: user_id.to_owned(), display: body.display })
}

/// Members of a group as readers must see them: what is stored, with a pending member change
/// applied on top (it is committed; only its writes may still be under way). One query reads
/// the memberships, the lock and the plan, which share the group's partition.
pub(crate) async fn list(dir: &Directory, t: &TenantId, group_id: &str) -> DomainResult<Vec<MemberRecord>> {
    let items = query_all(dir.table.as_ref(), keys::partition(t.as_str(), Kind::Group, group_id), "").await?;
    overlay(t, group_id, &items)
}

/// [`list`], unless the group has more than `most` members: then `None`, having read about
/// `most` of them (or all, when a pending change may bring the count back under).
pub(crate) async fn list_at_most(
    dir: &Directory,
    t: &TenantId,
    group_id: &str,
    most: usize,
) -> DomainResult<Option<Vec<MemberRecord>>> {
    let table = dir.table.as_ref();
    let mut q = Query::new(Index::Table, keys::partition(t.as_str(), Kind::Group, group_id), "", PAGE);
    let mut items = Vec::new();
    loop {
        let page = table.query(&q).await?;
        items.extend(page.items);
        match page.next {
            Some(c) if items.len() <= most + 1 => q.after = Some(c),
            Some(_) if table.get(&keys::pending(t.as_str(), Kind::Group, group_id)).await?.is_none() => {
                return Ok(None);
            }
            Some(_) => return list(dir, t, group_id).await.map(|m| (m.len() <= most).then_some(m)),
            None => return overlay(t, group_id, &items).map(|m| (m.len() <= most).then_some(m)),
        }
    }
}

fn overlay(t: &TenantId, group_id: &str, items: &[Item]) -> DomainResult<Vec<MemberRecord>> {
    let lock_key = keys::pending(t.as_str(), Kind::Group, group_id);
    let mut members = BTreeMap::new();
    let (mut lock, mut chunks) = (None, Vec::new());
    for item in items {
        if keys::member_user_id(&item.key.sk).is_some() {
            let m = member_record(item)?;
            members.insert(m.user_id, m.display);
        } else if item.key == lock_key {
            lock = Some(Pending::decode(item)?);
        } else if item.key.sk.starts_with(keys::PLAN_PREFIX) {
            chunks.push(item);
        }
    }
    if let Some(lock) = lock {
        for step in lock.steps(&chunks)? {
            match step {
                Step::Add { user, display } | Step::Display { user, display } => members.insert(user, display),
                Step::Remove { user } => members.remove(&user),
            };
        }
    }
    Ok(members.into_iter().map(|(user_id, display)| MemberRecord { user_id, display }).collect())
}

/// The groups a user belongs to that `c` sees, as (group id, displayName), from the user's
/// partition.
pub(crate) async fn groups_of(dir: &Directory, c: &Caller, user_id: &str) -> DomainResult<Vec<(String, String)>> {
    let (t, table) = (&c.tenant, dir.table.as_ref());
    let items = query_all(table, keys::partition(t.as_str(), Kind::User, user_id), keys::GROUP_OF_PREFIX).await?;
    let keys: Vec<Key> =
        items.iter().filter_map(|i| keys::group_of_id(&i.key.sk)).map(|g| key_of(t, Resource::Group, g)).collect();
    let mut groups = Vec::new();
    for item in get_all(table, &keys).await? {
        let g = Stored::decode(&item.body, item.version)?;
        if !c.sees(&g.source) {
            continue;
        }
        let name = g.unique_name(Resource::Group.unique_attr()).to_owned();
        groups.push((g.id, name));
    }
    groups.sort();
    Ok(groups)
}

/// The removals of every membership of a user or group, if there are at most `most`.
pub(crate) async fn links(
    table: &dyn Table,
    t: &TenantId,
    res: Resource,
    id: &str,
    most: usize,
) -> DomainResult<Option<Vec<Vec<Write>>>> {
    let (kind, prefix) = match res {
        Resource::User => (Kind::User, keys::GROUP_OF_PREFIX),
        Resource::Group => (Kind::Group, keys::MEMBER_PREFIX),
    };
    let page = table.query(&Query::new(Index::Table, keys::partition(t.as_str(), kind, id), prefix, most)).await?;
    if page.next.is_some() {
        return Ok(None);
    }
    page.items.iter().map(|i| removal(t, res, id, &i.key.sk)).collect::<DomainResult<Vec<_>>>().map(Some)
}

/// The removal of the membership named by sort key `sk` in the partition of `res` `id`.
pub(crate) fn removal(t: &TenantId, res: Resource, id: &str, sk: &str) -> DomainResult<Vec<Write>> {
    let step = |group: &str, user: &str| step_writes(t, group, &Step::Remove { user: user.to_owned() }, false);
    match res {
        Resource::User => keys::group_of_id(sk).map(|g| step(g, id)),
        Resource::Group => keys::member_user_id(sk).map(|u| step(id, u)),
    }
    .ok_or_else(|| undecodable("membership key", sk))?
}

/// The writes of one step: both sides of the membership, and for an addition a touch of the
/// user's record, which fails (and so drops the step) if the user is gone. `strict` (one
/// transaction) also conditions the group side on the membership's absence (addition) or
/// presence (removal), so of two concurrent writers making the same change exactly one
/// commits it, and only that one records it; a plan's steps are idempotent instead, as a
/// settled plan re-applies them.
pub(crate) fn step_writes(t: &TenantId, group_id: &str, step: &Step, strict: bool) -> DomainResult<Vec<Write>> {
    let t_ = t.as_str();
    let when = |c: Condition| if strict { c } else { Condition::None };
    let put_member = |user: &str, display: &Option<String>, cond: Condition| -> DomainResult<Write> {
        let body =
            serde_json::to_vec(&MemberBody { display: display.clone() }).map_err(|e| undecodable("membership", e))?;
        Ok(Write::Put { item: Item::new(keys::member(t_, group_id, user), body), cond })
    };
    Ok(match step {
        Step::Add { user, display } => vec![
            put_member(user, display, when(Condition::NotExists))?,
            Write::Put { item: Item::new(keys::group_of(t_, user, group_id), Vec::new()), cond: Condition::None },
            Write::Touch { key: key_of(t, Resource::User, user), cond: Condition::Exists },
        ],
        Step::Display { user, display } => vec![put_member(user, display, when(Condition::Exists))?],
        Step::Remove { user } => vec![
            Write::Delete { key: keys::member(t_, group_id, user), cond: when(Condition::Exists) },
            Write::Delete { key: keys::group_of(t_, user, group_id), cond: Condition::None },
        ],
    })
}

/// The net effect of a sequence of member operations.
#[derive(Default)]
struct Change {
    add: BTreeMap<String, Option<String>>,
    remove: BTreeSet<String>,
}

async fn fold(dir: &Directory, t: &TenantId, group_id: &str, ops: Vec<MemberOp>) -> DomainResult<Change> {
    let needs_current = ops.iter().any(|o| matches!(o, MemberOp::RemoveWhere(_) | MemberOp::Replace(_)));
    let current = if needs_current { Some(list(dir, t, group_id).await?) } else { None };
    let now = current.as_deref().unwrap_or(&[]);
    let members_attr = find(&GROUP_TYPE.core.attributes, "members");
    let mut c = Change::default();
    for op in ops {
        let removed: Vec<String> = match op {
            MemberOp::Add(refs) => {
                for r in refs {
                    c.remove.remove(&r.value);
                    c.add.insert(r.value, r.display);
                }
                continue;
            }
            MemberOp::Replace(refs) => {
                c.add = refs.into_iter().map(|r| (r.value, r.display)).collect();
                c.remove = now.iter().map(|m| m.user_id.clone()).filter(|id| !c.add.contains_key(id)).collect();
                continue;
            }
            MemberOp::Remove(ids) => ids,
            MemberOp::RemoveWhere(f) => now
                .iter()
                .filter(|m| members_attr.is_some_and(|a| matches_element(&f, &m.to_json(), a)))
                .map(|m| m.user_id.clone())
                .collect(),
        };
        for id in removed {
            c.add.remove(&id);
            c.remove.insert(id);
        }
    }
    Ok(c)
}

/// The steps of a change: additions of users that exist and `c` sees (unknown ids are
/// ignored, as Entra's reference expects), with the display text given or the user's
/// displayName; removals of members. What is already so is left out: the memberships
/// named are read first. A manual user cannot join a provisioned group.
async fn steps(dir: &Directory, c: &Caller, group: &Stored, change: Change) -> DomainResult<Vec<Step>> {
    let t = &c.tenant;
    let named: Vec<Key> = change
        .add
        .keys()
        .chain(change.remove.iter())
        .filter(|id| valid_id(id))
        .map(|u| keys::member(t.as_str(), &group.id, u))
        .collect();
    let mut present = BTreeMap::new();
    for item in get_all(dir.table.as_ref(), &named).await? {
        let m = member_record(&item)?;
        present.insert(m.user_id, m.display);
    }
    let wanted: Vec<Key> =
        change.add.keys().filter(|id| valid_id(id)).map(|id| key_of(t, Resource::User, id)).collect();
    let mut out = Vec::new();
    let mut users = Vec::new();
    for user in get_all(dir.table.as_ref(), &wanted).await? {
        users.push(Stored::decode(&user.body, user.version)?);
    }
    users.sort_by(|a, b| a.id.cmp(&b.id));
    for u in users {
        if !c.sees(&u.source) {
            continue;
        }
        if u.source.owner() == Owner::Manual && group.source.owner() != Owner::Manual {
            return Err(DomainError::Owned(format!(
                "user {} is managed by the vendor (manual) and cannot join group {}, which is provisioned",
                u.id, group.id
            )));
        }
        let given = change.add.get(&u.id).cloned().flatten();
        let display = given.or_else(|| u.attrs.get("displayName").and_then(Value::as_str).map(str::to_owned));
        match present.get(&u.id) {
            None => out.push(Step::Add { user: u.id, display }),
            Some(d) if *d != display => out.push(Step::Display { user: u.id, display }),
            Some(_) => {}
        }
    }
    out.extend(change.remove.into_iter().filter(|id| present.contains_key(id)).map(|user| Step::Remove { user }));
    Ok(out)
}

/// The activity entries of member steps: who was added, who removed.
fn step_entries(c: &Caller, dir: &Directory, group: &Stored, steps: &[Step]) -> DomainResult<Vec<Write>> {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for s in steps {
        match s {
            Step::Add { user, .. } => added.push(user.clone()),
            Step::Remove { user } => removed.push(user.clone()),
            Step::Display { .. } => {}
        }
    }
    let mut entries = activity::membership("members_added", group, &added);
    entries.extend(activity::membership("members_removed", group, &removed));
    activity::writes(c, &entries, dir.retention)
}

/// Commits `head` (the group's own writes) with the membership changes of `ops` and their
/// activity entries: in one transaction when they fit, else as a pending change (`plan`)
/// that readers already see whole. Either way the group's lock must be free: a pending
/// change is settled first.
pub(crate) async fn commit_with_members(
    dir: &Directory,
    c: &Caller,
    group: &Stored,
    head: Vec<Write>,
    ops: Vec<MemberOp>,
) -> Result<(), CommitError> {
    let t = &c.tenant;
    let change = fold(dir, t, &group.id, ops).await.map_err(CommitError::Other)?;
    let mut steps = steps(dir, c, group, change).await.map_err(CommitError::Other)?;
    let lock = keys::pending(t.as_str(), Kind::Group, &group.id);
    let mut writes_of = Vec::with_capacity(steps.len());
    for s in &steps {
        writes_of.push(step_writes(t, &group.id, s, true).map_err(CommitError::Other)?);
    }
    let mut entries = step_entries(c, dir, group, &steps).map_err(CommitError::Other)?;
    let total: usize = head.len() + 1 + entries.len() + writes_of.iter().map(Vec::len).sum::<usize>();
    if total > MAX_TRANSACTION_WRITES {
        // A plan's steps are idempotent, not strict, and were computed from what this writer
        // read: the change commits only if the group is still at the version read (a
        // concurrent member change touched it), else the caller reads again.
        let read = group.version.saturating_sub(1);
        let head = head
            .into_iter()
            .map(|w| match w {
                Write::Touch { key, cond: Condition::Exists } if key == key_of(t, Resource::Group, &group.id) => {
                    Write::Touch { key, cond: Condition::Version(read) }
                }
                other => other,
            })
            .chain(entries)
            .collect();
        return plan::run_members(dir, t, &group.id, head, steps).await;
    }
    loop {
        let mut writes = head.clone();
        writes.push(Write::Check { key: lock.clone(), cond: Condition::NotExists });
        writes.extend(writes_of.iter().flatten().cloned());
        writes.extend(entries);
        let Err(e) = dir.table.transact(writes).await else { return Ok(()) };
        let StoreError::ConditionFailed { index } = e else { return Err(e.into()) };
        if index < head.len() {
            return Err(CommitError::Condition(index));
        }
        if index == head.len() {
            return Err(CommitError::Locked);
        }
        // A step whose user was deleted, or that another writer made, meanwhile: drop it and
        // commit the rest.
        let Some(pos) = unit_at(&writes_of, index - head.len() - 1) else {
            return Err(CommitError::Other(DomainError::Busy));
        };
        writes_of.remove(pos);
        steps.remove(pos);
        // The entries say what commits: without the dropped step.
        entries = step_entries(c, dir, group, &steps).map_err(CommitError::Other)?;
    }
}

/// Which of `units` holds write number `index`, counting from the first unit's first write.
pub(crate) fn unit_at(units: &[Vec<Write>], mut index: usize) -> Option<usize> {
    for (pos, u) in units.iter().enumerate() {
        if index < u.len() {
            return Some(pos);
        }
        index -= u.len();
    }
    None
}
