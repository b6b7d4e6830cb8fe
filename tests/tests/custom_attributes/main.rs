//! Tenant-declared attributes end to end, through `inlet serve`, SCIM over HTTP and `inlet
//! schema`: Akamai's `aliases` as Okta sends them (seed 001), an Entra-style extension
//! attribute set by a no-path PATCH, type checks and `returned`, `/Schemas` against RFC 7643's
//! schema for schemas, registry changes, and refused declarations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod aliases;
mod discovery;
mod extension;
mod registry;
mod values;

use inlet_e2e::{Resp, Server, inlet_bin};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

pub const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
pub const COST: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User:costCenter";

/// A server whose tenant records are read on every request, so a registry change applies at
/// once (with the directory it lives in).
pub fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Server::start_with(dir.path(), None, inlet_e2e::fresh_table(), &["--auth-cache-seconds", "0"]), dir)
}

pub struct Tenant<'a> {
    pub s: &'a Server,
    pub id: String,
    pub token: String,
}

/// What one CLI run gave: success, stdout, stderr.
pub struct Run(pub bool, pub String, pub String);

impl<'a> Tenant<'a> {
    pub fn new(s: &'a Server, id: &str) -> Self {
        Self { s, id: id.to_owned(), token: s.tenant_with_token(id) }
    }

    pub fn scim(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.s.with_token(method, &format!("/{}/scim/v2{path}", self.id), body, &self.token)
    }

    /// `inlet <args>` on the server's data, `stdin` fed to it.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Run {
        self.cli_in(&std::env::current_dir().unwrap(), args, stdin)
    }

    /// [`Tenant::cli`] run in directory `cwd`.
    pub fn cli_in(&self, cwd: &std::path::Path, args: &[&str], stdin: &str) -> Run {
        let mut cmd = Command::new(inlet_bin());
        cmd.current_dir(cwd);
        cmd.args(args).arg("--data-dir").arg(&self.s.dir).env("INLET_LOG", "warn");
        if let Some(t) = &self.s.table {
            cmd.args(["--aws", "--table", &t.name, "--secret-prefix", &t.secret_prefix()]).env("AWS_REGION", &t.region);
        }
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Run(out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    /// `inlet schema apply` with the document on stdin (`--file -`).
    pub fn apply(&self, doc: &Value) -> Run {
        self.cli(&["schema", "apply", &self.id, "--file", "-", "--json"], &doc.to_string())
    }

    /// An apply that must succeed; the registry it answers.
    pub fn declare(&self, attributes: Value) -> Value {
        let Run(ok, out, err) = self.apply(&json!({ "attributes": attributes }));
        assert!(ok, "inlet schema apply {}: {err}", self.id);
        serde_json::from_str(&out).unwrap()
    }

    pub fn show(&self) -> Value {
        self.s.cli_json(&["schema", "show", &self.id])
    }

    pub fn create(&self, body: &Value) -> Value {
        let r = self.scim("POST", "/Users", Some(body));
        assert_eq!(r.status, 201, "{}", r.raw);
        r.body
    }

    pub fn get(&self, id: &str, query: &str) -> Value {
        let r = self.scim("GET", &format!("/Users/{id}{query}"), None);
        assert_eq!(r.status, 200, "{}", r.raw);
        r.body
    }

    pub fn patch(&self, id: &str, ops: Value) -> Resp {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        self.scim("PATCH", &format!("/Users/{id}"), Some(&body))
    }

    /// A PATCH that must succeed (204, RFC 7644 §3.5.2); the user as GET then shows it.
    pub fn patched(&self, id: &str, ops: Value) -> Value {
        let r = self.patch(id, ops);
        assert_eq!(r.status, 204, "{}", r.raw);
        self.get(id, "")
    }

    /// The ids a filter finds, in order.
    pub fn find(&self, filter: &str, extra: &str) -> Vec<String> {
        let r = self.scim("GET", &format!("/Users?filter={}{extra}", encode(filter)), None);
        assert_eq!(r.status, 200, "{filter}: {}", r.raw);
        r.body["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
    }
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Akamai's declaration (seed 001): aliases in the core User schema, each value unique.
pub fn aliases_decl() -> Value {
    json!({"schema": CORE, "name": "aliases", "type": "complex", "multiValued": true,
           "description": "Alternate usernames; each one signs in to the same account",
           "subAttributes": [
               {"name": "type", "type": "string", "canonicalValues": ["email"], "description": "The alias kind"},
               {"name": "value", "type": "string", "uniqueness": "server", "description": "The alias"}]})
}

pub fn cost_decl() -> Value {
    json!({"schema": ACME, "name": "costCenter", "type": "string", "description": "Cost center"})
}

/// A user as Okta creates one; `aliases` as Okta sends the attribute with external name
/// `aliases.^[type=='email'].value` in namespace `urn:ietf:params:scim:schemas:core:2.0:User`.
pub fn okta_user(name: &str, aliases: &[&str]) -> Value {
    let mut u = json!({"schemas": [CORE], "userName": name, "name": {"givenName": "Bob", "familyName": "Jones"},
                       "emails": [{"primary": true, "value": name, "type": "work"}], "active": true});
    if !aliases.is_empty() {
        u["aliases"] = aliases.iter().map(|a| json!({"type": "email", "value": a})).collect();
    }
    u
}

pub fn alias_values(u: &Value) -> Vec<&str> {
    u["aliases"].as_array().map_or_else(Vec::new, |a| a.iter().map(|x| x["value"].as_str().unwrap()).collect())
}

pub fn assert_conflict(r: &Resp, names: &str) {
    assert_eq!(r.status, 409, "{}", r.raw);
    assert_eq!(r.body["scimType"], "uniqueness", "{}", r.raw);
    assert!(r.body["detail"].as_str().unwrap().contains(names), "{}", r.raw);
}
