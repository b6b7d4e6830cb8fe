//! Ory Polis as a peer: `infra/bench-peers/polis/server.js` (jackson on SQLite behind a
//! plain node:http server), installed with `npm ci` on first use.

use crate::client::Target;
use crate::servers::{free_port, wait_for_port};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The prefix `node` was installed under, when it ships the headers a native addon is
/// built against: jackson's SQLite driver (better-sqlite3) has no prebuilt binary this
/// machine can download, so npm builds it, and node-gyp would otherwise fetch headers.
fn node_headers_prefix(node: &Path) -> Option<PathBuf> {
    let out = Command::new(node).args(["-p", "process.execPath"]).output().ok()?;
    let exe = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let prefix = exe.parent()?.parent()?.to_path_buf();
    prefix.join("include/node/node.h").is_file().then_some(prefix)
}

/// Runs `npm ci` in `dir` unless its node_modules already holds jackson.
fn install(dir: &Path, node: &Path) -> Result<(), String> {
    if dir.join("node_modules/@boxyhq/saml-jackson/package.json").is_file() {
        return Ok(());
    }
    eprintln!("inlet-bench: installing Polis in {} (npm ci; builds the SQLite driver, ~2 min)", dir.display());
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(dir);
    if let Some(prefix) = node_headers_prefix(node) {
        npm.arg(format!("--nodedir={}", prefix.display()));
    }
    let status = npm.stdout(Stdio::null()).status().map_err(|e| format!("npm: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("npm ci in {} failed ({status})", dir.display())) }
}

/// Starts the Polis peer with its data in `data`; returns the process and its target
/// (the directory's SCIM base URL and bearer secret, as the server printed them).
pub async fn spawn(dir: &Path, node: &Path, data: &Path) -> Result<(Child, Target), String> {
    install(dir, node)?;
    let port = free_port()?;
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    // It warns on every event that no webhook is configured; kept for a failed start.
    let log = data.join("server.log");
    let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new(node)
        .arg(dir.join("server.js"))
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("{}: {e}", node.display()))?;
    let mut first = String::new();
    if let Some(out) = child.stdout.take() {
        let mut out = BufReader::new(out);
        out.read_line(&mut first).map_err(|e| e.to_string())?;
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    }
    let mut words = first.split_whitespace();
    let (Some("polis"), Some(base), Some(token)) = (words.next(), words.next(), words.next()) else {
        let _ = child.kill();
        let _ = child.wait();
        let why = std::fs::read_to_string(&log).unwrap_or_else(|e| format!("({}: {e})", log.display()));
        return Err(format!("the Polis server printed {first:?}, not `polis <url> <token>`:\n{why}"));
    };
    let target = Target::new("polis", base.to_owned(), token.to_owned());
    wait_for_port(port).await?;
    Ok((child, target))
}
