//! Applying a complete snapshot of Okta to a tenant's directory. Everything is compared
//! before it is written, so an unchanged directory costs no write, and applying the same
//! snapshot twice (a run resumed after a crash) changes nothing the second time.
//!
//! Only records with an externalId (an Okta id) are the puller's: a user without one is
//! never deactivated, a group without one never deleted.

use super::PullResult;
use super::checkpoint::{self, SeenGroup, SeenUser, Snapshot};
use super::stage::Stage;
use super::state::Counts;
use crate::domain::records::Stored;
use crate::domain::{Caller, Directory, DomainError, Resource};
use crate::scim::list::{ListParams, ListQuery};
use crate::scim::resource::normalize;
use crate::scim::schema::PATCH_OP;
use crate::store::Table;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// Writes in flight at once while applying (the embedded store commits them together; on
/// DynamoDB they are concurrent requests).
const PARALLEL: usize = 16;
/// Bulk transactions in flight at once: enough queued that the embedded store's writer
/// commits many together.
const BULK_PARALLEL: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    None,
    Created,
    Updated,
    Deactivated,
    Reactivated,
}

/// What one user's write did: the change, the id of a record it took over, and the id of
/// the record that now holds the user.
type Applied = (Change, Option<String>, String);

fn is_active(s: &Stored) -> bool {
    s.attrs.get("active").and_then(Value::as_bool).unwrap_or(true)
}

fn count(counts: &mut Counts, c: Change) {
    match c {
        Change::None => {}
        Change::Created => counts.created += 1,
        Change::Updated => counts.updated += 1,
        Change::Deactivated => counts.deactivated += 1,
        Change::Reactivated => counts.reactivated += 1,
    }
}

