//! `inlet-bench --events`, part 1: what the activity log adds to each SCIM operation's store
//! traffic. Each operation runs through the SCIM request path over a sizing
//! [`Counted`] embedded store, and its writes are split into the directory's own and the
//! activity entries (`keys::is_activity`), with DynamoDB's units for each ([`crate::units`]).

use crate::counted::{ACTIVITY, Counted, Tally};
use crate::inproc::{Scim, okta_user};
use http::Method;
use inlet_shared::domain::tenant::Tenants;
use inlet_shared::startup::Services;
use inlet_shared::store::Table;
use inlet_shared::store::docs::Documents;
use inlet_shared::store::embedded::EmbeddedStore;
use inlet_shared::store::files::FileDocs;
use serde_json::{Value, json};
use std::sync::Arc;

/// DynamoDB on-demand, us-east-1, per million write request units (since 1 Nov 2024).
pub const USD_PER_MILLION_WRU: f64 = 0.625;
/// EventBridge custom events, per million (PutEvents, 64 KB chunks).
pub const USD_PER_MILLION_EVENTS: f64 = 1.0;

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One operation's figures, per request.
struct Row {
    name: &'static str,
    n: usize,
    t: Tally,
}

impl Row {
    fn per(&self, v: u64) -> f64 {
        v as f64 / self.n as f64
    }

    fn print(&self) {
        let t = &self.t;
        let but = t.classes_but(&[ACTIVITY]);
        let (dir, log) = (t.wru_of(&but), t.wru_of(&[ACTIVITY]));
        let entries = t.writes_of(&[ACTIVITY]);
        let entry_bytes = t.put_bytes.get(ACTIVITY).copied().unwrap_or(0);
        let added = self.per(log.total()) * USD_PER_MILLION_WRU + self.per(t.events) * USD_PER_MILLION_EVENTS;
        println!(
            "  {:<24} {:>5.1} {:>4.1} {:>4.1} {:>6.1} {:>5.1} {:>6.1} {:>6.1} {:>6.1} {:>4.1} {:>6.0} {:>6.2}",
            self.name,
            self.per(t.reads()),
            self.per(t.transactions),
            self.per(t.checks),
            self.per(t.writes_of(&but)),
            self.per(entries),
            self.per(dir.total()),
            self.per(dir.total() + log.total()),
            self.per(log.index),
            self.per(t.events),
            if entries == 0 { 0.0 } else { entry_bytes as f64 / entries as f64 },
            added,
        );
    }
}

