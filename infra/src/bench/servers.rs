//! Starts both servers on free loopback ports and stops them when dropped.

use crate::client::Target;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const TOKEN: &str = "bench-token";

pub struct Servers {
    children: Vec<Child>,
    targets: Vec<Target>,
    _dir: PathBuf,
}

impl Servers {
    pub fn targets(&self) -> Vec<Target> {
        self.targets.clone()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

async fn wait_for_port(port: u16) -> Result<(), String> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("nothing listens on port {port}"))
}

pub async fn start(inlet: Option<PathBuf>, peer: &Path) -> Result<Servers, String> {
    let inlet = match inlet {
        Some(p) => p,
        None => std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("inlet"),
    };
    let dir = std::env::temp_dir().join(format!("inlet-bench-{}", std::process::id()));
    let mut child = Command::new(&inlet)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("INLET_DEV_TOKEN", TOKEN)
        .env("INLET_LOG", "warn")
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
    let inlet_base =
        first.split_whitespace().find(|w| w.starts_with("http://")).ok_or("inlet serve printed no URL")?.to_owned();

    let port = free_port()?;
    let peer_child = Command::new(peer)
        .args(["--port", &port.to_string(), "--bearer-token", TOKEN])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "{}: {e} (install it: python3 -m venv .tools/venv && .tools/venv/bin/pip install scim2-server)",
                peer.display()
            )
        })?;
    let servers = Servers {
        children: vec![child, peer_child],
        targets: vec![
            Target::new("inlet", inlet_base, TOKEN.into()),
            Target::new("scim2-server", format!("http://127.0.0.1:{port}/v2"), TOKEN.into()),
        ],
        _dir: dir,
    };
    wait_for_port(port).await?;
    Ok(servers)
}
