//! `inlet-bench --okta-pull`: the Okta API pull against the in-process Okta double, on the
//! embedded store behind a counting [`Table`](inlet_shared::store::Table).
//!
//! 1. An initial sync of a large org under Okta's default app-bucket limit (100 requests a
//!    minute): how close it comes to the floor that limit sets, app-bucket requests × window /
//!    limit (a sync cannot be faster than the requests it must make allow).
//! 2. A smaller org without rate-limit pressure, synced and then synced again unchanged: the
//!    store requests of each, split into directory writes (the resync should make none) and
//!    the puller's bookkeeping (lease, state, checkpoint, memo).

use crate::counted::{BOOKKEEPING, Counted, DIRECTORY, Tally};
use inlet_shared::domain::TenantId;
use inlet_shared::domain::tenant::{Mode, Settings, Tenants};
use inlet_shared::okta::Limits;
use inlet_shared::pull::configure::{Credentials, check};
use inlet_shared::pull::sync::{OnProgress, Outcome, RunOptions};
use inlet_shared::pull::{Counts, DEFAULT_INTERVAL_SECONDS};
use inlet_shared::startup::Services;
use inlet_shared::store::Table;
use inlet_shared::store::docs::Documents;
use inlet_shared::store::embedded::EmbeddedStore;
use inlet_shared::store::files::FileDocs;
use okta_double::{Directory, Double, Options};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const TOKEN: &str = "00InletBenchToken";
const TENANT: &str = "pulled";

/// What the benchmark runs.
pub struct Sizes {
    pub users: usize,
    pub groups: usize,
    pub resync_users: usize,
    pub resync_groups: usize,
}

/// One tenant on a fresh embedded store, configured against a fresh double.
struct Bench {
    double: Double,
    store: Arc<Counted<EmbeddedStore>>,
    services: Services,
    tenant: TenantId,
    app_users: usize,
    // Dropped last: the store's files live here.
    _dir: tempfile::TempDir,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Bench {
    async fn start(users: usize, groups: usize, apps_limit: u32, groups_limit: u32) -> Result<Bench, String> {
        let options = Options { apps_limit, groups_limit, tokens: vec![TOKEN.into()], ..Options::default() };
        let double = Double::start(options).await.map_err(|e| format!("starting the Okta double: {e}"))?;
        double.with(|d| *d = Directory::generate(users, groups, 1));
        let app_users = double.with(|d| d.app_users().count());
        let dir = tempfile::tempdir().map_err(|e| format!("a temporary data directory: {e}"))?;
        let store = Arc::new(Counted::new(EmbeddedStore::open(dir.path()).map_err(text)?));
        let table: Arc<dyn Table> = store.clone();
        // The registry in the table, as on DynamoDB, so its reads are counted too.
        let secrets: Arc<dyn Documents> = Arc::new(FileDocs::open(&dir.path().join("secrets"), true).map_err(text)?);
        let okta: Arc<dyn Documents> = Arc::new(FileDocs::open(&dir.path().join("okta-secrets"), true).map_err(text)?);
        let services = Services::on_table(Arc::clone(&table), Tenants::on_table(table, secrets), okta);
        let tenant = TenantId::parse(TENANT).ok_or("bad tenant id")?;
        let settings = Settings { mode: Mode::OktaApi, ..Settings::default() };
        services.tenants.create(&tenant, None, settings).await.map_err(text)?;
        let creds = Credentials {
            domain: double.url(),
            app_id: double.app_id().to_owned(),
            token: TOKEN.into(),
            interval_seconds: DEFAULT_INTERVAL_SECONDS,
        };
        let checked = check(creds, Limits::default()).await.map_err(text)?;
        services.integrations.configure(&services.tenants, &tenant, checked).await.map_err(text)?;
        // The sync starts with fresh rate-limit windows and empty logs (configure's check
        // made one app request).
        double.reset_limits();
        double.reset_requests();
        store.take();
        Ok(Bench { double, store, services, tenant, app_users, _dir: dir })
    }

    /// One sync to its end: its counts, how long it took, and when it went from reading
    /// Okta to applying (as far into the run).
    async fn sync(&self) -> Result<(Counts, Duration, Option<Duration>), String> {
        let puller = self.services.puller().map_err(text)?;
        let started = Instant::now();
        let applying: Arc<Mutex<Option<Duration>>> = Arc::default();
        let mark = Arc::clone(&applying);
        let on_progress: OnProgress = Arc::new(move |p| {
            let mut at = mark.lock().unwrap_or_else(PoisonError::into_inner);
            if p.phase == "apply" && at.is_none() {
                *at = Some(started.elapsed());
            }
        });
        let outcome = puller
            .sync(&self.tenant, &RunOptions { deadline: None, on_progress: Some(on_progress), only_if_due: false })
            .await
            .map_err(text)?;
        let elapsed = started.elapsed();
        let read = *applying.lock().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Outcome::Synced(counts) => Ok((counts, elapsed, read)),
            other => Err(format!("the sync ended {other:?}, not synced")),
        }
    }
}

