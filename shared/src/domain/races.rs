//! Writers racing on the same users and groups, for every backend (the embedded store's unit
//! tests, DynamoDB-on-moto in the AWS tests): renames against deletes, member additions against
//! user and group deletes, large PUTs against PATCHes of distinct members. After each round
//! the invariant checker walks the tenant's items.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::actor::{Actor, Caller};
use super::directory::{Directory, Resource};
use super::error::DomainError;
use super::invariants::{Universe, check};
use super::tenant::{Settings, TenantId};
use futures::future::join_all;
use serde_json::{Value, json};

/// What the races did, for the caller's assertions.
#[derive(Debug, Default)]
pub struct Report {
    /// Broken invariants, after each round.
    pub violations: Vec<String>,
    /// 503s answered to changes that commute (distinct member additions and removals).
    pub busy_commuting: usize,
    /// Requests answered with an error a client could not expect (anything but 404/409/412/503).
    pub unexpected: Vec<String>,
}

fn ops(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn refs(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

async fn user(dir: &Directory, t: &Caller, u: &mut Universe, name: &str) -> String {
    u.user_names.insert(name.to_owned());
    u.external_ids.insert(format!("x-{name}"));
    let body = json!({"userName": name, "externalId": format!("x-{name}"), "displayName": name});
    let s = dir.create(t, Resource::User, &body).await.unwrap();
    u.users.insert(s.id.clone());
    s.id
}

/// A SCIM writer of the tenant (the races are provisioning's).
fn caller(t: TenantId) -> Caller {
    Caller::new(t, Actor::Scim { token: "race".into() }, Settings::default(), crate::scim::schema::Schemas::builtin())
}

fn note(r: &mut Report, what: &str, result: Result<(), DomainError>, commuting: bool) {
    match result {
        Ok(()) | Err(DomainError::NotFound(_) | DomainError::Conflict(_) | DomainError::PreconditionFailed) => {}
        Err(DomainError::Busy) if commuting => r.busy_commuting += 1,
        Err(DomainError::Busy) => {}
        Err(e) => r.unexpected.push(format!("{what}: {e}")),
    }
}

/// Runs `rounds` rounds of races in a fresh tenant.
pub async fn run(dir: &Directory, rounds: usize) -> Report {
    let t = caller(TenantId::parse(&format!("race-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])).unwrap());
    let mut u = Universe::default();
    let mut r = Report::default();
    let mut pool = Vec::new();
    for i in 0..60 {
        pool.push(user(dir, &t, &mut u, &format!("pool{i}")).await);
    }
    for round in 0..rounds {
        let a = user(dir, &t, &mut u, &format!("a{round}")).await;
        let m = user(dir, &t, &mut u, &format!("m{round}")).await;
        let renamed = format!("r{round}");
        u.user_names.insert(renamed.clone());
        let gname = format!("g{round}");
        u.group_names.insert(gname.clone());
        let g =
            dir.create(&t, Resource::Group, &json!({"displayName": gname, "members": refs(&pool[..5])})).await.unwrap();
        u.groups.insert(g.id.clone());
        let patch = |id: String, res: Resource, body: Value| {
            let t = t.clone();
            async move { dir.patch(&t, res, &id, &body, None).await.map(|_| ()) }
        };
        let (first, second) = pool.split_at(30);
        let rename = ops(json!([{"op": "replace", "path": "userName", "value": renamed}]));
        let add_victims = ops(json!([{"op": "add", "path": "members", "value": refs(&[a.clone(), m.clone()])}]));
        let add_first = ops(json!([{"op": "add", "path": "members", "value": refs(&first[5..25])}]));
        let add_second = ops(json!([{"op": "add", "path": "members", "value": refs(&second[..20])}]));
        let remove = ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", pool[1])}]));
        let put_members = json!({"displayName": format!("g{round}"), "members": refs(&pool[10..55])});
        let (tg, gid) = (t.clone(), g.id.clone());
        let results = join_all([
            Box::pin(patch(a.clone(), Resource::User, rename)) as std::pin::Pin<Box<dyn Future<Output = _> + Send>>,
            Box::pin(async { dir.delete(&t, Resource::User, &a, None).await }),
            Box::pin(patch(g.id.clone(), Resource::Group, add_victims)),
            Box::pin(async { dir.delete(&t, Resource::User, &m, None).await }),
            Box::pin(patch(g.id.clone(), Resource::Group, add_first)),
            Box::pin(patch(g.id.clone(), Resource::Group, add_second)),
            Box::pin(patch(g.id.clone(), Resource::Group, remove)),
            Box::pin(async move { dir.replace(&tg, Resource::Group, &gid, &put_members, None).await.map(|_| ()) }),
        ])
        .await;
        let labels = ["rename", "delete", "add victims", "delete member", "add first", "add second", "remove", "put"];
        for (i, (label, result)) in labels.iter().zip(results).enumerate() {
            note(&mut r, label, result, matches!(i, 4..=6));
        }
        if round % 3 == 2 {
            // A group deleted while members are added to it.
            let add = ops(json!([{"op": "add", "path": "members", "value": refs(&pool[40..60])}]));
            let (del, added) =
                futures::join!(dir.delete(&t, Resource::Group, &g.id, None), patch(g.id.clone(), Resource::Group, add));
            note(&mut r, "delete group", del, false);
            note(&mut r, "add to deleted group", added, false);
        }
        // The names the race used are free again (the bug this guards: a marker left behind).
        for name in [format!("a{round}"), renamed.clone()] {
            let again = dir.create(&t, Resource::User, &json!({"userName": name})).await;
            match again {
                Ok(s) => {
                    u.users.insert(s.id.clone());
                    dir.delete(&t, Resource::User, &s.id, None).await.unwrap();
                }
                Err(e) => r.violations.push(format!("round {round}: {name} cannot be created again: {e}")),
            }
        }
        r.violations.extend(check(dir, &t.tenant, &u).await.into_iter().map(|v| format!("round {round}: {v}")));
    }
    r
}

/// `patches` concurrent PATCHes each adding `per` distinct members to one group: all must
/// succeed and every member must be there. Returns the failures.
pub async fn distinct_additions(dir: &Directory, patches: usize, per: usize) -> Vec<String> {
    let t = caller(TenantId::parse(&format!("adds-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])).unwrap());
    let mut u = Universe::default();
    let mut ids = Vec::new();
    for i in 0..patches * per {
        ids.push(user(dir, &t, &mut u, &format!("u{i}")).await);
    }
    u.group_names.insert("big".into());
    let g = dir.create(&t, Resource::Group, &json!({"displayName": "big"})).await.unwrap();
    u.groups.insert(g.id.clone());
    let results = join_all(ids.chunks(per).map(|chunk| {
        let body = ops(json!([{"op": "add", "path": "members", "value": refs(chunk)}]));
        let (t, gid) = (t.clone(), g.id.clone());
        async move { dir.patch(&t, Resource::Group, &gid, &body, None).await }
    }))
    .await;
    let mut bad: Vec<String> = results.into_iter().filter_map(|r| r.err()).map(|e| e.to_string()).collect();
    let members = dir.members(&t.tenant, &g.id).await.unwrap();
    if members.len() != ids.len() {
        bad.push(format!("{} members, {} added", members.len(), ids.len()));
    }
    bad.extend(check(dir, &t.tenant, &u).await);
    bad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::EmbeddedStore;
    use crate::store::{Item, Key, Page, Query, StoreError, Table, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that fails every transaction after the first `budget` (a crash, as far as the
    /// writer can tell), until the budget is raised again.
    struct Failing {
        inner: EmbeddedStore,
        budget: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Table for Failing {
        async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
            self.inner.get(key).await
        }
        async fn get_many(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
            self.inner.get_many(keys).await
        }
        async fn query(&self, q: &Query) -> Result<Page, StoreError> {
            self.inner.query(q).await
        }
        async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
            if self.budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1)).is_err() {
                return Err(StoreError::Backend("injected failure".into()));
            }
            self.inner.transact(writes).await
        }
    }

    #[tokio::test]
    async fn a_change_that_fails_midway_is_seen_whole_and_completed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Failing { inner: EmbeddedStore::open(dir.path()).unwrap(), budget: AtomicUsize::new(usize::MAX) });
        let directory = Directory::new(Arc::clone(&store) as Arc<dyn Table>);
        let t = caller(TenantId::parse("crash").unwrap());
        let mut u = Universe::default();
        let mut ids = Vec::new();
        for i in 0..120 {
            ids.push(user(&directory, &t, &mut u, &format!("u{i}")).await);
        }
        u.group_names.insert("g".into());
        let g = directory
            .create(&t, Resource::Group, &json!({"displayName": "g", "members": refs(&ids[..10])}))
            .await
            .unwrap();
        u.groups.insert(g.id.clone());
        // 120 members are several transactions: let the first (the commit) through, fail the rest.
        store.budget.store(1, Ordering::SeqCst);
        let put = json!({"displayName": "g", "members": refs(&ids[20..])});
        let failed = directory.replace(&t, Resource::Group, &g.id, &put, None).await.unwrap_err();
        assert!(matches!(failed, DomainError::Unfinished(_)), "{failed:?}");
        store.budget.store(usize::MAX, Ordering::SeqCst);
        // Readers see the committed change whole, though most of it is not written yet.
        let seen: Vec<String> =
            directory.members(&t.tenant, &g.id).await.unwrap().into_iter().map(|m| m.user_id).collect();
        let mut want = ids[20..].to_vec();
        want.sort();
        assert_eq!(seen, want);
        // The next write waits out the lease, completes the change, then applies its own.
        let started = std::time::Instant::now();
        let remove = ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[20])}]));
        directory.patch(&t, Resource::Group, &g.id, &remove, None).await.unwrap();
        assert!(started.elapsed() >= crate::domain::plan::LEASE - std::time::Duration::from_secs(1));
        assert_eq!(directory.members(&t.tenant, &g.id).await.unwrap().len(), 99);
        assert_eq!(check(&directory, &t.tenant, &u).await, Vec::<String>::new());

        // A user in many groups, deleted with the store failing after the commit: the repair pass
        // finishes the clean-up.
        let victim = &ids[30];
        for i in 0..60 {
            let name = format!("h{i}");
            u.group_names.insert(name.clone());
            let h = directory
                .create(
                    &t,
                    Resource::Group,
                    &json!({"displayName": name, "members": refs(std::slice::from_ref(victim))}),
                )
                .await
                .unwrap();
            u.groups.insert(h.id);
        }
        store.budget.store(1, Ordering::SeqCst);
        let failed = directory.delete(&t, Resource::User, victim, None).await.unwrap_err();
        assert!(matches!(failed, DomainError::Unfinished(_)), "{failed:?}");
        store.budget.store(usize::MAX, Ordering::SeqCst);
        assert!(directory.get(&t.tenant, Resource::User, victim).await.is_err());
        assert_eq!(directory.repair(&t.tenant, true).await.unwrap(), 1);
        assert_eq!(check(&directory, &t.tenant, &u).await, Vec::<String>::new());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_writers_keep_the_invariants_on_redb() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
        let report = run(&directory, 20).await;
        assert!(report.violations.is_empty(), "{:#?}", report.violations);
        assert!(report.unexpected.is_empty(), "{:#?}", report.unexpected);
        assert_eq!(report.busy_commuting, 0);
        assert_eq!(distinct_additions(&directory, 20, 50).await, Vec::<String>::new());
    }
}
