//! When to send: pure functions of a bucket's learned rate-limit state and the time.
//!
//! Okta counts requests per bucket (roughly per path prefix) in ~60 s windows and reports
//! `X-Rate-Limit-Limit/-Remaining/-Reset` on every answer. The client reserves a send time per
//! request: at once while the bucket has room, spread over the rest of the window once fewer
//! than `slow_below` requests remain, and just after the reset when none remain. A reservation
//! counts against the learned `Remaining` at once, so concurrent requests do not all see the
//! same last slot. The only clock reads and sleeps are in client.rs.

use std::time::{Duration, Instant};

/// Margin after a reset before sending again. `Reset` is read against the server's clock as
/// its `Date` headers bound it ([`ServerClock`]), so only a server that rounds `Reset` down
/// (its window ending up to a second after it) needs more: a 429 whose `Reset` has already
/// passed shows one, and from then on its bucket waits [`LATE_RESET_MARGIN`].
pub const RESET_MARGIN: Duration = Duration::from_millis(250);
pub const LATE_RESET_MARGIN: Duration = Duration::from_millis(1250);
/// Longest wait believed from a `Reset` header: windows are ~60 s, so a larger figure is a
/// garbled header or a skewed clock and must not stall a sync.
pub const MAX_RESET_WAIT: Duration = Duration::from_secs(180);

/// Okta's rate-limit buckets, as far as one pull sync touches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    Apps,
    Groups,
    Users,
    Other,
}

impl Bucket {
    pub const ALL: [Bucket; 4] = [Bucket::Apps, Bucket::Groups, Bucket::Users, Bucket::Other];

    /// The bucket of a request path (`/api/v1/apps…` → apps, and so on).
    pub fn of(path: &str) -> Self {
        let under =
            |prefix: &str| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if under("/api/v1/apps") {
            Self::Apps
        } else if under("/api/v1/groups") {
            Self::Groups
        } else if under("/api/v1/users") {
            Self::Users
        } else {
            Self::Other
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The rate-limit headers of one answer, with the time to reset already corrected for skew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// `X-Rate-Limit-Reset` as sent: identifies the window.
    pub reset_epoch: u64,
    /// From the answer's arrival until the reset.
    pub reset_in: Duration,
}

impl RateInfo {
    /// Reads the headers (None when any is missing or not a number); `server_now` is the
    /// server's clock at the answer's arrival, at the earliest ([`ServerClock::earliest`]).
    pub fn parse(limit: Option<&str>, remaining: Option<&str>, reset: Option<&str>, server_now: f64) -> Option<Self> {
        let limit = limit?.trim().parse().ok()?;
        let remaining = remaining?.trim().parse().ok()?;
        let reset_epoch: u64 = reset?.trim().parse().ok()?;
        Some(Self { limit, remaining, reset_epoch, reset_in: until(reset_epoch, server_now)? })
    }

    /// A 429 that lacks some of the three headers: its `X-Rate-Limit-Reset` alone, else a
    /// `Retry-After` in seconds, still says when to try again (none remaining; a Limit of 1,
    /// as 0 would mark a concurrency 429).
    pub fn of_429(reset: Option<&str>, retry_after: Option<&str>, server_now: f64) -> Option<Self> {
        let (reset_epoch, reset_in) = match reset {
            Some(r) => {
                let r: u64 = r.trim().parse().ok()?;
                (r, until(r, server_now)?)
            }
            None => {
                let after: u64 = retry_after?.trim().parse().ok()?;
                // Epoch seconds fit an f64 exactly enough; a clock before 1970 reads as 0.
                (server_now.max(0.0) as u64 + after, Duration::from_secs(after).min(MAX_RESET_WAIT))
            }
        };
        Some(Self { limit: 1, remaining: 0, reset_epoch, reset_in })
    }

    /// A concurrency-limit 429 reports Limit and Remaining 0 and only an estimated Reset.
    pub fn is_concurrency(&self) -> bool {
        self.limit == 0 && self.remaining == 0
    }
}

/// From `server_now` until `reset_epoch`, capped.
fn until(reset_epoch: u64, server_now: f64) -> Option<Duration> {
    // u64 → f64 loses far less than a second for epoch times.
    let reset_in = Duration::try_from_secs_f64((reset_epoch as f64 - server_now).max(0.0)).ok()?;
    Some(reset_in.min(MAX_RESET_WAIT))
}

/// The server's clock as its `Date` headers bound it. An answer is stamped at or after its
/// `Date` (whole seconds, truncated) and before it arrives, so server − local ≥ Date − arrival.
/// The largest such bound over a run's answers, which arrive at every fraction of a second,
/// comes within milliseconds of the true offset; one answer alone may be a second short,
/// which only makes a wait longer. Without any `Date`, the local clock stands in.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServerClock {
    offset: Option<f64>,
}

impl ServerClock {
    /// Learns from an answer's `Date` (epoch seconds) that arrived at local time `arrival`.
    pub fn learn(&mut self, date_epoch: u64, arrival: f64) {
        let bound = date_epoch as f64 - arrival;
        self.offset = Some(self.offset.map_or(bound, |o| o.max(bound)));
    }

