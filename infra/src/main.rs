//! `inlet`: run Inlet locally on its embedded store.

mod bootstrap;
mod serve;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

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
        #[arg(long, env = "INLET_DEV_TOKEN", hide_env_values = true)]
        dev_token: Option<String>,
        /// Store in this DynamoDB table instead of the embedded store (AWS settings from the
        /// environment, e.g. AWS_ENDPOINT_URL for a local DynamoDB).
        #[arg(long)]
        dynamodb_table: Option<String>,
    },
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
        Command::Serve { listen, data_dir, dev_token, dynamodb_table } => {
            serve::run(listen, &data_dir, dev_token, dynamodb_table).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inlet: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
