//! `inlet users list` and `inlet groups list`: the vendor's read of a tenant's directory,
//! every page, as one JSON array of SCIM resources.

use crate::admin::Target;
use clap::Subcommand;
use inlet_shared::api::admin::directory::list_all;
use inlet_shared::domain::{Resource, TenantId};

#[derive(Subcommand)]
pub enum ListCommand {
    /// Every resource of the tenant (a SCIM filter narrows it), as SCIM resources.
    List {
        tenant: String,
        /// A SCIM filter, e.g. `userName eq "ada@example.com"` or `active eq false`.
        #[arg(long)]
        filter: Option<String>,
    },
}

pub async fn list(res: Resource, cmd: ListCommand, target: Target) -> Result<(), String> {
    let ListCommand::List { tenant, filter } = cmd;
    let t = TenantId::parse(&tenant).ok_or_else(|| format!("{tenant:?} is not a tenant id"))?;
    let services = target.services().await?;
    services.tenants.show(&t).await.map_err(|e| e.to_string())?;
    let all = list_all(&services.directory, &t, res, filter.as_deref()).await.map_err(|e| e.to_string())?;
    target.print(&all, |all| {
        all.iter().fold(String::new(), |out, r| {
            let name = r.get("userName").or_else(|| r.get("displayName")).and_then(|v| v.as_str()).unwrap_or("");
            let id = r.get("id").and_then(|v| v.as_str()).unwrap_or("");
            let active = r
                .get("active")
                .and_then(serde_json::Value::as_bool)
                .map_or("", |a| if a { "" } else { "  (inactive)" });
            out + &format!("{id}  {name}{active}\n")
        })
    })
}
