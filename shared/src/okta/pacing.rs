//! When to send: pure functions of a bucket's learned rate-limit state and the time.
//!
//! Okta counts requests per bucket (roughly per path prefix) in ~60 s windows and reports
//! `X-Rate-Limit-Limit/-Remaining/-Reset` on every answer. The client reserves a send time per
//! request: at once while the bucket has room, spread over the rest of the window once fewer
//! than `slow_below` requests remain, and at the reset (+1 s) when none remain. A reservation
//! counts against the learned `Remaining` at once, so concurrent requests do not all see the
//! same last slot. The only clock reads and sleeps are in client.rs.

use std::time::{Duration, Instant};

/// Margin after a reset before sending again: `Reset` and `Date` have one-second resolution
/// (the Okta Node SDK waits `Reset − Date + 1 s` too).
pub const RESET_MARGIN: Duration = Duration::from_secs(1);
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
    /// Reads the headers (None when any is missing or not a number). The time to reset is
    /// `Reset − Date` by the server's own clock when `Date` is there, so a skewed local clock
    /// does not matter; else `Reset −` the local clock (`local_epoch`, seconds).
    pub fn parse(
        limit: Option<&str>,
        remaining: Option<&str>,
        reset: Option<&str>,
        date_epoch: Option<u64>,
        local_epoch: f64,
    ) -> Option<Self> {
        let limit = limit?.trim().parse().ok()?;
        let remaining = remaining?.trim().parse().ok()?;
        let reset_epoch: u64 = reset?.trim().parse().ok()?;
        Some(Self { limit, remaining, reset_epoch, reset_in: until(reset_epoch, date_epoch, local_epoch)? })
    }

    /// A 429 that lacks some of the three headers: its `X-Rate-Limit-Reset` alone, else a
    /// `Retry-After` in seconds, still says when to try again (none remaining; a Limit of 1,
    /// as 0 would mark a concurrency 429).
    pub fn of_429(
        reset: Option<&str>,
        retry_after: Option<&str>,
        date_epoch: Option<u64>,
        local_epoch: f64,
    ) -> Option<Self> {
        let reset_epoch = match reset {
            Some(r) => r.trim().parse().ok()?,
            None => date_epoch.unwrap_or(local_epoch as u64) + retry_after?.trim().parse::<u64>().ok()?,
        };
        Some(Self { limit: 1, remaining: 0, reset_epoch, reset_in: until(reset_epoch, date_epoch, local_epoch)? })
    }

    /// A concurrency-limit 429 reports Limit and Remaining 0 and only an estimated Reset.
    pub fn is_concurrency(&self) -> bool {
        self.limit == 0 && self.remaining == 0
    }
}

/// From now until `reset_epoch`, capped: `Reset − Date` by the server's own clock when `Date`
/// is there, else `Reset −` the local clock.
fn until(reset_epoch: u64, date_epoch: Option<u64>, local_epoch: f64) -> Option<Duration> {
    let reset_in = match date_epoch {
        Some(date) => Duration::from_secs(reset_epoch.saturating_sub(date)),
        // u64 → f64 loses far less than a second for epoch times.
        None => Duration::try_from_secs_f64((reset_epoch as f64 - local_epoch).max(0.0)).ok()?,
    };
    Some(reset_in.min(MAX_RESET_WAIT))
}

/// What the client knows about one bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketState {
    window: Option<Window>,
    /// The last slot handed out while spreading requests.
    next_slot: Option<Instant>,
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
}

/// The time this request may be sent; counts it against the bucket.
pub fn reserve(state: &mut BucketState, now: Instant, slow_below: u32) -> Instant {
    let Some(w) = state.window.as_mut() else {
        return now;
    };
    if now >= w.reset_at + RESET_MARGIN {
        // A new window has begun; its figures come with the next answer.
        *state = BucketState::default();
        return now;
    }
    if w.remaining == 0 {
        return w.reset_at + RESET_MARGIN;
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
        // wins, since answers to concurrent requests arrive in any order.
        Some(w) if w.reset_epoch.abs_diff(info.reset_epoch) <= 1 => {
            w.remaining = w.remaining.min(info.remaining);
            w.reset_at = w.reset_at.max(fresh.reset_at);
        }
        // A late answer from an earlier window.
        Some(w) if info.reset_epoch < w.reset_epoch => {}
        _ => *state = BucketState { window: Some(fresh), next_slot: None },
    }
}

/// Learns from a 429. A rate-limit 429 empties the window, so the next reservation waits for
/// its reset (+1 s); a concurrency 429 gets a short backoff instead, one without headers a
/// longer one (up to 30 s), which is returned.
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
            *state = BucketState { window: Some(window), next_slot: None };
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
mod tests {
    use super::*;

