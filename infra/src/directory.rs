//! `inlet users …`, `inlet groups …` and `inlet activity`: the vendor's read of a tenant's
//! directory, its own (manual) writes, and the activity log. The same rules as the admin API:
//! provisioned records are read-only while the tenant's provisioning is on.

use crate::admin::Target;
use clap::Subcommand;
use inlet_shared::api::admin::directory::{list_all, present};
use inlet_shared::domain::activity::LogQuery;
use inlet_shared::domain::records::Stored;
use inlet_shared::domain::{Caller, DomainResult, Resource, TenantId};
use inlet_shared::startup::Services;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Every user of the tenant (a SCIM filter narrows it), as SCIM resources.
    List {
        tenant: String,
        /// A SCIM filter, e.g. `userName eq "ada@example.com"` or `active eq false`.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Create a manual user from a SCIM User body (`--file -` reads stdin).
    Create {
        tenant: String,
        #[arg(long)]
        file: String,
    },
    /// Replace a user with a SCIM User body.
    Update {
        tenant: String,
        id: String,
        #[arg(long)]
        file: String,
    },
    /// Set a user inactive (keeps its data and memberships).
    Deactivate { tenant: String, id: String },
    /// Delete a user and its memberships.
    Delete { tenant: String, id: String },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Every group of the tenant (with members), as SCIM resources.
    List {
        tenant: String,
        #[arg(long)]
        filter: Option<String>,
    },
    /// Create a manual group from a SCIM Group body (`--file -` reads stdin).
    Create {
        tenant: String,
        #[arg(long)]
        file: String,
    },
    /// Add users to a group (a provisioned group is read-only while provisioning is on).
    AddMembers { tenant: String, group_id: String, user_ids: Vec<String> },
    /// Remove users from a group.
    RemoveMembers { tenant: String, group_id: String, user_ids: Vec<String> },
    /// Delete a group and its memberships.
    Delete { tenant: String, group_id: String },
}

pub(crate) fn tenant_id(tenant: &str) -> Result<TenantId, String> {
    TenantId::parse(tenant).ok_or_else(|| format!("{tenant:?} is not a tenant id"))
}

