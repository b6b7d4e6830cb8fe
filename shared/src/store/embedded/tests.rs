use super::*;
use crate::store::Condition;

#[tokio::test]
async fn passes_the_storage_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    crate::store::contract::run_all(&store).await;
}

#[tokio::test]
async fn table_documents_pass_the_document_contract() {
    let dir = tempfile::tempdir().unwrap();
    let docs = crate::store::docs::TableDocs::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()), "contract");
    crate::store::docs_contract::run_all(&docs).await;
    crate::store::docs_contract::run_listing(&docs).await;
}

#[tokio::test]
async fn committed_writes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let key = Key::new("T#t#U#1", "USER");
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let mut item = Item::new(key.clone(), b"{}".to_vec());
        item.gsi1 = Some(Key::new("T#t#USERS", "1"));
        store.transact(vec![Write::Put { item, cond: Condition::NotExists }]).await.unwrap();
    }
    // The writer thread holds the database until its channel closes; wait for it.
    let mut reopened = None;
    for _ in 0..500 {
        if let Ok(s) = EmbeddedStore::open(dir.path()) {
            reopened = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let store = reopened.expect("the database reopens once the writer has stopped");
    assert_eq!(store.get(&key).await.unwrap().map(|i| i.body), Some(b"{}".to_vec()));
}

/// Opens the store in `dir` again once the previous handle's writer has let go of the file.
async fn reopen(dir: &Path) -> EmbeddedStore {
    for _ in 0..500 {
        if let Ok(s) = EmbeddedStore::open(dir) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the database does not reopen");
}

fn entry(tenant: &str, at_ms: i64, id: &str) -> Item {
    let body = serde_json::json!({"id": id, "type": "inlet.user.created", "tenant": tenant});
    Item::new(crate::store::keys::activity(tenant, at_ms, id), body.to_string().into_bytes())
}

fn put(item: Item, cond: Condition) -> Write {
    Write::Put { item, cond }
}

fn ids(entries: &[(u64, Item)]) -> Vec<String> {
    entries.iter().map(|(_, i)| i.key.sk.rsplit('#').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_sweep_removes_expired_items_and_their_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let now = 2_000_000_000;
    let mut writes = Vec::new();
    for (sk, expires) in [("old", Some(now - 10)), ("edge", Some(now)), ("new", Some(now + 10)), ("never", None)] {
        let mut item = Item::new(Key::new("T#t#X", sk), b"x".to_vec());
        item.gsi1 = Some(Key::new("T#t#IDX", sk));
        item.expires = expires;
        writes.push(put(item, Condition::None));
    }
    // Rewritten without expiry: the sweep must not take it.
    let mut kept = Item::new(Key::new("T#t#X", "renewed"), b"x".to_vec());
    kept.expires = Some(now - 5);
    writes.push(put(kept.clone(), Condition::None));
    store.transact(writes).await.unwrap();
    kept.expires = None;
    store.transact(vec![put(kept, Condition::None)]).await.unwrap();

    assert_eq!(store.sweep(now).await.unwrap(), 1);
    let left: Vec<String> = store
        .query(&Query::new(Index::Table, "T#t#X", "", 10))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.key.sk)
        .collect();
    assert_eq!(left, vec!["edge", "never", "new", "renewed"]);
    let indexed = store.query(&Query::new(Index::Gsi1, "T#t#IDX", "", 10)).await.unwrap().items.len();
    assert_eq!(indexed, 3);
    assert_eq!(store.sweep(now).await.unwrap(), 0);
    assert_eq!(store.sweep(now + 11).await.unwrap(), 2);
    assert!(store.get(&Key::new("T#t#X", "new")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_sweep_is_bounded_and_the_store_sweeps_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let total = writer::SWEEP_MAX + 50;
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let all: Vec<Write> = (0..total)
            .map(|i| {
                let mut item = Item::new(Key::new("T#t#X", format!("{i:05}")), Vec::new());
                item.expires = Some(1_000 + i64::try_from(i).unwrap());
                put(item, Condition::None)
            })
            .collect();
        let txs: Vec<Vec<Write>> = all.chunks(100).map(<[Write]>::to_vec).collect();
        assert!(store.transact_seq(txs).await.1.is_ok());
        assert_eq!(store.sweep(1_000 + 10).await.unwrap(), 10);
    }
    // Opening queues a sweep before any other job: once a later write is answered, it is done.
    let store = reopen(dir.path()).await;
    store.transact(vec![put(Item::new(Key::new("T#t#Y", "y"), Vec::new()), Condition::None)]).await.unwrap();
    let left = store.query(&Query::new(Index::Table, "T#t#X", "", total)).await.unwrap().items.len();
    assert_eq!(left, total - 10 - writer::SWEEP_MAX);
    assert_eq!(store.sweep(i64::MAX).await.unwrap(), left);
}

#[tokio::test]
async fn the_feed_holds_activity_puts_in_commit_order_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!((store.head(), store.next(10).await.unwrap().len()), (0, 0));
    let user = |v| Item { version: v, ..Item::new(Key::new("T#acme#U#1", "USER"), b"{}".to_vec()) };
    store
        .transact(vec![put(user(1), Condition::NotExists), put(entry("acme", 5, "e1"), Condition::NotExists)])
        .await
        .unwrap();
    // A failed transaction appends nothing, though its entry's own write would have held.
    let err = store
        .transact(vec![put(entry("acme", 6, "lost"), Condition::NotExists), put(user(2), Condition::NotExists)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed { index: 1 }));
    // Non-activity writes, and deletes or counters on entries, append nothing either.
    store.transact(vec![put(user(2), Condition::Version(1))]).await.unwrap();
    store
        .transact(vec![put(entry("acme", 1, "e2"), Condition::None), put(entry("beta", 9, "e3"), Condition::None)])
        .await
        .unwrap();
    store.transact(vec![Write::Touch { key: entry("acme", 5, "e1").key, cond: Condition::Exists }]).await.unwrap();
    store.transact(vec![Write::Delete { key: entry("beta", 9, "e3").key, cond: Condition::None }]).await.unwrap();
    let got = store.next(10).await.unwrap();
    assert_eq!(ids(&got), vec!["e1", "e2", "e3"]);
    assert_eq!(got.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(got[0].1, entry("acme", 5, "e1"));
    assert_eq!(store.head(), 3);
    assert_eq!(ids(&store.next(2).await.unwrap()), vec!["e1", "e2"]);
}

#[tokio::test]
async fn acknowledged_entries_go_and_the_rest_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        for i in 0..5 {
            store.transact(vec![put(entry("acme", i, &format!("e{i}")), Condition::None)]).await.unwrap();
        }
        store.ack(2).await.unwrap();
        assert_eq!(ids(&store.next(10).await.unwrap()), vec!["e2", "e3", "e4"]);
        store.ack(5).await.unwrap();
        assert!(store.next(10).await.unwrap().is_empty());
        store.transact(vec![put(entry("acme", 9, "e9"), Condition::None)]).await.unwrap();
    }
    let store = reopen(dir.path()).await;
    let left = store.next(10).await.unwrap();
    // Sequence numbers go on from where they were, even after every entry was acknowledged.
    assert_eq!((ids(&left), left[0].0, store.head()), (vec!["e9".to_owned()], 6, 6));
    store.transact(vec![put(entry("acme", 10, "e10"), Condition::None)]).await.unwrap();
    assert_eq!(store.next(10).await.unwrap().last().map(|(s, _)| *s), Some(7));
}

#[tokio::test]
async fn a_waiting_reader_wakes_on_a_commit_and_group_commits_keep_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    // Nothing yet: waiting past the head blocks until a commit.
    let head = store.head();
    let waiter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.wait_past(head).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished());
    // Many concurrent transactions, committed in groups: every entry once, each caller's in its order.
    let writers = (0..50).map(|w| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..4 {
                let id = format!("w{w:02}n{i}");
                store.transact(vec![put(entry("acme", i, &id), Condition::NotExists)]).await.unwrap();
            }
        })
    });
    for w in futures::future::join_all(writers).await {
        w.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
    let got = store.next(1000).await.unwrap();
    assert_eq!(got.len(), 200);
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    for w in 0..50 {
        let mine: Vec<String> = ids(&got).into_iter().filter(|id| id.starts_with(&format!("w{w:02}n"))).collect();
        assert_eq!(mine, (0..4).map(|i| format!("w{w:02}n{i}")).collect::<Vec<_>>());
    }
    // Once past the head, a wait returns at once.
    tokio::time::timeout(Duration::from_secs(1), store.wait_past(store.head() - 1)).await.unwrap();
}

