//! The double over HTTP: paging, limits, embedding, rate limits, auth, errors, faults and
//! the control API, as a pull client sees them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod client;

use client::{Client, Resp, TOKEN};
use okta_double::{Directory, Double, Fault, Options, UserStatus};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

async fn start(o: Options, users: usize, groups: usize) -> (Double, Client) {
    let d = Double::start(o).await.unwrap();
    d.with(|dir| *dir = Directory::generate(users, groups, 42));
    (d, Client::new())
}

fn app_users_url(d: &Double, query: &str) -> String {
    format!("{}/api/v1/apps/{}/users{query}", d.url(), d.app_id())
}

/// Follows `next` from `first` to the end; every page's response.
async fn walk(c: &Client, first: String) -> Vec<Resp> {
    let mut pages = Vec::new();
    let mut url = Some(first);
    while let Some(u) = url {
        let r = c.ok(&u).await;
        assert_eq!(r.status, 200, "{u}: {}", r.body);
        url = r.link("next");
        pages.push(r);
        assert!(pages.len() < 100, "paging does not end");
    }
    pages
}

fn ids(pages: &[Resp]) -> Vec<String> {
    pages.iter().flat_map(|p| p.body.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned())).collect()
}

#[tokio::test]
async fn paging_walks_every_app_user_once_with_separate_link_lines() {
    let (d, c) = start(Options::default(), 230, 7).await;
    let pages = walk(&c, app_users_url(&d, "?limit=50&expand=user")).await;
    assert_eq!(pages.iter().map(|p| p.body.as_array().unwrap().len()).collect::<Vec<_>>(), [50, 50, 50, 50, 30]);
    let got = ids(&pages);
    let expected: Vec<String> = d.with(|dir| dir.app_users().map(|(id, _)| id.clone()).collect());
    assert_eq!(got, expected, "every app user once, in id order");
    for (i, p) in pages.iter().enumerate() {
        let lines = p.link_lines();
        let last = i == pages.len() - 1;
        assert_eq!(lines.len(), if last { 1 } else { 2 }, "one line per rel: {lines:?}");
        assert!(lines[0].ends_with("; rel=\"self\""), "{lines:?}");
        if !last {
            let next = p.link("next").unwrap();
            assert!(next.starts_with(&d.url()) && next.contains("limit=50") && next.contains("expand=user"), "{next}");
        }
        assert!(p.body[0]["_embedded"]["user"]["profile"]["login"].is_string());
    }
    d.stop().await;
}

#[tokio::test]
async fn paging_with_joined_links_and_over_groups_and_members() {
    let (d, c) = start(Options { joined_links: true, ..Options::default() }, 120, 45).await;
    let first = c.ok(&app_users_url(&d, "?limit=100")).await;
    let lines = first.link_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("rel=\"self\", <") && lines[0].ends_with("rel=\"next\""), "{lines:?}");
    assert_eq!(ids(&walk(&c, app_users_url(&d, "?limit=100")).await).len(), 120);

    let groups = walk(&c, format!("{}/api/v1/apps/{}/groups?expand=group", d.url(), d.app_id())).await;
    assert_eq!(groups.len(), 3, "default 20 a page");
    let group_ids = ids(&groups);
    assert_eq!(group_ids.iter().collect::<BTreeSet<_>>().len(), 45);
    assert_eq!(groups[0].body[0]["_embedded"]["group"]["type"], "OKTA_GROUP");

    // Members: all of the group's, app users or not, any status.
    let gid = &group_ids[0];
    let members = walk(&c, format!("{}/api/v1/groups/{gid}/users?limit=2", d.url())).await;
    let got: BTreeSet<String> = ids(&members).into_iter().collect();
    let expected: BTreeSet<String> = d.with(|dir| dir.group(gid).unwrap().members.clone());
    assert_eq!(got, expected);
    d.stop().await;
}

