//! `inlet`: run Inlet locally on its embedded store.

mod admin;
mod bootstrap;
mod delivery;
mod directory;
mod local;
mod okta;
mod schema;
mod serve;
mod webhook;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "inlet", version, about = "SCIM 2.0 provisioning for SaaS vendors")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every function's routes in one process over the embedded store.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[arg(long, default_value = "./.inlet")]
        data_dir: PathBuf,
        /// Use this token for tenant `default` instead of the generated one (for scripts).
        /// It bypasses the vault, revocation and expiry: refused unless --listen is a loopback
        /// address or --allow-remote-dev-token is given.
        #[arg(long, env = "INLET_DEV_TOKEN", hide_env_values = true)]
        dev_token: Option<String>,
        /// Accept a dev token on a non-loopback listen address.
        #[arg(long)]
        allow_remote_dev_token: bool,
        /// Store in this DynamoDB table instead of the embedded store (AWS settings from the
        /// environment, e.g. AWS_ENDPOINT_URL for a local DynamoDB).
        #[arg(long)]
        dynamodb_table: Option<String>,
        /// With --dynamodb-table: keep token verifiers in Secrets Manager under this prefix.
        #[arg(long)]
        secret_prefix: Option<String>,
        /// Requests per second per tenant before 429 (burst: twice that); 0 turns it off.
        #[arg(long, env = "INLET_RATE_LIMIT", default_value_t = inlet_shared::api::ratelimit::DEFAULT_RATE)]
        rate_limit: u32,
        /// How long tenant records and verifiers are cached: the bound on revocation latency.
        #[arg(long, env = "INLET_AUTH_CACHE_SECONDS", default_value_t = inlet_shared::domain::tenant::gate::DEFAULT_TTL.as_secs())]
        auth_cache_seconds: u64,
        /// Seconds a client has to send a request head (also how long a kept-alive
        /// connection may wait for its next request).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        header_timeout_seconds: u64,
        /// Seconds a client has to send a request body (408 past it).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        body_timeout_seconds: u64,
        /// Seconds a connection may move no byte with no request being handled (a client that
        /// stops reading its response) before it is closed.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        idle_timeout_seconds: u64,
        /// Open connections served at once; past it, new ones wait in the listen backlog.
        #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
        max_connections: u64,
        /// Seconds between two passes of the Okta puller over the due tenants (0 = no pulling;
        /// each tenant is synced when its own interval has come).
        #[arg(long, env = "INLET_PULL_TICK_SECONDS", default_value_t = 15)]
        pull_tick_seconds: u64,
        /// Also POST every event to this URL, signed per Standard Webhooks with the secret in
        /// INLET_WEBHOOK_SECRET (whsec_…; required with this flag). Events always go to
        /// events.jsonl in the data directory.
        #[arg(long, value_name = "URL")]
        webhook: Option<String>,
    },
    /// Receive Inlet's webhook deliveries (`inlet webhook listen`), or make a secret for them.
    Webhook {
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
    /// Create, list, show, update, disable and enable tenants.
    Tenants {
        #[command(subcommand)]
        command: admin::TenantCommand,
        #[command(flatten)]
        target: admin::Target,
    },
    /// A tenant's Okta API pull: configure, status, sync-now, disable.
    Okta {
        #[command(subcommand)]
        command: okta::OktaCommand,
        #[command(flatten)]
        target: admin::Target,
    },
    /// A tenant's declared attributes (custom User and Group attributes): apply, show.
    Schema {
        #[command(subcommand)]
        command: schema::SchemaCommand,
        #[command(flatten)]
        target: admin::Target,
    },
    /// A tenant's users, as SCIM resources: list, and the vendor's own (manual) writes.
    Users {
        #[command(subcommand)]
        command: directory::UserCommand,
        #[command(flatten)]
        target: admin::Target,
    },
    /// A tenant's groups (with members), as SCIM resources: list, and manual groups.
    Groups {
        #[command(subcommand)]
        command: directory::GroupCommand,
        #[command(flatten)]
        target: admin::Target,
    },
    /// A tenant's activity log, newest first.
    Activity {
        tenant: String,
        /// RFC 3339 time: entries at or after it.
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        /// Only entries about this user, group or token id.
        #[arg(long)]
        resource: Option<String>,
        /// Only entries of this type (`inlet.user.created`, `user.created` or `created`).
        #[arg(long)]
        action: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        target: admin::Target,
    },
    /// Issue, list, rotate and revoke a tenant's bearer tokens.
    Tokens {
        #[command(subcommand)]
        command: admin::TokenCommand,
        #[command(flatten)]
        target: admin::Target,
    },
}

/// The target of a command that needs the store (the ones `inlet serve` can run for the CLI).
fn store_target(cmd: &mut Command) -> Option<&mut admin::Target> {
    match cmd {
        Command::Okta { target, .. }
        | Command::Tenants { target, .. }
        | Command::Tokens { target, .. }
        | Command::Schema { target, .. }
        | Command::Users { target, .. }
        | Command::Groups { target, .. }
        | Command::Activity { target, .. } => Some(target),
        _ => None,
    }
}

