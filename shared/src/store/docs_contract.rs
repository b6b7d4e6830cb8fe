//! The document contract as executable checks, run against every backend: files, the
//! single table (embedded and DynamoDB) and Secrets Manager (on moto). Each run uses
//! fresh names, so runs can share a table or an account.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::StoreError;
use super::docs::{Catalog, Documents, Expect};
use futures::future::join_all;

fn fresh(name: &str) -> String {
    format!("c{}-{name}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn failed<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::ConditionFailed { .. }))
}

/// Every check but listing.
pub async fn run_all(d: &dyn Documents) {
    let name = fresh("a");
    assert_eq!(d.get(&name).await.unwrap(), None);
    assert!(failed(d.put(&name, b"v0", Expect::Tag("1".into())).await), "a tag never matches a missing document");
    d.put(&name, b"v1", Expect::Absent).await.unwrap();
    assert!(failed(d.put(&name, b"again", Expect::Absent).await), "create is exclusive");
    let first = d.get(&name).await.unwrap().unwrap();
    assert_eq!((first.name.as_str(), first.body.as_slice()), (name.as_str(), b"v1".as_slice()));

    d.put(&name, b"v2", Expect::Tag(first.tag.clone())).await.unwrap();
    assert!(failed(d.put(&name, b"stale", Expect::Tag(first.tag.clone())).await), "a stale tag loses");
    let second = d.get(&name).await.unwrap().unwrap();
    assert_eq!(second.body, b"v2");
    assert_ne!(second.tag, first.tag);

    d.put(&name, b"v3", Expect::Any).await.unwrap();
    let third = d.get(&name).await.unwrap().unwrap();
    assert_eq!(third.body, b"v3");
    assert_ne!(third.tag, second.tag, "an unconditional write still changes the tag");
    let other = fresh("b");
    d.put(&other, b"x", Expect::Any).await.unwrap();
    assert_eq!(d.get(&other).await.unwrap().unwrap().body, b"x");

    assert!(matches!(d.get("../escape").await, Err(StoreError::Invalid(_))));
    assert!(matches!(d.put("a/b", b"x", Expect::Any).await, Err(StoreError::Invalid(_))));
    concurrent_writers_from_one_read_admit_one(d).await;
}

/// Read-modify-write from the same version: exactly one writer wins, nothing is merged.
async fn concurrent_writers_from_one_read_admit_one(d: &dyn Documents) {
    let name = fresh("race");
    d.put(&name, b"0", Expect::Absent).await.unwrap();
    let tag = d.get(&name).await.unwrap().unwrap().tag;
    let bodies: Vec<String> = (1..=4).map(|i| i.to_string()).collect();
    let results = join_all(bodies.iter().map(|b| d.put(&name, b.as_bytes(), Expect::Tag(tag.clone())))).await;
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(StoreError::ConditionFailed { .. }))));
    assert_eq!(d.get(&name).await.unwrap().unwrap().body, bodies[winners[0]].as_bytes());
}

/// Listing returns every document in name order.
pub async fn run_listing(c: &dyn Catalog) {
    let before = c.list().await.unwrap().len();
    let mut names: Vec<String> = (0..3).map(|i| fresh(&format!("l{i}"))).collect();
    for n in &names {
        c.put(n, n.as_bytes(), Expect::Absent).await.unwrap();
    }
    let listed = c.list().await.unwrap();
    assert_eq!(listed.len(), before + 3);
    let mine: Vec<&str> = listed.iter().filter(|d| names.contains(&d.name)).map(|d| d.name.as_str()).collect();
    names.sort();
    assert_eq!(mine, names.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(listed.iter().all(|d| d.body == d.name.as_bytes() || !names.contains(&d.name)));
    assert!(listed.windows(2).all(|w| w[0].name < w[1].name));
}
