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
fn headers_are_read_against_the_servers_clock() {
    let i = RateInfo::parse(Some("100"), Some("7"), Some("1010"), 1000.0);
    assert_eq!(i, Some(info(7, 1010, 10)));
    let i = RateInfo::parse(Some("100"), Some("7"), Some("1010"), 1005.5);
    assert_eq!(i.map(|i| i.reset_in), Some(Duration::from_millis(4500)));
    // A reset in the past is now; an absurd one is capped.
    let i = RateInfo::parse(Some("100"), Some("0"), Some("900"), 1000.0);
    assert_eq!(i.map(|i| i.reset_in), Some(Duration::ZERO));
    let i = RateInfo::parse(Some("100"), Some("0"), Some("999999"), 1000.0);
    assert_eq!(i.map(|i| i.reset_in), Some(MAX_RESET_WAIT));
    assert_eq!(RateInfo::parse(None, Some("7"), Some("1010"), 0.0), None);
    assert_eq!(RateInfo::parse(Some("x"), Some("7"), Some("1010"), 0.0), None);
    let c = RateInfo::parse(Some("0"), Some("0"), Some("1010"), 0.0);
    assert!(c.is_some_and(|c| c.is_concurrency()));
}

#[test]
fn the_servers_clock_is_bounded_below_by_its_dates() {
    let mut c = ServerClock::default();
    // No Date yet: the local clock.
    assert_eq!(c.earliest(500.0), 500.0);
    // The local clock is 1000 s ahead. Stamped at 1000.75 (Date 1000), arrived at 2000.75:
    // the server reads at least 1000.0 then.
    c.learn(1000, 2000.75);
    assert_eq!(c.earliest(2000.75), 1000.0);
    // Stamped at 1001.0 exactly, arrived at once: the bound is the true offset.
    c.learn(1001, 2001.0);
    assert_eq!(c.earliest(2010.5), 1010.5);
    // A looser bound later changes nothing.
    c.learn(1011, 2011.75);
    assert_eq!(c.earliest(2010.5), 1010.5);
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
    assert_eq!(reserve(&mut s, now, 5) - now, Duration::from_secs(10) + RESET_MARGIN);
    assert_eq!(reserve(&mut s, now, 5) - now, Duration::from_secs(10) + RESET_MARGIN);
    // After it, a fresh window: send at once.
    let later = now + Duration::from_secs(11);
    assert_eq!(reserve(&mut s, later, 5), later);
    assert_eq!(s.remaining(), None);
}

