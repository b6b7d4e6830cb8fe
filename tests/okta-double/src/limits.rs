//! Okta's rate limits (okta-pull-notes §3): per-bucket request counts over windows that open
//! at a bucket's first request (not on the clock minute), and an org-wide cap on requests
//! in flight.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// The bucket a path counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    /// `/api/v1/apps*`: app users and app groups.
    Apps,
    /// `/api/v1/groups*`, members included (Okta does not say; the notes say to read the headers).
    Groups,
    /// `/api/v1/users*`.
    Users,
    /// Everything else, `/.well-known/okta-organization` included.
    Other,
}

impl Bucket {
    pub fn of(path: &str) -> Bucket {
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if under("/api/v1/apps") {
            Bucket::Apps
        } else if under("/api/v1/groups") {
            Bucket::Groups
        } else if under("/api/v1/users") {
            Bucket::Users
        } else {
            Bucket::Other
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Bucket::Apps => "apps",
            Bucket::Groups => "groups",
            Bucket::Users => "users",
            Bucket::Other => "other",
        }
    }
}

/// What the `X-Rate-Limit-*` headers of one response say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub remaining: u32,
    /// UTC epoch seconds, rounded up.
    pub reset: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    ends_ms: u64,
    count: u32,
}

pub struct RateLimits {
    window_ms: u64,
    limits: BTreeMap<Bucket, u32>,
    windows: Mutex<BTreeMap<Bucket, Window>>,
}

impl RateLimits {
    pub fn new(window_ms: u64, limits: BTreeMap<Bucket, u32>) -> RateLimits {
        RateLimits { window_ms, limits, windows: Mutex::new(BTreeMap::new()) }
    }

    /// Counts one request against `bucket` at `now_ms`: the headers to send, and whether the
    /// request is over the limit (then it is answered 429).
    pub fn hit(&self, bucket: Bucket, now_ms: u64) -> (Rate, bool) {
        let limit = self.limits.get(&bucket).copied().unwrap_or(0);
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let w = windows.entry(bucket).or_insert(Window { ends_ms: 0, count: 0 });
        if now_ms >= w.ends_ms {
            *w = Window { ends_ms: now_ms + self.window_ms, count: 0 };
        }
        w.count = w.count.saturating_add(1);
        let rate = Rate { limit, remaining: limit.saturating_sub(w.count), reset: w.ends_ms.div_ceil(1000) };
        (rate, w.count > limit)
    }

    /// The headers of `bucket` now without counting a request (an injected 429 uses them with
    /// Remaining 0).
    pub fn peek(&self, bucket: Bucket, now_ms: u64) -> Rate {
        let limit = self.limits.get(&bucket).copied().unwrap_or(0);
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match windows.get(&bucket) {
            Some(w) if now_ms < w.ends_ms => {
                Rate { limit, remaining: limit.saturating_sub(w.count), reset: w.ends_ms.div_ceil(1000) }
            }
            _ => Rate { limit, remaining: limit, reset: (now_ms + self.window_ms).div_ceil(1000) },
        }
    }

    pub fn reset(&self) {
        self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// Requests in flight, and the most seen at once.
#[derive(Default)]
pub struct InFlight {
    now: AtomicU32,
    max: AtomicU32,
}

/// One request's place in flight; leaving it (drop) frees the place.
pub struct Slot<'a> {
    flight: &'a InFlight,
    pub count: u32,
}

impl InFlight {
    pub fn enter(&self) -> Slot<'_> {
        let count = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(count, Ordering::SeqCst);
        Slot { flight: self, count }
    }

    pub fn max(&self) -> u32 {
        self.max.load(Ordering::SeqCst)
    }

    /// Starts the maximum over from what is in flight now.
    pub fn reset_max(&self) {
        self.max.store(self.now.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.flight.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_opens_at_first_request_and_resets() {
        let limits = RateLimits::new(2000, BTreeMap::from([(Bucket::Apps, 2)]));
        let t0 = 10_500;
        assert_eq!(limits.hit(Bucket::Apps, t0), (Rate { limit: 2, remaining: 1, reset: 13 }, false));
        assert_eq!(limits.hit(Bucket::Apps, t0 + 100), (Rate { limit: 2, remaining: 0, reset: 13 }, false));
        assert!(limits.hit(Bucket::Apps, t0 + 200).1);
        // The next window opens at the first request after the old one ended.
        assert_eq!(limits.hit(Bucket::Apps, t0 + 2700), (Rate { limit: 2, remaining: 1, reset: 16 }, false));
    }

    #[test]
    fn buckets_by_path() {
        assert_eq!(Bucket::of("/api/v1/apps/0oa1/users"), Bucket::Apps);
        assert_eq!(Bucket::of("/api/v1/groups/00g1/users"), Bucket::Groups);
        assert_eq!(Bucket::of("/api/v1/users/00u1"), Bucket::Users);
        assert_eq!(Bucket::of("/api/v1/appsx"), Bucket::Other);
        assert_eq!(Bucket::of("/.well-known/okta-organization"), Bucket::Other);
    }
}