    fn info(remaining: u32, reset_epoch: u64, reset_in: u64) -> RateInfo {
        RateInfo { limit: 100, remaining, reset_epoch, reset_in: Duration::from_secs(reset_in) }
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date_epoch("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(http_date_epoch("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(http_date_epoch("784111777"), None);
    }

    #[test]
    fn buckets_by_path() {
        assert_eq!(Bucket::of("/api/v1/apps/0oa1/users"), Bucket::Apps);
        assert_eq!(Bucket::of("/api/v1/apps"), Bucket::Apps);
        assert_eq!(Bucket::of("/api/v1/groups/00g1/users"), Bucket::Groups);
        assert_eq!(Bucket::of("/api/v1/users/00u1"), Bucket::Users);
        assert_eq!(Bucket::of("/api/v1/appsx"), Bucket::Other);
        assert_eq!(Bucket::of("/.well-known/okta-organization"), Bucket::Other);
        assert_eq!(Bucket::of("/api/v1/logs"), Bucket::Other);
    }

    #[test]
    fn headers_are_read_with_skew_correction() {
        // The local clock is 1000 s ahead: Reset − Date still gives 10 s.
        let i = RateInfo::parse(Some("100"), Some("7"), Some("1010"), Some(1000), 2000.0);
        assert_eq!(i, Some(info(7, 1010, 10)));
        // Without Date, the local clock.
        let i = RateInfo::parse(Some("100"), Some("7"), Some("1010"), None, 1005.5);
        assert_eq!(i.map(|i| i.reset_in), Some(Duration::from_millis(4500)));
        // A reset in the past is now; an absurd one is capped.
        let i = RateInfo::parse(Some("100"), Some("0"), Some("900"), Some(1000), 0.0);
        assert_eq!(i.map(|i| i.reset_in), Some(Duration::ZERO));
        let i = RateInfo::parse(Some("100"), Some("0"), Some("999999"), Some(1000), 0.0);
        assert_eq!(i.map(|i| i.reset_in), Some(MAX_RESET_WAIT));
        assert_eq!(RateInfo::parse(None, Some("7"), Some("1010"), None, 0.0), None);
        assert_eq!(RateInfo::parse(Some("x"), Some("7"), Some("1010"), None, 0.0), None);
        let c = RateInfo::parse(Some("0"), Some("0"), Some("1010"), None, 0.0);
        assert!(c.is_some_and(|c| c.is_concurrency()));
    }

    #[test]
    fn room_means_now_and_counts_down() {
        let now = Instant::now();
        let mut s = BucketState::default();
        assert_eq!(reserve(&mut s, now, 5), now);
        observe(&mut s, info(50, 1060, 60), now);
        assert_eq!(reserve(&mut s, now, 5), now);
        assert_eq!(s.remaining(), Some(49));
    }

    #[test]
    fn few_left_are_spread_over_the_window() {
        let now = Instant::now();
        let mut s = BucketState::default();
        observe(&mut s, info(4, 1010, 10), now);
        // (reset − now) / (remaining + 1), from the previous slot on.
        let slots: Vec<Duration> = (0..4).map(|_| reserve(&mut s, now, 5) - now).collect();
        assert_eq!(slots, [2, 4, 6, 8].map(Duration::from_secs));
        // None left: the reset plus the margin.
        assert_eq!(reserve(&mut s, now, 5) - now, Duration::from_secs(11));
        assert_eq!(reserve(&mut s, now, 5) - now, Duration::from_secs(11));
        // After it, a fresh window: send at once.
        let later = now + Duration::from_secs(11);
        assert_eq!(reserve(&mut s, later, 5), later);
        assert_eq!(s.remaining(), None);
    }

    #[test]
    fn answers_in_any_order_keep_the_lowest_count() {
        let now = Instant::now();
        let mut s = BucketState::default();
        observe(&mut s, info(9, 1060, 60), now);
        observe(&mut s, info(7, 1060, 60), now);
        observe(&mut s, info(8, 1061, 60), now);
        assert_eq!(s.remaining(), Some(7));
        // A late answer from the previous window is ignored; a new window replaces.
        observe(&mut s, info(1, 1000, 0), now);
        assert_eq!(s.remaining(), Some(7));
        observe(&mut s, info(99, 1120, 60), now);
        assert_eq!(s.remaining(), Some(99));
        // A concurrency answer says nothing about the window.
        observe(&mut s, RateInfo { limit: 0, remaining: 0, reset_epoch: 1130, reset_in: Duration::ZERO }, now);
        assert_eq!(s.remaining(), Some(99));
    }

    #[test]
    fn a_429_waits_for_the_reset_or_backs_off() {
        let now = Instant::now();
        let mut s = BucketState::default();
        observe(&mut s, info(40, 1060, 60), now);
        // Okta said 429 even though we thought there was room: believe Okta.
        assert_eq!(observe_429(&mut s, Some(info(3, 1003, 3)), now, 1, 0.5), None);
        assert_eq!(reserve(&mut s, now, 5) - now, Duration::from_secs(4));
        let concurrency = RateInfo { limit: 0, remaining: 0, reset_epoch: 1003, reset_in: Duration::from_secs(3) };
        let mut s = BucketState::default();
        assert_eq!(observe_429(&mut s, Some(concurrency), now, 1, 0.5), Some(Duration::from_millis(500)));
        assert_eq!(observe_429(&mut s, None, now, 3, 0.5), Some(Duration::from_secs(2)));
        assert_eq!(observe_429(&mut s, Some(concurrency), now, 9, 0.5), Some(Duration::from_secs(4)));
        // Without headers: longer, up to 30 s.
        assert_eq!(observe_429(&mut s, None, now, 6, 0.5), Some(Duration::from_secs(16)));
        assert_eq!(observe_429(&mut s, None, now, 9, 0.5), Some(Duration::from_secs(30)));
        assert_eq!(reserve(&mut s, now, 5), now);
    }

    #[test]
    fn a_429_with_only_a_reset_or_retry_after_waits_for_it() {
        let at = |i: Option<RateInfo>| i.map(|i| (i.remaining, i.reset_in, i.is_concurrency()));
        let zero = Some((0, Duration::from_secs(20), false));
        assert_eq!(at(RateInfo::of_429(Some("1020"), None, Some(1000), 0.0)), zero);
        assert_eq!(at(RateInfo::of_429(None, Some("20"), Some(1000), 0.0)), zero);
        assert_eq!(at(RateInfo::of_429(None, Some("20"), None, 1000.0)), zero);
        // Reset wins over Retry-After; neither, or neither a number: nothing known.
        assert_eq!(at(RateInfo::of_429(Some("1020"), Some("5"), Some(1000), 0.0)), zero);
        assert_eq!(RateInfo::of_429(None, None, Some(1000), 0.0), None);
        assert_eq!(RateInfo::of_429(None, Some("Wed, 21 Oct 2015 07:28:00 GMT"), Some(1000), 0.0), None);
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        assert_eq!(backoff(0, 0.5), Duration::from_millis(500));
        assert_eq!(backoff(1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff(3, 0.5), Duration::from_secs(4));
        assert_eq!(backoff(0, 0.0), Duration::from_millis(400));
        assert_eq!(backoff(0, 1.0), Duration::from_millis(600));
        assert_eq!(backoff(40, 0.5), backoff(8, 0.5));
    }

    /// A sequential sync against a simulated 100 req/min bucket (windows start at the first
    /// request, not on the minute; Reset rounded up, Date truncated, 50 ms per request).
    fn simulate(requests: u32) -> (Duration, u32) {
        let base = Instant::now();
        let epoch0 = 1_700_000_000.37_f64;
        let latency = Duration::from_millis(50);
        let (mut t, mut window_start, mut used, mut rejected) = (Duration::ZERO, None::<Duration>, 0u32, 0u32);
        let mut s = BucketState::default();
        let mut done = 0;
        while done < requests {
            t = t.max(reserve(&mut s, base + t, 5) - base);
            let start = match window_start {
                Some(w) if t < w + Duration::from_secs(60) => w,
                _ => {
                    used = 0;
                    window_start = Some(t);
                    t
                }
            };
            let reset_epoch = (epoch0 + start.as_secs_f64() + 60.0).ceil() as u64;
            let date = (epoch0 + t.as_secs_f64()).floor() as u64;
            let ok = used < 100;
            used += u32::from(ok);
            let i = RateInfo {
                limit: 100,
                remaining: 100 - used,
                reset_epoch,
                reset_in: Duration::from_secs(reset_epoch - date),
            };
            t += latency;
            if ok {
                observe(&mut s, i, base + t);
                done += 1;
            } else {
                rejected += 1;
                let _ = observe_429(&mut s, Some(i), base + t, rejected, 0.5);
            }
        }
        (t, rejected)
    }

    #[test]
    fn a_paced_sync_stays_within_a_tenth_of_the_floor_without_429s() {
        for requests in [150, 300, 520] {
            let floor = Duration::from_secs(u64::from(requests) * 60 / 100);
            let (took, rejected) = simulate(requests);
            assert_eq!(rejected, 0, "{requests} requests");
            assert!(took <= floor.mul_f64(1.1), "{requests} requests took {took:?}, floor {floor:?}");
        }
    }
}
