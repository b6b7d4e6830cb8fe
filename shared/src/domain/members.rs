//! Group membership: one item per (group, user) in the group's partition (carrying the
//! member's display text) and its twin in the user's partition, written and deleted in the
//! same transaction, so a group's members and a user's groups are both strongly consistent
//! reads. A group of 100k members is 100k small items, never one growing document.
//!
//! Adding a member also touches the user's record (raises its version): a user DELETE is
//! conditioned on the version it read, so a membership added after that read makes the
//! delete retry instead of leaving the membership behind.

use super::directory::{CommitError, Directory, Resource, key_of};
use super::error::{DomainError, DomainResult};
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
    let mut out = Vec::new();
    let mut q = Query::new(Index::Table, pk, sk_prefix, PAGE);
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
                Step::Add { user, display } => members.insert(user, display),
                Step::Remove { user } => members.remove(&user),
            };
        }
    }
    Ok(members.into_iter().map(|(user_id, display)| MemberRecord { user_id, display }).collect())
}

/// The groups a user belongs to, as (group id, displayName), from the user's partition.
pub(crate) async fn groups_of(dir: &Directory, t: &TenantId, user_id: &str) -> DomainResult<Vec<(String, String)>> {
    let table = dir.table.as_ref();
    let items = query_all(table, keys::partition(t.as_str(), Kind::User, user_id), keys::GROUP_OF_PREFIX).await?;
    let keys: Vec<Key> =
        items.iter().filter_map(|i| keys::group_of_id(&i.key.sk)).map(|g| key_of(t, Resource::Group, g)).collect();
    let mut groups = Vec::new();
    for item in get_all(table, &keys).await? {
        let g = Stored::decode(&item.body, item.version)?;
        let name = g.unique_name(&GROUP_TYPE).to_owned();
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
    let step = |group: &str, user: &str| step_writes(t, group, &Step::Remove { user: user.to_owned() });
    match res {
        Resource::User => keys::group_of_id(sk).map(|g| step(g, id)),
        Resource::Group => keys::member_user_id(sk).map(|u| step(id, u)),
    }
    .ok_or_else(|| undecodable("membership key", sk))?
}

/// The writes of one step: both sides of the membership, and for an addition a touch of the
/// user's record, which fails (and so drops the step) if the user is gone.
pub(crate) fn step_writes(t: &TenantId, group_id: &str, step: &Step) -> DomainResult<Vec<Write>> {
    let t_ = t.as_str();
    Ok(match step {
        Step::Add { user, display } => {
            let body = serde_json::to_vec(&MemberBody { display: display.clone() })
                .map_err(|e| undecodable("membership", e))?;
            vec![
                Write::Put { item: Item::new(keys::member(t_, group_id, user), body), cond: Condition::None },
                Write::Put { item: Item::new(keys::group_of(t_, user, group_id), Vec::new()), cond: Condition::None },
                Write::Touch { key: key_of(t, Resource::User, user), cond: Condition::Exists },
            ]
        }
        Step::Remove { user } => vec![
            Write::Delete { key: keys::member(t_, group_id, user), cond: Condition::None },
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

async fn fold(
    dir: &Directory,
    t: &TenantId,
    group_id: &str,
    ops: Vec<MemberOp>,
) -> DomainResult<(Change, Option<Vec<MemberRecord>>)> {
    let needs_current = ops.iter().any(|o| matches!(o, MemberOp::RemoveWhere(_) | MemberOp::Replace(_)));
    let current = if needs_current { Some(list(dir, t, group_id).await?) } else { None };
    let now = current.as_deref().unwrap_or(&[]);
    let members_attr = find(GROUP_TYPE.core.attributes, "members");
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
    Ok((c, current))
}

/// The steps of a change: additions of users that exist (unknown ids are ignored, as Entra's
/// reference expects), with the display text given or the user's displayName; removals.
async fn steps(
    dir: &Directory,
    t: &TenantId,
    change: Change,
    current: Option<&[MemberRecord]>,
) -> DomainResult<Vec<Step>> {
    let wanted: Vec<Key> =
        change.add.keys().filter(|id| valid_id(id)).map(|id| key_of(t, Resource::User, id)).collect();
    let unchanged: BTreeMap<&str, &Option<String>> =
        current.unwrap_or(&[]).iter().map(|m| (m.user_id.as_str(), &m.display)).collect();
    let mut out = Vec::new();
    for user in get_all(dir.table.as_ref(), &wanted).await? {
        let u = Stored::decode(&user.body, user.version)?;
        let given = change.add.get(&u.id).cloned().flatten();
        let display = given.or_else(|| u.attrs.get("displayName").and_then(Value::as_str).map(str::to_owned));
        if unchanged.get(u.id.as_str()) != Some(&&display) {
            out.push(Step::Add { user: u.id, display });
        }
    }
    out.extend(change.remove.into_iter().filter(|id| valid_id(id)).map(|user| Step::Remove { user }));
    Ok(out)
}

/// Commits `head` (the group's own writes) with the membership changes of `ops`: in one
/// transaction when they fit, else as a pending change (`plan`) that readers already see
/// whole. Either way the group's lock must be free: a pending change is settled first.
pub(crate) async fn commit_with_members(
    dir: &Directory,
    t: &TenantId,
    group_id: &str,
    head: Vec<Write>,
    ops: Vec<MemberOp>,
) -> Result<(), CommitError> {
    let (change, current) = fold(dir, t, group_id, ops).await.map_err(CommitError::Other)?;
    let steps = steps(dir, t, change, current.as_deref()).await.map_err(CommitError::Other)?;
    let lock = keys::pending(t.as_str(), Kind::Group, group_id);
    let mut writes_of = Vec::with_capacity(steps.len());
    for s in &steps {
        writes_of.push(step_writes(t, group_id, s).map_err(CommitError::Other)?);
    }
    let total: usize = head.len() + 1 + writes_of.iter().map(Vec::len).sum::<usize>();
    if total > MAX_TRANSACTION_WRITES {
        return plan::run_members(dir, t, group_id, head, steps).await;
    }
    loop {
        let mut writes = head.clone();
        writes.push(Write::Check { key: lock.clone(), cond: Condition::NotExists });
        writes.extend(writes_of.iter().flatten().cloned());
        let Err(e) = dir.table.transact(writes).await else { return Ok(()) };
        let StoreError::ConditionFailed { index } = e else { return Err(e.into()) };
        if index < head.len() {
            return Err(CommitError::Condition(index));
        }
        if index == head.len() {
            return Err(CommitError::Locked);
        }
        // A step whose user was deleted meanwhile: drop it and commit the rest.
        let Some(pos) = unit_at(&writes_of, index - head.len() - 1) else {
            return Err(CommitError::Other(DomainError::Busy));
        };
        writes_of.remove(pos);
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