fn patch(ops: Vec<Value>) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Applies `snap` to the directory that held `existing` (the tenant's pulled users, by Okta
/// id, as the run started), committing the new users `stage` prepared during the read.
pub async fn apply(
    dir: &Directory,
    table: &dyn Table,
    t: &Caller,
    snap: &Snapshot,
    existing: &HashMap<String, Stored>,
    stage: Stage,
) -> PullResult<Counts> {
    let mut counts = Counts::default();
    let users = apply_users(dir, t, &snap.users, &snap.unmapped, existing, stage, &mut counts).await?;
    apply_groups(dir, table, t, snap, &users, &mut counts).await?;
    Ok(counts)
}

/// Creates, updates, deactivates and reactivates users; returns the Inlet id of every active
/// app user by Okta id (the only users who may be group members).
async fn apply_users(
    dir: &Directory,
    t: &Caller,
    seen: &[SeenUser],
    unmapped: &[String],
    existing: &HashMap<String, Stored>,
    stage: Stage,
    counts: &mut Counts,
) -> PullResult<HashMap<String, String>> {
    let seen_ids: HashSet<&str> = seen.iter().map(|u| u.okta_id.as_str()).collect();
    // Assigned but not mapped: left as they are, memberships included.
    let kept: HashSet<&str> = unmapped.iter().map(String::as_str).filter(|x| !seen_ids.contains(x)).collect();
    let rt = t.rt(Resource::User);
    let (mut updates, mut creates) = (Vec::new(), Vec::new());
    for u in seen {
        let Some(old) = existing.get(&u.okta_id) else {
            // Never known here: provisioned if active, else nothing to do.
            if u.active {
                creates.push(u);
            }
            continue;
        };
        if old.attrs != normalize(&u.body, rt).map_err(DomainError::from)? {
            updates.push((u, old));
        }
    }
    // Updates first: a user renamed in Okta frees its old userName before a new user takes it.
    let mut work: Vec<BoxFuture<'_, PullResult<(&str, Applied)>>> = Vec::with_capacity(updates.len());
    for (u, old) in updates {
        work.push(Box::pin(async move {
            let new = dir.replace(t, Resource::User, &old.id, &u.body, None).await?;
            Ok((u.okta_id.as_str(), (transition(old, &new), None, new.id)))
        }));
    }
    let mut results: Vec<PullResult<(&str, Applied)>> =
        futures::stream::iter(work).buffer_unordered(PARALLEL).collect().await;
    // New users in bulk, several to a transaction, most prepared during the read (those not
    // are prepared now); a refused one was redone alone (`create`).
    let mut stage = stage;
    let mut by_tag: HashMap<usize, &SeenUser> = HashMap::with_capacity(creates.len());
    let mut unprepared = Vec::new();
    for u in creates {
        match stage.tag_of(u) {
            Some(tag) => drop(by_tag.insert(tag, u)),
            None => unprepared.push(u),
        }
    }
    for (tag, u) in stage.add_late(dir, t, unprepared) {
        by_tag.insert(tag, u);
    }
    let made =
        dir.commit_many(t, stage.into_prepared(), |tag| by_tag.get(&tag).map(|u| &u.body), BULK_PARALLEL).await?;
    for (tag, r) in made {
        let Some(u) = by_tag.get(&tag).copied() else { continue };
        let applied = match r {
            Ok(id) => (Change::Created, None, id),
            Err(DomainError::Conflict(detail)) => take_over(dir, t, u, &seen_ids, detail).await?,
            Err(e) => return Err(e.into()),
        };
        results.push(Ok((u.okta_id.as_str(), applied)));
    }
    // Records taken over by a new Okta id are not gone, whatever their old externalId said.
    let mut taken = HashSet::new();
    let mut written: HashMap<&str, String> = HashMap::new();
    for r in results {
        let (okta_id, (change, took, id)) = r?;
        count(counts, change);
        taken.extend(took);
        written.insert(okta_id, id);
    }
    // Assigned no more: deactivated, never deleted.
    let gone: Vec<&Stored> = existing
        .iter()
        .filter(|(x, s)| {
            !seen_ids.contains(x.as_str()) && !kept.contains(x.as_str()) && is_active(s) && !taken.contains(&s.id)
        })
        .map(|(_, s)| s)
        .collect();
    let off = &patch(vec![json!({"op": "replace", "path": "active", "value": false})]);
    let mut work: Vec<BoxFuture<'_, PullResult<()>>> = Vec::with_capacity(gone.len());
    for s in gone {
        work.push(Box::pin(async move {
            dir.patch(t, Resource::User, &s.id, off, None).await.map(|_| ()).map_err(Into::into)
        }));
    }
    let results: Vec<PullResult<()>> = futures::stream::iter(work).buffer_unordered(PARALLEL).collect().await;
    for r in results {
        r?;
        counts.deactivated += 1;
    }
    // The records of active app users, from what was written and what was already there (not
    // read back: the collection is an index, eventually consistent on DynamoDB).
    let mut active: HashMap<String, String> = seen
        .iter()
        .filter(|u| u.active)
        .filter_map(|u| {
            let id =
                written.get(u.okta_id.as_str()).cloned().or_else(|| existing.get(&u.okta_id).map(|s| s.id.clone()));
            id.map(|id| (u.okta_id.clone(), id))
        })
        .collect();
    for x in kept {
        if let Some(s) = existing.get(x).filter(|s| is_active(s)) {
            active.insert(x.to_owned(), s.id.clone());
        }
    }
    Ok(active)
}

/// The user holding a userName (the index answers `userName eq`).
async fn holder_of(dir: &Directory, t: &Caller, name: &str) -> PullResult<Option<Stored>> {
    let literal = serde_json::to_string(name).map_err(|e| DomainError::Conflict(e.to_string()))?;
    let filter = format!("userName eq {literal}");
    let params = ListParams { filter: Some(&filter), ..ListParams::default() };
    let q = ListQuery::parse(&params, t.rt(Resource::User)).map_err(DomainError::from)?;
    Ok(dir.list(t, Resource::User, &q).await?.resources.into_iter().next())
}

/// The tenant's users that carry an externalId (an Okta id: the puller's), by it.
pub async fn pulled_users(dir: &Directory, t: &Caller) -> PullResult<HashMap<String, Stored>> {
    by_external_id(dir, t, Resource::User).await
}

/// The tenant's records that carry an externalId (an Okta id: the puller's), by it.
async fn by_external_id(dir: &Directory, t: &Caller, res: Resource) -> PullResult<HashMap<String, Stored>> {
    Ok(dir.all(t, res).await?.into_iter().filter_map(|s| s.external_id().map(str::to_owned).map(|x| (x, s))).collect())
}

fn transition(old: &Stored, new: &Stored) -> Change {
    match (new.version == old.version, is_active(old), is_active(new)) {
        (true, _, _) => Change::None,
        (false, true, false) => Change::Deactivated,
        (false, false, true) => Change::Reactivated,
        _ => Change::Updated,
    }
}

/// A new user whose userName is held: when the holder's Okta id is no longer assigned (a
/// person deleted and created again in Okta gets a new id), takes that record over; returns
/// the id of the record taken over.
async fn take_over(
    dir: &Directory,
    t: &Caller,
    u: &SeenUser,
    seen: &HashSet<&str>,
    detail: String,
) -> PullResult<Applied> {
    let Some(name) = u.body.get("userName").and_then(Value::as_str) else {
        return Err(DomainError::Conflict(detail).into());
    };
    match holder_of(dir, t, name).await? {
        Some(h) if h.external_id().is_none_or(|x| !seen.contains(x)) => {
            let new = dir.replace(t, Resource::User, &h.id, &u.body, None).await?;
            Ok((transition(&h, &new), Some(h.id.clone()), new.id))
        }
        _ => Err(DomainError::Conflict(detail).into()),
    }
}

async fn apply_groups(
    dir: &Directory,
    table: &dyn Table,
    t: &Caller,
    snap: &Snapshot,
    users: &HashMap<String, String>,
    counts: &mut Counts,
) -> PullResult<()> {
    let existing = by_external_id(dir, t, Resource::Group).await?;
    let seen: HashSet<&str> = snap.groups.iter().map(|g| g.okta_id.as_str()).collect();
    // Assigned without a name: left as they are (or not created), members included.
    let unnamed: HashSet<&str> = snap.unnamed.iter().map(String::as_str).filter(|x| !seen.contains(x)).collect();
    counts.groups_skipped += unnamed.len() as u64;
    // Groups no longer assigned go first: their names are free for the renames and new groups.
    for (x, s) in &existing {
        if !seen.contains(x.as_str()) && !unnamed.contains(x.as_str()) {
            dir.delete(t, Resource::Group, &s.id, None).await?;
            checkpoint::drop_memo(table, &t.tenant, x).await?;
            counts.groups_deleted += 1;
        }
    }
    let mut ids = Vec::with_capacity(snap.groups.len());
    let mut new = Vec::new();
    // Renames next: a group renamed in Okta frees its old name before a new group takes it.
    // A rename to a name another group still holds is tried again after the others.
    let mut held = Vec::new();
    for g in &snap.groups {
        match existing.get(&g.okta_id) {
            Some(old) if old.unique_name(Resource::Group.unique_attr()) == g.name => ids.push((g, old.id.clone())),
            Some(old) => {
                if rename(dir, t, &old.id, g).await? {
                    counts.groups_updated += 1;
                    ids.push((g, old.id.clone()));
                } else {
                    held.push((g, old.id.clone()));
                }
            }
            None => new.push(g),
        }
    }
    for (g, id) in held {
        if rename(dir, t, &id, g).await? {
            counts.groups_updated += 1;
        } else {
            tracing::warn!(tenant = %t.tenant, group = g.okta_id, "Okta group keeps its old name: the new one is taken");
            counts.groups_skipped += 1;
        }
        ids.push((g, id));
    }
    let bodies: Vec<Value> = new
        .iter()
        .map(
            |g| json!({"schemas": [crate::scim::schema::GROUP_SCHEMA], "displayName": g.name, "externalId": g.okta_id}),
        )
        .collect();
    let made = dir.create_many(t, Resource::Group, &bodies.iter().collect::<Vec<_>>(), BULK_PARALLEL).await?;
    for (g, r) in new.into_iter().zip(made) {
        match r {
            Ok(id) => {
                ids.push((g, id));
                counts.groups_created += 1;
            }
            Err(DomainError::Conflict(detail)) => {
                tracing::warn!(tenant = %t.tenant, group = g.okta_id, detail, "Okta group left out: its name is taken");
                counts.groups_skipped += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    // Groups' members are independent of each other: their changes go side by side.
    let mut work: Vec<BoxFuture<'_, PullResult<(u64, u64)>>> = Vec::with_capacity(ids.len());
    for (g, id) in &ids {
        work.push(Box::pin(sync_members(dir, table, t, g, id, users)));
    }
    let results: Vec<PullResult<(u64, u64)>> = futures::stream::iter(work).buffer_unordered(PARALLEL).collect().await;
    for r in results {
        let (added, removed) = r?;
        counts.members_added += added;
        counts.members_removed += removed;
    }
    Ok(())
}

/// Renames a group to its Okta name; false when another group holds that name.
async fn rename(dir: &Directory, t: &Caller, id: &str, g: &SeenGroup) -> PullResult<bool> {
    let op = patch(vec![json!({"op": "replace", "path": "displayName", "value": g.name})]);
    match dir.patch(t, Resource::Group, id, &op, None).await {
        Ok(_) => Ok(true),
        Err(DomainError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Members: the Okta group's members (from the memo) who are active app users; returns how
/// many were added and removed.
async fn sync_members(
    dir: &Directory,
    table: &dyn Table,
    t: &Caller,
    g: &SeenGroup,
    group_id: &str,
    users: &HashMap<String, String>,
) -> PullResult<(u64, u64)> {
    // The read lists (or keeps, when unchanged) every assigned group's members in the memo.
    let Some((_, okta_members)) = checkpoint::memo(table, &t.tenant, &g.okta_id).await? else {
        return Err(DomainError::Store(crate::store::StoreError::Backend(format!(
            "no member list was read for Okta group {}",
            g.okta_id
        )))
        .into());
    };
    let desired: HashSet<&str> = okta_members.iter().filter_map(|m| users.get(m)).map(String::as_str).collect();
    let current: HashSet<String> = dir.members(&t.tenant, group_id).await?.into_iter().map(|m| m.user_id).collect();
    let mut add: Vec<&str> = desired.iter().filter(|u| !current.contains(**u)).copied().collect();
    let mut remove: Vec<&str> = current.iter().map(String::as_str).filter(|u| !desired.contains(u)).collect();
    if add.is_empty() && remove.is_empty() {
        return Ok((0, 0));
    }
    add.sort_unstable();
    remove.sort_unstable();
    let mut ops = Vec::new();
    if !add.is_empty() {
        let values: Vec<Value> = add.iter().map(|u| json!({"value": u})).collect();
        ops.push(json!({"op": "add", "path": "members", "value": values}));
    }
    if !remove.is_empty() {
        let values: Vec<Value> = remove.iter().map(|u| json!({"value": u})).collect();
        ops.push(json!({"op": "remove", "path": "members", "value": values}));
    }
    dir.patch(t, Resource::Group, group_id, &patch(ops), None).await?;
    Ok((add.len() as u64, remove.len() as u64))
}
