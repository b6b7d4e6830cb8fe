//! `cargo run --release --manifest-path infra/store-replay/Cargo.toml -- ENGINE [USERS]`
//! (ENGINE: redb, fjall or sqlite; USERS: 100000).
//!
//! The writes a pull's initial sync makes, as the embedded store's writer applies them: one
//! thread, each write looked up first where it is conditional, one durable commit per batch
//! (27 transactions of 24 users; 16 groups' members). Per user: the record (1.2 KB, time-ordered
//! key), its collection-index entry, name marker and externalId entry (all three keyed by a
//! hash), an activity entry with its expiry and feed entries, and a counter per transaction. Per
//! membership: the group's item, the user's twin and a touch of the user's record. Values are
//! random bytes (no engine gets to compress them). `SCATTERED=0` leaves out the three hash-keyed
//! writes; `COMMIT_TXNS=N` puts N transactions in a commit instead of 27.

use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::error::Error;
use std::hash::{Hash, Hasher};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

#[derive(Clone, Copy, PartialEq)]
enum Table {
    Items,
    Index,
    Expiry,
    Feed,
}

enum Op {
    /// Looked up first (a condition), then written: key, value length.
    PutIfAbsent(Table, String, usize),
    Put(Table, String, usize),
    /// The item read and written back (a touch raises its version).
    Touch(String),
}

