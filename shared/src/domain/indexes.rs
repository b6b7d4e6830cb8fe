//! The items kept beside a record in its own transactions: the uniqueness marker, the
//! externalId entry, the collection it is listed in and its counter shard.

use super::directory::Resource;
use super::records::Stored;
use super::tenant::TenantId;
use crate::store::keys;
use crate::store::{Condition, Item, Key, Write};

/// The index items that change between `old` and `new` (either may be absent). The
/// name marker, when written, comes first: `Directory::explain` relies on its position.
pub(crate) fn index_writes(t: &TenantId, res: Resource, old: Option<&Stored>, new: Option<&Stored>) -> Vec<Write> {
    let (t, kind, rt) = (t.as_str(), res.kind(), res.rt());
    let mut writes = Vec::new();
    let name = |s: &Stored| keys::fold(s.unique_name(rt));
    if old.map(name) != new.map(name) {
        if let Some(n) = new {
            let marker = Item::new(keys::name_marker(t, kind, n.unique_name(rt)), n.id.clone().into_bytes());
            writes.push(Write::Put { item: marker, cond: Condition::NotExists });
        }
        if let Some(o) = old {
            writes.push(Write::Delete { key: keys::name_marker(t, kind, o.unique_name(rt)), cond: Condition::None });
        }
    }
    let xid = |s: &Stored| s.external_id().map(|x| keys::external_id(t, kind, x, &s.id));
    if old.and_then(xid) != new.and_then(xid) {
        if let Some(k) = new.and_then(xid) {
            writes.push(Write::Put { item: Item::new(k, Vec::new()), cond: Condition::None });
        }
        if let Some(k) = old.and_then(xid) {
            writes.push(Write::Delete { key: k, cond: Condition::None });
        }
    }
    // Each owner has its own count: a claim moves the record from one to the other.
    let counter = |s: &Stored| keys::counter(t, kind, s.source.owner().name(), &s.id);
    if old.map(counter) != new.map(counter) {
        if let Some(n) = new {
            writes.push(Write::Add { key: counter(n), delta: 1 });
        }
        if let Some(o) = old {
            writes.push(Write::Add { key: counter(o), delta: -1 });
        }
    }
    writes
}

/// The id a uniqueness marker points at.
pub(crate) fn marker_target(item: &Item) -> Option<String> {
    String::from_utf8(item.body.clone()).ok()
}

pub(crate) fn key_of(t: &TenantId, res: Resource, id: &str) -> Key {
    keys::resource(t.as_str(), res.kind(), id)
}
