//! `inlet tenants …` and `inlet tokens …`: tenant and token administration, on the local
//! data directory by default or, with `--aws`, on a deployed stack's table and secrets.

use clap::{Args, Subcommand, ValueEnum};
use inlet_shared::domain::audit::TenantAdmin;
use inlet_shared::domain::tenant::{
    Issued, Mode, Settings, SettingsChange, Status, Tenant, TenantChange, TenantId, TokenInfo,
};
use inlet_shared::domain::{Actor, DomainError};
use inlet_shared::startup::{Services, Storage};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct Target {
    /// The local data directory (what `inlet serve` uses).
    #[arg(long, global = true, default_value = "./.inlet")]
    data_dir: PathBuf,
    /// Work on a deployed stack: its DynamoDB table and Secrets Manager secrets (AWS
    /// settings and credentials from the environment, as for the AWS CLI).
    #[arg(long, global = true)]
    aws: bool,
    /// With --aws: the stack's table (output TableName).
    #[arg(long, global = true, env = "INLET_TABLE")]
    table: Option<String>,
    /// With --aws: the stack's secret-name prefix (output SecretPrefix).
    #[arg(long, global = true, env = "INLET_SECRET_PREFIX")]
    secret_prefix: Option<String>,
    /// Where tenants reach Inlet (output ApiUrl), to print SCIM base URLs.
    #[arg(long, global = true, env = "INLET_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Set when `inlet serve` runs the command for a CLI (its data directory is the server's).
    #[arg(skip)]
    pub injected: Option<Services>,
    /// Where output goes then, instead of stdout.
    #[arg(skip)]
    pub sink: Option<std::sync::Arc<std::sync::Mutex<String>>>,
    /// Standard input as the CLI read it (`--token-file -`), when the server runs the command.
    #[arg(skip)]
    pub stdin: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Scim,
    OktaApi,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Scim => Self::Scim,
            ModeArg::OktaApi => Self::OktaApi,
        }
    }
}

#[derive(Args)]
pub struct SettingsArgs {
    /// Provisioning mode: SCIM push, or Okta API pull (never both).
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// Off: provisioning requests are refused and provisioned records become editable.
    #[arg(long)]
    provisioning: Option<bool>,
    #[arg(long)]
    send_enrollment_email: Option<bool>,
    #[arg(long)]
    include_manually_provisioned_users: Option<bool>,
    #[arg(long)]
    read_all_users: Option<bool>,
}

