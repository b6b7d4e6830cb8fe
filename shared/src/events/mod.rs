//! Events for the vendor's product. Every change to a user or group writes an activity-log
//! entry in the change's own transaction (`domain::activity`); that entry is the outbox
//! record of the change's event, so an event exists exactly when its change committed.
//! Publishers carry entries from the table's change stream (DynamoDB Streams in AWS, the
//! embedded store's feed locally) to a sink, retrying, never skipping: delivery is
//! at-least-once and consumers dedupe on the event id.

#[cfg(feature = "eventbridge")]
pub mod eventbridge;
pub mod jsonl;
pub mod relay;
pub mod signature;
pub mod stream;

use crate::store::{Item, keys};

/// Event types are `inlet.user.*` and `inlet.group.*`; other activity entries (tokens,
/// settings, Okta sync runs) are in the log only.
const PUBLISHED: [&str; 2] = ["inlet.user.", "inlet.group."];

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("activity entry {key}: {reason}")]
    Undecodable { key: String, reason: String },
    #[error("event sink: {0}")]
    Sink(String),
}

/// One event on its way out: what every sink needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The event id: the idempotency key consumers dedupe on.
    pub id: String,
    /// `inlet.user.created`, …
    pub kind: String,
    pub tenant: String,
    /// The event itself, JSON, exactly as stored in the entry.
    pub body: Vec<u8>,
}

impl Outgoing {
    /// The event an activity entry carries, if it carries one (`None` for any other item and
    /// for log-only entries); an entry that cannot be read is an error, never skipped.
    pub fn from_item(item: &Item) -> Result<Option<Self>, EventError> {
        if !keys::is_activity(&item.key.pk) {
            return Ok(None);
        }
        let bad = |reason: String| EventError::Undecodable { key: format!("{}/{}", item.key.pk, item.key.sk), reason };
        let v: serde_json::Value = serde_json::from_slice(&item.body).map_err(|e| bad(e.to_string()))?;
        let text = |name: &str| v.get(name).and_then(|x| x.as_str()).map(str::to_owned);
        let kind = text("type").ok_or_else(|| bad("no type".into()))?;
        if !PUBLISHED.iter().any(|p| kind.starts_with(p)) {
            return Ok(None);
        }
        let id = text("id").ok_or_else(|| bad("no id".into()))?;
        let tenant = text("tenant").ok_or_else(|| bad("no tenant".into()))?;
        Ok(Some(Self { id, kind, tenant, body: item.body.clone() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Key;

    fn entry(kind: &str) -> Item {
        let body = serde_json::json!({"id": "e1", "type": kind, "tenant": "acme"});
        Item::new(keys::activity("acme", 1, "e1"), body.to_string().into_bytes())
    }

    #[test]
    fn user_and_group_entries_are_events_others_are_not() {
        let e = Outgoing::from_item(&entry("inlet.user.created")).unwrap().unwrap();
        assert_eq!((e.id.as_str(), e.kind.as_str(), e.tenant.as_str()), ("e1", "inlet.user.created", "acme"));
        assert!(Outgoing::from_item(&entry("inlet.group.members_added")).unwrap().is_some());
        assert!(Outgoing::from_item(&entry("inlet.token.issued")).unwrap().is_none());
        let user = Item::new(Key::new("T#acme#U#x", "USER"), b"{}".to_vec());
        assert!(Outgoing::from_item(&user).unwrap().is_none());
        let broken = Item::new(keys::activity("acme", 1, "e2"), b"{".to_vec());
        assert!(Outgoing::from_item(&broken).is_err());
    }
}