#[tokio::test]
async fn limits_are_clamped_and_validated() {
    let (d, c) = start(Options::default(), 520, 25).await;
    let r = c.ok(&app_users_url(&d, "?limit=1000")).await;
    assert_eq!(r.body.as_array().unwrap().len(), 500, "clamped to 500");
    assert!(r.link("next").unwrap().contains("limit=500"));
    assert_eq!(c.ok(&app_users_url(&d, "")).await.body.as_array().unwrap().len(), 50, "default 50");
    let groups = format!("{}/api/v1/apps/{}/groups", d.url(), d.app_id());
    assert_eq!(c.ok(&format!("{groups}?limit=5")).await.body.as_array().unwrap().len(), 20, "min 20");
    assert!(c.ok(&format!("{groups}?limit=500")).await.link("next").is_none(), "max 200 holds all 25");
    for bad in ["?limit=abc", "?limit=0", "?limit=-3", "?after=not-a-cursor"] {
        let r = c.ok(&app_users_url(&d, bad)).await;
        assert_eq!((r.status, r.body["errorCode"].as_str()), (400, Some("E0000001")), "{bad}: {}", r.body);
        assert!(r.body["errorCauses"][0]["errorSummary"].is_string());
    }
    d.stop().await;
}

#[tokio::test]
async fn expand_user_embeds_the_okta_user_and_its_absence_does_not() {
    let (d, c) = start(Options::default(), 12, 3).await;
    let plain = c.ok(&app_users_url(&d, "")).await;
    let expanded = c.ok(&app_users_url(&d, "?expand=user")).await;
    for (p, e) in plain.body.as_array().unwrap().iter().zip(expanded.body.as_array().unwrap()) {
        assert!(p.get("_embedded").is_none());
        let id = p["id"].as_str().unwrap();
        let user = &e["_embedded"]["user"];
        assert_eq!(user["id"], id);
        let login = d.with(|dir| dir.user(id).unwrap().profile["login"].clone());
        assert_eq!(user["profile"]["login"], login);
        assert_eq!(p["credentials"]["userName"], login);
        assert_eq!(p["_links"]["user"]["href"], format!("{}/api/v1/users/{id}", d.url()));
        assert!(
            p["lastUpdated"].as_str().unwrap().ends_with(".000Z") || p["lastUpdated"].as_str().unwrap().ends_with('Z')
        );
        assert!(matches!(p["scope"].as_str(), Some("USER" | "GROUP")));
        assert!(p["profile"].is_object());
    }
    d.stop().await;
}

#[tokio::test]
async fn rate_limit_headers_count_down_reset_after_the_window_and_429_has_okta_body() {
    let o = Options { window: Duration::from_millis(1200), apps_limit: 3, ..Options::default() };
    let (d, c) = start(o, 5, 2).await;
    let url = app_users_url(&d, "");
    let now_ms = || u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    let (mut remaining, mut resets) = (Vec::new(), BTreeSet::new());
    for i in 0..3 {
        let before = now_ms();
        let r = c.ok(&url).await;
        let after = now_ms();
        assert_eq!((r.status, r.number("x-rate-limit-limit")), (200, 3));
        remaining.push(r.number("x-rate-limit-remaining"));
        let reset = r.number("x-rate-limit-reset");
        if i == 0 {
            // The window opened at this request: its end in epoch seconds, rounded up.
            assert!(((before + 1200).div_ceil(1000)..=(after + 1200).div_ceil(1000)).contains(&reset), "{reset}");
        }
        resets.insert(reset);
        assert!(r.header("date").unwrap().ends_with(" GMT"));
    }
    assert_eq!(remaining, [2, 1, 0]);
    assert_eq!(resets.len(), 1, "one window: {resets:?}");
    let over = c.ok(&url).await;
    assert_eq!(over.status, 429);
    assert_eq!(over.body["errorCode"], "E0000047");
    assert_eq!(over.body["errorSummary"], "API call exceeded rate limit due to too many requests.");
    assert_eq!((over.body["errorLink"].as_str(), over.body["errorCauses"].clone()), (Some("E0000047"), json!([])));
    assert!(over.body["errorId"].as_str().is_some_and(|s| !s.is_empty()));
    // Other buckets have their own windows.
    let g = c.ok(&format!("{}/api/v1/groups/{}", d.url(), d.with(|dir| dir.groups().next().unwrap().id.clone()))).await;
    assert_eq!((g.status, g.number("x-rate-limit-limit"), g.number("x-rate-limit-remaining")), (200, 600, 599));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let again = c.ok(&url).await;
    assert_eq!((again.status, again.number("x-rate-limit-remaining")), (200, 2), "a new window");
    assert_eq!(d.requests().rate_limited, 1);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_cap_answers_429_with_zero_limit() {
    let (d, c) = start(Options { concurrency: 2, ..Options::default() }, 3, 1).await;
    d.inject(Fault::slow(Duration::from_millis(800), 2));
    let url = app_users_url(&d, "");
    let slow: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn({
                let (c, url) = (c.clone(), url.clone());
                async move { c.ok(&url).await.status }
            })
        })
        .collect();
    // Both slow requests are in flight well before they are answered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let third = c.ok(&url).await;
    assert_eq!((third.status, third.number("x-rate-limit-limit"), third.number("x-rate-limit-remaining")), (429, 0, 0));
    assert_eq!(third.body["errorCode"], "E0000047");
    for s in slow {
        assert_eq!(s.await.unwrap(), 200);
    }
    assert_eq!(d.requests().max_concurrency, 3);
    d.stop().await;
}

