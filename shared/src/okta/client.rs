//! The HTTP client: one hyper client per [`OktaClient`], requests paced per bucket (see
//! [`pacing`]), retried on 429/5xx/timeouts within bounds, and never sent off the org's origin.

use super::error::ErrorBody;
use super::model::{AppGroup, AppUser, Group, Member, OrgMetadata, Page, User};
use super::pacing::{self, Bucket, BucketState, RateInfo, ServerClock};
use super::url::okta_id;
use super::{ApiToken, BucketCounts, OktaError, OrgUrl, Stats, link};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;

/// How hard the client may push.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Requests in flight at once, across clones (Okta allows 75 per org, shared by everyone).
    pub max_in_flight: usize,
    /// Below this many remaining requests, spread the rest over the window.
    pub slow_below: u32,
    /// Retries after a 5xx, timeout or connection error.
    pub retries: u32,
    /// One request, answer body included.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_in_flight: 4, slow_below: 5, retries: 6, request_timeout: Duration::from_secs(30) }
    }
}

/// 429s on one request before giving up with [`OktaError::RateLimited`].
const MAX_429_PER_REQUEST: u32 = 10;
/// Largest answer body read: a 500-user page with `expand=user` is a few MB.
const MAX_BODY: usize = 32 * 1024 * 1024;
const USER_AGENT: &str = concat!("inlet/", env!("CARGO_PKG_VERSION"));

/// An Okta Management API client for one org and token. Clones share the hyper client, the
/// pacing state, the in-flight cap and the stats.
#[derive(Clone)]
pub struct OktaClient {
    inner: Arc<Inner>,
    deadline: Option<Instant>,
}

struct Inner {
    org: OrgUrl,
    /// `SSWS <token>`, marked sensitive.
    auth: HeaderValue,
    limits: Limits,
    http: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    in_flight: Semaphore,
    buckets: Mutex<Buckets>,
    /// The local clock when the client was made, as an instant and in epoch seconds: local
    /// times are measured from it on the monotonic clock, so a system clock that jumps
    /// mid-sync does not upset the server clock's bound.
    started: (Instant, f64),
    sent: [AtomicU64; 4],
    rate_limited: AtomicU64,
    retries: AtomicU64,
    waited_micros: AtomicU64,
}

#[derive(Default)]
struct Buckets {
    apps: BucketState,
    groups: BucketState,
    users: BucketState,
    other: BucketState,
    server: ServerClock,
}

impl Buckets {
    fn get(&mut self, b: Bucket) -> &mut BucketState {
        match b {
            Bucket::Apps => &mut self.apps,
            Bucket::Groups => &mut self.groups,
            Bucket::Users => &mut self.users,
            Bucket::Other => &mut self.other,
        }
    }
}

/// Why one attempt got no answer.
enum NoAnswer {
    Timeout,
    Transport(String),
    /// The request timeout was cut short by the deadline, and ran out.
    Deadline,
}

