//! `inlet okta …`: a tenant's Okta API pull — configure, status, sync now, disable — on the
//! local data directory or, with `--aws`, a deployed stack.

use crate::admin::{Target, parse_duration};
use clap::Subcommand;
use inlet_shared::domain::TenantId;
use inlet_shared::pull::configure::{Credentials, check};
use inlet_shared::pull::state::{self, StatusView};
use inlet_shared::pull::sync::{Outcome, RunOptions};
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand)]
pub enum OktaCommand {
    /// Point a tenant (in okta_api mode) at an Okta org and application; the credentials are
    /// checked with Okta first, as its "Test API Credentials" does.
    Configure {
        tenant: String,
        /// The org's URL, e.g. https://acme.okta.com (http only for loopback test doubles).
        #[arg(long)]
        domain: String,
        /// The application's id (0oa…), from its Admin Console URL.
        #[arg(long)]
        app_id: String,
        /// A file holding the SSWS API token (`-` = standard input); never the token itself.
        #[arg(long)]
        token_file: String,
        /// Time between two syncs (1m to 24h).
        #[arg(long, value_parser = parse_duration, default_value = "15m")]
        interval: Duration,
    },
    /// Sync status: Pending initial sync, Sync in progress, Synced or Not synced.
    Status { tenant: String },
    /// Run one sync now, in the foreground, to completion; fails unless it ends Synced.
    SyncNow { tenant: String },
    /// Stop pulling: the integration and its org claim are removed, the token blanked.
    Disable { tenant: String },
    /// One scheduled pass over every due tenant, as the puller function makes it: a sync that
    /// does not finish within the budget saves its progress, and the next pass resumes it.
    RunDue {
        /// The pass's time limit (the function's is its timeout, up to 15 min).
        #[arg(long, value_parser = parse_duration, default_value = "15m")]
        budget: Duration,
        /// Tenants synced at once.
        #[arg(long, default_value_t = 8)]
        parallel: usize,
    },
}

fn id(text: &str) -> Result<TenantId, String> {
    TenantId::parse(text).ok_or_else(|| format!("{text:?} is not a tenant id"))
}

fn read_token(path: &str, stdin: Option<&str>) -> Result<String, String> {
    let mut text = String::new();
    if let (Some(given), "-") = (stdin, path) {
        text = given.to_owned();
    } else if path == "-" {
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("reading the token from stdin: {e}"))?;
    } else {
        text = std::fs::read_to_string(path).map_err(|e| format!("reading the token file {path}: {e}"))?;
    }
    let token = text.trim().to_owned();
    if token.is_empty() {
        return Err("the token file is empty".into());
    }
    Ok(token)
}

fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

pub fn status_text(v: &StatusView) -> String {
    let mut out = format!("tenant        {}\nstatus        {}", v.tenant, v.status);
    if v.status == "Not synced"
        && let Some(s) = v.seconds_since_last_success
    {
        out += &format!(" (last successful sync {} ago)", ago(s));
    }
    if let Some(p) = &v.progress {
        out += &format!(
            "\nprogress      {}: {} pages, {} users, {} groups seen",
            p.phase, p.pages, p.users_seen, p.groups_seen
        );
    }
    let line = |name: &str, value: Option<&str>| format!("\n{name:<13} {}", value.unwrap_or("-"));
    out += &line("domain", v.domain.as_deref());
    out += &line("application", v.app_id.as_deref());
    out += &line("org", v.org_id.as_deref());
    out += &line("interval", v.interval_seconds.map(|s| format!("{} min", s / 60)).as_deref());
    out += &line("last success", v.last_success.as_deref());
    out += &line("last start", v.last_run_started.as_deref());
    out += &line("last end", v.last_run_ended.as_deref());
    out += &line("next due", v.next_due.as_deref());
    if let Some(e) = &v.last_error {
        out += &format!(
            "\nlast error    {}{}",
            e.code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(),
            e.message
        );
    }
    out += &format!("\nlast run      {}", v.counts);
    out
}

