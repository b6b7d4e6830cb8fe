//! The storage contract as executable checks, run against every backend (the
//! embedded store in its unit tests, DynamoDB-on-moto in the AWS tests). Each run
//! uses fresh keys, so it can share a table with other runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use futures::future::join_all;

fn item(pk: &str, sk: &str, version: u64, body: &str) -> Item {
    Item { key: Key::new(pk, sk), gsi1: None, version, count: 0, body: body.as_bytes().to_vec(), expires: None }
}

fn put(item: Item, cond: Condition) -> Write {
    Write::Put { item, cond }
}

/// Runs every contract check against `table`.
pub async fn run_all(table: &dyn Table) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let p = |name: &str| format!("C#{run}#{name}");
    put_get_and_conditions(table, &p("a")).await;
    transactions_are_all_or_nothing(table, &p("b")).await;
    transaction_limits(table, &p("c")).await;
    queries_page_in_order(table, &p("d")).await;
    gsi_follows_puts_and_deletes(table, &p("e")).await;
    counters_add_atomically(table, &p("f")).await;
    get_many_returns_what_exists(table, &p("g")).await;
    concurrent_unique_inserts_admit_one(table, &p("h")).await;
    sequences_stop_at_the_first_failure(table, &p("i"), false).await;
    sequences_stop_at_the_first_failure(table, &p("m"), true).await;
    touches_raise_the_version_only(table, &p("j")).await;
    expiry_round_trips(table, &p("k")).await;
    queries_run_newest_first_and_in_ranges(table, &p("l")).await;
}

async fn expiry_round_trips(t: &dyn Table, pk: &str) {
    // Removal is lazy in both backends: an item past its expiry is still read back, and
    // readers compare `expires` with the time themselves.
    let past =
        Item { expires: Some(1_000_000_000), gsi1: Some(Key::new(format!("{pk}#IDX"), "p")), ..item(pk, "P", 1, "p") };
    let future = Item { expires: Some(4_000_000_000), ..item(pk, "F", 1, "f") };
    t.transact(vec![put(past.clone(), Condition::NotExists), put(future.clone(), Condition::NotExists)]).await.unwrap();
    assert_eq!(t.get(&past.key).await.unwrap().unwrap(), past);
    assert_eq!(t.get(&future.key).await.unwrap().unwrap().expires, Some(4_000_000_000));
    let mut many: Vec<Option<i64>> =
        t.get_many(&[past.key.clone(), future.key.clone()]).await.unwrap().into_iter().map(|i| i.expires).collect();
    many.sort();
    assert_eq!(many, vec![Some(1_000_000_000), Some(4_000_000_000)]);
    let listed = t.query(&Query::new(Index::Gsi1, format!("{pk}#IDX"), "", 10)).await.unwrap();
    assert_eq!(listed.items.iter().map(|i| i.expires).collect::<Vec<_>>(), vec![Some(1_000_000_000)]);
    // A counter or a touch keeps the expiry; a put without one clears it.
    t.transact(vec![Write::Add { key: future.key.clone(), delta: 2 }]).await.unwrap();
    t.transact(vec![Write::Touch { key: past.key.clone(), cond: Condition::Version(1) }]).await.unwrap();
    assert_eq!(t.get(&future.key).await.unwrap().unwrap().expires, Some(4_000_000_000));
    assert_eq!(t.get(&past.key).await.unwrap().unwrap().expires, Some(1_000_000_000));
    t.transact(vec![put(item(pk, "F", 2, "f2"), Condition::Version(1))]).await.unwrap();
    assert_eq!(t.get(&future.key).await.unwrap().unwrap().expires, None);
}

