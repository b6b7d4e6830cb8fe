//! Every key string of the single table, built here and nowhere else.
//!
//! | item                | pk                         | sk          | GSI1 pk              | GSI1 sk |
//! |---------------------|----------------------------|-------------|----------------------|---------|
//! | user                | `T#{t}#U#{id}`             | `USER`      | `T#{t}#USERS#{owner}` | `{h(id)[..8]}#{id}` |
//! | userName marker     | `T#{t}#UN#{h(fold(name))}` | `UNIQUE`    |                      |         |
//! | user externalId     | `T#{t}#UX#{h(externalId)}` | `{id}`      |                      |         |
//! | unique value marker | `T#{t}#{U\|G}V#{value id}` | `UNIQUE`   |                      |         |
//! | group               | `T#{t}#G#{id}`             | `GROUP`     | `T#{t}#GROUPS#{owner}` | `{h(id)[..8]}#{id}` |
//! | displayName marker  | `T#{t}#GN#{h(fold(name))}` | `UNIQUE`    |                      |         |
//! | group externalId    | `T#{t}#GX#{h(externalId)}` | `{id}`      |                      |         |
//! | membership (group)  | `T#{t}#G#{gid}`            | `M#{uid}`   |                      |         |
//! | membership (user)   | `T#{t}#U#{uid}`            | `G#{gid}`   |                      |         |
//! | pending change lock | `T#{t}#{U\|G}#{id}`        | `PENDING`   | `T#{t}#PENDING`      | `{U\|G}#{id}` |
//! | member-change plan  | `T#{t}#G#{gid}`            | `P#{plan}#{n}` |                   |         |
//! | resource counter    | `T#{t}#N#{kind}#{owner}#{shard}` | `COUNT` |                 |         |
//! | tenant (registry)   | `D#tenants`                | `{t}`       |                      |         |
//! | token last use      | `D#token-use`              | `{t}.{tok}` |                      |         |
//! | Okta integration    | `T#{t}#OKTA`               | `CONFIG`    |                      |         |
//! | Okta config hold    | `T#{t}#OKTA`               | `HOLD`      |                      |         |
//! | Okta sync state     | `T#{t}#OKTA`               | `STATE`     | `OKTA#DUE`           | `{due}#{t}` (while enabled) |
//! | Okta org claim      | `OKTA#ORG#{h(orgId)}`      | `CLAIM`     |                      |         |
//! | sync checkpoint     | `T#{t}#OKTA#RUN`           | `{run}#{n}` |                      |         |
//! | group members memo  | `T#{t}#OKTA#MEMO`          | `{gid}#{n}` |                      |         |
//! | activity entry      | `L#{t}#{shard}`            | `{ms}#{event}` | `T#{t}#LR#{subject}` | `{ms}#{event}` |
//!
//! `t` is a validated tenant id (`[a-z0-9-]`), ids are server-made UUIDs, and
//! client text (userName, displayName, externalId) only ever appears hashed
//! (`h` = SHA-256, hex), so no client input can forge or collide with a key and
//! no personal data sits in a key. Documents (`D#…`) are Inlet's own records, few
//! and small, named by tenant and token ids.

use super::Key;
use sha2::{Digest, Sha256};

/// Counter shards per tenant and resource kind: spreads bulk-push writes over partitions.
pub const COUNTER_SHARDS: u32 = 16;

fn h(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The one normalisation rule for case-insensitive uniqueness (userName, group displayName):
/// NFKC, Unicode lowercase, NFKC again (lowercasing can leave a string unnormalised), nothing
/// trimmed. Visually identical names (`Å` as one code point or as `A` + ring, fullwidth `ａ`,
/// the `ﬁ` ligature) fold alike, so they cannot coexist.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().collect::<String>().to_lowercase().nfkc().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Self::User => "U",
            Self::Group => "G",
        }
    }
    fn sk(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Group => "GROUP",
        }
    }
    fn collection(self) -> &'static str {
        match self {
            Self::User => "USERS",
            Self::Group => "GROUPS",
        }
    }
}

pub fn resource(t: &str, kind: Kind, id: &str) -> Key {
    Key::new(partition(t, kind, id), kind.sk())
}

/// The GSI1 key that lists a resource in its owner's collection. The sort key leads with a
/// hash of the id: ids are time-ordered, and monotonic sort keys would keep DynamoDB from
/// splitting a busy collection for heat.
pub fn listed(t: &str, kind: Kind, owner: &str, id: &str) -> Key {
    let mut lead = h(id);
    lead.truncate(8);
    Key::new(collection(t, kind, owner), format!("{lead}#{id}"))
}

/// The id in a collection sort key (records listed before the hash led it have the bare id).
pub fn listed_id(sk: &str) -> &str {
    sk.split_once('#').map_or(sk, |(_, id)| id)
}

