//! Lambda init time under the Runtime Interface Emulator: each function binary is started
//! fresh several times and sent one event; the emulator reports the init duration.

use crate::servers::{free_port, wait_for_port};
use std::path::Path;
use std::process::Command;

const ROUNDS: usize = 21;

/// One cold start: the init duration the emulator reports, in ms.
async fn cold_start(rie: &Path, binary: &Path, event: &str, env: &[(&str, String)]) -> Result<f64, String> {
    let (port, api) = (free_port()?, free_port()?);
    let log = std::env::temp_dir().join(format!("inlet-init-{}-{port}.log", std::process::id()));
    let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let file2 = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = Command::new(rie)
        .args(["--runtime-interface-emulator-address", &format!("127.0.0.1:{port}")])
        .args(["--runtime-api-address", &format!("127.0.0.1:{api}")])
        .arg(binary)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(file)
        .stderr(file2)
        .spawn()
        .map_err(|e| format!("{}: {e}", rie.display()))?;
    wait_for_port(port).await?;
    let status = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-X", "POST", "--data-binary", event])
        .arg(format!("http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"))
        .status()
        .map_err(|e| e.to_string())?;
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    if !status.success() {
        return Err("the invocation failed".into());
    }
    let init = text
        // The emulator's own measure of the init phase: `INIT REPORT(durationMs: 12.3)`.
        .split("INIT REPORT(durationMs:")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(str::trim)
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| format!("the emulator reported no init duration for {}", binary.display()))?;
    Ok(init)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Prints the median init time of each binary and its ratio to the hello-world baseline.
pub async fn run(rie: &Path, bin_dir: &Path) -> Result<(), String> {
    let event = "@events/get-user.json";
    let env = vec![
        ("INLET_TABLE", "inlet".to_owned()),
        ("INLET_SECRET_PREFIX", "inlet/bench/".to_owned()),
        ("INLET_DEV_TOKEN", "local-dev-token".to_owned()),
        ("AWS_SAM_LOCAL", "true".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    println!("Lambda init under the Runtime Interface Emulator ({ROUNDS} cold starts each, interleaved, median):");
    let names = ["hello-lambda", "hello-sdk-lambda", "users", "groups", "tokens"];
    let mut inits = vec![Vec::new(); names.len()];
    // Rounds interleave the binaries, so a slow spell of the machine hits them all alike.
    for _ in 0..ROUNDS {
        for (name, times) in names.iter().zip(inits.iter_mut()) {
            times.push(cold_start(rie, &bin_dir.join(name), event, &env).await?);
        }
    }
    let mut baseline = None;
    for (name, times) in names.iter().zip(inits) {
        let init = median(times);
        let size = std::fs::metadata(bin_dir.join(name)).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
        let base = *baseline.get_or_insert(init);
        println!("  {name:<16} init {init:>7.2} ms   {:>5.2}x hello-world   binary {size:>5.1} MB", init / base);
    }
    Ok(())
}
