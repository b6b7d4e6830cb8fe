//! Tenant-declared attributes through the domain, for every backend (the embedded store's unit
//! tests, DynamoDB-on-moto in the AWS tests): Akamai's typed `aliases` with a unique `value`
//! (create, collide, find by alias, change, free), an Entra-style extension attribute set by a
//! no-path PATCH, concurrent creates of one alias, and registry changes (removal hides values,
//! a new declaration starts afresh). The invariant checker walks the tenant after each part.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::actor::{Actor, Caller};
use super::directory::{Directory, Resource};
use super::error::DomainError;
use super::indexes::unique_values;
use super::invariants::{Universe, check};
use super::tenant::{Settings, TenantId};
use crate::scim::list::{ListParams, ListQuery};
use crate::scim::schema::{Registry, Schemas, USER_SCHEMA};
use futures::future::join_all;
use serde_json::{Value, json};

pub const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

pub fn aliases() -> Value {
    json!({
        "schema": USER_SCHEMA, "name": "aliases", "type": "complex", "multiValued": true,
        "subAttributes": [
            {"name": "type", "type": "string", "canonicalValues": ["email"]},
            {"name": "value", "type": "string", "uniqueness": "server"},
        ],
    })
}

pub fn cost_center() -> Value {
    json!({"schema": ACME, "name": "costCenter", "type": "string"})
}

fn badge() -> Value {
    json!({"schema": ACME, "name": "badge", "type": "integer", "uniqueness": "server"})
}

fn caller(t: &TenantId, reg: &Registry) -> Caller {
    Caller::new(t.clone(), Actor::Scim { token: "declared".into() }, Settings::default(), Schemas::of(reg).unwrap())
}

fn user(name: &str, aliases: &[&str]) -> Value {
    let aliases: Vec<Value> = aliases.iter().map(|a| json!({"type": "email", "value": a})).collect();
    json!({"userName": name, "externalId": format!("x-{name}"), "aliases": aliases})
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

async fn find(dir: &Directory, c: &Caller, filter: &str) -> Result<Vec<String>, DomainError> {
    let params = ListParams { filter: Some(filter), ..ListParams::default() };
    let q = ListQuery::parse(&params, c.rt(Resource::User))?;
    Ok(dir.list(c, Resource::User, &q).await?.resources.into_iter().map(|s| s.id).collect())
}

struct Run<'a> {
    dir: &'a Directory,
    t: TenantId,
    u: Universe,
    bad: Vec<String>,
}

impl Run<'_> {
    fn expect(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.bad.push(what.into());
        }
    }

    async fn create(&mut self, c: &Caller, body: Value) -> Result<String, DomainError> {
        if let Some(name) = body["userName"].as_str() {
            self.u.user_names.insert(name.to_owned());
            self.u.external_ids.insert(format!("x-{name}"));
        }
        self.note_values(c, &body);
        let s = self.dir.create(c, Resource::User, &body).await?;
        self.u.users.insert(s.id.clone());
        Ok(s.id)
    }

    /// Remembers the value ids a body would hold, so the checker looks for their markers.
    fn note_values(&mut self, c: &Caller, body: &Value) {
        if let Ok(attrs) = crate::scim::resource::normalize(body, c.rt(Resource::User)) {
            self.u.user_values.extend(unique_values(c.rt(Resource::User), &attrs).into_iter().map(|v| v.id));
        }
    }

    async fn walk(&mut self, when: &str) {
        let found = check(self.dir, &self.t, &self.u).await;
        self.bad.extend(found.into_iter().map(|b| format!("{when}: {b}")));
    }
}