/// Every command but `serve`.
async fn dispatch(cmd: Command) -> Result<(), String> {
    match cmd {
        Command::Serve { .. } => Err("inlet serve cannot be run this way".into()),
        Command::Webhook { command } => webhook::command(command).await,
        Command::Tenants { command, target } => admin::tenants(command, target).await,
        Command::Tokens { command, target } => admin::tokens(command, target).await,
        Command::Okta { command, target } => okta::okta(command, target).await,
        Command::Schema { command, target } => schema::schema(command, target).await,
        Command::Users { command, target } => directory::users(command, target).await,
        Command::Groups { command, target } => directory::groups(command, target).await,
        Command::Activity { tenant, since, until, resource, action, limit, target } => {
            directory::activity(target, &tenant, since.as_deref(), until.as_deref(), resource, action, limit).await
        }
    }
}

/// Runs a command here, or, when a running `inlet serve` holds its data directory, there.
async fn run_or_forward(mut cmd: Command) -> Result<(), String> {
    let handoff = store_target(&mut cmd).and_then(|t| t.local_dir().and_then(local::Handoff::read));
    let Some(handoff) = handoff else { return dispatch(cmd).await };
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let stdin = file_as_stdin(&mut args)?;
    let answer = local::forward(&handoff, &local::Call { args, stdin }).await?;
    print!("{}", answer.stdout);
    answer.error.map_or(Ok(()), Err)
}

/// A forwarded command's file argument (`--file F`, `--token-file F`, `--file=F`) names a file
/// of the caller's: a relative path means the caller's directory, not the server's. So it is
/// read here (`-`: standard input) and sent as the server's stdin, the argument rewritten to `-`.
fn file_as_stdin(args: &mut [String]) -> Result<Option<String>, String> {
    let Some((at, prefix, path)) = file_arg(args) else { return Ok(None) };
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading stdin: {e}"))?
    } else {
        std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?
    };
    if let Some(arg) = args.get_mut(at) {
        *arg = format!("{prefix}-");
    }
    Ok(Some(text))
}

/// Where the file argument's value is: its index in `args`, what precedes the path in that
/// argument (`--file=` or nothing), and the path.
fn file_arg(args: &[String]) -> Option<(usize, String, String)> {
    for (i, arg) in args.iter().enumerate() {
        for flag in ["--file", "--token-file"] {
            if arg == flag {
                return args.get(i + 1).map(|path| (i + 1, String::new(), path.clone()));
            }
            if let Some(path) = arg.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')) {
                return Some((i, format!("{flag}="), path.to_owned()));
            }
        }
    }
    None
}

/// What `inlet serve` does with a forwarded command: parses it as the CLI would and runs it on
/// the server's own services, output captured.
async fn execute(services: inlet_shared::startup::Services, call: local::Call) -> local::Answer {
    let parsed = Cli::try_parse_from(std::iter::once("inlet".to_owned()).chain(call.args));
    let mut cmd = match parsed {
        Ok(cli) => cli.command,
        Err(e) => return local::Answer { stdout: String::new(), error: Some(e.to_string()) },
    };
    let sink = Arc::new(std::sync::Mutex::new(String::new()));
    let Some(target) = store_target(&mut cmd) else {
        return local::Answer {
            stdout: String::new(),
            error: Some("the server runs only okta, users and groups commands".into()),
        };
    };
    target.injected = Some(services);
    target.sink = Some(Arc::clone(&sink));
    target.stdin = call.stdin;
    let error = dispatch(cmd).await.err();
    let stdout = sink.lock().map(|s| s.clone()).unwrap_or_default();
    local::Answer { stdout, error }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INLET_LOG").unwrap_or_else(|_| "warn,inlet=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Serve {
            listen,
            data_dir,
            dev_token,
            dynamodb_table,
            secret_prefix,
            rate_limit,
            auth_cache_seconds,
            allow_remote_dev_token,
            header_timeout_seconds,
            body_timeout_seconds,
            idle_timeout_seconds,
            max_connections,
            pull_tick_seconds,
            webhook,
        } => {
            serve::run(serve::Options {
                listen,
                data_dir,
                dev_token,
                table: dynamodb_table,
                secret_prefix,
                rate_limit,
                auth_cache: Duration::from_secs(auth_cache_seconds),
                limits: serve::Limits {
                    header_timeout: Duration::from_secs(header_timeout_seconds),
                    body_timeout: Duration::from_secs(body_timeout_seconds),
                    idle_timeout: Duration::from_secs(idle_timeout_seconds),
                    max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
                },
                allow_remote_dev_token,
                pull_tick: Duration::from_secs(pull_tick_seconds),
                webhook,
                executor: Arc::new(|services, call| Box::pin(execute(services, call))),
            })
            .await
        }
        other => run_or_forward(other).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inlet: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
