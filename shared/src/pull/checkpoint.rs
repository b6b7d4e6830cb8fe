//! What a run keeps in the table between invocations: the snapshot of Okta read so far (only
//! when a run stops before applying it), and per group the member list Okta last gave (the
//! memo), so a group whose `lastMembershipUpdated` has not moved is not listed again.

use super::{PullError, PullResult};
use crate::domain::TenantId;
use crate::store::{Condition, Item, Query, StoreError, Table, Write, keys};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Checkpoint and memo chunks stay well below DynamoDB's 400 KB item limit.
const CHUNK_BYTES: usize = 256 * 1024;
/// Member ids per memo chunk (Okta ids are 20 characters: ~80 KB a chunk).
const MEMO_IDS: usize = 3000;

fn corrupt(what: &str, e: impl std::fmt::Display) -> PullError {
    PullError::Domain(StoreError::Backend(format!("unreadable {what}: {e}")).into())
}

/// An assigned user as read from Okta, mapped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenUser {
    pub okta_id: String,
    pub active: bool,
    /// The SCIM User body (no id, no meta).
    pub body: Value,
}

/// An assigned group as read from Okta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenGroup {
    pub okta_id: String,
    pub name: String,
    pub last_membership_updated: Option<String>,
}

/// Everything a run has read of Okta: complete once `users_done && groups_done &&
/// members_done == groups.len()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub users: Vec<SeenUser>,
    pub users_next: Option<String>,
    pub users_done: bool,
    pub groups: Vec<SeenGroup>,
    pub groups_next: Option<String>,
    pub groups_done: bool,
    /// Groups (in `groups` order) whose members are known, in the memo.
    pub members_done: usize,
    pub pages: u64,
    /// Assigned users the read could not map (no login): neither written nor deactivated.
    #[serde(default)]
    pub unmapped: Vec<String>,
    /// Assigned groups without a name (`profile.name` missing or blank): neither written nor
    /// deleted, their members left as they were.
    #[serde(default)]
    pub unnamed: Vec<String>,
}

impl Snapshot {
    pub fn complete(&self) -> bool {
        self.users_done && self.groups_done && self.members_done >= self.groups.len()
    }
}

/// Saves `snap` under `run` in chunks; returns how many. Written before the state names them,
/// so a checkpoint is never seen half written.
pub async fn save(table: &dyn Table, t: &TenantId, run: &str, snap: &Snapshot) -> PullResult<usize> {
    let text = serde_json::to_vec(snap).map_err(|e| corrupt("checkpoint", e))?;
    let chunks: Vec<&[u8]> = text.chunks(CHUNK_BYTES).collect();
    for (n, chunk) in chunks.iter().enumerate() {
        let item = Item::new(keys::okta_run_chunk(t.as_str(), run, n), chunk.to_vec());
        table.transact(vec![Write::Put { item, cond: Condition::None }]).await?;
    }
    Ok(chunks.len())
}

pub async fn load(table: &dyn Table, t: &TenantId, run: &str, chunks: usize) -> PullResult<Snapshot> {
    let mut text = Vec::new();
    for n in 0..chunks {
        let item = table
            .get(&keys::okta_run_chunk(t.as_str(), run, n))
            .await?
            .ok_or_else(|| corrupt("checkpoint", format!("chunk {n} of run {run} is missing")))?;
        text.extend_from_slice(&item.body);
    }
    serde_json::from_slice(&text).map_err(|e| corrupt("checkpoint", e))
}

/// Deletes every checkpoint chunk of the tenant (of any run).
pub async fn clear(table: &dyn Table, t: &TenantId) -> PullResult<()> {
    delete_partition(table, keys::okta_run_partition(t.as_str()), String::new()).await
}

async fn delete_partition(table: &dyn Table, pk: String, prefix: String) -> PullResult<()> {
    loop {
        let page = table.query(&Query::new(crate::store::Index::Table, pk.clone(), prefix.clone(), 100)).await?;
        if page.items.is_empty() {
            return Ok(());
        }
        let writes =
            page.items.into_iter().map(|i| Write::Delete { key: i.key, cond: Condition::None }).collect::<Vec<_>>();
        table.transact(writes).await?;
    }
}

#[derive(Serialize, Deserialize)]
struct MemoChunk {
    /// The group's `lastMembershipUpdated` the list is of (chunk 0 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lmu: Option<String>,
    #[serde(default)]
    chunks: usize,
    members: Vec<String>,
}

/// The member list Okta last gave for a group, with the `lastMembershipUpdated` it was of.
pub async fn memo(table: &dyn Table, t: &TenantId, group: &str) -> PullResult<Option<(Option<String>, Vec<String>)>> {
    let Some(first) = table.get(&keys::okta_memo_chunk(t.as_str(), group, 0)).await? else { return Ok(None) };
    let first: MemoChunk = serde_json::from_slice(&first.body).map_err(|e| corrupt("member memo", e))?;
    let mut members = first.members;
    for n in 1..first.chunks {
        let item = table
            .get(&keys::okta_memo_chunk(t.as_str(), group, n))
            .await?
            .ok_or_else(|| corrupt("member memo", format!("chunk {n} of group {group} is missing")))?;
        let chunk: MemoChunk = serde_json::from_slice(&item.body).map_err(|e| corrupt("member memo", e))?;
        members.extend(chunk.members);
    }
    Ok(Some((first.lmu, members)))
}

/// Replaces a group's memo. Chunks past the first are written first and chunk 0 (which says
/// how many there are) last, so a reader never follows a count to chunks not yet written.
pub async fn put_memo(
    table: &dyn Table,
    t: &TenantId,
    group: &str,
    lmu: Option<&str>,
    members: &[String],
) -> PullResult<()> {
    let parts: Vec<&[String]> = if members.is_empty() { vec![&[]] } else { members.chunks(MEMO_IDS).collect() };
    let total = parts.len();
    for (n, part) in parts.iter().enumerate().rev() {
        let chunk = MemoChunk {
            lmu: (n == 0).then(|| lmu.map(str::to_owned)).flatten(),
            chunks: if n == 0 { total } else { 0 },
            members: part.to_vec(),
        };
        let body = serde_json::to_vec(&chunk).map_err(|e| corrupt("member memo", e))?;
        let item = Item::new(keys::okta_memo_chunk(t.as_str(), group, n), body);
        table.transact(vec![Write::Put { item, cond: Condition::None }]).await?;
    }
    Ok(())
}

/// Forgets the memo of a group no longer assigned.
pub async fn drop_memo(table: &dyn Table, t: &TenantId, group: &str) -> PullResult<()> {
    delete_partition(table, keys::okta_memo_partition(t.as_str()), format!("{group}#")).await
}
