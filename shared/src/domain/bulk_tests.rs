#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::super::activity::LogQuery;
use super::super::actor::{Actor, Caller};
use super::super::directory::{Directory, Resource};
use super::super::error::DomainError;
use super::super::indexes::unique_values;
use super::super::invariants::{Universe, check};
use super::super::tenant::{Settings, TenantId};
use crate::scim::resource::normalize;
use crate::scim::schema::{Registry, Schemas};
use crate::store::embedded::EmbeddedStore;
use serde_json::{Value, json};
use std::sync::Arc;

/// 70 new users (with emails: two entries each; with a unique alias each), one whose name
/// another already holds (`U3`), one invalid, one whose alias another holds, one named like a
/// manual record (claimed).
fn bodies() -> Vec<Value> {
    let mut out: Vec<Value> = (0..70)
        .map(|i| {
            json!({"userName": format!("u{i}"), "externalId": format!("x-{i}"), "displayName": format!("User {i}"),
                   "emails": [{"value": format!("u{i}@example.com")}],
                   "aliases": [{"type": "email", "value": format!("a{i}@x")}]})
        })
        .collect();
    out.push(json!({"userName": "U3", "externalId": "x-dup"}));
    out.push(json!({"displayName": "no userName"}));
    out.push(json!({"userName": "alias-dup", "aliases": [{"type": "email", "value": "A5@x"}]}));
    out.push(json!({"userName": "manual", "externalId": "x-manual"}));
    out
}

fn kind(r: &Result<String, DomainError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(DomainError::Conflict(_)) => "conflict",
        Err(DomainError::Scim(_)) => "invalid",
        Err(_) => "other",
    }
}

/// Fills a fresh tenant, one create at a time or in bulk; its results, manual record and universe.
async fn fill(dir: &Directory, tenant: &str, bulk: bool) -> (Vec<&'static str>, String, Universe, Caller) {
    let t = TenantId::parse(tenant).unwrap();
    let settings =
        Settings { send_enrollment_email: true, include_manually_provisioned_users: true, ..Settings::default() };
    let doc = json!({"attributes": [crate::domain::declared_checks::aliases()]});
    let schemas = Schemas::of(&Registry::default().apply(&doc).unwrap()).unwrap();
    let vendor = Caller::new(t.clone(), Actor::Admin { principal: "ops".into() }, settings, Arc::clone(&schemas));
    let manual = dir.create(&vendor, Resource::User, &json!({"userName": "manual"})).await.unwrap();
    let c = Caller::new(t, Actor::Scim { token: "tok".into() }, settings, schemas);
    let bodies = bodies();
    let results = if bulk {
        let refs: Vec<&Value> = bodies.iter().collect();
        dir.create_many(&c, Resource::User, &refs, 4).await.unwrap()
    } else {
        let mut out = Vec::new();
        for b in &bodies {
            out.push(dir.create(&c, Resource::User, b).await.map(|s| s.id));
        }
        out
    };
    let mut u = Universe::default();
    u.users.insert(manual.id.clone());
    for (b, r) in bodies.iter().zip(&results) {
        u.user_names.extend(b["userName"].as_str().map(str::to_owned));
        u.external_ids.extend(b["externalId"].as_str().map(str::to_owned));
        if let Ok(attrs) = normalize(b, c.rt(Resource::User)) {
            u.user_values.extend(unique_values(c.rt(Resource::User), &attrs).into_iter().map(|v| v.id));
        }
        if let Ok(id) = r {
            u.users.insert(id.clone());
        }
    }
    if bulk {
        assert_eq!(*results.last().unwrap().as_ref().unwrap(), manual.id, "the manual record is claimed");
    }
    (results.iter().map(kind).collect(), manual.id, u, c)
}

async fn log_types(dir: &Directory, t: &TenantId) -> Vec<String> {
    let page = dir.activity(t, &LogQuery { limit: 1000, ..LogQuery::default() }).await.unwrap();
    assert!(page.next.is_none());
    let mut types: Vec<String> = page.entries.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    types.sort();
    types
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_create_writes_what_one_create_at_a_time_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Directory::new(Arc::new(EmbeddedStore::open(tmp.path()).unwrap()));
    let (one, _, one_u, one_c) = fill(&dir, "one-by-one", false).await;
    let (many, _, many_u, many_c) = fill(&dir, "in-bulk", true).await;
    assert_eq!(many, one);
    assert_eq!(many.iter().filter(|k| **k == "ok").count(), 71);
    assert_eq!((many[70], many[71], many[72]), ("conflict", "invalid", "conflict"));
    assert_eq!(check(&dir, &one_c.tenant, &one_u).await, Vec::<String>::new());
    assert_eq!(check(&dir, &many_c.tenant, &many_u).await, Vec::<String>::new());
    // The same entries: created and enrollment_requested per new user, claimed for the manual one.
    let types = log_types(&dir, &many_c.tenant).await;
    assert_eq!(types, log_types(&dir, &one_c.tenant).await);
    assert_eq!(types.iter().filter(|t| t.as_str() == "inlet.user.enrollment_requested").count(), 70);
    // Listed, counted and found by name like any user.
    let listed = dir.all(&many_c, Resource::User).await.unwrap();
    assert_eq!(listed.len(), 71);
}