    /// The earliest the server's clock may read at local time `local` (epoch seconds).
    pub fn earliest(&self, local: f64) -> f64 {
        local + self.offset.unwrap_or(0.0)
    }
}

/// What the client knows about one bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketState {
    window: Option<Window>,
    /// The last slot handed out while spreading requests.
    next_slot: Option<Instant>,
    /// The server's windows outlive their `Reset` (it rounds down): wait the longer margin.
    late: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    remaining: u32,
    reset_epoch: u64,
    reset_at: Instant,
}

impl BucketState {
    /// Requests still allowed in the current window, as far as the client knows.
    pub fn remaining(&self) -> Option<u32> {
        self.window.map(|w| w.remaining)
    }

    fn margin(&self) -> Duration {
        if self.late { LATE_RESET_MARGIN } else { RESET_MARGIN }
    }

    /// A fresh state with `window`, keeping what was learned about the server.
    fn with(&self, window: Option<Window>) -> Self {
        Self { window, next_slot: None, late: self.late }
    }
}

/// The time this request may be sent; counts it against the bucket.
pub fn reserve(state: &mut BucketState, now: Instant, slow_below: u32) -> Instant {
    let margin = state.margin();
    let Some(w) = state.window.as_mut() else {
        return now;
    };
    if now >= w.reset_at + margin {
        // A new window has begun; its figures come with the next answer.
        *state = state.with(None);
        return now;
    }
    if w.remaining == 0 {
        return w.reset_at + margin;
    }
    let start = state.next_slot.map_or(now, |s| s.max(now));
    let at = if w.remaining < slow_below {
        let gap = w.reset_at.saturating_duration_since(start) / (w.remaining + 1);
        state.next_slot = Some(start + gap);
        start + gap
    } else {
        start
    };
    w.remaining -= 1;
    at
}

/// Learns from an answer's headers (`now` is its arrival).
pub fn observe(state: &mut BucketState, info: RateInfo, now: Instant) {
    if info.is_concurrency() {
        return;
    }
    let fresh = Window { remaining: info.remaining, reset_epoch: info.reset_epoch, reset_at: now + info.reset_in };
    match state.window.as_mut() {
        // The same window (one second of slack for a server that rounds): the lower count
        // wins, since answers to concurrent requests arrive in any order. The newest answer
        // says when the reset comes, as it read `Reset` against the best bound of the server's
        // clock (the bound only tightens; the first answer's may be a second short); of two
        // `Reset` figures a second apart, the later one.
        Some(w) if w.reset_epoch.abs_diff(info.reset_epoch) <= 1 => {
            w.remaining = w.remaining.min(info.remaining);
            let epoch = w.reset_epoch.max(info.reset_epoch);
            w.reset_at = fresh.reset_at + Duration::from_secs(epoch - info.reset_epoch);
            w.reset_epoch = epoch;
        }
        // A late answer from an earlier window.
        Some(w) if info.reset_epoch < w.reset_epoch => {}
        _ => *state = state.with(Some(fresh)),
    }
}

/// Learns from a 429. A rate-limit 429 empties the window, so the next reservation waits for
/// its reset (and the margin); one whose reset has already passed shows a server that rounds
/// `Reset` down. A concurrency 429 gets a short backoff instead, one without headers a longer
/// one (up to 30 s), which is returned.
pub fn observe_429(
    state: &mut BucketState,
    info: Option<RateInfo>,
    now: Instant,
    seen: u32,
    jitter: f64,
) -> Option<Duration> {
    match info {
        Some(i) if !i.is_concurrency() => {
            let window = Window { remaining: 0, reset_epoch: i.reset_epoch, reset_at: now + i.reset_in };
            let late = state.late || i.reset_in.is_zero();
            *state = BucketState { late, ..state.with(Some(window)) };
            None
        }
        // Concurrency clears as soon as a request in flight ends.
        Some(_) => Some(backoff(seen.saturating_sub(1), jitter).min(Duration::from_secs(4))),
        // No word on when: back off towards a window's length.
        None => Some(backoff(seen.saturating_sub(1), jitter).min(Duration::from_secs(30))),
    }
}

/// Exponential backoff for 5xx, timeouts and connection errors: 0.5 s, 1 s, 2 s, … for
/// attempt 0, 1, 2, …, scaled by 0.8–1.2 (`jitter` in [0, 1)) so that clients desynchronise.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let base = Duration::from_millis(500) * 2u32.pow(attempt.min(8));
    base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, the only form servers may send) as epoch
/// seconds; the obsolete forms are not worth reading (the local clock is the fallback).
pub fn http_date_epoch(text: &str) -> Option<u64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let t = time::PrimitiveDateTime::parse(text.trim(), format).ok()?.assume_utc();
    u64::try_from(t.unix_timestamp()).ok()
}

#[cfg(test)]
#[path = "pacing_tests.rs"]
mod tests;