fn hashed(s: &str) -> String {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    let a = h.finish();
    format!("{a:016x}{:016x}", a.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15)
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The commits of the users phase and of the members phase.
fn workload(users: usize, groups: usize, per_group: usize) -> (Vec<Vec<Op>>, Vec<Vec<Op>>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let scattered = setting("SCATTERED", 1) != 0;
    let ids: Vec<String> = (0..users).map(|_| uuid::Uuid::now_v7().simple().to_string()).collect();
    let mut seq = 0u64;
    let mut activity = |ops: &mut Vec<Op>, len: usize| {
        seq += 1;
        let key = format!("T#r#A#{seq:016}\0{}", uuid::Uuid::now_v7().simple());
        ops.push(Op::Put(Table::Expiry, format!("{:016}{key}", 1_900_000_000 + seq), 0));
        ops.push(Op::PutIfAbsent(Table::Items, key, len));
        ops.push(Op::Put(Table::Feed, format!("{seq:020}"), len + 50));
    };
    let mut user_commits = Vec::new();
    for commit in ids.chunks(24 * setting("COMMIT_TXNS", 27).max(1)) {
        let mut ops = Vec::new();
        for txn in commit.chunks(24) {
            for id in txn {
                ops.push(Op::PutIfAbsent(Table::Items, format!("T#r#U#{id}\0USER"), 1200));
                if scattered {
                    let lead = &hashed(id)[..8];
                    ops.push(Op::Put(Table::Index, format!("T#r#USERS#okta_api\0{lead}#{id}\0T#r#U#{id}\0USER"), 0));
                    let name = format!("user{}@example.com", rng.r#gen::<u64>());
                    ops.push(Op::PutIfAbsent(Table::Items, format!("T#r#UN#{}\0UNIQUE", hashed(&name)), 40));
                    let okta = format!("00u{}", rng.r#gen::<u64>());
                    ops.push(Op::PutIfAbsent(Table::Items, format!("T#r#UX#{}\0{id}", hashed(&okta)), 10));
                }
                activity(&mut ops, 600);
            }
            ops.push(Op::Touch(format!("T#r#C#U#{}\0COUNT", rng.gen_range(0..16))));
        }
        user_commits.push(ops);
    }
    let group_ids: Vec<String> = (0..groups).map(|_| uuid::Uuid::now_v7().simple().to_string()).collect();
    let mut member_commits = Vec::new();
    for chunk in group_ids.chunks(16) {
        let mut ops = Vec::new();
        for g in chunk {
            for _ in 0..per_group {
                let u = &ids[rng.gen_range(0..ids.len())];
                ops.push(Op::Put(Table::Items, format!("T#r#G#{g}\0M#{u}"), 30));
                ops.push(Op::Put(Table::Items, format!("T#r#U#{u}\0G#{g}"), 0));
                ops.push(Op::Touch(format!("T#r#U#{u}\0USER")));
            }
            // Membership entries name up to 300 users each.
            for _ in 0..per_group.div_ceil(300) {
                activity(&mut ops, 3000);
            }
        }
        member_commits.push(ops);
    }
    (user_commits, member_commits)
}

trait Engine {
    fn commit(&mut self, ops: &[Op], bytes: &[u8]) -> Res<()>;
}

const R_ITEMS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("items");
const R_INDEX: redb::TableDefinition<&str, ()> = redb::TableDefinition::new("index");
const R_EXPIRY: redb::TableDefinition<&str, ()> = redb::TableDefinition::new("expiry");
const R_FEED: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("feed");

struct Redb(redb::Database);

impl Engine for Redb {
    fn commit(&mut self, ops: &[Op], bytes: &[u8]) -> Res<()> {
        use redb::ReadableTable;
        let txn = self.0.begin_write()?;
        {
            let mut items = txn.open_table(R_ITEMS)?;
            let mut index = txn.open_table(R_INDEX)?;
            let mut expiry = txn.open_table(R_EXPIRY)?;
            let mut feed = txn.open_table(R_FEED)?;
            for op in ops {
                match op {
                    Op::PutIfAbsent(t, k, n) | Op::Put(t, k, n) => {
                        if matches!(op, Op::PutIfAbsent(..)) && items.get(k.as_str())?.is_some() {
                            return Err(format!("{k:?} already written").into());
                        }
                        let value = bytes.get(..*n).ok_or("value longer than the random bytes")?;
                        match t {
                            Table::Items => drop(items.insert(k.as_str(), value)?),
                            Table::Index => drop(index.insert(k.as_str(), ())?),
                            Table::Expiry => drop(expiry.insert(k.as_str(), ())?),
                            Table::Feed => drop(feed.insert(k.as_str(), value)?),
                        }
                    }
                    Op::Touch(k) => {
                        let old = items.get(k.as_str())?.map(|v| v.value().to_vec()).unwrap_or_else(|| vec![0; 16]);
                        items.insert(k.as_str(), old.as_slice())?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }
}

struct Fjall {
    keyspace: fjall::Keyspace,
    items: fjall::PartitionHandle,
    index: fjall::PartitionHandle,
    expiry: fjall::PartitionHandle,
    feed: fjall::PartitionHandle,
}

impl Engine for Fjall {
    fn commit(&mut self, ops: &[Op], bytes: &[u8]) -> Res<()> {
        // A batch cannot be read: lookups see its own writes through this map first.
        let mut written: HashMap<&str, Vec<u8>> = HashMap::new();
        let mut batch = self.keyspace.batch();
        for op in ops {
            match op {
                Op::PutIfAbsent(t, k, n) | Op::Put(t, k, n) => {
                    if matches!(op, Op::PutIfAbsent(..))
                        && (written.contains_key(k.as_str()) || self.items.get(k.as_bytes())?.is_some())
                    {
                        return Err(format!("{k:?} already written").into());
                    }
                    let value = bytes.get(..*n).ok_or("value longer than the random bytes")?;
                    let p = match t {
                        Table::Items => &self.items,
                        Table::Index => &self.index,
                        Table::Expiry => &self.expiry,
                        Table::Feed => &self.feed,
                    };
                    batch.insert(p, k.as_bytes(), value);
                    if *t == Table::Items {
                        written.insert(k.as_str(), value.to_vec());
                    }
                }
                Op::Touch(k) => {
                    let old = match written.get(k.as_str()) {
                        Some(v) => v.clone(),
                        None => self.items.get(k.as_bytes())?.map(|v| v.to_vec()).unwrap_or_else(|| vec![0; 16]),
                    };
                    batch.insert(&self.items, k.as_bytes(), old.as_slice());
                    written.insert(k.as_str(), old);
                }
            }
        }
        batch.commit()?;
        self.keyspace.persist(fjall::PersistMode::SyncData)?;
        Ok(())
    }
}

struct Sqlite(rusqlite::Connection);

impl Engine for Sqlite {
    fn commit(&mut self, ops: &[Op], bytes: &[u8]) -> Res<()> {
        let tx = self.0.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut get = tx.prepare_cached("SELECT v FROM items WHERE k = ?1")?;
            let mut put = [
                tx.prepare_cached("INSERT OR REPLACE INTO items (k, v) VALUES (?1, ?2)")?,
                tx.prepare_cached("INSERT OR REPLACE INTO idx (k, v) VALUES (?1, ?2)")?,
                tx.prepare_cached("INSERT OR REPLACE INTO expiry (k, v) VALUES (?1, ?2)")?,
                tx.prepare_cached("INSERT OR REPLACE INTO feed (k, v) VALUES (?1, ?2)")?,
            ];
            for op in ops {
                match op {
                    Op::PutIfAbsent(t, k, n) | Op::Put(t, k, n) => {
                        if matches!(op, Op::PutIfAbsent(..)) {
                            let found: Option<Vec<u8>> = get.query_row([k], |r| r.get(0)).ok();
                            if found.is_some() {
                                return Err(format!("{k:?} already written").into());
                            }
                        }
                        let value = bytes.get(..*n).ok_or("value longer than the random bytes")?;
                        put[*t as usize].execute(rusqlite::params![k, value])?;
                    }
                    Op::Touch(k) => {
                        let old: Vec<u8> = get.query_row([k], |r| r.get(0)).unwrap_or_else(|_| vec![0; 16]);
                        put[0].execute(rusqlite::params![k, old])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn open(engine: &str, dir: &std::path::Path) -> Res<Box<dyn Engine>> {
    Ok(match engine {
        "redb" => Box::new(Redb(redb::Database::create(dir.join("replay.redb"))?)),
        "fjall" => {
            let keyspace = fjall::Config::new(dir.join("replay.fjall")).open()?;
            let part = |name: &str| keyspace.open_partition(name, fjall::PartitionCreateOptions::default());
            let (items, index, expiry, feed) = (part("items")?, part("index")?, part("expiry")?, part("feed")?);
            Box::new(Fjall { keyspace, items, index, expiry, feed })
        }
        "sqlite" => {
            let c = rusqlite::Connection::open(dir.join("replay.sqlite"))?;
            c.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-262144;
                 CREATE TABLE items (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
                 CREATE TABLE idx (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
                 CREATE TABLE expiry (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;
                 CREATE TABLE feed (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;",
            )?;
            Box::new(Sqlite(c))
        }
        other => return Err(format!("unknown engine {other:?}: redb, fjall or sqlite").into()),
    })
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let engine = args.next().unwrap_or_else(|| "redb".into());
    let users: usize = args.next().map(|v| v.parse()).transpose()?.unwrap_or(100_000);
    let (user_commits, member_commits) = workload(users, 200, (users / 100).max(1));
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let bytes: Vec<u8> = (0..8192).map(|_| rng.r#gen()).collect();
    let dir = tempfile::tempdir()?;
    let mut e = open(&engine, dir.path())?;
    let start = Instant::now();
    for ops in &user_commits {
        e.commit(ops, &bytes)?;
    }
    let users_done = start.elapsed();
    for ops in &member_commits {
        e.commit(ops, &bytes)?;
    }
    let all = start.elapsed();
    println!(
        "{engine}: users {:.1} s ({} commits), members {:.1} s ({} commits), total {:.1} s",
        users_done.as_secs_f64(),
        user_commits.len(),
        (all - users_done).as_secs_f64(),
        member_commits.len(),
        all.as_secs_f64()
    );
    Ok(())
}
