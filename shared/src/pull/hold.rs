//! A short hold on one tenant's integration, taken by a configure or a disable before it
//! writes the token vault and released after its last write. The vault cannot take part in
//! the table's transactions, so without it two configures of one tenant could each store
//! their token and one lose the transaction, leaving the loser's token beside the winner's
//! integration (sent to the winner's org), or a disable's blanking could land after a new
//! configure. While the hold is kept, the token in the vault is the holder's to change.
//! A crashed holder's hold lapses by itself (the item's expiry, compared here).

use super::{PullError, PullResult};
use crate::domain::TenantId;
use crate::store::{Condition, Item, Key, StoreError, Table, Write, keys};
use time::OffsetDateTime;

/// Long enough for one vault write and one transaction, with room for slow calls.
const HOLD_SECONDS: i64 = 120;

/// A hold this caller took (the item at `version`).
#[derive(Debug)]
pub struct Hold {
    key: Key,
    version: u64,
}

/// Takes the hold on `t`'s integration; `Busy` while another caller keeps it.
pub async fn take(table: &dyn Table, t: &TenantId) -> PullResult<Hold> {
    let key = keys::okta_hold(t.as_str());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (cond, version) = match table.get(&key).await? {
        None => (Condition::NotExists, 1),
        Some(held) if held.expires.is_none_or(|until| until > now) => return Err(PullError::Busy),
        Some(lapsed) => (Condition::Version(lapsed.version), lapsed.version.saturating_add(1)),
    };
    let item = Item { version, expires: Some(now + HOLD_SECONDS), ..Item::new(key.clone(), Vec::new()) };
    match table.transact(vec![Write::Put { item, cond }]).await {
        Ok(()) => Ok(Hold { key, version }),
        Err(StoreError::ConditionFailed { .. }) => Err(PullError::Busy),
        Err(e) => Err(e.into()),
    }
}

/// A check, for the holder's transaction, that the hold is still its own (not lapsed and
/// taken by another).
pub fn still_held(h: &Hold) -> Write {
    Write::Check { key: h.key.clone(), cond: Condition::Version(h.version) }
}

/// Releases `h`; when it lapsed and another caller took it, that one's hold is left alone.
pub async fn release(table: &dyn Table, h: Hold) -> PullResult<()> {
    match table.transact(vec![Write::Delete { key: h.key, cond: Condition::Version(h.version) }]).await {
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `r`, once `h` is released: the outcome of the work done under the hold comes first; a
/// release that fails after failed work is logged (the hold lapses by itself).
pub async fn settle<T>(table: &dyn Table, t: &TenantId, h: Hold, r: PullResult<T>) -> PullResult<T> {
    match (release(table, h).await, r) {
        (Ok(()), r) => r,
        (Err(e), Ok(_)) => Err(e),
        (Err(e), Err(first)) => {
            tracing::error!(tenant = %t, error = %e, "the integration's hold was not released; it lapses by itself");
            Err(first)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::startup::{Services, Storage};

    #[tokio::test]
    async fn one_holder_at_a_time_and_a_lapsed_hold_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let s = Services::build(&Storage::Embedded { data_dir: dir.path().into() }).await.unwrap();
        let table = s.integrations.table().as_ref();
        let t = TenantId::parse("acme").unwrap();
        let first = take(table, &t).await.unwrap();
        assert!(matches!(take(table, &t).await, Err(PullError::Busy)));
        release(table, first).await.unwrap();
        let second = take(table, &t).await.unwrap();
        // Lapsed (a crashed holder): the next caller takes it, and the old holder's checks fail.
        let key = keys::okta_hold("acme");
        let lapsed = Item { version: second.version, expires: Some(0), ..Item::new(key.clone(), Vec::new()) };
        table.transact(vec![Write::Put { item: lapsed, cond: Condition::None }]).await.unwrap();
        let third = take(table, &t).await.unwrap();
        assert!(table.transact(vec![still_held(&second)]).await.is_err());
        release(table, second).await.unwrap();
        assert!(table.transact(vec![still_held(&third)]).await.is_ok(), "the old holder's release left it alone");
        release(table, third).await.unwrap();
        assert!(table.get(&key).await.unwrap().is_none());
    }
}