/// The records of one kind and one owner (`scim`, `okta_api`, `manual`): a provisioning
/// caller that sees only its own records pages its collection and nothing else.
pub fn collection(t: &str, kind: Kind, owner: &str) -> String {
    format!("T#{t}#{}#{owner}", kind.collection())
}

/// The uniqueness marker of a userName or group displayName.
pub fn name_marker(t: &str, kind: Kind, name: &str) -> Key {
    Key::new(format!("T#{t}#{}N#{}", kind.tag(), h(&fold(name))), "UNIQUE")
}

/// The id of one value of a declared `uniqueness: server` attribute: `slot` names the
/// attribute (schema, path, the registry version it was declared in), `value` is already
/// folded unless the attribute is caseExact. Hashed: no client text reaches a key.
pub fn value_id(slot: &str, value: &str) -> String {
    h(&format!("{slot}\n{value}"))
}

/// The marker holding one unique value (`value_id`); its body is the record's id.
pub fn value_marker(t: &str, kind: Kind, value_id: &str) -> Key {
    Key::new(format!("T#{t}#{}V#{value_id}", kind.tag()), "UNIQUE")
}

/// Is `pk` a unique value marker's partition of tenant `t`?
pub fn is_value_marker(t: &str, kind: Kind, pk: &str) -> bool {
    pk.strip_prefix(&format!("T#{t}#{}V#", kind.tag())).is_some_and(|rest| !rest.is_empty() && !rest.contains('#'))
}

/// One externalId index entry; the partition lists every resource with that externalId.
pub fn external_id(t: &str, kind: Kind, external_id: &str, id: &str) -> Key {
    Key::new(external_id_partition(t, kind, external_id), id)
}

pub fn external_id_partition(t: &str, kind: Kind, external_id: &str) -> String {
    format!("T#{t}#{}X#{}", kind.tag(), h(external_id))
}

pub const MEMBER_PREFIX: &str = "M#";
pub const GROUP_OF_PREFIX: &str = "G#";
pub const PLAN_PREFIX: &str = "P#";
const PENDING: &str = "PENDING";

/// A membership as the group holds it (the member's display text in the body).
pub fn member(t: &str, group_id: &str, user_id: &str) -> Key {
    Key::new(format!("T#{t}#G#{group_id}"), format!("{MEMBER_PREFIX}{user_id}"))
}

/// The member's user id, from a membership item's sort key.
pub fn member_user_id(sk: &str) -> Option<&str> {
    sk.strip_prefix(MEMBER_PREFIX)
}

/// The same membership as the user holds it: a user's groups are read from the user's own
/// partition, strongly consistent, never from an index.
pub fn group_of(t: &str, user_id: &str, group_id: &str) -> Key {
    Key::new(partition(t, Kind::User, user_id), format!("{GROUP_OF_PREFIX}{group_id}"))
}

/// The group's id, from a user-side membership item's sort key.
pub fn group_of_id(sk: &str) -> Option<&str> {
    sk.strip_prefix(GROUP_OF_PREFIX)
}

/// The partition of one user or group: its record, its memberships, its pending change.
pub fn partition(t: &str, kind: Kind, id: &str) -> String {
    format!("T#{t}#{}#{id}", kind.tag())
}

/// The lock of a change that spans several transactions (a large member change, the
/// clean-up after deleting a user or group with many memberships).
pub fn pending(t: &str, kind: Kind, id: &str) -> Key {
    Key::new(partition(t, kind, id), PENDING)
}

/// The GSI1 key that lists a pending change in its tenant's list of them (for repair).
pub fn pending_listed(t: &str, kind: Kind, id: &str) -> Key {
    Key::new(pending_list(t), format!("{}#{id}", kind.tag()))
}

pub fn pending_list(t: &str) -> String {
    format!("T#{t}#PENDING")
}

/// One chunk of a pending member change's plan, in the group's partition.
pub fn plan_chunk(t: &str, group_id: &str, plan: &str, n: usize) -> Key {
    Key::new(partition(t, Kind::Group, group_id), format!("{PLAN_PREFIX}{plan}#{n:04}"))
}

/// The counter shard an id falls in; stable, so a delete decrements what the create incremented.
pub fn counter(t: &str, kind: Kind, owner: &str, id: &str) -> Key {
    let shard = id.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b))) % COUNTER_SHARDS;
    counter_shard(t, kind, owner, shard)
}

pub fn counter_shard(t: &str, kind: Kind, owner: &str, shard: u32) -> Key {
    Key::new(format!("T#{t}#N#{}#{owner}#{shard}", kind.tag()), "COUNT")
}

/// The document collection of tenant records ([`super::docs::TableDocs`]).
pub const TENANTS: &str = "tenants";
/// The document collection of token last-use times.
pub const TOKEN_USE: &str = "token-use";

pub fn document_partition(collection: &str) -> String {
    format!("D#{collection}")
}

