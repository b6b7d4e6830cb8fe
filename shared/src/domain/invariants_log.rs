//! The activity log's invariants, walked from the data (shared/DESIGN.md, "Invariants" 7–8):
//! every live record has the entry of its creation and no entry names a version it never
//! had; the membership entries of a live group replay to its members exactly (an addition
//! or removal is recorded only by the writer that made it, so per user and group the
//! additions less the removals are 1 for a member, 0 otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::directory::Directory;
use super::invariants::Universe;
use super::members::query_all_index;
use super::records::Stored;
use super::tenant::TenantId;
use crate::store::Index;
use crate::store::keys;
use serde_json::Value;
use std::collections::BTreeMap;

async fn entries(dir: &Directory, t: &TenantId, subject: &str) -> Vec<Value> {
    let items = query_all_index(dir.table.as_ref(), Index::Gsi1, keys::activity_subject(t.as_str(), subject), "").await;
    items.unwrap().iter().map(|i| serde_json::from_slice(&i.body).unwrap()).collect()
}

fn kind(e: &Value) -> &str {
    e["type"].as_str().unwrap_or("")
}

pub async fn check(
    dir: &Directory,
    t: &TenantId,
    u: &Universe,
    live_users: &BTreeMap<String, Stored>,
    live_groups: &BTreeMap<String, Stored>,
) -> Vec<String> {
    let mut bad = Vec::new();
    for (noun, live) in [("user", live_users), ("group", live_groups)] {
        for s in live.values() {
            let log = entries(dir, t, &s.id).await;
            if !log.iter().any(|e| kind(e) == format!("inlet.{noun}.created")) {
                bad.push(format!("{noun} {}: no creation entry", s.id));
            }
            if let Some(e) = log.iter().find(|e| e["resource"]["version"].as_u64().is_some_and(|v| v > s.version)) {
                bad.push(format!(
                    "{noun} {} at version {}: an entry names version {}",
                    s.id, s.version, e["resource"]["version"]
                ));
            }
        }
    }
    for gid in live_groups.keys() {
        let mut net: BTreeMap<String, i64> = BTreeMap::new();
        for e in entries(dir, t, gid).await {
            let delta = match kind(&e) {
                "inlet.group.members_added" => 1,
                "inlet.group.members_removed" => -1,
                _ => continue,
            };
            for m in e["members"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                *net.entry(m.to_owned()).or_default() += delta;
            }
        }
        let members: Vec<String> = dir.members(t, gid).await.unwrap().into_iter().map(|m| m.user_id).collect();
        for uid in u.users.iter().filter(|id| live_users.contains_key(*id)) {
            let want = i64::from(members.contains(uid));
            let got = net.get(uid).copied().unwrap_or(0);
            if got != want {
                bad.push(format!("group {gid} ∋ {uid}: member {} but the log nets {got}", want == 1));
            }
        }
    }
    bad
}
