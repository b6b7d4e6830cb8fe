//! What the double was asked: every API request (not the `/_double/` control API), counted
//! when it arrives, whatever it is answered.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requests {
    pub total: u64,
    /// By rate-limit bucket: `apps`, `groups`, `users`, `other`.
    pub buckets: BTreeMap<String, u64>,
    /// By path template, e.g. `/api/v1/apps/{appId}/users` (unknown paths as `other`).
    pub paths: BTreeMap<String, u64>,
    /// By the status answered (a dropped connection counts under 0).
    pub statuses: BTreeMap<u16, u64>,
    /// Answered 429 for the rate or the concurrency limit (not injected ones).
    pub rate_limited: u64,
    /// Given an injected fault.
    pub faulted: u64,
    /// Most API requests in flight at once.
    pub max_concurrency: u32,
}

impl Requests {
    pub fn bucket(&self, name: &str) -> u64 {
        self.buckets.get(name).copied().unwrap_or(0)
    }
    pub fn path(&self, template: &str) -> u64 {
        self.paths.get(template).copied().unwrap_or(0)
    }
    pub fn status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    pub(crate) fn arrived(&mut self, bucket: &str, template: &str) {
        self.total += 1;
        *self.buckets.entry(bucket.to_owned()).or_default() += 1;
        *self.paths.entry(template.to_owned()).or_default() += 1;
    }

    pub(crate) fn answered(&mut self, status: u16) {
        *self.statuses.entry(status).or_default() += 1;
    }
}