pub fn document(collection: &str, name: &str) -> Key {
    Key::new(document_partition(collection), name)
}

fn okta_partition(t: &str) -> String {
    format!("T#{t}#OKTA")
}

/// A tenant's Okta API integration (domain, application, org id, interval; never the token).
pub fn okta_config(t: &str) -> Key {
    Key::new(okta_partition(t), "CONFIG")
}

/// The short hold a configure or disable keeps on a tenant's integration (`pull/hold.rs`).
pub fn okta_hold(t: &str) -> Key {
    Key::new(okta_partition(t), "HOLD")
}

/// A tenant's sync state: status, lease and checkpoint reference.
pub fn okta_state(t: &str) -> Key {
    Key::new(okta_partition(t), "STATE")
}

/// The GSI1 partition listing enabled integrations by when they are next due.
pub const OKTA_DUE: &str = "OKTA#DUE";

/// Where a tenant sits in the due list: sorted by due time (RFC 3339 UTC sorts as text).
pub fn okta_due(t: &str, due: &str) -> Key {
    Key::new(OKTA_DUE, format!("{due}#{t}"))
}

/// The tenant id from a due-list sort key.
pub fn okta_due_tenant(sk: &str) -> Option<&str> {
    sk.rsplit_once('#').map(|(_, t)| t)
}

/// One Okta org provisions one tenant: this item names it (the org id hashed, as client text).
pub fn okta_org_claim(org_id: &str) -> Key {
    Key::new(format!("OKTA#ORG#{}", h(org_id)), "CLAIM")
}

pub fn okta_run_partition(t: &str) -> String {
    format!("T#{t}#OKTA#RUN")
}

/// One chunk of an interrupted sync's checkpoint.
pub fn okta_run_chunk(t: &str, run: &str, n: usize) -> Key {
    Key::new(okta_run_partition(t), format!("{run}#{n:05}"))
}

pub fn okta_memo_partition(t: &str) -> String {
    format!("T#{t}#OKTA#MEMO")
}

/// One chunk of the member list Okta last gave for a group (Okta group ids are `[A-Za-z0-9]`).
pub fn okta_memo_chunk(t: &str, okta_group: &str, n: usize) -> Key {
    Key::new(okta_memo_partition(t), format!("{okta_group}#{n:04}"))
}

/// Activity-log shards per tenant: a bulk push (10k creates) spreads its entries over 16
/// partitions instead of heating one.
pub const ACTIVITY_SHARDS: u32 = 16;
/// Activity entries are the only items whose partition starts with this, so the table's
/// change stream can be filtered to them by prefix before any function runs.
pub const ACTIVITY_PREFIX: &str = "L#";

/// One shard of a tenant's activity log.
pub fn activity_partition(t: &str, shard: u32) -> String {
    format!("{ACTIVITY_PREFIX}{t}#{shard:x}")
}

/// The sort key of an entry: time first (milliseconds, fixed width), so a shard reads in time
/// order; the event id makes it unique.
pub fn activity_sk(at_ms: i64, event_id: &str) -> String {
    format!("{at_ms:013}#{event_id}")
}

/// One activity-log entry, which is also the outbox record of its event: the shard is drawn
/// from the event id (random), so one busy resource spreads too.
pub fn activity(t: &str, at_ms: i64, event_id: &str) -> Key {
    let shard = event_id.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b))) % ACTIVITY_SHARDS;
    Key::new(activity_partition(t, shard), activity_sk(at_ms, event_id))
}

/// The sort-key tail of the `position`-th entry of one transaction: entries written together
/// share their millisecond, and keep their order within it.
pub fn activity_tail(position: usize, event_id: &str) -> String {
    format!("{:02x}{event_id}", position.min(255))
}

/// The GSI1 key that lists an entry under the resource (or token, or sync) it is about.
pub fn activity_of(t: &str, subject: &str, at_ms: i64, event_id: &str) -> Key {
    Key::new(activity_subject(t, subject), activity_sk(at_ms, event_id))
}

pub fn activity_subject(t: &str, subject: &str) -> String {
    format!("T#{t}#LR#{subject}")
}

/// Whether an item is an activity-log entry (an event's outbox record): what the event
/// publisher takes from the table's change stream.
pub fn is_activity(pk: &str) -> bool {
    pk.starts_with(ACTIVITY_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_sort_key_gives_back_its_id_in_either_form() {
        let id = "0192f5c4-7d1e-7a3b-9c2d-5e6f7a8b9c0d";
        let key = listed("acme", Kind::User, "scim", id);
        assert_eq!(key.pk, "T#acme#USERS#scim");
        assert_eq!(key.sk, format!("{}#{id}", &h(id)[..8]));
        assert_eq!(listed_id(&key.sk), id);
        // Listed before the hash led the sort key.
        assert_eq!(listed_id(id), id);
    }
}
