//! The CLI's way into a running `inlet serve`. The embedded store is one file that one
//! process holds; while `inlet serve` holds it, the commands that need the store (`inlet
//! okta …`, `inlet users|groups list`) are run by the server on the CLI's behalf: the server
//! writes `serve.json` (its address and a random secret, mode 0600) into the data directory
//! at start, and answers `POST /_local/cli` from loopback peers that send that secret. Who can
//! read the data directory can read the store anyway, so the secret grants nothing more.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const PATH: &str = "/_local/cli";
const FILE: &str = "serve.json";
const SECRET_HEADER: &str = "x-inlet-local-secret";

#[derive(Serialize, Deserialize, Clone)]
pub struct Handoff {
    pub addr: SocketAddr,
    pub secret: String,
}

#[derive(Serialize, Deserialize)]
pub struct Call {
    pub args: Vec<String>,
    pub stdin: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct Answer {
    pub stdout: String,
    pub error: Option<String>,
}

fn file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

impl Handoff {
    /// Written by the server once it listens; removed when it stops.
    pub fn publish(dir: &Path, addr: SocketAddr) -> Result<Self, String> {
        let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let h = Self { addr, secret };
        let text = serde_json::to_vec(&h).map_err(|e| e.to_string())?;
        write_private(&file(dir), &text).map_err(|e| format!("{}: {e}", file(dir).display()))?;
        Ok(h)
    }

    pub fn read(dir: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(file(dir)).ok()?).ok()
    }

    pub fn withdraw(dir: &Path) {
        let _ = std::fs::remove_file(file(dir));
    }

    /// Whether a request carries this server's secret (compared in constant time).
    pub fn admits(&self, headers: &http::HeaderMap) -> bool {
        let Some(given) = headers.get(SECRET_HEADER).map(http::HeaderValue::as_bytes) else { return false };
        let want = self.secret.as_bytes();
        given.len() == want.len() && given.iter().zip(want).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(unix)]
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(body)
}

#[cfg(not(unix))]
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, body)
}

/// Sends the command to the server named by `h`; the answer's output is printed by the caller.
pub async fn forward(h: &Handoff, call: &Call) -> Result<Answer, String> {
    let unreachable = |e: &dyn std::fmt::Display| {
        format!(
            "the data directory is held by `inlet serve` at {} (serve.json), which did not answer: {e}; \
             if it is not running, delete serve.json from the data directory",
            h.addr
        )
    };
    let stream = tokio::net::TcpStream::connect(h.addr).await.map_err(|e| unreachable(&e))?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    tokio::spawn(conn);
    let body = serde_json::to_vec(call).map_err(|e| e.to_string())?;
    let req = http::Request::post(PATH)
        .header(http::header::HOST, h.addr.to_string())
        .header(SECRET_HEADER, &h.secret)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = send.send_request(req).await.map_err(|e| unreachable(&e))?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map_err(|e| unreachable(&e))?.to_bytes();
    serde_json::from_slice(&bytes).map_err(|_| format!("the server refused the command (HTTP {status})"))
}
