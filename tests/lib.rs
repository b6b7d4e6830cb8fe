//! Helpers for the end-to-end tests: a real `inlet serve` process on a free port and a
//! minimal HTTP/1.1 client (no HTTP crate, so what is tested is the wire format).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub const TOKEN: &str = "e2e-token";

/// The `inlet` binary: `INLET_BIN`, else the workspace's, built (once per test process) by
/// [`build_inlet`] so the tests never start a binary older than the sources.
pub fn inlet_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| std::env::var_os("INLET_BIN").map_or_else(build_inlet, PathBuf::from)).clone()
}

/// `cargo build --workspace --bin inlet` in the profile these tests were built in, into the
/// same target directory (`CARGO_TARGET_DIR` is inherited): a no-op when nothing changed.
/// `--workspace` resolves features as the test command's `cargo build --workspace --bins`
/// does, so the two share artifacts. Returns the path cargo reports for the binary.
fn build_inlet() -> PathBuf {
    // Test executables live in <target>/<profile dir>/deps/; `dev` builds into `debug`.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).and_then(Path::file_name).unwrap();
    let profile = if profile_dir == "debug" { "dev".to_owned() } else { profile_dir.to_string_lossy().into_owned() };
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["build", "--workspace", "--bin", "inlet", "--profile", &profile])
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "building inlet failed:\n{log}");
    let bin = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "inlet")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reports the inlet executable");
    if log.contains("Compiling") {
        eprintln!("e2e: rebuilt {} in {:.1} s", bin.display(), started.elapsed().as_secs_f64());
    }
    bin
}

pub struct Server {
    child: Child,
    pub addr: String,
    pub dir: PathBuf,
    /// What the server printed at start (its URL, a first-start token).
    pub banner: String,
    /// The DynamoDB table, when the tests run on DynamoDB (`INLET_E2E_DYNAMODB`).
    pub table: Option<Table>,
    _tmp: Option<tempfile::TempDir>,
}

/// Regions handed out to servers on DynamoDB: moto keeps one backend per region and copies
/// it on every transaction, so each server gets its own.
const REGIONS: [&str; 16] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "sa-east-1",
];

/// A DynamoDB table for one server: its name and region.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub region: String,
}

impl Table {
    /// The server's token vault in Secrets Manager: secrets named after its table.
    pub fn secret_prefix(&self) -> String {
        format!("inlet/{}/", self.name)
    }
}

/// How many users the large-group test uses (fewer on moto, whose transactions copy state).
pub fn large_group_size() -> usize {
    std::env::var("INLET_E2E_LARGE_GROUP").ok().and_then(|v| v.parse().ok()).unwrap_or(1200)
}