impl fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaClient")
            .field("org", &self.inner.org)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl OktaClient {
    pub fn new(org: OrgUrl, token: ApiToken, limits: Limits) -> Result<Self, OktaError> {
        if limits.max_in_flight == 0 {
            return Err(OktaError::BadUrl("max_in_flight must be at least 1".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("SSWS {}", token.expose()))
            .map_err(|_| OktaError::BadUrl("the API token is not a valid header value".into()))?;
        auth.set_sensitive(true);
        // ring explicitly: the DynamoDB SDK links aws-lc too, so no process default exists.
        let tls = HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| OktaError::Transport(format!("TLS setup: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(tls);
        let in_flight = Semaphore::new(limits.max_in_flight);
        Ok(Self {
            inner: Arc::new(Inner {
                org,
                auth,
                limits,
                http,
                in_flight,
                buckets: Mutex::new(Buckets::default()),
                // A clock before 1970 only makes resets look far away, which is capped.
                started: (
                    Instant::now(),
                    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
                ),
                sent: Default::default(),
                rate_limited: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                waited_micros: AtomicU64::new(0),
            }),
            deadline: None,
        })
    }

    /// The same client whose waits (rate-limit pauses, backoffs, and the request timeout)
    /// that would end past `deadline` fail at once with [`OktaError::Deadline`], so a Lambda
    /// invocation can checkpoint instead of being killed.
    pub fn with_deadline(&self, deadline: Option<Instant>) -> Self {
        Self { inner: Arc::clone(&self.inner), deadline }
    }

    pub fn org(&self) -> &OrgUrl {
        &self.inner.org
    }

    /// `GET /.well-known/okta-organization` (no token sent): the org id keys tenant uniqueness.
    pub async fn org_metadata(&self) -> Result<OrgMetadata, OktaError> {
        let uri = self.inner.org.join("/.well-known/okta-organization")?;
        let (_, body) = self.get(&uri, false).await?;
        decode(&body, "org metadata")
    }

    /// The second half of Okta's "Test API Credentials" (after [`Self::org_metadata`]): one
    /// app user, which proves the token and the application id together.
    pub async fn check_app(&self, app_id: &str) -> Result<(), OktaError> {
        let path = format!("/api/v1/apps/{}/users", okta_id("application id", app_id)?);
        let (_, body) = self.get(&self.inner.org.join(&format!("{path}?limit=1"))?, true).await?;
        decode::<Vec<serde_json::Value>>(&body, "app users")?;
        Ok(())
    }

    /// The app's assigned users with their Okta users embedded; `next` as a page gave it.
    pub async fn app_users(&self, app_id: &str, next: Option<&str>) -> Result<Page<AppUser>, OktaError> {
        let path = format!("/api/v1/apps/{}/users", okta_id("application id", app_id)?);
        self.page(&path, "limit=500&expand=user", next, "app users").await
    }

    /// The app's assigned groups with the groups embedded.
    pub async fn app_groups(&self, app_id: &str, next: Option<&str>) -> Result<Page<AppGroup>, OktaError> {
        let path = format!("/api/v1/apps/{}/groups", okta_id("application id", app_id)?);
        self.page(&path, "limit=200&expand=group", next, "app groups").await
    }

    /// One group (`GET /api/v1/groups/{groupId}`), for an app group listed without it embedded.
    pub async fn group(&self, group_id: &str) -> Result<Group, OktaError> {
        let uri = self.inner.org.join(&format!("/api/v1/groups/{}", okta_id("group id", group_id)?))?;
        let (_, body) = self.get(&uri, true).await?;
        decode(&body, "group")
    }

    /// One Okta user (`GET /api/v1/users/{id}`), for an app user listed without it embedded.
    pub async fn user(&self, user_id: &str) -> Result<User, OktaError> {
        let uri = self.inner.org.join(&format!("/api/v1/users/{}", okta_id("user id", user_id)?))?;
        let (_, body) = self.get(&uri, true).await?;
        decode(&body, "user")
    }

    /// A group's members (the spec's recommended page size, 200).
    pub async fn group_users(&self, group_id: &str, next: Option<&str>) -> Result<Page<Member>, OktaError> {
        let path = format!("/api/v1/groups/{}/users", okta_id("group id", group_id)?);
        self.page(&path, "limit=200", next, "group users").await
    }

    pub fn stats(&self) -> Stats {
        let i = &self.inner;
        let n = |b: Bucket| i.sent.get(b.index()).map_or(0, |a| a.load(Ordering::Relaxed));
        Stats {
            requests: BucketCounts {
                apps: n(Bucket::Apps),
                groups: n(Bucket::Groups),
                users: n(Bucket::Users),
                other: n(Bucket::Other),
            },
            rate_limited: i.rate_limited.load(Ordering::Relaxed),
            retries: i.retries.load(Ordering::Relaxed),
            waited: Duration::from_micros(i.waited_micros.load(Ordering::Relaxed)),
        }
    }

    /// One page: the first from `path?first_query`, later ones from `next`, which must be on
    /// the org's origin and the same listing.
    async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        first_query: &str,
        next: Option<&str>,
        what: &str,
    ) -> Result<Page<T>, OktaError> {
        let uri = match next {
            None => self.inner.org.join(&format!("{path}?{first_query}"))?,
            Some(link) => {
                let uri = self.inner.org.follow(link, path)?;
                if uri.path() != path {
                    return Err(OktaError::Refused(format!("a next link for another listing than {path}")));
                }
                uri
            }
        };
        let (headers, body) = self.get(&uri, true).await?;
        let items = decode(&body, what)?;
        Ok(Page { items, next: self.next_link(&headers)? })
    }

    /// The `rel="next"` target of every `link` header, an absolute-path one made absolute.
    fn next_link(&self, headers: &HeaderMap) -> Result<Option<String>, OktaError> {
        let values = headers
            .get_all(header::LINK)
            .iter()
            .map(|v| v.to_str().map_err(|_| OktaError::BadResponse("a link header that is not text".into())))
            .collect::<Result<Vec<_>, _>>()?;
        let next = link::next(values).map_err(|e| OktaError::BadResponse(format!("link header: {e}")))?;
        Ok(next.map(|n| {
            if n.starts_with('/') && !n.starts_with("//") { format!("{}{n}", self.inner.org.as_str()) } else { n }
        }))
    }

    /// GET with pacing and retries; the 2xx answer's headers and body.
    async fn get(&self, uri: &Uri, auth: bool) -> Result<(HeaderMap, Bytes), OktaError> {
        let limits = &self.inner.limits;
        let bucket = Bucket::of(uri.path());
        let (mut seen_429, mut failures) = (0u32, 0u32);
        loop {
            let at = pacing::reserve(self.buckets().get(bucket), Instant::now(), limits.slow_below);
            self.sleep_until(at).await?;
            let answer = self.attempt(uri, auth, bucket).await;
            let now = Instant::now();
            let retry_in = match answer {
                Ok((status, headers, body)) => {
                    let server_now = self.server_clock(&headers, now);
                    let info = rate_info(&headers, server_now);
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        seen_429 += 1;
                        self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
                        if seen_429 >= MAX_429_PER_REQUEST {
                            return Err(OktaError::RateLimited);
                        }
                        let info = info.or_else(|| rate_info_429(&headers, server_now));
                        let mut buckets = self.buckets();
                        pacing::observe_429(buckets.get(bucket), info, now, seen_429, rand::random())
                    } else {
                        if let Some(info) = info {
                            pacing::observe(self.buckets().get(bucket), info, now);
                        }
                        if status.is_success() {
                            return Ok((headers, body));
                        }
                        if !status.is_server_error() || failures >= limits.retries {
                            return Err(OktaError::from_status(status, ErrorBody::parse(&body)));
                        }
                        failures += 1;
                        Some(pacing::backoff(failures - 1, rand::random()))
                    }
                }
                Err(NoAnswer::Deadline) => return Err(OktaError::Deadline),
                Err(e) if failures >= limits.retries => {
                    return Err(match e {
                        NoAnswer::Transport(m) => OktaError::Transport(m),
                        NoAnswer::Timeout | NoAnswer::Deadline => OktaError::Timeout,
                    });
                }
                Err(_) => {
                    failures += 1;
                    Some(pacing::backoff(failures - 1, rand::random()))
                }
            };
            self.inner.retries.fetch_add(1, Ordering::Relaxed);
            if let Some(pause) = retry_in {
                self.sleep_until(now + pause).await?;
            }
        }
    }

    /// One request under the in-flight cap and the timeout (cut to the deadline).
    async fn attempt(&self, uri: &Uri, auth: bool, bucket: Bucket) -> Result<(StatusCode, HeaderMap, Bytes), NoAnswer> {
        let mut timeout = self.inner.limits.request_timeout;
        let mut cut = false;
        if let Some(left) = self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
            && left < timeout
        {
            (timeout, cut) = (left, true);
        }
        let mut request = Request::get(uri.clone())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, USER_AGENT)
            .body(Empty::<Bytes>::new())
            .map_err(|e| NoAnswer::Transport(format!("request: {e}")))?;
        if auth {
            request.headers_mut().insert(header::AUTHORIZATION, self.inner.auth.clone());
        }
        // The semaphore is never closed.
        let _permit = self.inner.in_flight.acquire().await.map_err(|e| NoAnswer::Transport(e.to_string()))?;
        if let Some(n) = self.inner.sent.get(bucket.index()) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        let exchange = async {
            let response = self.inner.http.request(request).await.map_err(|e| NoAnswer::Transport(chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY).collect().await.map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    NoAnswer::Transport(format!("answer larger than {MAX_BODY} bytes"))
                } else {
                    NoAnswer::Transport(format!("reading the answer: {e}"))
                }
            })?;
            Ok((parts.status, parts.headers, body.to_bytes()))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) if cut => Err(NoAnswer::Deadline),
            Err(_) => Err(NoAnswer::Timeout),
        }
    }

    /// Learns from an answer's `Date` (arrived at `now`); the earliest the server's clock reads now.
    fn server_clock(&self, headers: &HeaderMap, now: Instant) -> f64 {
        let (at, epoch) = self.inner.started;
        let local = epoch + now.saturating_duration_since(at).as_secs_f64();
        let mut buckets = self.buckets();
        if let Some(date) = header_text(headers, "date").and_then(pacing::http_date_epoch) {
            buckets.server.learn(date, local);
        }
        buckets.server.earliest(local)
    }

    fn buckets(&self) -> MutexGuard<'_, Buckets> {
        // The critical sections are small pure functions that cannot leave the state half-done.
        self.inner.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until `at`, or fails at once if that is past the deadline.
    async fn sleep_until(&self, at: Instant) -> Result<(), OktaError> {
        let now = Instant::now();
        if at <= now {
            return Ok(());
        }
        if self.deadline.is_some_and(|d| at > d) {
            return Err(OktaError::Deadline);
        }
        tokio::time::sleep_until(at.into()).await;
        let micros = u64::try_from((at - now).as_micros()).unwrap_or(u64::MAX);
        self.inner.waited_micros.fetch_add(micros, Ordering::Relaxed);
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, OktaError> {
    serde_json::from_slice(body).map_err(|e| OktaError::BadResponse(format!("{what}: {e}")))
}

/// An error and its sources in one line (hyper's own message is only "client error (Connect)").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn rate_info(headers: &HeaderMap, server_now: f64) -> Option<RateInfo> {
    let h = |name: &str| header_text(headers, name);
    RateInfo::parse(h("x-rate-limit-limit"), h("x-rate-limit-remaining"), h("x-rate-limit-reset"), server_now)
}

/// A 429's reset from what headers it has.
fn rate_info_429(headers: &HeaderMap, server_now: f64) -> Option<RateInfo> {
    RateInfo::of_429(header_text(headers, "x-rate-limit-reset"), header_text(headers, "retry-after"), server_now)
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_does_not_print_its_token() {
        let org = OrgUrl::parse("https://acme.okta.com").unwrap();
        let client = OktaClient::new(org, ApiToken::new("s3cr3t-T0KEN".into()).unwrap(), Limits::default()).unwrap();
        let debug = format!("{client:?}");
        assert!(debug.contains("acme.okta.com") && !debug.contains("s3cr3t"), "{debug}");
        assert!(
            OktaClient::new(
                OrgUrl::parse("https://a.okta.com").unwrap(),
                ApiToken::new("t".into()).unwrap(),
                Limits { max_in_flight: 0, ..Limits::default() }
            )
            .is_err()
        );
    }
}
