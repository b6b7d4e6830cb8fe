//! A stand-in for the part of Okta's Management API that an app-assignment pull reads,
//! built from the published spec (`shared/reference/okta-management-endpoints.yaml`) and
//! the pull notes (`shared/reference/okta-pull-notes.md`).
//!
//! # Okta API (plain HTTP/1.1 on the listen address)
//! - `GET /.well-known/okta-organization` (no auth): `{id, pipeline, _links{organization, alternate}}`.
//! - `GET /api/v1/apps/{appId}/users` (`limit` 1–500, default 50, `after`, `expand=user`, `q`),
//!   `GET /api/v1/apps/{appId}/users/{userId}`.
//! - `GET /api/v1/apps/{appId}/groups` (`limit` 20–200, default 20, `after`, `expand=group`, `q`),
//!   `GET /api/v1/apps/{appId}/groups/{groupId}`.
//! - `GET /api/v1/groups/{groupId}`, `GET /api/v1/groups/{groupId}/users` (`limit` 1–1000, default 1000).
//! - `GET /api/v1/users/{idOrLogin}`.
//!
//! Authenticated calls need `Authorization: SSWS <token>`. Pages link onwards with `link`
//! headers (`rel="self"`, and `rel="next"` while more remain), one header line each or, with
//! [`Options::joined_links`], comma-joined in one. Every response carries `X-Rate-Limit-Limit`,
//! `-Remaining`, `-Reset` and `Date`; errors carry Okta's error body.
//!
//! # Control API (`/_double/…`, no auth, not rate limited, not in the request log)
//! | Call | Body | Effect |
//! |---|---|---|
//! | `GET /_double/requests` | | the [`Requests`] log as JSON (camelCase) |
//! | `DELETE /_double/requests` | | reset the log |
//! | `POST /_double/faults` | `{"status":429,"count":5,"path":"/api/v1/apps"}`, `{"delayMs":1500,"count":2}`, `{"drop":true}` | arm a [`Fault`] (`count` defaults to 1, `path` to every API path) |
//! | `DELETE /_double/faults` | | disarm all |
//! | `DELETE /_double/limits` | | close every rate window |
//! | `POST /_double/tokens/{token}/revoke` | | the token answers 401 from now on |
//! | `POST /_double/generate` | `{"users":N,"groups":M,"seed":S}` | replace the org with [`Directory::generate`] |
//! | `GET /_double/directory` | | counts: users, appUsers, groups, appGroups |
//! | `POST /_double/users` | `{"profile":{…},"assign":true,"groups":["00g…"]}` | add an Okta user (assigned unless `"assign":false`), 201 `{"id"}` |
//! | `GET /_double/users/{id}` | | `{user, appUser, groups}` |
//! | `PATCH /_double/users/{id}` | `{"profile":{…},"status":"SUSPENDED","appProfile":{…},"appStatus":"INACTIVE"}` (any subset) | update |
//! | `DELETE /_double/users/{id}` | | delete the user |
//! | `POST /_double/users/{id}/assign`, `…/unassign` | | direct app assignment on / off |
//! | `POST /_double/groups` | `{"name":"…","description":"…","assign":true}` | add a group (assigned unless `"assign":false`), 201 `{"id"}` |
//! | `PATCH /_double/groups/{id}` | `{"name":"…","description":"…"}` | update the group profile |
//! | `DELETE /_double/groups/{id}` | | delete the group |
//! | `POST /_double/groups/{id}/assign`, `…/unassign` | | app assignment on / off |
//! | `PUT /_double/groups/{id}/members/{userId}`, `DELETE …` | | add / remove a member |

mod clock;
pub mod directory;
mod faults;
mod limits;
mod okta_error;
mod render;
mod requests;
mod server;

pub use directory::Directory;
pub use directory::model::{
    AppUser, AppUserStatus, DirectoryError, Group, GroupAssignment, Scope, SyncState, User, UserStatus,
};
pub use faults::{Action, Fault};
pub use requests::Requests;