/// With `INLET_E2E_DYNAMODB` set (and `AWS_ENDPOINT_URL` pointing at moto), every server
/// gets a fresh table created from template.yaml by `infra/local_table.py`.
pub fn fresh_table() -> Option<Table> {
    std::env::var_os("INLET_E2E_DYNAMODB")?;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let table = format!("e2e-{}-{n}-{nanos}", std::process::id());
    let region = REGIONS[n % REGIONS.len()].to_owned();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var("INLET_PYTHON").unwrap_or_else(|_| "python3".into());
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL points at the local DynamoDB");
    let status = Command::new(python)
        .arg(root.join("infra/local_table.py"))
        .args(["--endpoint", &endpoint, "--table", &table, "--region", &region, "--template"])
        .arg(root.join("template.yaml"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "creating table {table} failed");
    Some(Table { name: table, region })
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub raw: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl Server {
    /// Starts `inlet serve` on a fresh data directory.
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_in(&dir, Some(TOKEN), fresh_table());
        s._tmp = Some(tmp);
        s
    }

    /// Starts `inlet serve` on `dir` (and `table`, if any); `token` becomes INLET_DEV_TOKEN.
    pub fn start_in(dir: &Path, token: Option<&str>, table: Option<Table>) -> Self {
        Self::start_with(dir, token, table, &[])
    }

    /// Like [`Server::start_in`], with extra `serve` arguments (rate limiting is off unless
    /// they turn it on).
    pub fn start_with(dir: &Path, token: Option<&str>, table: Option<Table>, extra: &[&str]) -> Self {
        Self::start_with_env(dir, token, table, extra, &[])
    }

    /// Like [`Server::start_with`], with extra environment variables for the server only.
    pub fn start_with_env(
        dir: &Path,
        token: Option<&str>,
        table: Option<Table>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(inlet_bin());
        cmd.envs(env.iter().copied());
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        cmd.env_remove("INLET_DEV_TOKEN")
            .env("INLET_RATE_LIMIT", "0")
            .env("INLET_LOG", std::env::var("INLET_LOG").unwrap_or_else(|_| "warn".into()))
            .args(extra);
        if let Some(t) = &table {
            cmd.args(["--dynamodb-table", &t.name, "--secret-prefix", &t.secret_prefix()]).env("AWS_REGION", &t.region);
        }
        if let Some(t) = token {
            cmd.env("INLET_DEV_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("Data directory:") {
            assert!(out.read_line(&mut banner).unwrap() > 0, "inlet serve stopped: {banner}");
        }
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .expect("serve prints its address")
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = out.read_to_string(&mut sink);
        });
        Self { child, addr, dir: dir.to_path_buf(), banner, table, _tmp: None }
    }

    /// Runs `inlet <args>` against this server's data (its data directory, or with `--aws`
    /// its table and secrets); returns the exit status's success and stdout.
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let mut cmd = Command::new(inlet_bin());
        cmd.args(args).arg("--data-dir").arg(&self.dir).stderr(Stdio::piped());
        if let Some(t) = &self.table {
            cmd.args(["--aws", "--table", &t.name, "--secret-prefix", &t.secret_prefix()]).env("AWS_REGION", &t.region);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            eprintln!("inlet {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        (out.status.success(), stdout)
    }

    /// `inlet <args> --json`, which must succeed.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let (ok, out) = self.cli(&all);
        assert!(ok, "inlet {args:?} failed");
        serde_json::from_str(&out).unwrap()
    }

    /// A new tenant and a token for it (through the CLI).
    pub fn tenant_with_token(&self, tenant: &str) -> String {
        self.cli_json(&["tenants", "create", tenant]);
        self.cli_json(&["tokens", "issue", tenant])["token"].as_str().unwrap().to_owned()
    }

    /// Sends a request to `path` with `token` (raw Authorization value if it has a space).
    pub fn with_token(&self, method: &str, path: &str, body: Option<&Value>, token: &str) -> Resp {
        let auth = if token.contains(' ') { token.to_owned() } else { format!("Bearer {token}") };
        let body = body.map(Value::to_string);
        self.send(method, path, body.as_deref(), &[("Authorization", &auth)])
    }

    pub fn base(&self) -> String {
        "/default/scim/v2".to_owned()
    }

    /// Sends a request with the default token.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.send(
            method,
            path,
            body.map(|b| b.to_string()).as_deref(),
            &[("Authorization", &format!("Bearer {TOKEN}"))],
        )
    }

    /// `path` is relative to the default tenant's base URL.
    pub fn scim(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.call(method, &format!("{}{path}", self.base()), body)
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        let body = body.unwrap_or("");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            req.push_str("Content-Type: application/scim+json\r\n");
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).unwrap();
        // The server may answer (413) before reading a large body; a reset while writing is fine.
        let _ = stream.write_all(body.as_bytes());
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let status =
            lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
        let headers =
            lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
        let body = serde_json::from_str(payload).unwrap_or(Value::Null);
        Resp { status, headers, body, raw: payload.to_owned() }
    }

    /// SIGTERM, then wait: the server must exit cleanly (status 0).
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `inlet` CLI on a data directory of its own (and, on DynamoDB, a fresh table), with no
/// server: for the Okta pull, whose syncs the CLI runs itself. Files that must stay outside
/// the data directory (token files) go in [`Cli::scratch`].
pub struct Cli {
    pub dir: PathBuf,
    pub scratch: PathBuf,
    pub table: Option<Table>,
    _tmp: tempfile::TempDir,
}

/// What one CLI run gave.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Default for Cli {
    fn default() -> Self {
        Self::new()
    }
}

impl Cli {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, scratch) = (tmp.path().join("data"), tmp.path().join("scratch"));
        std::fs::create_dir_all(&scratch).unwrap();
        Self { dir, scratch, table: fresh_table(), _tmp: tmp }
    }

    /// `inlet <args>` on this data (the data directory, or with `--aws` the table), not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(inlet_bin());
        cmd.args(args).arg("--data-dir").arg(&self.dir).env("INLET_LOG", "warn");
        if let Some(t) = &self.table {
            cmd.args(["--aws", "--table", &t.name, "--secret-prefix", &t.secret_prefix()]).env("AWS_REGION", &t.region);
        }
        cmd
    }

    /// Runs `inlet <args>` with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        let out = cmd.output().unwrap();
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// `inlet <args> --json`, which must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let r = self.run(&all);
        assert!(r.ok, "inlet {args:?} failed: {}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("inlet {args:?}: {e}: {}", r.stdout))
    }

    /// Writes `token` to a file outside the data directory; its path.
    pub fn token_file(&self, name: &str, token: &str) -> String {
        let path = self.scratch.join(name);
        std::fs::write(&path, token).unwrap();
        path.to_string_lossy().into_owned()
    }
}

/// Every file under `dir` (recursively) except those under `skip`, with its bytes.
pub fn files_under(dir: &Path, skip: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.starts_with(skip) {
            continue;
        }
        if p.is_dir() {
            out.extend(files_under(&p, skip));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
    out
}
