//! Hostile clients and production settings: `inlet serve`'s timeouts, connection cap and
//! authenticate-before-body, the dev-token rules, the root `/.search`, and that no log line
//! of a function or of `inlet serve` carries a token or a password at any level.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use inlet_e2e::{Server, TOKEN, inlet_bin};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn serve_with(extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(dir.path(), Some(TOKEN), inlet_e2e::fresh_table(), extra);
    (dir, s)
}

/// Reads until the server closes the connection or `limit` passes; what arrived and when.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), Some(started.elapsed())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), Some(started.elapsed()));
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), None),
        }
    }
}

fn half_request(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /default/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthor").unwrap();
    s
}

#[test]
fn half_sent_headers_are_closed_within_the_timeout() {
    let (_d, s) = serve_with(&["--header-timeout-seconds", "1"]);
    let mut slow = half_request(&s.addr);
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(10));
    let closed = closed.expect("a half-sent head must not hold a connection open");
    assert!(closed < Duration::from_secs(3), "closed after {closed:?}");

    // A kept-alive connection waiting for its next request is closed at the same timeout.
    let mut idle = TcpStream::connect(&s.addr).unwrap();
    let req = format!("GET /default/scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    idle.write_all(req.as_bytes()).unwrap();
    let (got, closed) = read_until_closed(&mut idle, Duration::from_secs(10));
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(closed.is_some_and(|c| c < Duration::from_secs(3)), "idle keep-alive closed after {closed:?}");
}

#[test]
fn connections_beyond_the_cap_do_not_starve_a_well_behaved_client() {
    let (_d, s) = serve_with(&["--header-timeout-seconds", "1", "--max-connections", "4"]);
    // Three times the cap in connections that never finish their head.
    let hogs: Vec<TcpStream> = (0..12).map(|_| half_request(&s.addr)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let r = s.scim("GET", "/Users", None);
    let waited = started.elapsed();
    assert_eq!(r.status, 200);
    assert!(waited >= Duration::from_millis(500), "the cap holds: served after {waited:?}, before a slot freed");
    // Each slot frees within the header timeout, so the queue ahead drains in ~3 rounds.
    assert!(waited < Duration::from_secs(8), "served after {waited:?}");
    drop(hogs);
}

#[test]
fn the_token_is_checked_before_the_body_is_read() {
    let (_d, s) = serve_with(&["--body-timeout-seconds", "1"]);
    // 1 MiB announced, not a byte of it sent: the answer must come anyway.
    let head = |token: &str| {
        format!(
            "POST /default/scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\n\
             Authorization: Bearer {token}\r\nContent-Length: 1048576\r\n\r\n"
        )
    };
    let mut anon = TcpStream::connect(&s.addr).unwrap();
    anon.write_all(head("not-a-token").as_bytes()).unwrap();
    let (got, _) = read_until_closed(&mut anon, Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 401"), "got {got:?}");

    // With a valid token the server waits for the body, for the body timeout only.
    let mut slow = TcpStream::connect(&s.addr).unwrap();
    slow.write_all(head(TOKEN).as_bytes()).unwrap();
    slow.write_all(b"{\"userName\":").unwrap();
    let started = Instant::now();
    let (got, _) = read_until_closed(&mut slow, Duration::from_secs(10));
    assert!(got.starts_with("HTTP/1.1 408"), "got {got:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_dev_token_is_refused_off_loopback_unless_insisted_on() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |extra: &[&str]| {
        let mut cmd = Command::new(inlet_bin());
        cmd.args(["serve", "--listen", "0.0.0.0:0", "--data-dir"]).arg(dir.path()).args(extra);
        cmd.env("INLET_DEV_TOKEN", "dev").stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let refused = serve(&[]).wait_with_output().unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--allow-remote-dev-token"), "{err}");

    let mut allowed = serve(&["--allow-remote-dev-token"]);
    let mut banner = String::new();
    let mut out = BufReader::new(allowed.stdout.take().unwrap());
    while !banner.contains("Data directory:") {
        assert!(out.read_line(&mut banner).unwrap() > 0, "serve stopped: {banner}");
    }
    allowed.kill().unwrap();
    allowed.wait().unwrap();
}

#[test]
fn root_search_answers_users_then_groups() {
    let s = Server::start();
    for n in ["ann", "bob"] {
        assert_eq!(s.scim("POST", "/Users", Some(&json!({"userName": n, "displayName": "Team"}))).status, 201);
    }
    assert_eq!(s.scim("POST", "/Groups", Some(&json!({"displayName": "Team"}))).status, 201);
    let search = |body: Value| {
        let r = s.scim("POST", "/.search", Some(&body));
        assert_eq!(r.status, 200, "{}", r.raw);
        r.body
    };
    let all = search(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}));
    assert_eq!(all["totalResults"], 3);
    let kinds: Vec<&str> =
        all["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["User", "User", "Group"]);

    // userName exists on users only: groups match nothing, not a 400.
    let ann = search(json!({"filter": "userName eq \"ann\""}));
    assert_eq!((ann["totalResults"].as_u64(), ann["Resources"][0]["userName"].as_str()), (Some(1), Some("ann")));
    let team = search(json!({"filter": "displayName eq \"Team\"", "startIndex": 2, "count": 2}));
    assert_eq!(team["totalResults"], 3);
    let page: Vec<&str> =
        team["Resources"].as_array().unwrap().iter().map(|r| r["meta"]["resourceType"].as_str().unwrap()).collect();
    assert_eq!(page, ["User", "Group"], "the window runs across the types");
    let bad = s.scim("POST", "/.search", Some(&json!({"filter": "userName eq"})));
    assert_eq!(bad.status, 400);
    assert_eq!(s.scim("GET", "/.search", None).status, 405);
    // Case variants of the endpoints reach the same handlers.
    assert_eq!(s.scim("GET", "/GROUPS", None).body["totalResults"], 1);
}

/// A function binary of the workspace's debug build.
fn function_bin(name: &str) -> PathBuf {
    inlet_bin().with_file_name(name)
}

const SECRET_TOKEN: &str = "inlet_SecretTokenValueThatMustNeverBeLogged00000000";
const PASSWORD: &str = "Hunter2-never-logged";

/// An API Gateway (HTTP API, payload 2.0) event: a user creation carrying a password.
fn event() -> String {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "logged@example.com",
                      "password": PASSWORD})
    .to_string();
    json!({
        "version": "2.0", "routeKey": "ANY /{tenant}/scim/v2/{proxy+}", "rawPath": "/default/scim/v2/Users",
        "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {SECRET_TOKEN}"), "content-type": "application/scim+json",
                    "host": "example.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "example", "domainPrefix": "example",
            "http": {"method": "POST", "path": "/default/scim/v2/Users", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                     "userAgent": "Okta SCIM Client"},
            "requestId": "r1", "routeKey": "ANY /{tenant}/scim/v2/{proxy+}", "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1795428000000u64},
        "isBase64Encoded": false, "body": body
    })
    .to_string()
}

