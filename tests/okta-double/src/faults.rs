//! Injected faults: each applies to the next `count` API requests whose path starts with
//! `path` (any path without one), in the order they were injected; a request takes at most
//! one fault.

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer this status with Okta's error body. 401 (E0000011) also revokes the token the
    /// request carried, for good; 429 carries the bucket's headers with Remaining 0.
    Status(u16),
    /// Answer normally after this delay (the request stays in flight meanwhile).
    Slow(Duration),
    /// Close the connection without a response.
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub action: Action,
    pub count: u32,
    pub path: Option<String>,
}

impl Fault {
    /// The next `count` requests answer `status`.
    pub fn status(status: u16, count: u32) -> Fault {
        Fault { action: Action::Status(status), count, path: None }
    }
    /// The next `count` requests are answered `delay` late.
    pub fn slow(delay: Duration, count: u32) -> Fault {
        Fault { action: Action::Slow(delay), count, path: None }
    }
    /// The next `count` requests lose their connection.
    pub fn drop_connection(count: u32) -> Fault {
        Fault { action: Action::Drop, count, path: None }
    }
    /// Only requests whose path starts with `prefix`.
    pub fn on(mut self, prefix: &str) -> Fault {
        self.path = Some(prefix.to_owned());
        self
    }
}

/// `POST /_double/faults` bodies: `{"status":429,"count":5,"path":"/api/v1/apps"}`,
/// `{"delayMs":1500,"count":2}`, `{"drop":true,"count":1}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default, rename = "delayMs")]
    delay_ms: Option<u64>,
    #[serde(default)]
    drop: bool,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    path: Option<String>,
}

fn one() -> u32 {
    1
}

impl FaultSpec {
    pub fn into_fault(self) -> Result<Fault, String> {
        let action = match (self.status, self.delay_ms, self.drop) {
            (Some(s), None, false) if (400..600).contains(&s) => Action::Status(s),
            (Some(s), None, false) => return Err(format!("status {s} is not an error status")),
            (None, Some(ms), false) => Action::Slow(Duration::from_millis(ms)),
            (None, None, true) => Action::Drop,
            _ => return Err("give exactly one of status, delayMs, drop".into()),
        };
        Ok(Fault { action, count: self.count, path: self.path })
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    queue: Vec<Fault>,
}

impl Faults {
    pub fn push(&mut self, f: Fault) {
        if f.count > 0 {
            self.queue.push(f);
        }
    }

    /// The action for a request to `path`, if a fault is armed for it (and one use of it).
    pub fn take(&mut self, path: &str) -> Option<Action> {
        let at = self.queue.iter().position(|f| f.path.as_deref().is_none_or(|p| path.starts_with(p)))?;
        let fault = self.queue.get_mut(at)?;
        fault.count -= 1;
        let action = fault.action.clone();
        if fault.count == 0 {
            self.queue.remove(at);
        }
        Some(action)
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }

    pub fn pending(&self) -> u32 {
        self.queue.iter().map(|f| f.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_by_path_in_order() {
        let mut faults = Faults::default();
        faults.push(Fault::status(503, 2).on("/api/v1/groups"));
        faults.push(Fault::drop_connection(1));
        assert_eq!(faults.take("/api/v1/groups/00g1/users"), Some(Action::Status(503)));
        assert_eq!(faults.take("/api/v1/apps/0oa1/users"), Some(Action::Drop));
        assert_eq!(faults.take("/api/v1/apps/0oa1/users"), None);
        assert_eq!(faults.take("/api/v1/groups/00g1"), Some(Action::Status(503)));
        assert_eq!(faults.take("/api/v1/groups/00g1"), None);
        assert_eq!(faults.pending(), 0);
    }
}