#[test]
fn the_newest_answer_says_when_the_window_resets() {
    let now = Instant::now();
    // (the first answer's Reset, the second's, the wait until the reset). The first answer read
    // the server's clock from one `Date` (up to a second short), so its wait is a second long;
    // the second, from a tighter bound, knows better. Of `Reset` figures a second apart (a
    // server that rounds), the later one counts.
    for (first, second, wait) in [(1060, 1060, 60), (1061, 1060, 61)] {
        let mut s = BucketState::default();
        observe(&mut s, info(1, first, 61), now);
        observe(&mut s, info(0, second, 60), now);
        assert_eq!(reserve(&mut s, now, 5), now + Duration::from_secs(wait) + RESET_MARGIN, "{first} {second}");
    }
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
    assert_eq!(reserve(&mut s, now, 5) - now, Duration::from_secs(3) + RESET_MARGIN);
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
fn a_429_after_its_own_reset_makes_the_bucket_wait_longer_for_good() {
    let now = Instant::now();
    let mut s = BucketState::default();
    observe(&mut s, info(0, 1000, 0), now);
    assert_eq!(reserve(&mut s, now, 5) - now, RESET_MARGIN);
    // Sent just after that reset, still refused: this server's windows outlive their Reset.
    let sent = now + RESET_MARGIN;
    assert_eq!(observe_429(&mut s, Some(info(0, 1000, 0)), sent, 1, 0.5), None);
    assert_eq!(reserve(&mut s, sent, 5) - sent, LATE_RESET_MARGIN);
    // Still so in the windows after.
    let later = sent + LATE_RESET_MARGIN;
    assert_eq!(reserve(&mut s, later, 5), later);
    observe(&mut s, info(0, 1060, 60), later);
    assert_eq!(reserve(&mut s, later, 5) - later, Duration::from_secs(60) + LATE_RESET_MARGIN);
}

#[test]
fn a_429_with_only_a_reset_or_retry_after_waits_for_it() {
    let at = |i: Option<RateInfo>| i.map(|i| (i.remaining, i.reset_in, i.is_concurrency()));
    let zero = Some((0, Duration::from_secs(20), false));
    assert_eq!(at(RateInfo::of_429(Some("1020"), None, 1000.0)), zero);
    assert_eq!(at(RateInfo::of_429(None, Some("20"), 1000.5)), zero);
    // Reset wins over Retry-After; neither, or neither a number: nothing known.
    assert_eq!(at(RateInfo::of_429(Some("1020"), Some("5"), 1000.0)), zero);
    assert_eq!(RateInfo::of_429(None, None, 1000.0), None);
    assert_eq!(RateInfo::of_429(None, Some("Wed, 21 Oct 2015 07:28:00 GMT"), 1000.0), None);
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

/// A sequential sync against a simulated 100 req/min bucket: windows start at the first
/// request, not on the minute; `Reset` rounded up (or down, `floor`); `Date` truncated and
/// stamped as the request is taken; 50 ms per request; the local clock 37.3 s ahead. Answers
/// the time taken, the 429s, and the windows used.
fn simulate(requests: u32, floor: bool) -> (Duration, u32, u32) {
    let base = Instant::now();
    let epoch0 = 1_700_000_000.37_f64;
    let skew = 37.3;
    let latency = Duration::from_millis(50);
    let (mut t, mut window_start, mut used, mut rejected) = (Duration::ZERO, None::<Duration>, 0u32, 0u32);
    let (mut s, mut clock, mut windows) = (BucketState::default(), ServerClock::default(), 0);
    let mut done = 0;
    while done < requests {
        t = t.max(reserve(&mut s, base + t, 5) - base);
        let start = match window_start {
            Some(w) if t < w + Duration::from_secs(60) => w,
            _ => {
                (used, windows) = (0, windows + 1);
                window_start = Some(t);
                t
            }
        };
        let end = epoch0 + start.as_secs_f64() + 60.0;
        let reset_epoch = if floor { end.floor() } else { end.ceil() } as u64;
        let date = (epoch0 + t.as_secs_f64()).floor() as u64;
        let ok = used < 100;
        used += u32::from(ok);
        t += latency;
        let arrival = epoch0 + t.as_secs_f64() + skew;
        clock.learn(date, arrival);
        let (remaining, reset) = ((100 - used).to_string(), reset_epoch.to_string());
        let i = RateInfo::parse(Some("100"), Some(&remaining), Some(&reset), clock.earliest(arrival));
        if ok {
            observe(&mut s, i.unwrap(), base + t);
            done += 1;
        } else {
            rejected += 1;
            let _ = observe_429(&mut s, i, base + t, rejected, 0.5);
        }
    }
    (t, rejected, windows)
}

#[test]
fn a_paced_sync_sends_just_after_each_reset_without_429s() {
    // (A last window nearly full would spread its last requests over what is left of it.)
    for requests in [150, 201, 320, 520] {
        let (took, rejected, windows) = simulate(requests, false);
        assert_eq!(rejected, 0, "{requests} requests");
        assert_eq!(windows, requests.div_ceil(100), "{requests} requests");
        // Each window after the first opens at most a second (Reset rounded up) and the
        // margin after the last one ended, give or take the clock's bound.
        let last = requests - (windows - 1) * 100;
        let least = Duration::from_secs(u64::from(windows - 1) * 60) + Duration::from_millis(50) * last;
        let late = took.saturating_sub(least);
        let most = (Duration::from_secs(1) + RESET_MARGIN + Duration::from_millis(60)) * (windows - 1);
        assert!(late <= most, "{requests} requests took {took:?}: {late:?} after the windows allow");
        let floor = Duration::from_secs(u64::from(requests) * 60 / 100);
        assert!(took <= floor.mul_f64(1.1), "{requests} requests took {took:?}, floor {floor:?}");
    }
}

#[test]
fn a_server_that_rounds_reset_down_costs_one_429() {
    for requests in [201, 520] {
        let (took, rejected, _) = simulate(requests, true);
        assert!(rejected <= 1, "{requests} requests: {rejected} refused");
        let floor = Duration::from_secs(u64::from(requests) * 60 / 100);
        assert!(took <= floor.mul_f64(1.1), "{requests} requests took {took:?}, floor {floor:?}");
    }
}
