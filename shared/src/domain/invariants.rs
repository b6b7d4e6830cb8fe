//! The write path's invariants (shared/DESIGN.md, "Invariants") as a checker that walks a
//! tenant's items, for the tests that race writers against each other. Given every id and
//! name a test ever used, it reads each partition, marker and index entry those can have
//! and reports each broken rule; it reads through the `Table` contract only, so it runs on
//! every backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::actor::Owner;
use super::directory::{Directory, Resource};
use super::members::query_all;
use super::records::Stored;
use super::tenant::TenantId;
use crate::store::keys::{self, COUNTER_SHARDS, Kind};
use crate::store::{Index, Query};
use std::collections::{BTreeMap, BTreeSet};

/// Everything a test may have written: ids of users and groups (live or deleted), names and
/// externalIds it used.
#[derive(Debug, Default, Clone)]
pub struct Universe {
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    pub user_names: BTreeSet<String>,
    pub group_names: BTreeSet<String>,
    pub external_ids: BTreeSet<String>,
    /// Ids (`keys::value_id`) of unique values of declared attributes written to users.
    pub user_values: BTreeSet<String>,
}

/// The broken invariants, as sentences; empty when the data is sound.
pub async fn check(dir: &Directory, t: &TenantId, u: &Universe) -> Vec<String> {
    let mut bad = Vec::new();
    let live_users = live(dir, t, Resource::User, &u.users, &mut bad).await;
    let live_groups = live(dir, t, Resource::Group, &u.groups, &mut bad).await;
    let table = dir.table.as_ref();
    let ts = t.as_str();
    // Every membership is held by both sides, between a live user and a live group; nothing
    // is left in the partition of a deleted record, and no change is left pending.
    for (res, ids, prefix) in
        [(Resource::User, &u.users, keys::GROUP_OF_PREFIX), (Resource::Group, &u.groups, keys::MEMBER_PREFIX)]
    {
        for id in ids {
            let items = query_all(table, keys::partition(ts, res.kind(), id), "").await.unwrap();
            let alive = match res {
                Resource::User => live_users.contains_key(id),
                Resource::Group => live_groups.contains_key(id),
            };
            for item in &items {
                let sk = item.key.sk.as_str();
                let Some(other) = sk.strip_prefix(prefix) else {
                    if !(alive && (sk == "USER" || sk == "GROUP")) {
                        bad.push(format!("{res:?} {id}: item {sk} left (record live: {alive})"));
                    }
                    continue;
                };
                let (user, group) = if res == Resource::User { (id.as_str(), other) } else { (other, id.as_str()) };
                if !alive || !live_users.contains_key(user) || !live_groups.contains_key(group) {
                    bad.push(format!("membership {group} ∋ {user} names a deleted record"));
                }
                let twin =
                    if res == Resource::User { keys::member(ts, group, user) } else { keys::group_of(ts, user, group) };
                if table.get(&twin).await.unwrap().is_none() {
                    bad.push(format!("membership {group} ∋ {user} is held by one side only"));
                }
            }
        }
    }
    // Every uniqueness marker points at a live record holding that name, and every live record
    // holds its marker.
    for (res, names, live) in
        [(Resource::User, &u.user_names, &live_users), (Resource::Group, &u.group_names, &live_groups)]
    {
        let mut holders = BTreeMap::new();
        for s in live.values() {
            let folded = keys::fold(s.unique_name(res.unique_attr()));
            if holders.insert(folded.clone(), s.id.clone()).is_some() {
                bad.push(format!("two {res:?}s share the name {folded}"));
            }
        }
        for name in names.iter().map(|n| keys::fold(n)).collect::<BTreeSet<_>>() {
            let marker = table.get(&keys::name_marker(ts, res.kind(), &name)).await.unwrap();
            let target = marker.map(|m| String::from_utf8(m.body).unwrap());
            if target.as_ref() != holders.get(&name) {
                bad.push(format!("{res:?} name marker {name}: points at {target:?}, held by {:?}", holders.get(&name)));
            }
        }
        // externalId entries point at live records with that externalId, and vice versa.
        for x in &u.external_ids {
            let entries = query_all(table, keys::external_id_partition(ts, res.kind(), x), "").await.unwrap();
            let listed: BTreeSet<String> = entries.into_iter().map(|i| i.key.sk).collect();
            let holding: BTreeSet<String> =
                live.values().filter(|s| s.external_id() == Some(x.as_str())).map(|s| s.id.clone()).collect();
            if listed != holding {
                bad.push(format!("{res:?} externalId {x}: index {listed:?}, records {holding:?}"));
            }
        }
        // Each owner's counters equal the number of its live records.
        for owner in Owner::ALL {
            let shards: Vec<_> =
                (0..COUNTER_SHARDS).map(|s| keys::counter_shard(ts, res.kind(), owner.name(), s)).collect();
            let counted: i64 = table.get_many(&shards).await.unwrap().iter().map(|i| i.count).sum();
            let mine = live.values().filter(|s| s.source.owner() == owner).count();
            if usize::try_from(counted).ok() != Some(mine) {
                bad.push(format!("{res:?} {} counter says {counted}, {mine} live", owner.name()));
            }
        }
    }
    // Every unique value marker points at the live record that lists it; every value a live
    // record lists has its marker; no two live records list one value.
    let mut holders: BTreeMap<&String, &String> = BTreeMap::new();
    for s in live_users.values() {
        for id in &s.unique {
            if let Some(other) = holders.insert(id, &s.id) {
                bad.push(format!("users {other} and {} both hold unique value {id}", s.id));
            }
        }
    }
    for id in u.user_values.iter().chain(holders.keys().copied()).collect::<BTreeSet<_>>() {
        let marker = table.get(&keys::value_marker(ts, Kind::User, id)).await.unwrap();
        let target = marker.map(|m| String::from_utf8(m.body).unwrap());
        if target.as_ref() != holders.get(id).copied() {
            bad.push(format!("unique value marker {id}: points at {target:?}, held by {:?}", holders.get(id)));
        }
    }
    bad.extend(super::invariants_log::check(dir, t, u, &live_users, &live_groups).await);
    let pending = table.query(&Query::new(Index::Gsi1, keys::pending_list(ts), "", 100)).await.unwrap();
    if !pending.items.is_empty() {
        bad.push(format!("{} changes left pending", pending.items.len()));
    }
    bad
}

