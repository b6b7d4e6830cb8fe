//! Ownership, the activity log and events, end to end through `inlet serve` and the CLI, one
//! scenario per vendor guide (../shared/seeds): Akamai's claiming and its two settings,
//! NordLayer's read-only provisioned teams, Xakia's deactivation, Axiad's group deletion,
//! and concurrent member changes recorded exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod seeds;

use inlet_e2e::{Resp, Server};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

pub const SOURCE: &str = "urn:ietf:params:scim:schemas:extension:inlet:2.0:Source";

/// A server whose tenant records are read on every request, so a settings change applies at
/// once.
pub fn server(dir: &Path) -> Server {
    Server::start_with(dir, None, inlet_e2e::fresh_table(), &["--auth-cache-seconds", "0"])
}

pub struct Tenant<'a> {
    pub s: &'a Server,
    pub id: String,
    pub token: String,
}

impl<'a> Tenant<'a> {
    pub fn new(s: &'a Server, id: &str) -> Self {
        Self { s, id: id.to_owned(), token: s.tenant_with_token(id) }
    }

    pub fn scim(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.s.with_token(method, &format!("/{}/scim/v2{path}", self.id), body, &self.token)
    }

    pub fn settings(&self, flags: &[&str]) {
        let mut args = vec!["tenants", "update", &self.id];
        args.extend(flags);
        self.s.cli_json(&args);
    }

    /// `inlet <args…>` with a JSON body on a file; `(ok, stdout)`.
    pub fn cli_with_file(&self, args: &[&str], body: &Value) -> (bool, String) {
        let file = self.s.dir.join(format!("body-{}.json", uuid_like()));
        std::fs::write(&file, body.to_string()).unwrap();
        let mut all = args.to_vec();
        let path = file.to_str().unwrap().to_owned();
        all.extend(["--file", &path, "--json"]);
        self.s.cli(&all)
    }

    /// A manual user or group, created by the vendor.
    pub fn manual(&self, kind: &str, body: &Value) -> Value {
        let (ok, out) = self.cli_with_file(&[kind, "create", &self.id], body);
        assert!(ok, "inlet {kind} create: {out}");
        serde_json::from_str(&out).unwrap()
    }

    pub fn activity(&self) -> Vec<Value> {
        let v = self.s.cli_json(&["activity", &self.id, "--limit", "1000"]);
        v.as_array().unwrap().clone()
    }
}

fn uuid_like() -> usize {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub fn user(name: &str, email: Option<&str>) -> Value {
    let mut u = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                       "name": {"givenName": "Bob", "familyName": "Jones"}, "active": true});
    if let Some(e) = email {
        u["emails"] = json!([{"value": e, "type": "work", "primary": true}]);
    }
    u
}

pub fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// The events delivered to `events.jsonl` so far, once `until` holds of them (or after 20 s).
pub fn events_until(dir: &Path, until: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
        let events: Vec<Value> =
            text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
        if until(&events) || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn of_type<'e>(events: &'e [Value], kind: &str, id: &str) -> Vec<&'e Value> {
    events.iter().filter(|e| e["type"] == kind && e["resource"]["id"] == id).collect()
}
