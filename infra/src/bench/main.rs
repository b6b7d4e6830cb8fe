//! `inlet-bench`: the same SCIM workload against `inlet serve` and its peers, the Python
//! reference server `scim2-server` and Ory Polis (jackson on SQLite), side by side, printing
//! throughput, p50/p99 and the Inlet/peer ratios, then how each answers the same edge
//! requests. Figures, not pass/fail: run it on a quiet machine. `--okta-pull` instead times
//! the Okta API pull against an in-process Okta double; `--events` measures what the activity
//! log costs each SCIM operation and how soon events are delivered locally.

mod behaviour;
mod ceiling;
mod client;
mod counted;
mod init;
mod inproc;
mod latency;
mod log_cost;
mod okta;
mod polis;
mod requests;
mod servers;
mod units;
mod workload;

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Benchmark Inlet against scim2-server and Ory Polis with one workload")]
pub struct Args {
    /// User counts to seed up to and measure at, in order.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    sizes: Vec<usize>,
    /// Concurrent clients (closed loop).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Requests per measured read operation.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Members of the group built with PATCHes of 100.
    #[arg(long, default_value_t = 10000)]
    group_members: usize,
    /// Longest time any one phase may run (then it reports what it did).
    #[arg(long, default_value_t = 300)]
    phase_seconds: u64,
    /// The `inlet` binary (default: next to this one).
    #[arg(long)]
    inlet: Option<PathBuf>,
    /// The servers to run the workload against, Inlet first.
    #[arg(long, value_delimiter = ',', default_value = "inlet,scim2-server,polis")]
    servers: Vec<String>,
    /// The `scim2-server` command (default: .tools/venv/bin/scim2-server).
    #[arg(long, default_value = ".tools/venv/bin/scim2-server")]
    peer: PathBuf,
    /// The Polis peer's folder (its server.js; `npm ci` runs there when node_modules is missing).
    #[arg(long, default_value = "infra/bench-peers/polis")]
    polis: PathBuf,
    /// The `node` that runs the Polis peer.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// Instead of the comparison: the load client's own ceiling, against a server that
    /// answers every request at once (so the client is seen not to be the bottleneck).
    #[arg(long)]
    client_ceiling: bool,
    /// Instead of the comparison: count DynamoDB requests per SCIM operation, with
    /// moto's server from this venv (the test command installs it in .tools/moto).
    #[arg(long)]
    dynamodb_requests: Option<PathBuf>,
    /// Instead of the comparison: Lambda init time of the function binaries next to this one,
    /// against a hello-world lambda_http binary, under this Runtime Interface Emulator.
    #[arg(long)]
    lambda_init: Option<PathBuf>,
    /// Instead of the comparison: the Okta API pull against an in-process Okta double — an
    /// initial sync under Okta's default app rate limit, then an unchanged resync's store requests.
    #[arg(long)]
    okta_pull: bool,
    /// With --okta-pull: app users and groups of the initial sync.
    #[arg(long, default_value_t = 100_000)]
    okta_users: usize,
    #[arg(long, default_value_t = 200)]
    okta_groups: usize,
    /// With --okta-pull: app users and groups of the unchanged resync.
    #[arg(long, default_value_t = 10_000)]
    okta_resync_users: usize,
    #[arg(long, default_value_t = 50)]
    okta_resync_groups: usize,
    /// Instead of the comparison: the activity log's store cost per SCIM operation (with
    /// DynamoDB units and prices) and event latency, commit to local delivery.
    #[arg(long)]
    events: bool,
}

/// SCIM requests per operation costed, and creates per latency run, by `--events`.
const EVENTS_COST_REQUESTS: usize = 200;
const EVENTS_LATENCY_CREATES: usize = 2000;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Some(venv) = &args.dynamodb_requests {
        let inlet = match servers::inlet_binary(args.inlet.clone()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("inlet-bench: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
        return match requests::run(&inlet, &venv.join("bin/moto_server"), &venv.join("bin/python")).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("inlet-bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.okta_pull {
        let sizes = okta::Sizes {
            users: args.okta_users,
            groups: args.okta_groups,
            resync_users: args.okta_resync_users,
            resync_groups: args.okta_resync_groups,
        };
        return match okta::run(&sizes).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("inlet-bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.events {
        let run = async {
            log_cost::run(EVENTS_COST_REQUESTS).await?;
            latency::run(EVENTS_LATENCY_CREATES).await
        };
        return match run.await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("inlet-bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if let Some(rie) = &args.lambda_init {
        let dir = std::env::current_exe().unwrap_or_default().with_file_name("");
        return match init::run(rie, &dir).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("inlet-bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let budget = Duration::from_secs(args.phase_seconds);
    if args.client_ceiling {
        return match ceiling::run(&args, budget).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("inlet-bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let servers = match servers::start(&args).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("inlet-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "workload: sizes {:?}, concurrency {}, {} samples per read, group of {} members",
        args.sizes, args.concurrency, args.samples, args.group_members
    );
    let targets = servers.targets();
    let mut rows = Vec::new();
    for target in &targets {
        println!("\n== {} ({})", target.name, target.base);
        rows.push(workload::run(target, &args, budget).await);
    }
    workload::print_comparison(&rows);
    behaviour::run(&targets).await;
    drop(servers);
    std::process::ExitCode::SUCCESS
}
