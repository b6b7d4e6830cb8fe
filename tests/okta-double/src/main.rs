//! `okta-double`: serves a generated org until SIGTERM or ctrl-c. See the library docs for
//! the Okta routes and the `/_double/` control API.

use okta_double::{Directory, Double, Options};
use std::io::Write;
use std::time::Duration;

const USAGE: &str = "usage: okta-double [--listen ADDR] [--users N] [--groups M] [--seed S] [--token T]... \
[--token-without-apps T]... [--app-id ID] [--org-id ID] [--alternate URL] [--apps-limit N] [--groups-limit N] \
[--users-limit N] [--other-limit N] [--concurrency N] [--window-seconds S] [--joined-links] [--no-expand]";

struct Args {
    options: Options,
    users: usize,
    groups: usize,
    seed: u64,
}

fn number<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|_| format!("{flag}: not a number: {v}"))
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut o = Options { tokens: Vec::new(), ..Options::default() };
    let (mut users, mut groups, mut seed) = (100, 10, 1);
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => o.listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--users" => users = number(&flag, argv.next())?,
            "--groups" => groups = number(&flag, argv.next())?,
            "--seed" => seed = number(&flag, argv.next())?,
            "--token" => o.tokens.push(value()?),
            "--token-without-apps" => o.tokens_without_apps.push(value()?),
            "--app-id" => o.app_id = value()?,
            "--org-id" => o.org_id = value()?,
            "--alternate" => o.alternate = Some(value()?),
            "--apps-limit" => o.apps_limit = number(&flag, argv.next())?,
            "--groups-limit" => o.groups_limit = number(&flag, argv.next())?,
            "--users-limit" => o.users_limit = number(&flag, argv.next())?,
            "--other-limit" => o.other_limit = number(&flag, argv.next())?,
            "--concurrency" => o.concurrency = number(&flag, argv.next())?,
            "--window-seconds" => {
                let s: f64 = number(&flag, argv.next())?;
                o.window = Duration::try_from_secs_f64(s).map_err(|e| format!("--window-seconds: {e}"))?;
            }
            "--joined-links" => o.joined_links = true,
            "--no-expand" => o.no_expand = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if o.tokens.is_empty() && o.tokens_without_apps.is_empty() {
        return Err(format!("give at least one --token\n{USAGE}"));
    }
    Ok(Args { options: o, users, groups, seed })
}

async fn stopped() {
    #[cfg(unix)]
    {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let double = match Double::start(args.options).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("okta-double: cannot listen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    double.with(|d| *d = Directory::generate(args.users, args.groups, args.seed));
    let mut out = std::io::stdout();
    let line =
        writeln!(out, "okta-double listening on {} app={}", double.url(), double.app_id()).and_then(|()| out.flush());
    if let Err(e) = line {
        eprintln!("okta-double: cannot write to stdout: {e}");
        return std::process::ExitCode::FAILURE;
    }
    stopped().await;
    double.stop().await;
    std::process::ExitCode::SUCCESS
}