#[tokio::test]
async fn tokens_missing_bad_revoked_and_without_app_permission() {
    let o = Options {
        tokens: vec![TOKEN.into(), "second".into()],
        tokens_without_apps: vec!["groups-only".into()],
        ..Options::default()
    };
    let (d, c) = start(o, 3, 1).await;
    let url = app_users_url(&d, "");
    assert_eq!(c.get(&url, Some("second")).await.unwrap().status, 200);
    for token in [None, Some("nope")] {
        let r = c.get(&url, token).await.unwrap();
        assert_eq!(
            (r.status, &r.body["errorCode"], &r.body["errorSummary"]),
            (401, &json!("E0000011"), &json!("Invalid token provided"))
        );
        assert_eq!(r.body["errorCauses"], json!([]));
        assert!(r.header("x-rate-limit-remaining").is_some());
    }
    d.revoke("second");
    assert_eq!(c.get(&url, Some("second")).await.unwrap().status, 401);
    assert_eq!(c.ok(&url).await.status, 200, "other tokens unaffected");

    let denied = c.get(&url, Some("groups-only")).await.unwrap();
    assert_eq!((denied.status, denied.body["errorCode"].as_str()), (403, Some("E0000006")));
    let gid = d.with(|dir| dir.groups().next().unwrap().id.clone());
    assert_eq!(
        c.get(&format!("{}/api/v1/groups/{gid}/users", d.url()), Some("groups-only")).await.unwrap().status,
        200
    );

    // The well-known document needs no token.
    let org = c.get(&format!("{}/.well-known/okta-organization", d.url()), None).await.unwrap();
    assert_eq!(
        org.body,
        json!({"id": d.org_id(), "pipeline": "idx",
        "_links": {"organization": {"href": d.url()}, "alternate": {"href": d.url()}}})
    );
    d.stop().await;
}

#[tokio::test]
async fn unknown_app_group_and_user_are_404_e0000007() {
    let (d, c) = start(Options::default(), 3, 1).await;
    let r = c.ok(&format!("{}/api/v1/apps/0oaNOPE/users", d.url())).await;
    assert_eq!((r.status, r.body["errorCode"].as_str()), (404, Some("E0000007")));
    assert_eq!(r.body["errorSummary"], "Not found: Resource not found: 0oaNOPE (App)");
    assert_eq!(c.ok(&format!("{}/api/v1/groups/00gNOPE/users", d.url())).await.status, 404);
    assert_eq!(c.ok(&format!("{}/api/v1/users/00uNOPE", d.url())).await.status, 404);
    d.stop().await;
}

