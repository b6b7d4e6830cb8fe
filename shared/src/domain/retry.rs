//! The retry budget of one read-modify-write.

use super::error::DomainResult;
use std::time::{Duration, Instant};

/// Attempts at a read-modify-write before giving up with `DomainError::Busy`.
const ATTEMPTS: usize = 8;

/// How long one request may spend queueing behind other writers' pending changes: below the
/// functions' 15 s timeout.
const LOCK_BUDGET: Duration = Duration::from_secs(12);

/// [`ATTEMPTS`] lost races, while waiting for other writers' pending changes (which queue,
/// rather than race) is bounded by time instead, [`LOCK_BUDGET`].
pub(crate) struct Tries {
    lost: usize,
    waited: bool,
    pub(crate) deadline: Instant,
}

impl Tries {
    pub(crate) fn new() -> Self {
        Self { lost: 0, waited: false, deadline: Instant::now() + LOCK_BUDGET }
    }

    /// The number of races lost so far, or `None` when the budget is spent.
    pub(crate) fn next(&mut self) -> Option<usize> {
        if std::mem::take(&mut self.waited) {
            return (Instant::now() < self.deadline).then_some(self.lost);
        }
        let n = self.lost;
        self.lost += 1;
        (n < ATTEMPTS).then_some(n)
    }

    /// After waiting out another writer's change: the next try does not count as a lost race.
    pub(crate) fn waited(&mut self, wait: DomainResult<()>) -> DomainResult<()> {
        self.waited = true;
        wait
    }
}

/// A short, jittered pause before retrying a lost race, so that racing writers spread out.
pub(crate) async fn backoff(attempt: usize) {
    let base = 1u64 << attempt.min(6);
    let jitter = rand::random::<u64>() % (base + 1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}
