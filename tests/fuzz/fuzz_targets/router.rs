//! Whole requests through `api::handle`, as `inlet serve` routes them, over an embedded
//! store in a temp dir. The input is an HTTP-like text:
//!
//! ```text
//! PATCH Users/{user}?attributes=emails
//! If-Match: W/"1"
//!
//! {"Operations":[…]}
//! ```
//!
//! A target without a leading `/` is taken under `/default/scim/v2/`; `{user}`, `{group}`
//! (in the target and body) name resources that exist, recreated when a request deletes
//! them. Requests carry the dev token unless the input sets `Authorization` itself
//! (`{token}` is a real issued token of tenant `acme`). Besides never panicking, no input
//! may produce a 500: that status means a storage failure, never a client mistake.
#![no_main]

use bytes::Bytes;
use inlet_fuzz::{group_body, user_body};
use inlet_shared::api::ratelimit::RateLimiter;
use inlet_shared::api::{App, Endpoint, handle};
use inlet_shared::domain::tenant::{Gate, Settings, Tenants};
use inlet_shared::domain::{Directory, DomainError, Resource, TenantId};
use inlet_shared::store::embedded::EmbeddedStore;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;
use tokio::runtime::Runtime;

const DEV_TOKEN: &str = "inlet_fuzz-dev-token";
const SERVED: &[Endpoint] = &[Endpoint::Users, Endpoint::Groups, Endpoint::Discovery];

struct Harness {
    rt: Runtime,
    app: App,
    tenant: TenantId,
    acme_token: String,
    /// Ids of the user and group that `{user}` and `{group}` name, and a counter for fresh names.
    live: Mutex<(String, String, u64)>,
    _dir: tempfile::TempDir,
}

/// A tmpfs directory when there is one: the store syncs every commit, and the fuzzer
/// commits thousands of times a second.
fn temp_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() };
    dir.expect("temp dir for the fuzz store")
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let dir = temp_dir();
    // Multi-threaded, as in `inlet serve`: the file-backed vault uses `block_in_place`.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
    let tenant = TenantId::parse("default").expect("tenant id");
    let acme = TenantId::parse("acme").expect("tenant id");
    let (app, acme_token) = rt.block_on(async {
        let store = Arc::new(EmbeddedStore::open(dir.path()).expect("embedded store"));
        let tenants = Tenants::in_dir(dir.path()).expect("tenant registry");
        tenants.create(&tenant, Some("Default tenant"), Settings::default()).await.expect("tenant default");
        tenants.create(&acme, Some("Acme"), Settings::default()).await.expect("tenant acme");
        let issued = tenants.issue(&acme, Some("fuzz"), None).await.expect("token for acme");
        let gate = Gate::new(tenants, Duration::from_secs(30)).with_dev_token(tenant.clone(), DEV_TOKEN);
        let app = App {
            directory: Directory::new(store),
            gate: Arc::new(gate),
            // Off: the fuzzer would otherwise mostly see 429s.
            limiter: Arc::new(RateLimiter::new(0)),
        };
        (app, issued.token)
    });
    Harness { rt, app, tenant, acme_token, live: Mutex::new((String::new(), String::new(), 0)), _dir: dir }
});

impl Harness {
    /// Makes sure `{user}` and `{group}` name existing resources (the group has the user as a member).
    async fn live_ids(&self) -> (String, String) {
        let (mut user, mut group, mut n) = self.live.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if self.missing(Resource::User, &user).await {
            n += 1;
            let mut body = user_body();
            body["userName"] = json!(format!("fuzz-user-{n}@example.com"));
            user = self.create(Resource::User, &body).await;
        }
        if self.missing(Resource::Group, &group).await {
            n += 1;
            let mut body = group_body();
            body["displayName"] = json!(format!("fuzz-group-{n}"));
            body["members"] = json!([{"value": user}]);
            group = self.create(Resource::Group, &body).await;
        }
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = (user.clone(), group.clone(), n);
        (user, group)
    }

    async fn missing(&self, res: Resource, id: &str) -> bool {
        match self.app.directory.get(&self.tenant, res, id).await {
            Ok(_) => false,
            Err(DomainError::NotFound(_)) => true,
            Err(e) => panic!("reading the live {res:?}: {e}"),
        }
    }

    async fn create(&self, res: Resource, body: &Value) -> String {
        match self.app.directory.create(&self.tenant, res, body).await {
            Ok(stored) => stored.id,
            Err(e) => panic!("creating a live {res:?}: {e}"),
        }
    }
}

fn request(data: &[u8], user: &str, group: &str, acme_token: &str) -> Option<http::Request<Bytes>> {
    let fill = |s: &str| s.replace("{user}", user).replace("{group}", group).replace("{token}", acme_token);
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (data.get(..at)?, data.get(at + 2..)?),
        None => (data, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let target = fill(target.trim());
    let uri = if target.starts_with('/') { target } else { format!("/default/scim/v2/{target}") };
    let mut req = http::Request::builder().method(method).uri(uri);
    let mut authorised = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        authorised |= name.trim().eq_ignore_ascii_case("authorization");
        req = req.header(name.trim(), fill(value.trim()));
    }
    if !authorised {
        req = req.header("authorization", format!("Bearer {DEV_TOKEN}"));
    }
    let body = match std::str::from_utf8(body) {
        Ok(text) => Bytes::from(fill(text)),
        Err(_) => Bytes::copy_from_slice(body),
    };
    // Malformed methods, URIs and header values are refused by `http`/hyper before Inlet sees them.
    req.body(body).ok()
}

fuzz_target!(|data: &[u8]| {
    let h = &*HARNESS;
    h.rt.block_on(async {
        let (user, group) = h.live_ids().await;
        let Some(req) = request(data, &user, &group, &h.acme_token) else { return };
        let response = handle(&h.app, req, SERVED).await;
        assert_ne!(
            response.status(),
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: {}",
            String::from_utf8_lossy(response.body())
        );
    });
});
