//! Many tenants in one scheduled pass, and `inlet serve` pulling on its own.

use super::*;
use inlet_e2e::Server;
use std::time::{Duration, Instant};

#[test]
fn one_pass_syncs_every_due_tenant() {
    let tenants = size(50, 10);
    let cli = Cli::new();
    let doubles: Vec<Double> = (0..tenants)
        .map(|k| double(Options { org_id: format!("00oFanOut{k:011}"), ..fast() }, 8, 2, 100 + k as u64))
        .collect();
    for (k, d) in doubles.iter().enumerate() {
        okta_tenant(&cli, &format!("t{k:02}"), d);
    }
    let started = Instant::now();
    let rows = cli.json(&["okta", "run-due", "--parallel", "8"]);
    eprintln!("okta e2e: one run-due pass over {tenants} tenants took {:.1} s", started.elapsed().as_secs_f64());
    let mut synced: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "synced")
        .map(|r| r["tenant"].as_str().unwrap())
        .collect();
    synced.sort_unstable();
    let all: Vec<String> = (0..tenants).map(|k| format!("t{k:02}")).collect();
    assert_eq!(synced, all.iter().map(String::as_str).collect::<Vec<_>>(), "{rows:#}");
    for (k, d) in doubles.iter().enumerate() {
        let t = format!("t{k:02}");
        assert_eq!(status(&cli, &t)["status"], "Synced", "{t}");
        assert!(d.requests().path(APP_USERS) >= 1, "{t}: its own org was read");
    }
    check(&cli, "t07", &doubles[7]);
    let again = cli.json(&["okta", "run-due", "--parallel", "8"]);
    assert_eq!(again, json!([]), "nothing is due right after a pass");
    for d in doubles {
        stop(d);
    }
}

#[test]
fn serve_pulls_on_its_own() {
    let d = double(fast(), 20, 2, 111);
    let cli = Cli::new();
    let groups = d.with(|dir| dir.app_groups().count()) as u64;
    // While the server holds the embedded store, the CLI's okta and users commands are run by
    // the server (serve.json); on DynamoDB the CLI reaches the table itself.
    let server = Server::start_with(&cli.dir, None, cli.table.clone(), &["--pull-tick-seconds", "1"]);
    let started = Instant::now();
    okta_tenant(&cli, "acme", &d);
    while status(&cli, "acme")["status"] != "Synced" {
        assert!(started.elapsed() < Duration::from_secs(20), "not Synced: {:#}", status(&cli, "acme"));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(d.requests().path(GROUP_USERS) >= groups, "the server's own puller read every group");
    eprintln!("okta e2e: inlet serve pulled a new tenant within {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(status(&cli, "acme")["status"], "Synced");
    let (users, _) = check(&cli, "acme", &d);
    assert_eq!(users.len(), 20);
    assert!(server.stop().success());
    stop(d);
}
