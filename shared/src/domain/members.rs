//! Group membership: one item per (group, user), indexed the other way in GSI1, so a
//! group of 100k members is 100k small items, never one growing document.

use super::directory::{CommitError, Directory, Resource, key_of};
use super::error::{DomainError, DomainResult};
use super::records::{Stored, valid_id};
use super::tenant::TenantId;
use crate::scim::filter::matches_element;
use crate::scim::patch::MemberOp;
use crate::scim::schema::{GROUP_TYPE, find};
use crate::store::keys;
use crate::store::{Condition, Index, Item, Key, MAX_TRANSACTION_WRITES, Query, Table, Write};
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

/// Every item of a query, following pages.
async fn query_all(table: &dyn Table, index: Index, pk: String, sk_prefix: String) -> DomainResult<Vec<Item>> {
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

pub(crate) async fn list(dir: &Directory, t: &TenantId, group_id: &str) -> DomainResult<Vec<MemberRecord>> {
    let partition = keys::member(t.as_str(), group_id, "");
    let items = query_all(dir.table.as_ref(), Index::Table, partition.pk, partition.sk).await?;
    Ok(items
        .into_iter()
        .filter_map(|i| {
            let user_id = keys::member_user_id(&i.key.sk)?.to_owned();
            let body: Value = serde_json::from_slice(&i.body).unwrap_or(Value::Null);
            let display = body.get("display").and_then(Value::as_str).map(str::to_owned);
            Some(MemberRecord { user_id, display })
        })
        .collect())
}

/// Membership items of a user (found through GSI1), with the group id of each.
async fn memberships_of(dir: &Directory, t: &TenantId, user_id: &str) -> DomainResult<Vec<(Key, String)>> {
    let items = query_all(dir.table.as_ref(), Index::Gsi1, keys::groups_of(t.as_str(), user_id), String::new()).await?;
    Ok(items.into_iter().filter_map(|i| Some((i.key, i.gsi1?.sk))).collect())
}

pub(crate) async fn groups_of(dir: &Directory, t: &TenantId, user_id: &str) -> DomainResult<Vec<(String, String)>> {
    let ids: Vec<String> = memberships_of(dir, t, user_id).await?.into_iter().map(|(_, g)| g).collect();
    let keys: Vec<Key> = ids.iter().map(|g| key_of(t, Resource::Group, g)).collect();
    let mut groups = Vec::new();
    for item in get_all(dir.table.as_ref(), &keys).await? {
        let g = Stored::decode(&item.body, item.version)?;
        let name = g.unique_name(&GROUP_TYPE).to_owned();
        groups.push((g.id, name));
    }
    groups.sort();
    Ok(groups)
}

/// Deletes every membership of a user or group (before the resource itself goes).
pub(crate) async fn remove_all_of(dir: &Directory, t: &TenantId, res: Resource, id: &str) -> DomainResult<()> {
    let keys: Vec<Key> = match res {
        Resource::User => memberships_of(dir, t, id).await?.into_iter().map(|(k, _)| k).collect(),
        Resource::Group => list(dir, t, id).await?.iter().map(|m| keys::member(t.as_str(), id, &m.user_id)).collect(),
    };
    for chunk in keys.chunks(MAX_TRANSACTION_WRITES) {
        let writes = chunk.iter().map(|k| Write::Delete { key: k.clone(), cond: Condition::None }).collect();
        dir.table.transact(writes).await?;
    }
    Ok(())
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
) -> DomainResult<(Change, Vec<MemberRecord>)> {
    let needs_current = ops.iter().any(|o| matches!(o, MemberOp::RemoveWhere(_) | MemberOp::Replace(_)));
    let current = if needs_current { list(dir, t, group_id).await? } else { Vec::new() };
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
                c.remove = current.iter().map(|m| m.user_id.clone()).filter(|id| !c.add.contains_key(id)).collect();
                continue;
            }
            MemberOp::Remove(ids) => ids,
            MemberOp::RemoveWhere(f) => current
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

/// Commits `head` (the group's own writes) with the membership changes of `ops`.
/// Members are users that exist: unknown ids are ignored, as Entra's reference expects.
/// Each added member carries a check that its user still exists, so a concurrent user
/// DELETE cannot leave a dangling membership.
pub(crate) async fn commit_with_members(
    dir: &Directory,
    t: &TenantId,
    group_id: &str,
    head: Vec<Write>,
    ops: Vec<MemberOp>,
) -> Result<(), CommitError> {
    let (change, current) = fold(dir, t, group_id, ops).await.map_err(CommitError::Other)?;
    let wanted: Vec<Key> =
        change.add.keys().filter(|id| valid_id(id)).map(|id| key_of(t, Resource::User, id)).collect();
    let users = get_all(dir.table.as_ref(), &wanted).await.map_err(CommitError::Other)?;
    let unchanged: BTreeMap<&str, &Option<String>> = current.iter().map(|m| (m.user_id.as_str(), &m.display)).collect();
    let mut units: Vec<Vec<Write>> = Vec::new();
    for user in users {
        let Ok(u) = Stored::decode(&user.body, user.version) else { continue };
        let given = change.add.get(&u.id).cloned().flatten();
        let display = given.or_else(|| u.attrs.get("displayName").and_then(Value::as_str).map(str::to_owned));
        if unchanged.get(u.id.as_str()) == Some(&&display) {
            continue;
        }
        let mut item =
            Item::new(keys::member(t.as_str(), group_id, &u.id), json!({"display": display}).to_string().into_bytes());
        item.gsi1 = Some(keys::member_of(t.as_str(), &u.id, group_id));
        units.push(vec![
            Write::Put { item, cond: Condition::None },
            Write::Check { key: user.key, cond: Condition::Exists },
        ]);
    }
    for id in change.remove.iter().filter(|id| valid_id(id)) {
        units.push(vec![Write::Delete { key: keys::member(t.as_str(), group_id, id), cond: Condition::None }]);
    }
    let guard = Write::Check { key: key_of(t, Resource::Group, group_id), cond: Condition::Exists };
    transact_units(dir.table.as_ref(), head, units, guard).await
}

/// Packs `units` (writes that must land together) into transactions of at most 100
/// writes, the first led by `head`, the rest by `guard`, and commits them as one
/// ordered sequence. A unit whose own condition fails (its user was deleted meanwhile)
/// is dropped and the rest of the sequence retried.
async fn transact_units(
    table: &dyn Table,
    head: Vec<Write>,
    mut units: Vec<Vec<Write>>,
    guard: Write,
) -> Result<(), CommitError> {
    let mut lead = head;
    loop {
        let batches = pack(&lead, &guard, &mut units);
        let transactions: Vec<Vec<Write>> =
            batches.iter().map(|(lead, b)| lead.iter().chain(b.iter().flatten()).cloned().collect()).collect();
        let (applied, result) = table.transact_seq(transactions).await;
        let Err(e) = result else { return Ok(()) };
        let mut failed = batches.into_iter().skip(applied);
        let err = CommitError::from(e);
        // Only a failed condition can be recovered here; the store's own errors pass on as they are.
        let (Some((failed_lead, mut batch)), &CommitError::Condition(index)) = (failed.next(), &err) else {
            return Err(err);
        };
        if index < failed_lead.len() {
            return Err(match failed_lead.first() {
                Some(Write::Check { .. }) => CommitError::Other(DomainError::NotFound("group".into())),
                _ => CommitError::Condition(index),
            });
        }
        // Find the unit that failed, drop it, and retry from this transaction on.
        let mut i = index - failed_lead.len();
        let pos = batch.iter().position(|u| {
            if i < u.len() {
                true
            } else {
                i -= u.len();
                false
            }
        });
        if let Some(pos) = pos {
            batch.remove(pos);
        }
        units = batch.into_iter().chain(failed.flat_map(|(_, b)| b)).collect();
        lead = failed_lead;
        if units.is_empty() && applied > 0 {
            return Ok(());
        }
    }
}

/// Splits the units into transactions: the first led by `head`, the others by `guard`.
fn pack(head: &[Write], guard: &Write, units: &mut Vec<Vec<Write>>) -> Vec<(Vec<Write>, Vec<Vec<Write>>)> {
    let mut batches = Vec::new();
    let mut lead = head.to_vec();
    loop {
        let mut size = lead.len();
        let taken = units.iter().take_while(|u| {
            size += u.len();
            size <= MAX_TRANSACTION_WRITES
        });
        let n = taken.count();
        let batch: Vec<Vec<Write>> = units.drain(..n).collect();
        batches.push((lead, batch));
        if units.is_empty() {
            return batches;
        }
        lead = vec![guard.clone()];
    }
}
