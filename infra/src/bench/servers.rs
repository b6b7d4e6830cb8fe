//! Starting the processes a benchmark talks to (servers, emulators) on free loopback
//! ports, and stopping them when dropped.

use crate::Args;
use crate::client::Target;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const TOKEN: &str = "bench-token";

/// Child processes, killed when dropped.
#[derive(Default)]
pub struct Children(pub Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Waits (10 s at most) until something accepts connections on `port`.
pub async fn wait_for_port(port: u16) -> Result<(), String> {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(format!("nothing listens on port {port}"))
}

/// The `inlet` binary next to this one, unless given.
pub fn inlet_binary(given: Option<PathBuf>) -> Result<PathBuf, String> {
    match given {
        Some(p) => Ok(p),
        None => Ok(std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("inlet")),
    }
}

/// Starts `inlet serve` on a free port with the bench token and `extra` arguments and
/// environment; returns the process and the base URL it printed.
pub fn spawn_inlet(
    inlet: &Path,
    dir: &Path,
    extra: &[&str],
    env: &[(&str, String)],
) -> Result<(Child, String), String> {
    let mut child = Command::new(inlet)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("INLET_DEV_TOKEN", TOKEN)
        // The benchmark measures throughput, not the per-tenant limit.
        .env("INLET_RATE_LIMIT", "0")
        .env("INLET_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", inlet.display()))?;
    let mut first = String::new();
    if let Some(out) = child.stdout.take() {
        let mut out = BufReader::new(out);
        out.read_line(&mut first).map_err(|e| e.to_string())?;
        // Keep reading so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    }
    let base = first.split_whitespace().find(|w| w.starts_with("http://")).ok_or("inlet serve printed no URL")?;
    Ok((child, base.to_owned()))
}

/// The servers under test, side by side.
pub struct Servers {
    children: Children,
    targets: Vec<Target>,
    dirs: Vec<PathBuf>,
}

impl Servers {
    pub fn targets(&self) -> Vec<Target> {
        self.targets.clone()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        // Stop the servers before removing the data they use.
        drop(std::mem::take(&mut self.children));
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Starts the servers `args.servers` names (Inlet first, then the peers, in that order).
pub async fn start(args: &Args) -> Result<Servers, String> {
    let tmp = |what: &str| std::env::temp_dir().join(format!("inlet-bench-{}-{what}", std::process::id()));
    let mut servers = Servers { children: Children::default(), targets: Vec::new(), dirs: Vec::new() };
    for name in &args.servers {
        match name.as_str() {
            "inlet" => {
                let dir = tmp("inlet");
                servers.dirs.push(dir.clone());
                let (child, base) = spawn_inlet(&inlet_binary(args.inlet.clone())?, &dir, &[], &[])?;
                servers.children.0.push(child);
                servers.targets.push(Target::new("inlet", base, TOKEN.into()));
            }
            "scim2-server" => {
                let port = free_port()?;
                let child = Command::new(&args.peer)
                    .args(["--port", &port.to_string(), "--bearer-token", TOKEN])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| {
                        format!(
                            "{}: {e} (install it: python3 -m venv .tools/venv && .tools/venv/bin/pip install scim2-server)",
                            args.peer.display()
                        )
                    })?;
                servers.children.0.push(child);
                wait_for_port(port).await?;
                servers.targets.push(Target::new("scim2-server", format!("http://127.0.0.1:{port}/v2"), TOKEN.into()));
            }
            "polis" => {
                let dir = tmp("polis");
                servers.dirs.push(dir.clone());
                let (child, target) = crate::polis::spawn(&args.polis, &args.node, &dir).await?;
                servers.children.0.push(child);
                servers.targets.push(target);
            }
            other => return Err(format!("unknown server {other:?} (inlet, scim2-server, polis)")),
        }
    }
    match servers.targets.first() {
        Some(t) if t.name == "inlet" => Ok(servers),
        _ => Err("--servers must start with inlet: the figures are Inlet/peer ratios".into()),
    }
}
