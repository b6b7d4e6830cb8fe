//! The workload, identical for every target (fixed random seed).

use crate::Args;
use crate::client::{Call, Stats, Target};
use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::time::Duration;

pub struct Row {
    name: &'static str,
    results: Vec<(String, Stats)>,
}

fn user(i: usize) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("user{i:07}@bench.test"),
           "externalId": format!("ext-{i}"), "active": true, "displayName": format!("User {i}"),
           "name": {"givenName": "Bench", "familyName": format!("User{i}")},
           "emails": [{"value": format!("user{i:07}@bench.test"), "type": "work", "primary": true}]})
}

/// Ids of users at positions `[from, from + n)` in the listing order (not measured).
async fn user_ids(t: &Target, from: usize, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let mut start = from + 1;
    while ids.len() < n {
        let path = format!("/Users?startIndex={start}&count=100&attributes=userName");
        let Ok((200, body)) = t.send(&Call::new(Method::GET, path, None)).await else { break };
        let Some(page) = body.get("Resources").and_then(Value::as_array).filter(|p| !p.is_empty()) else { break };
        ids.extend(page.iter().filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_owned)));
        start += page.len();
    }
    ids.truncate(n);
    ids
}

fn report(name: &str, s: &Stats) {
    let client = match s.client_cores {
        Some(c) => format!(", client {c:.2} cores"),
        None => String::new(),
    };
    println!(
        "  {name:<34} {:>9.0} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms   ({} requests, {} errors{client})",
        s.per_sec,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.requests,
        s.errors
    );
}

pub async fn run(t: &Target, args: &Args, budget: Duration) -> Row {
    let mut rng = StdRng::seed_from_u64(7);
    let mut results = Vec::new();
    let mut push = |name: String, s: Stats| {
        report(&name, &s);
        results.push((name, s));
    };
    let mut have = 0;
    for &size in &args.sizes {
        let creates = (have..size).map(|i| Call::new(Method::POST, "/Users", Some(user(i)))).collect();
        push(format!("create ({have}->{size} users)"), crate::client::run(t, creates, args.concurrency, budget).await);
        have = size;
        let ids = user_ids(t, rng.random_range(0..size.saturating_sub(1000).max(1)), 1000).await;
        if ids.is_empty() {
            println!("  (no users listed; skipping reads at {size})");
            continue;
        }
        let n = args.samples;
        let gets = ids.iter().cycle().take(n).map(|id| Call::new(Method::GET, format!("/Users/{id}"), None)).collect();
        push(format!("get by id @{size}"), crate::client::run(t, gets, args.concurrency, budget).await);
        let eqs = (0..n)
            .map(|_| {
                let name = format!("user{:07}%40bench.test", rng.random_range(0..size));
                Call::new(
                    Method::GET,
                    format!("/Users?filter=userName%20eq%20%22{name}%22&startIndex=1&count=100"),
                    None,
                )
            })
            .collect();
        push(format!("userName eq @{size}"), crate::client::run(t, eqs, args.concurrency, budget).await);
        let pages = (0..(n / 20).max(10))
            .map(|_| {
                Call::new(
                    Method::GET,
                    format!("/Users?startIndex={}&count=100", rng.random_range(1..size.saturating_sub(100).max(2))),
                    None,
                )
            })
            .collect();
        push(format!("list page of 100 @{size}"), crate::client::run(t, pages, args.concurrency, budget).await);
    }
    let group = t.send(&Call::new(Method::POST, "/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "bench-group", "members": []})))).await;
    match group.ok().and_then(|(_, g)| g.get("id").and_then(Value::as_str).map(str::to_owned)) {
        Some(gid) => {
            let members = user_ids(t, 0, args.group_members.min(have)).await;
            let patches = members
                .chunks(100)
                .map(|c| {
                    let value: Vec<Value> = c.iter().map(|id| json!({"value": id})).collect();
                    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "members", "value": value}]});
                    Call::new(Method::PATCH, format!("/Groups/{gid}"), Some(body))
                })
                .collect();
            // One client: Okta pushes a group's changes in order.
            push(format!("PATCH +100 members (to {})", members.len()), crate::client::run(t, patches, 1, budget).await);
        }
        None => println!("  (group creation failed; no PATCH figures)"),
    }
    Row { name: t.name, results }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One table per peer: Inlet's figures, the peer's, and Inlet/peer throughput.
pub fn print_comparison(rows: &[Row]) {
    let Some((inlet, peers)) = rows.split_first() else { return };
    for peer in peers {
        println!(
            "\n{:<34} {:>10} {:>17} {:>10} {:>17} {:>8}",
            format!("Inlet vs {}", peer.name),
            format!("{} r/s", inlet.name),
            "p50 / p99 ms",
            "peer r/s",
            "p50 / p99 ms",
            "ratio"
        );
        for (op, a) in &inlet.results {
            let Some((_, b)) = peer.results.iter().find(|(o, _)| o == op) else { continue };
            println!(
                "{op:<34} {:>10.0} {:>17} {:>10.0} {:>17} {:>7.1}x",
                a.per_sec,
                format!("{:.2} / {:.2}", ms(a.p50), ms(a.p99)),
                b.per_sec,
                format!("{:.2} / {:.2}", ms(b.p50), ms(b.p99)),
                a.per_sec / b.per_sec.max(1e-9)
            );
        }
    }
}
