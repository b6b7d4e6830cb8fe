//! Every key string of the single table, built here and nowhere else.
//!
//! | item                | pk                         | sk          | GSI1 pk              | GSI1 sk |
//! |---------------------|----------------------------|-------------|----------------------|---------|
//! | user                | `T#{t}#U#{id}`             | `USER`      | `T#{t}#USERS`        | `{id}`  |
//! | userName marker     | `T#{t}#UN#{h(fold(name))}` | `UNIQUE`    |                      |         |
//! | user externalId     | `T#{t}#UX#{h(externalId)}` | `{id}`      |                      |         |
//! | group               | `T#{t}#G#{id}`             | `GROUP`     | `T#{t}#GROUPS`       | `{id}`  |
//! | displayName marker  | `T#{t}#GN#{h(fold(name))}` | `UNIQUE`    |                      |         |
//! | group externalId    | `T#{t}#GX#{h(externalId)}` | `{id}`      |                      |         |
//! | membership          | `T#{t}#G#{gid}`            | `M#{uid}`   | `T#{t}#U#{uid}#G`    | `{gid}` |
//! | resource counter    | `T#{t}#N#{kind}#{shard}`   | `COUNT`     |                      |         |
//! | tenant (registry)   | `D#tenants`                | `{t}`       |                      |         |
//! | token last use      | `D#token-use`              | `{t}.{tok}` |                      |         |
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

/// The one case-normalisation rule for case-insensitive uniqueness (userName, group
/// displayName): Unicode lowercase of the whole string, nothing trimmed or folded further.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
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
    Key::new(format!("T#{t}#{}#{id}", kind.tag()), kind.sk())
}

/// The GSI1 key that lists a resource in its tenant's collection.
pub fn listed(t: &str, kind: Kind, id: &str) -> Key {
    Key::new(collection(t, kind), id)
}

pub fn collection(t: &str, kind: Kind) -> String {
    format!("T#{t}#{}", kind.collection())
}

/// The uniqueness marker of a userName or group displayName.
pub fn name_marker(t: &str, kind: Kind, name: &str) -> Key {
    Key::new(format!("T#{t}#{}N#{}", kind.tag(), h(&fold(name))), "UNIQUE")
}

/// One externalId index entry; the partition lists every resource with that externalId.
pub fn external_id(t: &str, kind: Kind, external_id: &str, id: &str) -> Key {
    Key::new(external_id_partition(t, kind, external_id), id)
}

pub fn external_id_partition(t: &str, kind: Kind, external_id: &str) -> String {
    format!("T#{t}#{}X#{}", kind.tag(), h(external_id))
}

pub const MEMBER_PREFIX: &str = "M#";

pub fn member(t: &str, group_id: &str, user_id: &str) -> Key {
    Key::new(format!("T#{t}#G#{group_id}"), format!("{MEMBER_PREFIX}{user_id}"))
}

/// The member's user id, from a membership item's sort key.
pub fn member_user_id(sk: &str) -> Option<&str> {
    sk.strip_prefix(MEMBER_PREFIX)
}

/// The GSI1 key of a membership: lists a user's groups.
pub fn member_of(t: &str, user_id: &str, group_id: &str) -> Key {
    Key::new(groups_of(t, user_id), group_id)
}

pub fn groups_of(t: &str, user_id: &str) -> String {
    format!("T#{t}#U#{user_id}#G")
}

/// The counter shard an id falls in; stable, so a delete decrements what the create incremented.
pub fn counter(t: &str, kind: Kind, id: &str) -> Key {
    let shard = id.bytes().fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b))) % COUNTER_SHARDS;
    counter_shard(t, kind, shard)
}

pub fn counter_shard(t: &str, kind: Kind, shard: u32) -> Key {
    Key::new(format!("T#{t}#N#{}#{shard}", kind.tag()), "COUNT")
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
