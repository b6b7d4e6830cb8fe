//! The records the double keeps, shaped after the spec's `User`, `AppUser`, `Group` and
//! `ApplicationGroupAssignment` (timestamps as epoch milliseconds; rendered in `render`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

/// The spec's `UserStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Active,
    Deprovisioned,
    LockedOut,
    PasswordExpired,
    Provisioned,
    Recovery,
    Staged,
    Suspended,
}

/// The spec's `AppUserStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppUserStatus {
    Active,
    Approved,
    Deprovisioned,
    Implicit,
    Imported,
    Inactive,
    Matched,
    Pending,
    Provisioned,
    Revoked,
    Staged,
    Suspended,
    Unassigned,
}

/// The spec's `AppUserSyncState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncState {
    Disabled,
    Error,
    OutOfSync,
    Synchronized,
    Syncing,
}

/// `AppUser.scope`: assigned directly (`USER`) or through an assigned group (`GROUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scope {
    User,
    Group,
}

/// An Okta user (`00u…`), app-independent.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub status: UserStatus,
    pub created: u64,
    pub activated: Option<u64>,
    pub status_changed: Option<u64>,
    pub last_updated: u64,
    pub password_changed: Option<u64>,
    /// `login`, `email`, `firstName`, `lastName`, `displayName`, … and custom attributes.
    pub profile: Map<String, Value>,
}

/// A user's assignment to the app; its `id` is the Okta user's id.
#[derive(Debug, Clone, PartialEq)]
pub struct AppUser {
    pub external_id: Option<String>,
    pub created: u64,
    pub last_updated: u64,
    pub scope: Scope,
    pub status: AppUserStatus,
    pub status_changed: u64,
    pub sync_state: SyncState,
    /// `credentials.userName` (Okta's default template: the user's login).
    pub user_name: String,
    /// The app profile: only what the app's mappings define; may be empty; null values
    /// mean "no override".
    pub profile: Map<String, Value>,
}

/// An `OKTA_GROUP` (`00g…`) and its members (Okta user ids, any status).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub created: u64,
    pub last_updated: u64,
    pub last_membership_updated: u64,
    /// `name`, `description`.
    pub profile: Map<String, Value>,
    pub members: BTreeSet<String>,
}

/// A group's assignment to the app; its `id` is the group's id.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupAssignment {
    pub last_updated: u64,
    pub priority: u32,
    pub profile: Map<String, Value>,
}

/// What a mutation refers to that the directory does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    NoUser(String),
    NoGroup(String),
    /// The user has no assignment to the app.
    UserNotAssigned(String),
    /// The group has no assignment to the app.
    GroupNotAssigned(String),
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoUser(id) => write!(f, "no user {id}"),
            Self::NoGroup(id) => write!(f, "no group {id}"),
            Self::UserNotAssigned(id) => write!(f, "user {id} is not assigned to the app"),
            Self::GroupNotAssigned(id) => write!(f, "group {id} is not assigned to the app"),
        }
    }
}

impl std::error::Error for DirectoryError {}