#[tokio::test]
async fn injected_faults_answer_count_times_on_their_path_then_stop() {
    let (d, c) = start(Options::default(), 3, 1).await;
    let url = app_users_url(&d, "");
    let group = format!("{}/api/v1/groups/{}", d.url(), d.with(|dir| dir.groups().next().unwrap().id.clone()));
    d.inject(Fault::status(503, 2).on("/api/v1/apps"));
    assert_eq!(c.ok(&group).await.status, 200, "other paths untouched");
    for _ in 0..2 {
        let r = c.ok(&url).await;
        assert_eq!((r.status, r.body["errorCode"].as_str()), (503, Some("E0000010")));
    }
    assert_eq!(c.ok(&url).await.status, 200);

    d.inject(Fault::status(429, 1));
    let r = c.ok(&url).await;
    assert_eq!(
        (r.status, r.number("x-rate-limit-remaining"), r.body["errorCode"].as_str()),
        (429, 0, Some("E0000047"))
    );

    d.inject(Fault::drop_connection(1));
    assert!(c.get(&url, Some(TOKEN)).await.is_err(), "connection closed without a response");
    assert_eq!(c.ok(&url).await.status, 200);

    d.inject(Fault::slow(Duration::from_millis(300), 1));
    let t = Instant::now();
    assert_eq!(c.ok(&url).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    // An injected 401 revokes the token for good.
    d.inject(Fault::status(401, 1));
    assert_eq!(c.ok(&url).await.body["errorCode"], "E0000011");
    assert_eq!(c.ok(&url).await.status, 401);

    let log = d.requests();
    assert_eq!(log.faulted, 6);
    assert_eq!((log.status(503), log.status(0), log.bucket("apps"), log.bucket("groups")), (2, 1, 9, 1));
    assert_eq!(log.path("/api/v1/apps/{appId}/users"), 9);
    d.reset_requests();
    assert_eq!(d.requests().total, 0);
    d.stop().await;
}

#[tokio::test]
async fn control_api_mutates_the_org_with_okta_side_effects() {
    let (d, c) = start(Options::default(), 4, 2).await;
    let ctl = format!("{}/_double", d.url());
    let gid = d.with(|dir| dir.groups().next().unwrap().id.clone());
    let made = c
        .send(
            "POST",
            &format!("{ctl}/users"),
            &json!({"profile": {"login": "new@example.com", "firstName": "New"}, "groups": [gid]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let uid = made.body["id"].as_str().unwrap().to_owned();
    let app_user = c.ok(&app_users_url(&d, "")).await.body.as_array().unwrap().iter().any(|a| a["id"] == uid.as_str());
    assert!(app_user);
    let before = d.with(|dir| dir.group(&gid).unwrap().last_membership_updated);

    // Deactivation: the app user goes, the membership stays.
    assert_eq!(c.send("PATCH", &format!("{ctl}/users/{uid}"), &json!({"status": "DEPROVISIONED"})).await.status, 200);
    let listed = ids(&walk(&c, app_users_url(&d, "")).await);
    assert!(!listed.contains(&uid));
    let members = c.ok(&format!("{}/api/v1/groups/{gid}/users", d.url())).await;
    let member = members.body.as_array().unwrap().iter().find(|u| u["id"] == uid.as_str()).cloned().unwrap();
    assert_eq!(member["status"], "DEPROVISIONED");
    assert_eq!(d.with(|dir| dir.group(&gid).unwrap().last_membership_updated), before, "memberships unchanged");

    let removed = c.send("DELETE", &format!("{ctl}/groups/{gid}/members/{uid}"), &Value::Null).await;
    assert_eq!(removed.status, 200);
    assert!(d.with(|dir| dir.group(&gid).unwrap().last_membership_updated) > before);

    let fault =
        c.send("POST", &format!("{ctl}/faults"), &json!({"status": 500, "count": 1, "path": "/api/v1/users"})).await;
    assert_eq!((fault.status, &fault.body["pending"]), (201, &json!(1)));
    assert_eq!(c.ok(&format!("{}/api/v1/users/{uid}", d.url())).await.body["errorCode"], "E0000009");
    let log = c.send("GET", &format!("{ctl}/requests"), &Value::Null).await;
    assert_eq!(log.body["buckets"]["users"], 1);
    assert_eq!(c.send("POST", &format!("{ctl}/users/00uNOPE/assign"), &Value::Null).await.status, 404);
    d.stop().await;
}

#[test]
fn generate_is_deterministic_and_shaped_as_documented() {
    let a = Directory::generate(200, 12, 9);
    let b = Directory::generate(200, 12, 9);
    let c = Directory::generate(200, 12, 10);
    let snapshot = |d: &Directory| {
        (
            d.users().cloned().collect::<Vec<_>>(),
            d.app_users().map(|(i, a)| (i.clone(), a.clone())).collect::<Vec<_>>(),
            d.groups().cloned().collect::<Vec<_>>(),
        )
    };
    assert_eq!(snapshot(&a), snapshot(&b));
    assert_ne!(snapshot(&a).0, snapshot(&c).0);
    assert_eq!(a.app_users().count(), 200);
    assert_eq!(a.app_groups().count(), 12);
    let extras: Vec<_> = a.users().filter(|u| a.app_user(&u.id).is_none()).collect();
    assert_eq!(extras.len(), 4, "one non-app member per 50 app users");
    assert!(extras.iter().all(|u| u.status == UserStatus::Deprovisioned && !a.groups_of(&u.id).is_empty()));
    for (id, _) in a.app_users() {
        assert!((1..=3).contains(&a.groups_of(id).len()), "{id} in 1-3 groups");
    }
    let statuses: BTreeSet<_> = a.app_users().map(|(_, u)| u.status).collect();
    assert_eq!(statuses.len(), 2, "ACTIVE and PROVISIONED");
}

/// Pages of 500 app users with `expand=user` served per second (the client, in the same
/// process, reads the bodies without parsing them);
/// run with `cargo test --release -p okta-double --test double -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn throughput_of_500_user_pages() {
    let o = Options { apps_limit: u32::MAX, concurrency: 1000, ..Options::default() };
    let (d, c) = start(o, 5000, 50).await;
    let url = app_users_url(&d, "?limit=500&expand=user");
    let bytes = c.raw(&url).await.1;
    for clients in [1usize, 4] {
        let until = Instant::now() + Duration::from_secs(3);
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (c, url) = (c.clone(), url.clone());
                tokio::spawn(async move {
                    let mut n = 0u32;
                    while Instant::now() < until {
                        assert_eq!(c.raw(&url).await.0, 200);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        let per_s = f64::from(total) / 3.0;
        println!(
            "{clients} client(s): {per_s:.0} pages/s of 500 ({bytes} bytes each, {:.1} MB/s)",
            per_s * bytes as f64 / 1e6
        );
    }
    d.stop().await;
}

#[tokio::test]
async fn binary_prints_its_url_serves_the_generated_org_and_stops_on_sigterm() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_okta-double"))
        .args(["--listen", "127.0.0.1:0", "--users", "7", "--groups", "2", "--token", "T", "--app-id", "0oaBin"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let rest = line.trim().strip_prefix("okta-double listening on ").unwrap();
    let (url, app) = rest.split_once(" app=").unwrap();
    assert_eq!(app, "0oaBin");
    let c = Client::new();
    let users = c.get(&format!("{url}/api/v1/apps/0oaBin/users"), Some("T")).await.unwrap();
    assert_eq!(users.body.as_array().unwrap().len(), 7);
    let added = c.send("POST", &format!("{url}/_double/users"), &json!({"profile": {"login": "x@example.com"}})).await;
    assert_eq!(added.status, 201);
    let users = c.get(&format!("{url}/api/v1/apps/0oaBin/users"), Some("T")).await.unwrap();
    assert_eq!(users.body.as_array().unwrap().len(), 8);
    let term = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success(), "exits 0 on SIGTERM");
}
