//! Per-tenant rate limiting: a token bucket per tenant in each process, refilled at
//! `rate` requests per second up to a burst of twice that. It costs no AWS calls and no
//! latency; in Lambda each warm instance has its own buckets, so a tenant's ceiling is
//! `rate` × the function's concurrent instances (cap those with reserved concurrency).

use crate::domain::TenantId;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

const MAX_TRACKED: usize = 10_000;

/// Requests per second per tenant unless configured otherwise.
pub const DEFAULT_RATE: u32 = 100;

pub struct RateLimiter {
    /// Requests per second per tenant; 0 turns limiting off.
    rate: u32,
    buckets: Mutex<HashMap<TenantId, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: u32) -> Self {
        Self { rate, buckets: Mutex::default() }
    }

    /// Admits one request of `t` at `now`, or says how many whole seconds to wait.
    pub fn admit(&self, t: &TenantId, now: Instant) -> Result<(), u64> {
        if self.rate == 0 {
            return Ok(());
        }
        let (rate, burst) = (f64::from(self.rate), 2.0 * f64::from(self.rate));
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(t) {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(t.clone()).or_insert((burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        // Whole seconds (Retry-After is an integer), at least one.
        let wait = ((1.0 - *tokens) / rate).ceil();
        Err(if wait >= 1.0 { wait as u64 } else { 1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_are_per_tenant_and_refill() {
        let (a, b) = (TenantId::parse("a").unwrap(), TenantId::parse("b").unwrap());
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(limiter.admit(&a, t0), Ok(()), "burst of twice the rate");
        }
        assert_eq!(limiter.admit(&a, t0), Err(1));
        assert_eq!(limiter.admit(&b, t0), Ok(()), "another tenant is not affected");
        assert_eq!(limiter.admit(&a, t0 + Duration::from_millis(500)), Ok(()), "one token back after 1/rate s");
        assert_eq!(limiter.admit(&a, t0 + Duration::from_millis(500)), Err(1));
        assert!(RateLimiter::new(0).admit(&a, t0).is_ok());
        let slow = RateLimiter::new(1);
        let _ = (slow.admit(&a, t0), slow.admit(&a, t0));
        assert_eq!(slow.admit(&a, t0), Err(1));
    }
}
