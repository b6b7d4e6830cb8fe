//! The admin API's Okta routes through `api::admin::handle`, on an embedded data directory,
//! against the Okta double: configure (and its refusals), status, sync, disable, and the
//! directory read back with SCIM list parameters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bytes::Bytes;
use inlet_shared::api::admin::{Admin, handle};
use inlet_shared::domain::TenantId;
use inlet_shared::pull::sync::{Outcome, RunOptions};
use inlet_shared::startup::{Services, Storage};
use okta_double::{Directory, Double, Options};
use serde_json::{Value, json};

const TOKEN: &str = "00InletDoubleToken";

async fn call(admin: &Admin, method: &str, path: &str, body: Option<Value>) -> (u16, Value, String) {
    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let req = http::Request::builder().method(method).uri(path).body(body).unwrap();
    let resp = handle(admin, req, "test").await;
    let raw = String::from_utf8_lossy(resp.body()).into_owned();
    (resp.status().as_u16(), serde_json::from_str(&raw).unwrap_or(Value::Null), raw)
}

async fn tenant(admin: &Admin, id: &str, mode: &str) {
    let (status, _, raw) =
        call(admin, "POST", "/admin/tenants", Some(json!({"id": id, "settings": {"mode": mode}}))).await;
    assert_eq!(status, 201, "{raw}");
}

fn creds(d: &Double, token: &str) -> Value {
    json!({"domain": d.url(), "appId": d.app_id(), "token": token, "intervalSeconds": 300})
}

async fn double(org: &str, users: usize, groups: usize) -> Double {
    let d = Double::start(Options { org_id: org.into(), ..Options::default() }).await.unwrap();
    d.with(|dir| *dir = Directory::generate(users, groups, 5));
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_routes() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::build(&Storage::Embedded { data_dir: dir.path().to_path_buf() }).await.unwrap();
    let admin = services.admin();
    let d = double("00oAdminRoutesOrg001", 30, 3).await;
    tenant(&admin, "acme", "okta_api").await;
    tenant(&admin, "beta", "okta_api").await;
    tenant(&admin, "plain", "scim").await;

    let (status, _, raw) = call(&admin, "PUT", "/admin/tenants/acme/okta", Some(creds(&d, "00WrongToken"))).await;
    assert_eq!(status, 400, "{raw}");
    assert!(raw.contains("E0000011"), "{raw}");
    let (status, _, raw) = call(&admin, "PUT", "/admin/tenants/plain/okta", Some(creds(&d, TOKEN))).await;
    assert_eq!(status, 409, "{raw}");
    assert!(raw.contains("scim mode"), "{raw}");

    let (status, body, raw) = call(&admin, "PUT", "/admin/tenants/acme/okta", Some(creds(&d, TOKEN))).await;
    assert_eq!(status, 200, "{raw}");
    assert_eq!(body["orgId"], d.org_id());
    assert!(!raw.contains(TOKEN), "the token in the answer: {raw}");
    let (status, _, raw) = call(&admin, "PUT", "/admin/tenants/beta/okta", Some(creds(&d, TOKEN))).await;
    assert_eq!(status, 409, "{raw}");
    assert!(raw.contains("already provisions tenant acme"), "{raw}");
    // Regression: the refused tenant's vault kept the token it was refused with.
    let beta = TenantId::parse("beta").unwrap();
    assert_eq!(services.integrations.token(&beta).await.unwrap(), None);

    let (status, view, raw) = call(&admin, "GET", "/admin/tenants/acme/okta", None).await;
    assert_eq!(
        (status, view["status"].as_str(), view["configured"].as_bool()),
        (200, Some("Pending initial sync"), Some(true)),
        "{raw}"
    );
    assert!(!raw.contains(TOKEN), "the token in the status: {raw}");

    let (status, body, raw) = call(&admin, "POST", "/admin/tenants/acme/okta/sync", None).await;
    assert_eq!(status, 202, "{raw}");
    assert!(body["due"].is_string(), "{raw}");
    let acme = TenantId::parse("acme").unwrap();
    let outcome = services.puller().unwrap().sync(&acme, &RunOptions::default()).await.unwrap();
    assert!(matches!(outcome, Outcome::Synced(c) if c.created == 30), "{outcome:?}");
    let (_, view, raw) = call(&admin, "GET", "/admin/tenants/acme/okta", None).await;
    assert_eq!(view["status"], "Synced", "{raw}");
    assert!(!raw.contains(TOKEN));

    let login = d.with(|dir| {
        let (id, _) = dir.app_users().next().unwrap();
        dir.user(id).unwrap().profile["login"].as_str().unwrap().to_owned()
    });
    let path = format!("/admin/tenants/acme/users?filter=userName%20eq%20%22{}%22", login.replace('@', "%40"));
    let (status, list, raw) = call(&admin, "GET", &path, None).await;
    assert_eq!(status, 200, "{raw}");
    assert_eq!(list["totalResults"], 1, "{raw}");
    assert_eq!(list["Resources"][0]["userName"], login.as_str());
    let (status, groups, raw) = call(&admin, "GET", "/admin/tenants/acme/groups", None).await;
    assert_eq!((status, groups["totalResults"].as_u64()), (200, Some(3)), "{raw}");
    let members: usize =
        groups["Resources"].as_array().unwrap().iter().map(|g| g["members"].as_array().map_or(0, Vec::len)).sum();
    assert!(members > 0, "groups come with their members: {raw}");

    let (status, _, raw) = call(&admin, "DELETE", "/admin/tenants/acme/okta", None).await;
    assert_eq!(status, 204, "{raw}");
    let (_, view, raw) = call(&admin, "GET", "/admin/tenants/acme/okta", None).await;
    assert_eq!(view["configured"], false, "{raw}");
    // The org is free again once acme let it go.
    let (status, _, raw) = call(&admin, "PUT", "/admin/tenants/beta/okta", Some(creds(&d, TOKEN))).await;
    assert_eq!(status, 200, "{raw}");
    d.stop().await;
}

/// Two tenants configure one org at the same moment: exactly one wins, the other is told
/// the org is taken (409).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_configures_of_one_org() {
    let dir = tempfile::tempdir().unwrap();
    let services = Services::build(&Storage::Embedded { data_dir: dir.path().to_path_buf() }).await.unwrap();
    let admin = services.admin();
    let d = double("00oAdminRaceOrg00001", 3, 1).await;
    for round in 0..5 {
        let (one, two) = (format!("one{round}"), format!("two{round}"));
        tenant(&admin, &one, "okta_api").await;
        tenant(&admin, &two, "okta_api").await;
        let (path_one, path_two) = (format!("/admin/tenants/{one}/okta"), format!("/admin/tenants/{two}/okta"));
        let (a, b) = tokio::join!(
            call(&admin, "PUT", &path_one, Some(creds(&d, TOKEN))),
            call(&admin, "PUT", &path_two, Some(creds(&d, TOKEN))),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {} / {}", a.2, b.2);
        let winner = if a.0 == 200 { &one } else { &two };
        let loser = TenantId::parse(if a.0 == 200 { &two } else { &one }).unwrap();
        assert_eq!(services.integrations.token(&loser).await.unwrap(), None, "round {round}: the loser kept a token");
        let (status, _, raw) = call(&admin, "DELETE", &format!("/admin/tenants/{winner}/okta"), None).await;
        assert_eq!(status, 204, "{raw}");
    }
    d.stop().await;
}