impl SettingsArgs {
    fn change(&self) -> SettingsChange {
        SettingsChange {
            mode: self.mode.map(Mode::from),
            provisioning: self.provisioning,
            send_enrollment_email: self.send_enrollment_email,
            include_manually_provisioned_users: self.include_manually_provisioned_users,
            read_all_users: self.read_all_users,
        }
    }
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (mode scim unless --mode says otherwise).
    Create {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    List,
    Show {
        id: String,
    },
    /// Change a tenant's name or settings.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Refuse every request of the tenant (within the auth cache time, 30 s by default).
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a token (shown once). A tenant has at most two live tokens.
    Issue {
        tenant: String,
        #[arg(long)]
        label: Option<String>,
        /// Expire after this long (`90d`, `12h`, `30m`, `45s`); default: never.
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List token metadata (never the tokens).
    List { tenant: String },
    /// Issue a replacement for TOKEN_ID, which keeps working for --overlap, then expires.
    Rotate {
        tenant: String,
        token_id: String,
        #[arg(long, value_parser = parse_duration, default_value = "24h")]
        overlap: Duration,
        #[arg(long)]
        label: Option<String>,
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
    /// Revoke a token at once (every function stops accepting it within the auth cache time).
    Revoke { tenant: String, token_id: String },
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (n, unit) = text.trim().split_at(text.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = n.parse().map_err(|_| format!("{text:?} is not a duration like 90d, 12h, 30m or 45s"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not a duration like 90d, 12h, 30m or 45s")),
    };
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(|| "duration too long".into())
}

impl Target {
    /// Where this command's data is.
    pub fn storage(&self) -> Result<Storage, String> {
        let storage = if self.aws {
            let table = self.table.clone().ok_or("--aws needs --table (or INLET_TABLE)")?;
            let prefix = self.secret_prefix.clone().ok_or("--aws needs --secret-prefix (or INLET_SECRET_PREFIX)")?;
            Storage::local(self.data_dir.clone(), Some(table), Some(prefix))
        } else {
            Storage::local(self.data_dir.clone(), None, None)
        };
        storage.map_err(|e| e.to_string())
    }

    /// The services of the local data directory, or with `--aws` of a deployed stack (or the
    /// running server's own, for a command it runs on the CLI's behalf).
    pub async fn services(&self) -> Result<Services, String> {
        if let Some(s) = &self.injected {
            return Ok(s.clone());
        }
        Services::build(&self.storage()?).await.map_err(|e| e.to_string())
    }

    /// The data directory a local command works on (not with `--aws`).
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        (!self.aws).then_some(self.data_dir.as_path())
    }

    fn scim_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/scim/v2", self.base_url.trim_end_matches('/'))
    }

    pub fn print<T: Serialize>(&self, value: &T, text: impl FnOnce(&T) -> String) -> Result<(), String> {
        use std::io::Write;
        let out = if self.json { serde_json::to_string_pretty(value).map_err(|e| e.to_string())? } else { text(value) };
        if let Some(sink) = &self.sink {
            let mut buf = sink.lock().map_err(|_| "output buffer poisoned".to_owned())?;
            buf.push_str(out.trim_end());
            buf.push('\n');
            return Ok(());
        }
        // A closed pipe (`| head`) is the reader's choice, not an error.
        match writeln!(std::io::stdout().lock(), "{}", out.trim_end()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
            _ => Ok(()),
        }
    }
}

fn id(text: &str) -> Result<TenantId, String> {
    TenantId::parse(text).ok_or_else(|| format!("{text:?} is not a tenant id (a-z, 0-9, '-'; 1-63 characters)"))
}

fn err(e: DomainError) -> String {
    e.to_string()
}

fn tenant_text(t: &Tenant, url: &str) -> String {
    let s = &t.settings;
    format!(
        "tenant     {}\nname       {}\nstatus     {}\nmode       {}\nSCIM URL   {url}\nsendEnrollmentEmail {}\nincludeManuallyProvisionedUsers {}\nreadAllUsers {}\ncreated    {}\nupdated    {}",
        t.id,
        t.name,
        json_word(&t.status),
        json_word(&s.mode),
        s.send_enrollment_email,
        s.include_manually_provisioned_users,
        s.read_all_users,
        t.created,
        t.updated
    )
}

/// How a unit enum serialises (`okta_api`), for text output.
fn json_word(v: &impl Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn token_line(t: &TokenInfo) -> String {
    format!(
        "{:<14} {:<8} {:<25} {:<25} {:<25} {}",
        t.id,
        json_word(&t.state),
        t.created,
        t.expires.as_deref().unwrap_or("never"),
        t.last_used.as_deref().unwrap_or("never"),
        t.label
    )
}

fn issued_text(i: &Issued, url: &str) -> String {
    format!(
        "Token {} for {url}\n\n    {}\n\nThis is the only time it is shown: paste it into the identity provider now.",
        i.info.id, i.token
    )
}

/// The vendor at this machine, as the activity log names it.
pub fn cli_actor() -> Actor {
    Actor::Admin { principal: format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into())) }
}

pub async fn tenants(cmd: TenantCommand, target: Target) -> Result<(), String> {
    let services = target.services().await?;
    let tenants = services.tenants.clone();
    let audit = TenantAdmin { tenants: &tenants, directory: &services.directory, actor: cli_actor() };
    let show = |t: &Tenant| tenant_text(t, &target.scim_url(&t.id));
    match cmd {
        TenantCommand::Create { id: t, name, settings } => {
            let mut s = Settings::default();
            s.apply(settings.change());
            let created = audit.create(&id(&t)?, name.as_deref(), s).await.map_err(err)?;
            target.print(&created, show)
        }
        TenantCommand::List => {
            let all = tenants.list().await.map_err(err)?;
            target.print(&all, |all| {
                let head = format!("{:<24} {:<9} {:<9} {}\n", "TENANT", "STATUS", "MODE", "NAME");
                all.iter().fold(head, |out, t| {
                    out + &format!(
                        "{:<24} {:<9} {:<9} {}\n",
                        t.id,
                        json_word(&t.status),
                        json_word(&t.settings.mode),
                        t.name
                    )
                })
            })
        }
        TenantCommand::Show { id: t } => target.print(&tenants.show(&id(&t)?).await.map_err(err)?, show),
        TenantCommand::Update { id: t, name, settings } => {
            let change = TenantChange { name, status: None, settings: settings.change() };
            target.print(&audit.update(&id(&t)?, change).await.map_err(err)?, show)
        }
        TenantCommand::Disable { id: t } => set_status(&audit, &target, &t, Status::Disabled).await,
        TenantCommand::Enable { id: t } => set_status(&audit, &target, &t, Status::Active).await,
    }
}

async fn set_status(audit: &TenantAdmin<'_>, target: &Target, t: &str, status: Status) -> Result<(), String> {
    let change = TenantChange { status: Some(status), ..TenantChange::default() };
    let updated = audit.update(&id(t)?, change).await.map_err(err)?;
    target.print(&updated, |t| tenant_text(t, &target.scim_url(&t.id)))
}

pub async fn tokens(cmd: TokenCommand, target: Target) -> Result<(), String> {
    let services = target.services().await?;
    let tenants = services.tenants.clone();
    let audit = TenantAdmin { tenants: &tenants, directory: &services.directory, actor: cli_actor() };
    match cmd {
        TokenCommand::Issue { tenant, label, expires_in } => {
            let issued = audit.issue(&id(&tenant)?, label.as_deref(), expires_in).await.map_err(err)?;
            target.print(&issued, |i| issued_text(i, &target.scim_url(&tenant)))
        }
        TokenCommand::List { tenant } => {
            let all = tenants.tokens(&id(&tenant)?).await.map_err(err)?;
            target.print(&all, |all| {
                let head = format!(
                    "{:<14} {:<8} {:<25} {:<25} {:<25} {}\n",
                    "TOKEN", "STATE", "CREATED", "EXPIRES", "LAST USED", "LABEL"
                );
                all.iter().fold(head, |out, t| out + &token_line(t) + "\n")
            })
        }
        TokenCommand::Rotate { tenant, token_id, overlap, label, expires_in } => {
            let issued =
                audit.rotate(&id(&tenant)?, &token_id, overlap, label.as_deref(), expires_in).await.map_err(err)?;
            target.print(&issued, |i| {
                format!(
                    "{}\n{token_id} keeps working until it expires in {}; revoke it once the identity provider uses the new token.",
                    issued_text(i, &target.scim_url(&tenant)),
                    humanise(overlap)
                )
            })
        }
        TokenCommand::Revoke { tenant, token_id } => {
            audit.revoke(&id(&tenant)?, &token_id).await.map_err(err)?;
            target.print(&serde_json::json!({"revoked": token_id}), |_| format!("Revoked {token_id}."))
        }
    }
}

fn humanise(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86_400 == 0 && s > 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("12").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("1w").is_err());
        assert_eq!(humanise(Duration::from_secs(86_400)), "1d");
    }
}
