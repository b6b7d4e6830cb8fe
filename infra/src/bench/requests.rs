//! DynamoDB requests per SCIM operation: `inlet serve` on a DynamoDB table (moto's
//! server) behind a loopback proxy that counts every DynamoDB API call by its
//! `X-Amz-Target`. Counts are exact: what the SDK sends, retries and pages included.

use crate::client::{Call, Target};
use crate::servers::{Children, TOKEN, free_port, spawn_inlet, wait_for_port};
use bytes::Bytes;
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

/// Forwards everything to `upstream`, counting requests per DynamoDB operation.
async fn proxy(upstream: String, counts: Counts) -> Result<u16, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (client, counts, upstream) = (client.clone(), Arc::clone(&counts), upstream.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (client, counts, upstream) = (client.clone(), Arc::clone(&counts), upstream.clone());
                    async move {
                        let op = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("other");
                        let op = op.rsplit('.').next().unwrap_or(op).to_owned();
                        if let Ok(mut c) = counts.lock() {
                            *c.entry(op).or_default() += 1;
                        }
                        let (mut parts, body) = req.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let path = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
                        parts.uri = format!("{upstream}{path}").parse().unwrap_or_default();
                        let resp = client.request(hyper::Request::from_parts(parts, Full::new(body))).await;
                        let out = match resp {
                            Ok(r) => {
                                let (parts, body) = r.into_parts();
                                let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                                hyper::Response::from_parts(parts, Full::new(bytes))
                            }
                            Err(_) => hyper::Response::new(Full::new(Bytes::new())),
                        };
                        Ok::<_, std::convert::Infallible>(out)
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(port)
}

fn total(counts: &Counts) -> (u64, BTreeMap<String, u64>) {
    let snapshot = counts.lock().map(|c| c.clone()).unwrap_or_default();
    (snapshot.values().sum(), snapshot)
}

async fn measure(t: &Target, counts: &Counts, name: &str, target: &str, calls: Vec<Call>) {
    let n = calls.len() as u64;
    let (before, before_ops) = total(counts);
    for call in &calls {
        let _ = t.send(call).await;
    }
    let (after, after_ops) = total(counts);
    let ops: Vec<String> = after_ops
        .iter()
        .filter_map(|(op, c)| {
            let d = c - before_ops.get(op).copied().unwrap_or(0);
            (d > 0).then(|| format!("{op} {:.1}", d as f64 / n as f64))
        })
        .collect();
    println!(
        "  {name:<38} {:>5.1} requests   target {target:<12} ({})",
        (after - before) as f64 / n as f64,
        ops.join(", ")
    );
}

pub async fn run(inlet: &Path, moto: &Path, python: &Path) -> Result<(), String> {
    let moto_port = free_port()?;
    let mut children = Children::default();
    children.0.push(
        Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", moto.display()))?,
    );
    let upstream = format!("http://127.0.0.1:{moto_port}");
    wait_for_port(moto_port).await?;
    let status = Command::new(python)
        .args(["infra/local_table.py", "--endpoint", &upstream, "--table", "bench-requests"])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("creating the table failed".into());
    }
    let counts: Counts = Arc::default();
    let proxy_port = proxy(upstream, Arc::clone(&counts)).await?;
    let dir = std::env::temp_dir().join(format!("inlet-bench-ddb-{}", std::process::id()));
    let env = [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{proxy_port}")),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let (serve, base) = spawn_inlet(inlet, &dir, &["--dynamodb-table", "bench-requests"], &env)?;
    children.0.push(serve);
    let t = Target::new("inlet", base, TOKEN.into());

    println!("DynamoDB requests per SCIM operation (moto behind a counting proxy):");
    let user = |i: usize| json!({"userName": format!("r{i}@bench.test"), "externalId": format!("x{i}"), "name": {"givenName": "R"}});
    measure(
        &t,
        &counts,
        "create user",
        "1",
        (0..150).map(|i| Call::new(Method::POST, "/Users", Some(user(i)))).collect(),
    )
    .await;
    let ids: Vec<String> = match t.send(&Call::new(Method::GET, "/Users?count=150&attributes=userName", None)).await {
        Ok((_, body)) => body
            .get("Resources")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_owned)).collect())
            .unwrap_or_default(),
        Err(e) => return Err(e),
    };
    measure(
        &t,
        &counts,
        "get user by id",
        "1",
        ids.iter().take(20).map(|id| Call::new(Method::GET, format!("/Users/{id}"), None)).collect(),
    )
    .await;
    measure(
        &t,
        &counts,
        "userName eq (Okta's lookup)",
        "<= 2",
        (0..20)
            .map(|i| {
                Call::new(
                    Method::GET,
                    format!("/Users?filter=userName%20eq%20%22r{i}%40bench.test%22&startIndex=1&count=100"),
                    None,
                )
            })
            .collect(),
    )
    .await;
    measure(
        &t,
        &counts,
        "page of 100 (startIndex=1)",
        "<= 2",
        (0..10).map(|_| Call::new(Method::GET, "/Users?startIndex=1&count=100", None)).collect(),
    )
    .await;
    measure(
        &t,
        &counts,
        "page of 100 (startIndex=101)",
        "<= 2",
        (0..10).map(|_| Call::new(Method::GET, "/Users?startIndex=101&count=100", None)).collect(),
    )
    .await;
    measure(
        &t,
        &counts,
        "PATCH deactivate (Okta)",
        "-",
        ids.iter()
            .take(10)
            .map(|id| {
                Call::new(
                    Method::PATCH,
                    format!("/Users/{id}"),
                    Some(json!({"Operations": [{"op": "replace", "value": {"active": false}}]})),
                )
            })
            .collect(),
    )
    .await;
    let group = t.send(&Call::new(Method::POST, "/Groups", Some(json!({"displayName": "bench"})))).await?;
    let gid = group.1.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let members: Vec<Value> = ids.iter().take(100).map(|id| json!({"value": id})).collect();
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": members}]});
    measure(
        &t,
        &counts,
        "PATCH group +100 members",
        "<= 5",
        vec![Call::new(Method::PATCH, format!("/Groups/{gid}"), Some(add))],
    )
    .await;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