fn counts_line(c: &Counts) -> String {
    format!("users {c}")
}

fn store_lines(name: &str, t: &Tally) {
    println!(
        "  {name:<9} reads {:>7} (get {}, get_many {} for {} keys, query pages {}); transactions {}, checks {}",
        t.reads(),
        t.gets,
        t.get_many,
        t.get_many_keys,
        t.queries,
        t.transactions,
        t.checks
    );
    println!("  {:<9} directory writes {:>7} ({})", "", t.writes_of(&DIRECTORY), t.breakdown(&DIRECTORY));
    println!("  {:<9} bookkeeping writes {:>5} ({})", "", t.writes_of(&BOOKKEEPING), t.breakdown(&BOOKKEEPING));
    let other: Vec<&str> =
        t.writes.keys().copied().filter(|c| !DIRECTORY.contains(c) && !BOOKKEEPING.contains(c)).collect();
    if !other.is_empty() {
        println!("  {:<9} other writes: {}", "", t.breakdown(&other));
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Part 1: the initial sync under the app bucket's default limit.
async fn initial(users: usize, groups: usize) -> Result<(), String> {
    const APPS_LIMIT: u32 = 100;
    let window = Options::default().window;
    println!(
        "== initial sync: {users} app users in {groups} groups, app bucket {APPS_LIMIT} requests / {} s",
        window.as_secs()
    );
    let b = Bench::start(users, groups, APPS_LIMIT, Options::default().groups_limit).await?;
    let (counts, elapsed, read) = b.sync().await?;
    if usize::try_from(counts.created).ok() != Some(b.app_users) {
        return Err(format!("the sync created {} users, the app has {}", counts.created, b.app_users));
    }
    let r = b.double.requests();
    let apps = r.bucket("apps");
    let floor = window.mul_f64(apps as f64 / f64::from(APPS_LIMIT));
    println!("  {}", counts_line(&counts));
    println!(
        "  elapsed {} (reading Okta {}, applying {})",
        seconds(elapsed),
        read.map_or("?".into(), seconds),
        read.map_or("?".into(), |r| seconds(elapsed.saturating_sub(r)))
    );
    println!(
        "  Okta requests: apps {apps}, groups {}, users {}, other {}, total {}; 429 answered {}, most in flight {}",
        r.bucket("groups"),
        r.bucket("users"),
        r.bucket("other"),
        r.total,
        r.rate_limited,
        r.max_concurrency
    );
    println!(
        "  floor (apps requests × {} s / {APPS_LIMIT}) {}; elapsed / floor {:.2}{}",
        window.as_secs(),
        seconds(floor),
        elapsed.as_secs_f64() / floor.as_secs_f64(),
        read.map_or(String::new(), |r| format!(", read / floor {:.2}", r.as_secs_f64() / floor.as_secs_f64()))
    );
    let groups_limit = Options::default().groups_limit;
    println!(
        "  groups bucket: {} requests need {} at {groups_limit} / {} s",
        r.bucket("groups"),
        seconds(window.mul_f64(r.bucket("groups") as f64 / f64::from(groups_limit))),
        window.as_secs()
    );
    let paths: Vec<String> = r.paths.iter().map(|(p, n)| format!("{p} {n}")).collect();
    println!("  by path: {}", paths.join(", "));
    store_lines("store", &b.store.take());
    b.double.stop().await;
    Ok(())
}

/// Part 2: a sync, then an unchanged resync, without rate-limit pressure.
async fn resync(users: usize, groups: usize) -> Result<(), String> {
    println!("\n== unchanged resync: {users} app users in {groups} groups, no rate-limit pressure");
    let b = Bench::start(users, groups, 1_000_000, 1_000_000).await?;
    let (first, first_elapsed, first_read) = b.sync().await?;
    let first_store = b.store.take();
    b.double.reset_requests();
    let (again, again_elapsed, _) = b.sync().await?;
    let again_store = b.store.take();
    let r = b.double.requests();
    println!(
        "  initial  {} in {} (reading Okta {})",
        counts_line(&first),
        seconds(first_elapsed),
        first_read.map_or("?".into(), seconds)
    );
    println!("  resync   {} in {}", counts_line(&again), seconds(again_elapsed));
    println!("  resync Okta requests: apps {}, groups {}, total {}", r.bucket("apps"), r.bucket("groups"), r.total);
    println!("  store requests:");
    store_lines("initial", &first_store);
    store_lines("resync", &again_store);
    b.double.stop().await;
    if again.writes() != 0 || again_store.writes_of(&DIRECTORY) != 0 {
        return Err("the unchanged resync wrote to the directory".into());
    }
    Ok(())
}

pub async fn run(s: &Sizes) -> Result<(), String> {
    initial(s.users, s.groups).await?;
    resync(s.resync_users, s.resync_groups).await
}