/// A JSON document from `path` (`-`: what the CLI forwarded as stdin, or standard input).
pub(crate) fn read_body(path: &str, stdin: Option<&str>) -> Result<Value, String> {
    let text = match (stdin, path) {
        (Some(given), "-") => given.to_owned(),
        (None, "-") => std::io::read_to_string(std::io::stdin()).map_err(|e| format!("reading stdin: {e}"))?,
        _ => std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?,
    };
    serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn members(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

async fn caller(target: &Target, tenant: &str) -> Result<(Services, Caller), String> {
    let t = tenant_id(tenant)?;
    let services = target.services().await?;
    let record = services.tenants.show(&t).await.map_err(|e| e.to_string())?;
    let schemas = inlet_shared::domain::tenant::schemas_of(&record).map_err(|e| e.to_string())?;
    Ok((services, Caller::new(t, crate::admin::cli_actor(), record.settings, schemas)))
}

fn summary(r: &Value) -> String {
    let name = r.get("userName").or_else(|| r.get("displayName")).and_then(Value::as_str).unwrap_or("");
    let id = r.get("id").and_then(Value::as_str).unwrap_or("");
    let source = r.pointer("/urn:ietf:params:scim:schemas:extension:inlet:2.0:Source/kind").and_then(Value::as_str);
    let active = r.get("active").and_then(Value::as_bool).map_or("", |a| if a { "" } else { "  (inactive)" });
    format!("{id}  {name}  [{}]{active}\n", source.unwrap_or("?"))
}

async fn show(target: &Target, services: &Services, c: &Caller, res: Resource, s: &Stored) -> Result<(), String> {
    let shown = present(&services.directory, c, res, s).await.map_err(|e| e.to_string())?;
    target.print(&shown, summary)
}

/// Prints what a write left, or its refusal as the error.
async fn done(
    target: &Target,
    services: &Services,
    c: &Caller,
    res: Resource,
    r: DomainResult<Stored>,
) -> Result<(), String> {
    show(target, services, c, res, &r.map_err(|e| e.to_string())?).await
}

async fn deleted(target: &Target, services: &Services, c: &Caller, res: Resource, id: &str) -> Result<(), String> {
    services.directory.delete(c, res, id, None).await.map_err(|e| e.to_string())?;
    target.print(&json!({"deleted": id}), |_| format!("deleted {} {id}", res.name()))
}

/// A manual user or group from a SCIM body on a file (`-` = stdin).
async fn create(target: &Target, res: Resource, tenant: &str, file: &str) -> Result<(), String> {
    let (s, c) = caller(target, tenant).await?;
    let body = read_body(file, target.stdin.as_deref())?;
    done(target, &s, &c, res, s.directory.create(&c, res, &body).await).await
}

async fn list(target: &Target, res: Resource, tenant: &str, filter: Option<&str>) -> Result<(), String> {
    let (services, c) = caller(target, tenant).await?;
    let all = list_all(&services.directory, &c, res, filter).await.map_err(|e| e.to_string())?;
    target.print(&all, |all| all.iter().map(summary).collect())
}

pub async fn users(cmd: UserCommand, target: Target) -> Result<(), String> {
    let res = Resource::User;
    let stdin = target.stdin.clone();
    match cmd {
        UserCommand::List { tenant, filter } => list(&target, res, &tenant, filter.as_deref()).await,
        UserCommand::Create { tenant, file } => create(&target, res, &tenant, &file).await,
        UserCommand::Update { tenant, id, file } => {
            let (s, c) = caller(&target, &tenant).await?;
            let body = read_body(&file, stdin.as_deref())?;
            done(&target, &s, &c, res, s.directory.replace(&c, res, &id, &body, None).await).await
        }
        UserCommand::Deactivate { tenant, id } => {
            let (s, c) = caller(&target, &tenant).await?;
            let body = patch(json!([{"op": "replace", "path": "active", "value": false}]));
            done(&target, &s, &c, res, s.directory.patch(&c, res, &id, &body, None).await).await
        }
        UserCommand::Delete { tenant, id } => {
            let (s, c) = caller(&target, &tenant).await?;
            deleted(&target, &s, &c, res, &id).await
        }
    }
}

pub async fn groups(cmd: GroupCommand, target: Target) -> Result<(), String> {
    let res = Resource::Group;
    match cmd {
        GroupCommand::List { tenant, filter } => list(&target, res, &tenant, filter.as_deref()).await,
        GroupCommand::Create { tenant, file } => create(&target, res, &tenant, &file).await,
        GroupCommand::AddMembers { tenant, group_id, user_ids } => {
            let (s, c) = caller(&target, &tenant).await?;
            let body = patch(json!([{"op": "add", "path": "members", "value": members(&user_ids)}]));
            done(&target, &s, &c, res, s.directory.patch(&c, res, &group_id, &body, None).await).await
        }
        GroupCommand::RemoveMembers { tenant, group_id, user_ids } => {
            let (s, c) = caller(&target, &tenant).await?;
            let ops: Vec<Value> = user_ids
                .iter()
                .map(|u| json!({"op": "remove", "path": format!("members[value eq \"{u}\"]")}))
                .collect();
            done(&target, &s, &c, res, s.directory.patch(&c, res, &group_id, &patch(Value::Array(ops)), None).await)
                .await
        }
        GroupCommand::Delete { tenant, group_id } => {
            let (s, c) = caller(&target, &tenant).await?;
            deleted(&target, &s, &c, res, &group_id).await
        }
    }
}

fn time_arg(name: &str, v: Option<&str>) -> Result<Option<time::OffsetDateTime>, String> {
    v.map(|v| {
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
            .map_err(|_| format!("--{name} is an RFC 3339 time, e.g. 2026-12-01T10:00:00Z"))
    })
    .transpose()
}

/// `inlet activity TENANT`: the log, newest first, every page up to `limit` entries.
pub async fn activity(
    target: Target,
    tenant: &str,
    since: Option<&str>,
    until: Option<&str>,
    resource: Option<String>,
    action: Option<String>,
    limit: usize,
) -> Result<(), String> {
    let t = tenant_id(tenant)?;
    let services = target.services().await?;
    services.tenants.show(&t).await.map_err(|e| e.to_string())?;
    let mut q = LogQuery {
        since: time_arg("since", since)?,
        until: time_arg("until", until)?,
        subject: resource,
        action,
        limit: limit.min(1000),
        before: None,
    };
    let mut entries = Vec::new();
    loop {
        let page = services.directory.activity(&t, &q).await.map_err(|e| e.to_string())?;
        entries.extend(page.entries);
        match page.next {
            Some(next) if entries.len() < limit => q.before = Some(next),
            _ => break,
        }
    }
    entries.truncate(limit);
    target.print(&entries, |all| {
        all.iter()
            .map(|e| {
                let text = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or("");
                let actor = match text("/actor/kind") {
                    "scim" => format!("scim token {}", text("/actor/tokenId")),
                    "admin" => format!("admin {}", text("/actor/principal")),
                    other => other.to_owned(),
                };
                let changed = e.get("changed").and_then(Value::as_array).map_or(String::new(), |c| {
                    format!("  changed: {}", c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                });
                let members = e
                    .get("members")
                    .and_then(Value::as_array)
                    .map_or(String::new(), |m| format!("  {} members", m.len()));
                format!(
                    "{}  {:<32} {} {}  by {actor}{changed}{members}\n",
                    text("/time"),
                    text("/type"),
                    text("/resource/type"),
                    text("/resource/id")
                )
            })
            .collect()
    })
}