use limits::{Bucket, InFlight, RateLimits};
use server::{State, Tokens, lock};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    pub org_id: String,
    pub app_id: String,
    /// Valid SSWS tokens.
    pub tokens: Vec<String>,
    /// Valid tokens of a read-only role without app permission: 403 E0000006 under `/api/v1/apps`.
    pub tokens_without_apps: Vec<String>,
    /// Rate-limit window length, opened by a bucket's first request.
    pub window: Duration,
    /// Requests per window of `/api/v1/apps*` (app users and app groups).
    pub apps_limit: u32,
    /// … of `/api/v1/groups*` (group members included).
    pub groups_limit: u32,
    /// … of `/api/v1/users*`.
    pub users_limit: u32,
    /// … of everything else (`/.well-known/okta-organization` included).
    pub other_limit: u32,
    /// API requests in flight at once before 429 (Limit and Remaining 0).
    pub concurrency: u32,
    /// Send `self` and `next` comma-joined in one `link` header instead of one line each.
    pub joined_links: bool,
    /// `_links.alternate.href` of the well-known document (a custom domain); the base URL if none.
    pub alternate: Option<String>,
    /// Ignore `expand` on the app listings, as a server may (the spec makes `_embedded`
    /// optional): app users and app groups come without the user or group embedded.
    pub no_expand: bool,
}

impl Default for Options {
    /// Okta's Enterprise per-minute defaults (okta-pull-notes §3): apps 100, groups 600,
    /// users 600, other 600; 75 in flight.
    fn default() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            org_id: "00oInletDoubleOrg001".into(),
            app_id: "0oaInletDoubleApp001".into(),
            tokens: vec!["00InletDoubleToken".into()],
            tokens_without_apps: Vec::new(),
            window: Duration::from_secs(60),
            apps_limit: 100,
            groups_limit: 600,
            users_limit: 600,
            other_limit: 600,
            concurrency: 75,
            joined_links: false,
            no_expand: false,
            alternate: None,
        }
    }
}

/// A running double.
pub struct Double {
    state: Arc<State>,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Double {
    /// Binds `o.listen` and serves an empty org (fill it with [`Double::with`]).
    pub async fn start(o: Options) -> std::io::Result<Double> {
        let listener = TcpListener::bind(o.listen).await?;
        let addr = listener.local_addr()?;
        let limits = BTreeMap::from([
            (Bucket::Apps, o.apps_limit),
            (Bucket::Groups, o.groups_limit),
            (Bucket::Users, o.users_limit),
            (Bucket::Other, o.other_limit),
        ]);
        let window_ms = u64::try_from(o.window.as_millis()).unwrap_or(u64::MAX);
        let tokens = Tokens {
            valid: o.tokens.iter().chain(&o.tokens_without_apps).cloned().collect(),
            without_apps: o.tokens_without_apps.iter().cloned().collect(),
            revoked: Default::default(),
        };
        let state = Arc::new(State {
            base: format!("http://{addr}"),
            org_id: o.org_id,
            app_id: o.app_id,
            alternate: o.alternate,
            joined_links: o.joined_links,
            no_expand: o.no_expand,
            concurrency: o.concurrency,
            tokens: Mutex::new(tokens),
            directory: Mutex::new(Directory::new(0)),
            limits: RateLimits::new(window_ms, limits),
            flight: InFlight::default(),
            faults: Mutex::default(),
            log: Mutex::default(),
        });
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), stopped));
        Ok(Double { state, addr, stop, task })
    }

    /// `http://127.0.0.1:PORT`, the org's base URL.
    pub fn url(&self) -> String {
        self.state.base.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app_id(&self) -> &str {
        &self.state.app_id
    }

    pub fn org_id(&self) -> &str {
        &self.state.org_id
    }

    /// Reads or changes the org between (or during) runs.
    pub fn with<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        f(&mut lock(&self.state.directory))
    }

    /// Arms a fault for the next matching API requests.
    pub fn inject(&self, f: Fault) {
        lock(&self.state.faults).push(f);
    }

    /// Disarms every pending fault.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// Makes `token` answer 401 E0000011 from now on.
    pub fn revoke(&self, token: &str) {
        lock(&self.state.tokens).revoked.insert(token.to_owned());
    }

    /// Closes every rate-limit window (the next request of each bucket opens a new one).
    pub fn reset_limits(&self) {
        self.state.limits.reset();
    }

    pub fn requests(&self) -> Requests {
        let mut r = lock(&self.state.log).clone();
        r.max_concurrency = self.state.flight.max();
        r
    }

    pub fn reset_requests(&self) {
        *lock(&self.state.log) = Requests::default();
        self.state.flight.reset_max();
    }

    /// Stops listening and lets in-flight requests finish (at most 2 s).
    pub async fn stop(self) {
        // The server may have ended already; then there is nothing to stop.
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