#[tokio::test]
async fn deferred_writes_are_seen_at_once_and_their_feed_entries_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let user = Item::new(Key::new("T#acme#U#2", "USER"), b"{}".to_vec());
    {
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        store.transact(vec![put(entry("acme", 1, "e1"), Condition::NotExists)]).await.unwrap();
        // Through the deferring view, as a bulk writer's directory writes.
        let deferred = crate::store::deferred::Deferred::new(store.clone());
        deferred
            .transact(vec![put(user.clone(), Condition::NotExists), put(entry("acme", 2, "e2"), Condition::None)])
            .await
            .unwrap();
        // Its conditions hold as any write's.
        let err = deferred.transact(vec![put(user.clone(), Condition::NotExists)]).await.unwrap_err();
        assert!(matches!(err, StoreError::ConditionFailed { index: 0 }), "{err:?}");
        assert_eq!(store.get(&user.key).await.unwrap().map(|i| i.body), Some(b"{}".to_vec()));
        // Not durable yet: the feed does not offer its entry.
        assert_eq!((store.head(), ids(&store.next(10).await.unwrap())), (1, vec!["e1".to_owned()]));
        store.transact(vec![put(entry("acme", 3, "e3"), Condition::None)]).await.unwrap();
        assert_eq!((store.head(), ids(&store.next(10).await.unwrap()).len()), (3, 3));
        // Deferred writes last of all: the store makes them durable as it closes.
        store.transact_seq_deferred(vec![vec![put(entry("acme", 4, "e4"), Condition::None)]]).await.1.unwrap();
        assert_eq!(store.head(), 3);
    }
    let store = reopen(dir.path()).await;
    assert_eq!(ids(&store.next(10).await.unwrap()), vec!["e1", "e2", "e3", "e4"]);
    assert_eq!((store.head(), store.get(&user.key).await.unwrap().is_some()), (4, true));
}
