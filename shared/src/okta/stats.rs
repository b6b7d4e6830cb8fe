//! What a client has done: requests per rate-limit bucket, 429s, retries, time waited.

use std::time::Duration;

/// What the client has done so far (all clones together).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests sent, retries included, per rate-limit bucket.
    pub requests: BucketCounts,
    /// 429 answers seen.
    pub rate_limited: u64,
    /// Requests sent again after a 429, 5xx, timeout or connection error.
    pub retries: u64,
    /// Time spent in pacing pauses and backoffs.
    pub waited: Duration,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketCounts {
    pub apps: u64,
    pub groups: u64,
    pub users: u64,
    pub other: u64,
}

impl BucketCounts {
    pub fn total(&self) -> u64 {
        self.apps + self.groups + self.users + self.other
    }
}