/// Runs `n` requests, each made by `call(i)`, and returns what they cost.
async fn measure<F, Fut>(store: &Counted<EmbeddedStore>, name: &'static str, n: usize, call: F) -> Result<Row, String>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    store.take();
    for i in 0..n {
        call(i).await?;
    }
    Ok(Row { name, n, t: store.take() })
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

pub async fn run(n: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary data directory: {e}"))?;
    let store = Arc::new(Counted::sizing(EmbeddedStore::open(dir.path()).map_err(text)?));
    let table: Arc<dyn Table> = store.clone();
    // The registry and token records in the table, as on DynamoDB.
    let secrets: Arc<dyn Documents> = Arc::new(FileDocs::open(&dir.path().join("secrets"), true).map_err(text)?);
    let okta: Arc<dyn Documents> = Arc::new(FileDocs::open(&dir.path().join("okta-secrets"), true).map_err(text)?);
    let services = Services::on_table(Arc::clone(&table), Tenants::on_table(table, secrets), okta);
    let scim = Scim::start(&services, "bench").await?;
    // Warm the token cache, so the figures are the operations' own.
    scim.send(Method::GET, "/Users?count=1", None).await?;
    let groups = 20;
    let group_ids: Vec<String> = {
        let mut ids = Vec::new();
        for g in 0..groups {
            ids.push(scim.create("/Groups", &json!({"displayName": format!("team-{g}")})).await?);
        }
        ids
    };

    let users = std::sync::Mutex::new(Vec::with_capacity(n));
    let mut rows = Vec::new();
    rows.push(
        measure(&store, "create user (Okta, 1 KB)", n, |i| {
            let (scim, users) = (scim.clone(), &users);
            async move {
                let id = scim.create("/Users", &okta_user(i)).await?;
                users.lock().map_err(text)?.push(id);
                Ok(())
            }
        })
        .await?,
    );
    let ids: Vec<String> = users.lock().map_err(text)?.clone();
    let id = |i: usize| ids.get(i % ids.len().max(1)).cloned().ok_or_else(|| "no users".to_owned());
    let gid = |i: usize| group_ids.get(i % groups).cloned().ok_or_else(|| "no groups".to_owned());
    rows.push(
        measure(&store, "replace user (PUT)", n, |i| {
            let scim = scim.clone();
            async move {
                let mut body = okta_user(i);
                let user = body.as_object_mut().ok_or("the user body is not an object")?;
                user.insert("title".into(), json!("Lead Analytical Engineer"));
                scim.send(Method::PUT, &format!("/Users/{}", id(i)?), Some(&body)).await.map(drop)
            }
        })
        .await?,
    );
    rows.push(
        measure(&store, "PATCH user active:false", n, |i| {
            let scim = scim.clone();
            async move {
                let body = patch(json!([{"op": "replace", "value": {"active": false}}]));
                scim.send(Method::PATCH, &format!("/Users/{}", id(i)?), Some(&body)).await.map(drop)
            }
        })
        .await?,
    );
    rows.push(
        measure(&store, "PATCH group +1 member", n, |i| {
            let scim = scim.clone();
            async move {
                let body = patch(json!([{"op": "add", "path": "members", "value": [{"value": id(i)?}]}]));
                scim.send(Method::PATCH, &format!("/Groups/{}", gid(i)?), Some(&body)).await.map(drop)
            }
        })
        .await?,
    );
    rows.push(
        measure(&store, "PATCH group -1 member", n, |i| {
            let scim = scim.clone();
            async move {
                let path = format!("members[value eq \"{}\"]", id(i)?);
                let body = patch(json!([{"op": "remove", "path": path}]));
                scim.send(Method::PATCH, &format!("/Groups/{}", gid(i)?), Some(&body)).await.map(drop)
            }
        })
        .await?,
    );
    rows.push(
        measure(&store, "create group, 5 members", n, |i| {
            let scim = scim.clone();
            async move {
                let members: Result<Vec<Value>, String> =
                    (0..5).map(|k| id(i * 5 + k).map(|m| json!({"value": m}))).collect();
                let body = json!({"displayName": format!("squad-{i}"), "members": members?});
                scim.create("/Groups", &body).await.map(drop)
            }
        })
        .await?,
    );
    rows.push(
        measure(&store, "delete user", n, |i| {
            let scim = scim.clone();
            async move { scim.send(Method::DELETE, &format!("/Users/{}", id(i)?), None).await.map(drop) }
        })
        .await?,
    );

    println!("== store cost per SCIM operation ({n} each, through the SCIM request path, embedded store counted)");
    println!(
        "  {:<24} {:>5} {:>4} {:>4} {:>6} {:>5} {:>6} {:>6} {:>6} {:>4} {:>6} {:>6}",
        "per request", "reads", "txns", "chks", "items", "+log", "WRU", "+log", "(idx)", "evts", "B/ent", "+$/M"
    );
    for row in &rows {
        row.print();
    }
    println!(
        "  items: directory items written; +log: activity entries. WRU: DynamoDB write units without the log, \
         then with it; (idx) of the log's, its GSI1 writes. evts: events published. B/ent: bytes per entry. \
         +$/M: added cost per million requests: the log's WRU at ${USD_PER_MILLION_WRU}/M (on-demand, us-east-1) \
         + ${USD_PER_MILLION_EVENTS}/M EventBridge events"
    );
    Ok(())
}