async fn queries_run_newest_first_and_in_ranges(t: &dyn Table, pk: &str) {
    let gpk = format!("{pk}#IDX");
    let sk = |i: usize| format!("S#{i:02}");
    let writes = (0..30)
        .map(|i| put(Item { gsi1: Some(Key::new(&gpk, sk(i))), ..item(pk, &sk(i), 1, "") }, Condition::None))
        .chain([put(item(pk, "A", 1, ""), Condition::None), put(item(pk, "T", 1, ""), Condition::None)])
        .collect();
    t.transact(writes).await.unwrap();
    let all = |q: Query| async move {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = t.query(&Query { after: after.clone(), ..q.clone() }).await.unwrap();
            assert!(page.items.len() <= q.limit);
            seen.extend(page.items.into_iter().map(|i| i.key.sk));
            match page.next {
                Some(c) => after = Some(c),
                None => return seen,
            }
        }
    };
    let down: Vec<String> = (0..30).rev().map(sk).collect();
    for index in [Index::Table, Index::Gsi1] {
        let pk = if index == Index::Table { pk.to_owned() } else { gpk.clone() };
        // Newest first, paged by cursor.
        let newest = Query { reverse: true, ..Query::new(index, &pk, "S#", 7) };
        assert_eq!(all(newest.clone()).await, down, "{index:?}");
        // `skip` counts from the top; a page after it goes on downwards.
        let page = t.query(&Query { skip: 5, ..newest.clone() }).await.unwrap();
        assert_eq!(page.items.iter().map(|i| i.key.sk.clone()).collect::<Vec<_>>(), down[5..12].to_vec());
        let next = t.query(&Query { after: page.next, ..newest.clone() }).await.unwrap();
        assert_eq!(next.items.first().map(|i| i.key.sk.clone()), Some(down[12].clone()));
        // Both bounds are inclusive, in either direction.
        let range = Query { between: Some((sk(3), sk(17))), ..Query::new(index, &pk, "", 4) };
        assert_eq!(all(range.clone()).await, (3..=17).map(sk).collect::<Vec<_>>(), "{index:?}");
        assert_eq!(all(Query { reverse: true, ..range.clone() }).await, (3..=17).rev().map(sk).collect::<Vec<_>>());
        let page = t.query(&Query { skip: 2, reverse: true, ..range.clone() }).await.unwrap();
        assert_eq!(
            page.items.iter().map(|i| i.key.sk.clone()).collect::<Vec<_>>(),
            vec![sk(15), sk(14), sk(13), sk(12)]
        );
        // Bounds need not be keys that exist; an empty range finds nothing.
        let loose = Query { between: Some(("S#05x".into(), "S#08".into())), ..Query::new(index, &pk, "", 10) };
        assert_eq!(all(loose).await, vec![sk(6), sk(7), sk(8)]);
        let none = Query { between: Some(("S#05x".into(), "S#05y".into())), ..Query::new(index, &pk, "", 10) };
        assert!(t.query(&none).await.unwrap().items.is_empty());
        // A range and a prefix together, or a range upside down, are refused.
        let both = Query { between: Some((sk(1), sk(2))), ..Query::new(index, &pk, "S#", 10) };
        assert!(matches!(t.query(&both).await, Err(StoreError::Invalid(_))));
        let upside_down = Query { between: Some((sk(2), sk(1))), ..Query::new(index, &pk, "", 10) };
        assert!(matches!(t.query(&upside_down).await, Err(StoreError::Invalid(_))));
    }
    // Without a prefix a reverse query sees the whole partition, newest first.
    let whole = all(Query { reverse: true, ..Query::new(Index::Table, pk, "", 50) }).await;
    assert_eq!(whole.first().map(String::as_str), Some("T"));
    assert_eq!(whole.last().map(String::as_str), Some("A"));
    assert_eq!(whole.len(), 32);
}

async fn touches_raise_the_version_only(t: &dyn Table, pk: &str) {
    let key = Key::new(pk, "R");
    let touch = |cond| Write::Touch { key: key.clone(), cond };
    // A missing item is never created by a touch, whatever the condition.
    for cond in [Condition::None, Condition::Exists, Condition::Version(0)] {
        let err = t.transact(vec![touch(cond)]).await.unwrap_err();
        assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
    }
    assert_eq!(t.get(&key).await.unwrap(), None);
    assert!(matches!(t.transact(vec![touch(Condition::NotExists)]).await, Err(StoreError::Invalid(_))));
    let indexed = Item { gsi1: Some(Key::new(format!("{pk}#IDX"), "r")), ..item(pk, "R", 3, "body") };
    t.transact(vec![put(indexed, Condition::NotExists)]).await.unwrap();
    t.transact(vec![touch(Condition::Exists)]).await.unwrap();
    let err = t.transact(vec![touch(Condition::Version(3))]).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }));
    t.transact(vec![touch(Condition::Version(4))]).await.unwrap();
    let got = t.get(&key).await.unwrap().unwrap();
    assert_eq!((got.version, got.body.as_slice()), (5, b"body".as_slice()));
    let listed = t.query(&Query::new(Index::Gsi1, format!("{pk}#IDX"), "", 10)).await.unwrap();
    assert_eq!(listed.items.iter().map(|i| i.version).collect::<Vec<_>>(), vec![5]);
    // A writer conditioned on the version it read loses to a touch in between.
    let err = t.transact(vec![put(item(pk, "R", 5, "stale"), Condition::Version(4))]).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }));
    // Concurrent touches all apply.
    let touches = (0..10).map(|_| t.transact(vec![Write::Touch { key: key.clone(), cond: Condition::Exists }]));
    for r in join_all(touches).await {
        r.unwrap();
    }
    assert_eq!(t.get(&key).await.unwrap().unwrap().version, 15);
}

