//! `inlet schema …`: a tenant's declared attributes (its attribute registry), the same
//! document the admin API's `/admin/tenants/{t}/schema` takes and answers.

use crate::admin::{Target, cli_actor};
use crate::directory::{read_body, tenant_id};
use clap::Subcommand;
use inlet_shared::domain::audit::TenantAdmin;
use inlet_shared::scim::schema::Registry;
use serde_json::Value;

#[derive(Subcommand)]
pub enum SchemaCommand {
    /// Replace the tenant's declared attributes with those of a document.
    ///
    /// The document is `{"attributes": [ … ]}`, each an RFC 7643 §7 attribute definition plus
    /// `schema` (the URN it lives in) and optionally `resourceType` (User or Group). What
    /// `show --json` prints may be applied again. Running servers see the change within their
    /// auth cache time (30 s by default).
    Apply {
        tenant: String,
        /// The document (`-` = standard input).
        #[arg(long)]
        file: String,
    },
    /// The tenant's declared attributes: one line per attribute and sub-attribute.
    Show { tenant: String },
}

const HEAD: [&str; 8] = ["RESOURCE", "SCHEMA", "NAME", "TYPE", "MULTI", "UNIQUENESS", "REQUIRED", "SINCE"];

fn row(cells: [&str; 8], schema_width: usize) -> String {
    let [resource, schema, name, kind, multi, unique, required, since] = cells;
    format!(
        "{resource:<9} {schema:<schema_width$} {name:<24} {kind:<10} {multi:<6} {unique:<11} {required:<9} {since}\n"
    )
}

/// One line for a definition (its string and boolean fields as text).
fn definition_row(resource: &str, schema: &str, name: &str, def: &Value, since: &str, width: usize) -> String {
    let field = |k: &str| {
        def.get(k).map_or_else(|| "?".to_owned(), |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
    };
    row(
        [
            resource,
            schema,
            name,
            &field("type"),
            &field("multiValued"),
            &field("uniqueness"),
            &field("required"),
            since,
        ],
        width,
    )
}

/// The registry as text: its version, then each attribute and its sub-attributes (as
/// `attribute.sub`, with the attribute's version).
fn registry_text(r: &Registry) -> String {
    if r.is_empty() {
        return format!("registry version {}: no attributes declared\n", r.version);
    }
    let width = r.attributes.iter().map(|d| d.schema.len()).max().unwrap_or(0).max(HEAD[1].len());
    let mut out = format!("registry version {}, {} attributes\n", r.version, r.attributes.len());
    out.push_str(&row(HEAD, width));
    for d in &r.attributes {
        let resource = format!("{:?}", d.resource_type);
        let since = d.since.to_string();
        let name = d.definition.get("name").and_then(Value::as_str).unwrap_or("?");
        out.push_str(&definition_row(&resource, &d.schema, name, &d.definition, &since, width));
        for sub in d.definition.get("subAttributes").and_then(Value::as_array).into_iter().flatten() {
            let sub_name = format!("{name}.{}", sub.get("name").and_then(Value::as_str).unwrap_or("?"));
            out.push_str(&definition_row(&resource, &d.schema, &sub_name, sub, &since, width));
        }
    }
    out
}

pub async fn schema(cmd: SchemaCommand, target: Target) -> Result<(), String> {
    let services = target.services().await?;
    let show = |r: &Registry| target.print(&r.to_json(), |_| registry_text(r));
    match cmd {
        SchemaCommand::Apply { tenant, file } => {
            let t = tenant_id(&tenant)?;
            let doc = read_body(&file, target.stdin.as_deref())?;
            let audit = TenantAdmin { tenants: &services.tenants, directory: &services.directory, actor: cli_actor() };
            let applied = audit.apply_schema(&t, &doc).await.map_err(|e| e.to_string())?;
            show(&applied)
        }
        SchemaCommand::Show { tenant } => {
            let record = services.tenants.show(&tenant_id(&tenant)?).await.map_err(|e| e.to_string())?;
            show(&record.schema)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_has_a_line_per_attribute_and_sub_attribute() {
        let doc = json!({"attributes": [
            {"schema": "urn:ietf:params:scim:schemas:core:2.0:User", "name": "aliases", "type": "complex",
             "multiValued": true, "subAttributes": [
                {"name": "type", "type": "string", "canonicalValues": ["email"]},
                {"name": "value", "type": "string", "uniqueness": "server"}]},
            {"schema": "urn:ietf:params:scim:schemas:extension:acme:2.0:User", "name": "costCenter",
             "type": "string", "required": true}]});
        let text = registry_text(&Registry::default().apply(&doc).unwrap());
        let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(lines.len(), 6, "{text}");
        let core = "urn:ietf:params:scim:schemas:core:2.0:User";
        assert_eq!(lines[2], ["User", core, "aliases", "complex", "true", "none", "false", "1"]);
        assert_eq!(lines[4][2..6], ["aliases.value", "string", "false", "server"]);
        assert_eq!(lines[5][2..8], ["costCenter", "string", "false", "none", "true", "1"]);
        assert!(registry_text(&Registry::default()).contains("no attributes declared"));
    }
}
