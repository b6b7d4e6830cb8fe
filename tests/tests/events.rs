//! Local event delivery end to end, on real processes: `inlet serve --webhook` refuses to run
//! without a valid secret and announces where events go; `inlet webhook listen` prints what a
//! foreign Standard Webhooks signer (Python's hmac, not Inlet's code) signed and answers 401
//! to the rest; and the README's walk-through: a user pushed over SCIM arrives at the receiver,
//! in `events.jsonl` and in the activity log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use inlet_e2e::inlet_bin;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Signs with Python's standard library: an implementation independent of Inlet's.
fn python_sign(id: &str, ts: &str, body: &str) -> String {
    let script = "import base64,hashlib,hmac,sys\n\
        key = base64.b64decode(sys.argv[1].removeprefix('whsec_'))\n\
        msg = f'{sys.argv[2]}.{sys.argv[3]}.'.encode() + sys.stdin.buffer.read()\n\
        print('v1,' + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode())";
    let python = std::env::var("INLET_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .args(["-c", script, SECRET, id, ts])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// POSTs `body` with `headers` to `addr`; returns the status code.
fn post(addr: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req =
        format!("POST /events HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).unwrap().parse().unwrap()
}

/// `inlet webhook listen` on a free port, verifying with [`SECRET`].
fn listen() -> std::process::Child {
    Command::new(inlet_bin())
        .args(["webhook", "listen", "--port", "0"])
        .env("INLET_WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_receiver_prints_what_a_standard_signer_signed_and_refuses_the_rest() {
    let mut child = listen();
    let mut banner = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut banner).unwrap();
    // What the receiver says of refused deliveries, kept for the assertions below.
    let (said_tx, said) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let _ = said_tx.send(line.unwrap());
        }
    });
    let addr =
        banner.split("http://").nth(1).and_then(|r| r.split('/').next()).expect("listen prints its address").to_owned();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });

    let body = r#"{"id": "e1", "type": "inlet.user.created", "tenant": "default"}"#;
    let ts = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs().to_string();
    let sig = python_sign("e1", &ts, body);
    assert_eq!(
        post(&addr, &[("webhook-id", "e1"), ("webhook-timestamp", &ts), ("webhook-signature", &sig)], body),
        204
    );
    let line: serde_json::Value = serde_json::from_str(&lines.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!((line["id"].as_str(), line["type"].as_str()), (Some("e1"), Some("inlet.user.created")));
    // The same signature on another body, or none at all: 401, nothing printed.
    let tampered = body.replace("e1", "e2");
    assert_eq!(
        post(&addr, &[("webhook-id", "e1"), ("webhook-timestamp", &ts), ("webhook-signature", &sig)], &tampered),
        401
    );
    assert_eq!(post(&addr, &[], body), 401);
    assert!(lines.recv_timeout(Duration::from_millis(300)).is_err());
    assert!(said.recv_timeout(Duration::from_secs(5)).unwrap().contains("refused delivery e1"));
    let _ = child.kill();
    let _ = child.wait();
}

/// `inlet serve` with `args`, expected to refuse: returns what it said.
fn refused(args: &[&str], secret: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(inlet_bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .env_remove("INLET_WEBHOOK_SECRET");
    if let Some(s) = secret {
        cmd.env("INLET_WEBHOOK_SECRET", s);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success(), "inlet serve {args:?} started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn serve_refuses_a_webhook_without_a_valid_secret_and_says_where_events_go() {
    let hook = "http://127.0.0.1:9/events";
    assert!(refused(&["--webhook", hook], None).contains("INLET_WEBHOOK_SECRET is not set"));
    assert!(refused(&["--webhook", hook], Some("not-a-secret")).contains("whsec_"));
    assert!(refused(&["--webhook", "ftp://example.com/"], Some(SECRET)).contains("http://"));
    assert!(refused(&["--webhook", hook, "--dynamodb-table", "t"], Some(SECRET)).contains("change feed"));

    let made = Command::new(inlet_bin()).args(["webhook", "secret"]).output().unwrap();
    let secret = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(inlet_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--webhook", hook, "--data-dir"])
        .arg(dir.path())
        .env("INLET_WEBHOOK_SECRET", &secret)
        .env_remove("INLET_DEV_TOKEN")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Data directory:") {
        assert!(out.read_line(&mut banner).unwrap() > 0, "inlet serve stopped: {banner}");
    }
    let _ = child.kill();
    let _ = child.wait();
    let events = dir.path().join("events.jsonl");
    assert!(banner.contains(&format!("Events: appended to {}", events.display())), "{banner}");
    assert!(banner.contains(&format!("Events: POSTed to {hook}")), "{banner}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&events).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

/// The README's walk-through: `inlet webhook listen`, `inlet serve --webhook`, a user pushed
/// over SCIM; the event arrives signed at the receiver, in `events.jsonl` and in the log.
#[test]
fn a_pushed_user_arrives_at_the_webhook_receiver_and_in_the_activity_log() {
    let mut listen = listen();
    let mut banner = String::new();
    BufReader::new(listen.stderr.take().unwrap()).read_line(&mut banner).unwrap();
    let addr = banner.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap().to_owned();
    let (tx, lines) = mpsc::channel();
    let stdout = listen.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let hook = format!("http://{addr}/");
    let s = inlet_e2e::Server::start_with_env(
        tmp.path(),
        Some(inlet_e2e::TOKEN),
        None,
        &["--webhook", &hook],
        &[("INLET_WEBHOOK_SECRET", SECRET)],
    );
    let created = s.scim(
        "POST",
        "/Users",
        Some(&serde_json::json!({"userName": "ada@example.com", "emails": [{"value": "ada@example.com"}]})),
    );
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let event: serde_json::Value = serde_json::from_str(&lines.recv_timeout(Duration::from_secs(20)).unwrap()).unwrap();
    assert_eq!(
        (event["type"].as_str(), event["resource"]["id"].as_str()),
        (Some("inlet.user.created"), Some(id.as_str()))
    );
    assert_eq!(event["data"]["userName"], "ada@example.com");
    let jsonl = std::fs::read_to_string(tmp.path().join("events.jsonl")).unwrap();
    assert!(jsonl.lines().any(|l| l.contains(event["id"].as_str().unwrap())), "the same event in events.jsonl");
    let log = s.cli_json(&["activity", "default"]);
    assert_eq!(log[0]["id"], event["id"], "the newest activity entry is that event");
    drop(s);
    let _ = listen.kill();
    let _ = listen.wait();
}