/// Deferred sequences (`deferred`) are sequences like the others, durable or not.
async fn sequences_stop_at_the_first_failure(t: &dyn Table, pk: &str, deferred: bool) {
    let seq = |txs: Vec<Vec<Write>>| async move {
        if deferred { t.transact_seq_deferred(txs).await } else { t.transact_seq(txs).await }
    };
    t.transact(vec![put(item(pk, "taken", 1, ""), Condition::None)]).await.unwrap();
    let (applied, result) = seq(vec![
        vec![put(item(pk, "one", 1, ""), Condition::NotExists)],
        vec![put(item(pk, "two", 1, ""), Condition::None), put(item(pk, "taken", 2, ""), Condition::NotExists)],
        vec![put(item(pk, "three", 1, ""), Condition::None)],
    ])
    .await;
    assert_eq!(applied, 1);
    assert!(matches!(result, Err(StoreError::ConditionFailed { index: 1 })), "{result:?}");
    assert!(t.get(&Key::new(pk, "one")).await.unwrap().is_some());
    assert!(t.get(&Key::new(pk, "two")).await.unwrap().is_none());
    assert!(t.get(&Key::new(pk, "three")).await.unwrap().is_none());
    let (applied, result) = seq(vec![vec![put(item(pk, "four", 1, ""), Condition::None)]; 1]).await;
    assert_eq!((applied, result.is_ok()), (1, true));
}

async fn put_get_and_conditions(t: &dyn Table, pk: &str) {
    let key = Key::new(pk, "X");
    assert_eq!(t.get(&key).await.unwrap(), None);
    t.transact(vec![put(item(pk, "X", 1, "one"), Condition::NotExists)]).await.unwrap();
    assert_eq!(t.get(&key).await.unwrap().unwrap().body, b"one");
    let err = t.transact(vec![put(item(pk, "X", 2, "dup"), Condition::NotExists)]).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
    let err = t.transact(vec![put(item(pk, "X", 2, "stale"), Condition::Version(7))]).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }));
    t.transact(vec![put(item(pk, "X", 2, "two"), Condition::Version(1))]).await.unwrap();
    let got = t.get(&key).await.unwrap().unwrap();
    assert_eq!((got.version, got.body.as_slice()), (2, b"two".as_slice()));
    let err =
        t.transact(vec![Write::Delete { key: Key::new(pk, "missing"), cond: Condition::Exists }]).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 0 }));
    t.transact(vec![Write::Delete { key: key.clone(), cond: Condition::Version(2) }]).await.unwrap();
    assert_eq!(t.get(&key).await.unwrap(), None);
}

async fn transactions_are_all_or_nothing(t: &dyn Table, pk: &str) {
    t.transact(vec![put(item(pk, "taken", 1, "x"), Condition::None)]).await.unwrap();
    let err = t
        .transact(vec![
            put(item(pk, "new1", 1, "a"), Condition::NotExists),
            Write::Add { key: Key::new(pk, "n"), delta: 1 },
            put(item(pk, "taken", 1, "b"), Condition::NotExists),
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 2 }), "{err:?}");
    assert_eq!(t.get(&Key::new(pk, "new1")).await.unwrap(), None);
    assert_eq!(t.get(&Key::new(pk, "n")).await.unwrap(), None);
    assert_eq!(t.get(&Key::new(pk, "taken")).await.unwrap().unwrap().body, b"x");
    // A failed check writes nothing either.
    let err = t
        .transact(vec![
            put(item(pk, "new2", 1, "a"), Condition::None),
            Write::Check { key: Key::new(pk, "absent"), cond: Condition::Exists },
        ])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 1 }));
    assert_eq!(t.get(&Key::new(pk, "new2")).await.unwrap(), None);
}

async fn transaction_limits(t: &dyn Table, pk: &str) {
    let too_many: Vec<Write> =
        (0..=MAX_TRANSACTION_WRITES).map(|i| put(item(pk, &format!("{i:03}"), 1, ""), Condition::None)).collect();
    assert!(matches!(t.transact(too_many).await, Err(StoreError::Invalid(_))));
    let twice = vec![
        put(item(pk, "k", 1, ""), Condition::None),
        Write::Delete { key: Key::new(pk, "k"), cond: Condition::None },
    ];
    assert!(matches!(t.transact(twice).await, Err(StoreError::Invalid(_))));
    assert!(matches!(t.transact(Vec::new()).await, Err(StoreError::Invalid(_))));
    let full: Vec<Write> =
        (0..MAX_TRANSACTION_WRITES).map(|i| put(item(pk, &format!("{i:03}"), 1, ""), Condition::None)).collect();
    t.transact(full).await.unwrap();
}

