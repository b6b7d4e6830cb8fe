//! Okta misbehaving and Inlet interrupted: rate limits, refused tokens, a killed run, a
//! run cut by its time budget.

use super::*;
use okta_double::Fault;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rate_limit_storm_loses_nothing() {
    let o = Options { apps_limit: 5, groups_limit: 5, window: Duration::from_secs(2), ..fast() };
    let d = double(o, size(1200, 60), 5, 6);
    let cli = Cli::new();
    okta_tenant(&cli, "acme", &d);
    d.reset_requests();
    d.inject(Fault::status(429, 2).on("/api/v1/apps"));
    d.inject(Fault::status(429, 1).on("/api/v1/groups"));
    let st = sync_now(&cli, "acme");
    let r = d.requests();
    assert_eq!(r.status(429), r.rate_limited + 3, "{r:?}");
    assert_eq!(r.faulted, 3);
    assert!(r.max_concurrency <= 4, "{r:?}");
    assert_eq!(st["counts"]["created"], size(1200, 60) as u64);
    check(&cli, "acme", &d);
    stop(d);
}

#[test]
fn refused_token_keeps_the_last_good_sync() {
    let d = double(fast(), 120, 4, 7);
    let cli = Cli::new();
    okta_tenant(&cli, "acme", &d);
    sync_now(&cli, "acme");
    let before = lists(&cli, "acme");
    // A change the failing runs must not apply.
    let gone = nth(&d, 2);
    d.with(|dir| dir.unassign(&gone)).unwrap();

    // 403 E0000006 on the first app-user page.
    d.inject(Fault::status(403, 1).on("/api/v1/apps"));
    let r = cli.run(&["okta", "sync-now", "acme", "--json"]);
    assert!(!r.ok);
    let st = status(&cli, "acme");
    assert_eq!(
        (st["status"].as_str(), st["lastError"]["code"].as_str()),
        (Some("Not synced"), Some("E0000006")),
        "{st:#}"
    );
    assert_eq!(lists(&cli, "acme"), before);

    // 401 E0000011 after the app users were read (the token is revoked for good).
    d.inject(Fault::slow(Duration::from_millis(1), 1).on("/api/v1/apps"));
    d.inject(Fault::status(401, 1).on("/api/v1/apps"));
    d.reset_requests();
    let r = cli.run(&["okta", "sync-now", "acme", "--json"]);
    assert!(!r.ok);
    assert_eq!(d.requests().path(APP_USERS), 1, "the app users were read before the 401");
    let st = status(&cli, "acme");
    assert_eq!(
        (st["status"].as_str(), st["lastError"]["code"].as_str()),
        (Some("Not synced"), Some("E0000011")),
        "{st:#}"
    );
    assert!(st["lastSuccess"].is_string());
    assert_eq!(lists(&cli, "acme"), before, "a refused run changed data");
    stop(d);
}

#[test]
fn killed_run_changes_nothing_and_the_next_one_completes() {
    let n = size(1400, 120);
    let d = double(fast(), n, size(10, 4), 8);
    let cli = Cli::new();
    okta_tenant(&cli, "acme", &d);
    sync_now(&cli, "acme");
    let before = lists(&cli, "acme");
    let gone = nth(&d, 2);
    d.with(|dir| dir.unassign(&gone)).unwrap();
    d.inject(Fault::slow(Duration::from_millis(700), 1000).on("/api/v1/apps"));
    d.reset_requests();
    let lease = [("INLET_PULL_LEASE_SECONDS", "3")];
    let mut child = cli.command(&["okta", "sync-now", "acme", "--json"]);
    let mut child = child.envs(lease).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for("the first app-user page", Duration::from_secs(30), || d.requests().path(APP_USERS) >= 1);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let st = status(&cli, "acme");
    assert_eq!(st["status"], "Sync in progress", "{st:#}");
    assert_eq!(lists(&cli, "acme"), before, "the killed run changed data");
    // Once its lease has lapsed, the next run starts over and completes.
    std::thread::sleep(Duration::from_millis(3500));
    d.clear_faults();
    let r = cli.run_env(&["okta", "sync-now", "acme", "--json"], &lease);
    assert!(r.ok, "{}", r.stderr);
    let st: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(st["status"], "Synced");
    assert_eq!(
        counts(&st),
        only(&[("deactivated", 1), ("membersRemoved", st["counts"]["membersRemoved"].as_u64().unwrap())])
    );
    let (users, _) = check(&cli, "acme", &d);
    assert_eq!(users.len(), n);
    assert_eq!(users.iter().filter(|u| u["active"] == false).count(), 1);
    stop(d);
}

#[test]
fn budget_pauses_and_the_next_pass_resumes() {
    let n = size(1400, 600);
    let pages = n.div_ceil(USERS_PAGE) as u64;
    let d = double(fast(), n, size(10, 4), 9);
    let cli = Cli::new();
    okta_tenant(&cli, "acme", &d);
    d.inject(Fault::slow(Duration::from_millis(1200), 1000).on("/api/v1/apps"));
    let rows = cli.json(&["okta", "run-due", "--budget", "4s"]);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert!(rows[0]["outcome"].as_str().unwrap().starts_with("paused"), "{rows}");
    let st = status(&cli, "acme");
    assert_eq!(st["status"], "Sync in progress", "{st:#}");
    let seen = st["progress"]["usersSeen"].as_u64().unwrap();
    assert!(seen >= USERS_PAGE as u64, "{st:#}");
    assert!(lists(&cli, "acme").0.is_empty(), "a paused run applied data");
    d.clear_faults();
    d.reset_requests();
    let rows = cli.json(&["okta", "run-due"]);
    assert_eq!(rows[0]["outcome"], "synced", "{rows}");
    let fetched_before = seen.div_ceil(USERS_PAGE as u64);
    assert_eq!(d.requests().path(APP_USERS), pages - fetched_before, "saved pages were fetched again");
    assert_eq!(status(&cli, "acme")["status"], "Synced");
    let (users, _) = check(&cli, "acme", &d);
    assert_eq!(users.len(), n);
    stop(d);
}

/// A run killed while it applies (on the embedded store the apply's writes are deferred, so
/// the kill can undo the newest of them): the next run completes the sync, nothing lost.
#[test]
fn killed_while_applying_the_next_run_completes() {
    let (n, groups) = (size(6000, 600), size(30, 6));
    let d = double(fast(), n, groups, 10);
    let cli = Cli::new();
    okta_tenant(&cli, "acme", &d);
    let lease = [("INLET_PULL_LEASE_SECONDS", "3")];
    let mut child = cli.command(&["okta", "sync-now", "acme"]);
    let mut child = child.envs(lease).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // Its progress lines name the phase: killed as soon as it says it applies.
    // (The pipe stays open until the kill: a closed one would fail the run's next line.)
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let applying = lines.by_ref().map_while(Result::ok).any(|l| l.starts_with("apply:"));
    assert!(applying, "the run never reached its apply");
    // Into the apply (seconds long at this size), well before its end.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(lines);
    let st = status(&cli, "acme");
    // In progress, or pending once its lease lapsed: not synced either way.
    assert!(st["status"] != "Synced" && st["lastSuccess"].is_null(), "{st:#}");
    std::thread::sleep(Duration::from_millis(3500));
    let r = cli.run_env(&["okta", "sync-now", "acme", "--json"], &lease);
    assert!(r.ok, "{}", r.stderr);
    let st: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(st["status"], "Synced", "{st:#}");
    let (users, _) = check(&cli, "acme", &d);
    assert_eq!(users.len(), n);
    stop(d);
}