/// The live records among `ids`, checking that the tenant's collection lists exactly them.
async fn live(
    dir: &Directory,
    t: &TenantId,
    res: Resource,
    ids: &BTreeSet<String>,
    bad: &mut Vec<String>,
) -> BTreeMap<String, Stored> {
    let mut out = BTreeMap::new();
    for id in ids {
        if let Ok(s) = dir.get(t, res, id).await {
            out.insert(id.clone(), s);
        }
    }
    // Each owner's collection lists exactly its live records.
    for owner in Owner::ALL {
        let listed = query_all_gsi(dir, t, res.kind(), owner).await;
        let known: BTreeSet<&String> = out.values().filter(|s| s.source.owner() == owner).map(|s| &s.id).collect();
        let listed_known: BTreeSet<&String> = listed.iter().filter(|id| ids.contains(*id)).collect();
        if known != listed_known {
            bad.push(format!("{res:?} {} collection lists {listed_known:?}, records {known:?}", owner.name()));
        }
    }
    out
}

async fn query_all_gsi(dir: &Directory, t: &TenantId, kind: Kind, owner: Owner) -> Vec<String> {
    let mut q = Query::new(Index::Gsi1, keys::collection(t.as_str(), kind, owner.name()), "", 1000);
    let mut ids = Vec::new();
    loop {
        let page = dir.table.query(&q).await.unwrap();
        ids.extend(page.items.into_iter().filter_map(|i| i.gsi1.map(|g| keys::listed_id(&g.sk).to_owned())));
        match page.next {
            Some(c) => q.after = Some(c),
            None => return ids,
        }
    }
}