async fn queries_page_in_order(t: &dyn Table, pk: &str) {
    for chunk in (0..250).collect::<Vec<_>>().chunks(100) {
        let writes = chunk.iter().map(|i| put(item(pk, &format!("M#{i:04}"), 1, ""), Condition::None)).collect();
        t.transact(writes).await.unwrap();
    }
    t.transact(vec![put(item(pk, "GROUP", 1, ""), Condition::None)]).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = t.query(&Query { after: after.clone(), ..Query::new(Index::Table, pk, "M#", 60) }).await.unwrap();
        assert!(page.items.len() <= 60);
        seen.extend(page.items.into_iter().map(|i| i.key.sk));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let want: Vec<String> = (0..250).map(|i| format!("M#{i:04}")).collect();
    assert_eq!(seen, want);
    // `skip` passes over matching items; a page after it continues in order.
    let q = Query { skip: 100, ..Query::new(Index::Table, pk, "M#", 10) };
    let page = t.query(&q).await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.key.sk.clone()).collect::<Vec<_>>(), want[100..110].to_vec());
    let next = t.query(&Query { after: page.next, skip: 0, ..q.clone() }).await.unwrap();
    assert_eq!(next.items.first().map(|i| i.key.sk.clone()), Some(want[110].clone()));
    let beyond = t.query(&Query { skip: 1000, ..q }).await.unwrap();
    assert!(beyond.items.is_empty() && beyond.next.is_none());
    let empty = t.query(&Query::new(Index::Table, format!("{pk}-none"), "", 10)).await.unwrap();
    assert!(empty.items.is_empty() && empty.next.is_none());
}

async fn gsi_follows_puts_and_deletes(t: &dyn Table, pk: &str) {
    let gpk = format!("{pk}#IDX");
    let indexed = |id: &str, v: u64| Item { gsi1: Some(Key::new(&gpk, id)), ..item(&format!("{pk}#{id}"), "R", v, id) };
    t.transact(vec![
        put(indexed("b", 1), Condition::None),
        put(indexed("a", 1), Condition::None),
        put(indexed("c", 1), Condition::None),
    ])
    .await
    .unwrap();
    let q = Query::new(Index::Gsi1, gpk.clone(), "", 2);
    let first = t.query(&q).await.unwrap();
    assert_eq!(first.items.iter().map(|i| i.body.clone()).collect::<Vec<_>>(), vec![b"a".to_vec(), b"b".to_vec()]);
    let rest = t.query(&Query { after: first.next.clone(), ..q.clone() }).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].body, b"c");
    // Moving an item out of the index and deleting another both drop their entries.
    let moved = Item { gsi1: None, ..indexed("a", 2) };
    t.transact(vec![
        put(moved, Condition::Version(1)),
        Write::Delete { key: Key::new(format!("{pk}#b"), "R"), cond: Condition::None },
    ])
    .await
    .unwrap();
    let all = t.query(&Query { limit: 10, ..q }).await.unwrap();
    assert_eq!(all.items.iter().map(|i| i.key.pk.clone()).collect::<Vec<_>>(), vec![format!("{pk}#c")]);
}

async fn counters_add_atomically(t: &dyn Table, pk: &str) {
    let key = Key::new(pk, "COUNT");
    let adds = (0..20).map(|_| t.transact(vec![Write::Add { key: key.clone(), delta: 1 }]));
    for r in join_all(adds).await {
        r.unwrap();
    }
    t.transact(vec![Write::Add { key: key.clone(), delta: -5 }]).await.unwrap();
    assert_eq!(t.get(&key).await.unwrap().unwrap().count, 15);
}

async fn get_many_returns_what_exists(t: &dyn Table, pk: &str) {
    t.transact(vec![put(item(pk, "1", 1, "one"), Condition::None), put(item(pk, "3", 1, "three"), Condition::None)])
        .await
        .unwrap();
    let keys: Vec<Key> = ["1", "2", "3"].iter().map(|s| Key::new(pk, *s)).collect();
    let mut got: Vec<String> = t.get_many(&keys).await.unwrap().into_iter().map(|i| i.key.sk).collect();
    got.sort();
    assert_eq!(got, vec!["1", "3"]);
    assert!(t.get_many(&[]).await.unwrap().is_empty());
}

async fn concurrent_unique_inserts_admit_one(t: &dyn Table, pk: &str) {
    let attempts = (0..10).map(|i| t.transact(vec![put(item(pk, "UNIQUE", 1, &i.to_string()), Condition::NotExists)]));
    let results = join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, StoreError::ConditionFailed { .. })));
}