pub async fn okta(cmd: OktaCommand, target: Target) -> Result<(), String> {
    let services = target.services().await?;
    let integrations = &services.integrations;
    match cmd {
        OktaCommand::RunDue { budget, parallel } => {
            let mut puller = services.puller().map_err(|e| e.to_string())?;
            // A short budget keeps back a quarter of itself to apply and save, not a minute.
            puller.reserve = puller.reserve.min(budget / 4);
            let done =
                puller.run_due(Some(std::time::Instant::now() + budget), parallel).await.map_err(|e| e.to_string())?;
            let rows: Vec<serde_json::Value> = done
                .iter()
                .map(|(t, o)| serde_json::json!({"tenant": t.as_str(), "outcome": outcome_word(o)}))
                .collect();
            target.print(&rows, |rows| {
                rows.iter().fold(String::new(), |out, r| {
                    out + &format!("{}  {}\n", r["tenant"].as_str().unwrap_or(""), r["outcome"].as_str().unwrap_or(""))
                })
            })
        }
        OktaCommand::Configure { tenant, domain, app_id, token_file, interval } => {
            let t = id(&tenant)?;
            let tenant_record = services.tenants.show(&t).await.map_err(|e| e.to_string())?;
            if tenant_record.settings.mode != inlet_shared::domain::tenant::Mode::OktaApi {
                return Err(format!(
                    "tenant {t} is in scim mode: run `inlet tenants update {t} --mode okta-api` first (SCIM is then off)"
                ));
            }
            let creds = Credentials {
                domain,
                app_id,
                token: read_token(&token_file, target.stdin.as_deref())?,
                interval_seconds: interval.as_secs(),
            };
            let checked = check(creds, inlet_shared::okta::Limits::default()).await.map_err(|e| e.to_string())?;
            let i = integrations.configure(&services.tenants, &t, checked).await.map_err(|e| e.to_string())?;
            target.print(&i, |i| {
                format!(
                    "Tenant {} pulls from {} (org {}), application {}, every {} min; the first sync is due now.",
                    i.tenant,
                    i.domain,
                    i.org_id,
                    i.app_id,
                    i.interval_seconds / 60
                )
            })
        }
        OktaCommand::Status { tenant } => target.print(&status(&services, &id(&tenant)?).await?, status_text),
        OktaCommand::SyncNow { tenant } => {
            let t = id(&tenant)?;
            let json = target.json;
            let report: inlet_shared::pull::sync::OnProgress = Arc::new(move |p| {
                if !json {
                    eprintln!("{}: {} pages, {} users, {} groups seen", p.phase, p.pages, p.users_seen, p.groups_seen);
                }
            });
            let puller = services.puller().map_err(|e| e.to_string())?;
            let outcome = loop {
                let o = RunOptions { deadline: None, on_progress: Some(Arc::clone(&report)), only_if_due: false };
                match puller.sync(&t, &o).await.map_err(|e| e.to_string())? {
                    Outcome::Paused => continue,
                    other => break other,
                }
            };
            let view = status(&services, &t).await?;
            target.print(&view, status_text)?;
            match outcome {
                Outcome::Synced(_) => Ok(()),
                Outcome::Failed(e) => Err(format!("the sync failed: {}", e.message)),
                Outcome::Busy => {
                    Err("another sync of this tenant is running (it holds the lease); try again later".into())
                }
                Outcome::NotConfigured => Err(format!("tenant {t} has no Okta integration (`inlet okta configure`)")),
                Outcome::Paused | Outcome::NotDue => Err("the sync did not complete".into()),
            }
        }
        OktaCommand::Disable { tenant } => {
            let t = id(&tenant)?;
            integrations.disable(&t).await.map_err(|e| e.to_string())?;
            target.print(&serde_json::json!({"tenant": t.as_str(), "disabled": true}), |_| {
                format!("Tenant {t} no longer pulls from Okta; its users and groups stay as they are.")
            })
        }
    }
}

fn outcome_word(o: &Outcome) -> String {
    match o {
        Outcome::Synced(_) => "synced".into(),
        Outcome::Paused => "paused (resumes on the next pass)".into(),
        Outcome::Failed(e) => format!("failed: {}", e.message),
        Outcome::Busy => "busy (another run holds the lease)".into(),
        Outcome::NotConfigured => "not configured".into(),
        Outcome::NotDue => "not due".into(),
    }
}

async fn status(services: &inlet_shared::startup::Services, t: &TenantId) -> Result<StatusView, String> {
    services.tenants.show(t).await.map_err(|e| e.to_string())?;
    let integration = services.integrations.get(t).await.map_err(|e| e.to_string())?;
    let (s, _) =
        state::read(services.integrations.table().as_ref(), t).await.map_err(|e| e.to_string())?.unwrap_or_default();
    Ok(state::view(t, integration.as_ref(), &s, time::OffsetDateTime::now_utc()))
}