/// Reads one HTTP/1.1 request (Content-Length or chunked body); `None` at end of stream.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body).ok()?;
    }
    Some((line.split(' ').nth(1)?.to_owned(), body))
}

/// A stand-in Lambda Runtime API serving one invocation; the function's answer lands in
/// the returned slot. Later `next` calls are left waiting.
fn runtime_api() -> (String, Arc<Mutex<Option<Vec<u8>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let answer = Arc::new(Mutex::new(None));
    let (slot, served) = (Arc::clone(&answer), Arc::new(Mutex::new(false)));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (slot, served) = (Arc::clone(&slot), Arc::clone(&served));
            std::thread::spawn(move || {
                let mut out = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                while let Some((path, body)) = read_request(&mut r) {
                    let reply = if path.ends_with("/invocation/next") {
                        if std::mem::replace(&mut *served.lock().unwrap(), true) {
                            std::thread::sleep(Duration::from_secs(600));
                        }
                        let e = event();
                        let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap()
                            + Duration::from_secs(60);
                        format!(
                            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\nLambda-Runtime-Deadline-Ms: {}\r\n\
                             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:users\r\n\
                             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{e}",
                            deadline.as_millis(),
                            e.len()
                        )
                    } else {
                        *slot.lock().unwrap() = Some(body);
                        "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_owned()
                    };
                    if out.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, answer)
}

fn assert_clean(logs: &str, what: &str) {
    for line in logs.lines() {
        assert!(!line.contains(SECRET_TOKEN) && !line.contains(PASSWORD), "{what} logged a secret: {line}");
    }
}

#[test]
fn functions_never_log_tokens_or_passwords_at_any_level() {
    let bin = function_bin("users");
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace --bins` first", bin.display());
    // Nothing listens here: the function's store calls fail fast, and it answers 500.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for level in ["TRACE", "DEBUG", "INFO"] {
        let (api, answer) = runtime_api();
        let logs = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(&bin)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "users")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_LOG_LEVEL", level)
            .env("RUST_LOG", level.to_ascii_lowercase())
            .env("INLET_TABLE", "inlet")
            .env("INLET_SECRET_PREFIX", "inlet/")
            .env("INLET_DEV_TOKEN", SECRET_TOKEN)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL", format!("http://{dead}"))
            .env("AWS_MAX_ATTEMPTS", "1")
            .stdout(logs.reopen().unwrap())
            .stderr(logs.reopen().unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while answer.lock().unwrap().is_none() && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let answered = answer.lock().unwrap().clone().expect("the invocation was answered");
        let answered: Value = serde_json::from_slice(&answered).unwrap();
        assert!(answered["statusCode"].as_u64().is_some(), "{answered}");
        let text = std::fs::read_to_string(logs.path()).unwrap();
        assert!(text.contains("INLET_DEV_TOKEN is ignored"), "the warning is logged at {level}: {text}");
        assert_clean(&text, &format!("users at {level}"));
    }
}

#[test]
fn inlet_serve_never_logs_tokens_or_passwords_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(inlet_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("INLET_DEV_TOKEN", SECRET_TOKEN)
        .env("INLET_LOG", "trace")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(logs.reopen().unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Data directory:") {
        assert!(out.read_line(&mut banner).unwrap() > 0, "serve stopped: {banner}");
    }
    let addr = banner.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap().to_owned();
    let body = json!({"userName": "logged@example.com", "password": PASSWORD}).to_string();
    for token in [SECRET_TOKEN, "inlet_WrongTokenWrongTokenWrongTokenWrongToken0000000"] {
        let mut s = TcpStream::connect(&addr).unwrap();
        let req = format!(
            "POST /default/scim/v2/Users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let (got, _) = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(got.starts_with("HTTP/1.1 201") || got.starts_with("HTTP/1.1 401"), "{got}");
    }
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    child.wait().unwrap();
    let text = std::fs::read_to_string(logs.path()).unwrap();
    assert!(text.contains("request"), "trace logging was on: {text}");
    assert_clean(&text, "inlet serve");
}