/// Runs every part in a fresh tenant; returns what went wrong (empty when all held).
pub async fn run(dir: &Directory) -> Vec<String> {
    let t = TenantId::parse(&format!("decl-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])).unwrap();
    let mut r = Run { dir, t: t.clone(), u: Universe::default(), bad: Vec::new() };
    let v1 = Registry::default().apply(&json!({"attributes": [aliases(), cost_center(), badge()]})).unwrap();
    let c = caller(&t, &v1);

    // Akamai: a user with an alias; another user's alias colliding (in any case) is refused.
    let bob = r.create(&c, user("bob@acme.com", &["bob.alias@acme.com", "robert@acme.com"])).await.unwrap();
    let clash = r.create(&c, user("eve@acme.com", &["Bob.Alias@ACME.com"])).await;
    r.expect(
        matches!(&clash, Err(DomainError::Conflict(m)) if m.contains("aliases.value")),
        format!("clash: {clash:?}"),
    );
    let by_alias = find(dir, &c, r#"aliases.value eq "BOB.ALIAS@acme.com""#).await;
    r.expect(by_alias.as_ref().is_ok_and(|ids| *ids == [bob.clone()]), format!("lookup by alias: {by_alias:?}"));
    let either = find(dir, &c, r#"userName eq "bob.alias@acme.com" or aliases.value eq "bob.alias@acme.com""#).await;
    r.expect(either.as_ref().is_ok_and(|ids| *ids == [bob.clone()]), format!("userName or alias: {either:?}"));
    let typed = find(dir, &c, r#"aliases[type eq "email" and value eq "robert@acme.com"]"#).await;
    r.expect(typed.as_ref().is_ok_and(|ids| *ids == [bob.clone()]), format!("value filter: {typed:?}"));
    // A unique integer: `eq 42` (or `eq "42"`, as filters compare) is an index lookup too.
    let mut badged = user("bea@acme.com", &[]);
    badged[ACME] = json!({"badge": 42});
    let bea = r.create(&c, badged.clone()).await.unwrap();
    let by_badge = find(dir, &c, &format!("{ACME}:badge eq 42")).await;
    r.expect(by_badge.as_ref().is_ok_and(|ids| *ids == [bea.clone()]), format!("lookup by badge: {by_badge:?}"));
    let as_text = find(dir, &c, &format!("{ACME}:badge eq \"42\"")).await;
    r.expect(as_text.as_ref().is_ok_and(|ids| *ids == [bea.clone()]), format!("badge as text: {as_text:?}"));
    badged["userName"] = json!("bea2@acme.com");
    badged["externalId"] = json!("x-bea2@acme.com");
    let twice = r.create(&c, badged).await;
    r.expect(matches!(&twice, Err(DomainError::Conflict(m)) if m.contains("badge")), format!("badge twice: {twice:?}"));
    r.walk("after create").await;

    // A PUT replacing the aliases frees the old one; a PATCH removing one frees it too.
    r.note_values(&c, &user("bob@acme.com", &["bob2@acme.com", "bob3@acme.com"]));
    let put =
        dir.replace(&c, Resource::User, &bob, &user("bob@acme.com", &["bob2@acme.com", "bob3@acme.com"]), None).await;
    r.expect(put.as_ref().is_ok_and(|s| s.unique.len() == 2), format!("PUT: {put:?}"));
    let eve = r.create(&c, user("eve@acme.com", &["bob.alias@acme.com"])).await;
    r.expect(eve.is_ok(), format!("an alias freed by a PUT: {eve:?}"));
    let remove = patch(json!([{"op": "remove", "path": "aliases[value eq \"bob2@acme.com\"]"}]));
    let patched = dir.patch(&c, Resource::User, &bob, &remove, None).await;
    r.expect(patched.as_ref().is_ok_and(|s| s.unique.len() == 1), format!("PATCH remove: {patched:?}"));
    let freed = r.create(&c, user("zed@acme.com", &["bob2@acme.com"])).await;
    r.expect(freed.is_ok(), format!("an alias freed by a PATCH: {freed:?}"));
    // Okta's replace of a value-filtered sub-attribute.
    let replace =
        patch(json!([{"op": "replace", "path": "aliases[type eq \"email\"].value", "value": "bob4@acme.com"}]));
    let replaced = dir.patch(&c, Resource::User, &bob, &replace, None).await;
    r.note_values(&c, &user("bob@acme.com", &["bob4@acme.com"]));
    r.expect(
        replaced.as_ref().is_ok_and(|s| s.attrs["aliases"] == json!([{"type": "email", "value": "bob4@acme.com"}])),
        format!("PATCH replace: {replaced:?}"),
    );
    // Entra's no-path PATCH with a URN-qualified key.
    let entra = patch(json!([{"op": "Add", "value": {format!("{ACME}:costCenter"): "CC-7"}}]));
    let cc = dir.patch(&c, Resource::User, &bob, &entra, None).await;
    r.expect(cc.as_ref().is_ok_and(|s| s.attrs[ACME] == json!({"costCenter": "CC-7"})), format!("Entra: {cc:?}"));
    let bad_type =
        dir.patch(&c, Resource::User, &bob, &patch(json!([{"op": "add", "path": "aliases", "value": 7}])), None).await;
    r.expect(
        matches!(&bad_type, Err(DomainError::Scim(e)) if e.detail.contains("aliases")),
        format!("type: {bad_type:?}"),
    );
    r.walk("after changes").await;

    // Concurrent creates of one alias: exactly one wins.
    let bodies: Vec<Value> = (0..8).map(|i| user(&format!("racer{i}@acme.com"), &["shared@acme.com"])).collect();
    for b in &bodies {
        r.note_values(&c, b);
        r.u.user_names.insert(b["userName"].as_str().unwrap().to_owned());
        r.u.external_ids.insert(b["externalId"].as_str().unwrap().to_owned());
    }
    let results = join_all(bodies.iter().map(|b| dir.create(&c, Resource::User, b))).await;
    let won: Vec<_> = results.iter().filter_map(|x| x.as_ref().ok()).collect();
    r.u.users.extend(won.iter().map(|s| s.id.clone()));
    let lost = results.iter().filter(|x| matches!(x, Err(DomainError::Conflict(_)))).count();
    r.expect(won.len() == 1 && lost == 7, format!("racing creates: {} won, {lost} refused", won.len()));
    r.walk("after racing creates").await;

    // Removing `aliases` hides the values at once; they go when the record is next written.
    let v2 = v1.apply(&json!({"attributes": [cost_center()]})).unwrap();
    let c2 = caller(&t, &v2);
    let shown = dir.get_as(&c2, Resource::User, &bob).await.unwrap().render(c2.rt(Resource::User), "");
    r.expect(shown.get("aliases").is_none(), format!("a removed attribute is shown: {shown}"));
    let gone = find(dir, &c2, r#"aliases.value eq "bob4@acme.com""#).await;
    r.expect(gone.as_ref().is_ok_and(Vec::is_empty), format!("a removed attribute filters: {gone:?}"));
    // Declared again: a new declaration; old values stay hidden and do not block anyone.
    let v3 = v2.apply(&json!({"attributes": [cost_center(), aliases()]})).unwrap();
    let c3 = caller(&t, &v3);
    let shown = dir.get_as(&c3, Resource::User, &bob).await.unwrap().render(c3.rt(Resource::User), "");
    r.expect(shown.get("aliases").is_none(), format!("a value from before the declaration is shown: {shown}"));
    let reuse = r.create(&c3, user("amy@acme.com", &["bob4@acme.com"])).await;
    r.expect(reuse.is_ok(), format!("a hidden value blocks a new one: {reuse:?}"));
    let touched = dir
        .patch(
            &c3,
            Resource::User,
            &bob,
            &patch(json!([{"op": "replace", "path": "displayName", "value": "Bob"}])),
            None,
        )
        .await;
    r.expect(
        touched
            .as_ref()
            .is_ok_and(|s| s.unique.is_empty() && s.attrs.get("aliases").is_none() && s.registry == v3.version),
        format!("the next write drops hidden values and their markers: {touched:?}"),
    );
    r.walk("after registry changes").await;
    r.bad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::EmbeddedStore;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn declared_attributes_keep_the_invariants_on_redb() {
        let dir = tempfile::tempdir().unwrap();
        let directory = Directory::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
        assert_eq!(run(&directory).await, Vec::<String>::new());
    }
}
