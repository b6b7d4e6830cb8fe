//! Who writes, who owns a record, and what the tenant's settings let each of them do.
//!
//! Every user and group has a *source*: the SCIM integration (with the token that wrote it),
//! the Okta API pull, or `manual` (the vendor's own writes). The source decides which
//! collection lists the record (`keys::collection`) and who may change it:
//! - while the tenant's provisioning is on, provisioned records are read-only to the vendor;
//! - with `includeManuallyProvisionedUsers`, a provisioning write that meets a manual record
//!   (a create of its name, or a write to it) takes it over: the record keeps its id and
//!   memberships and changes source;
//! - with `readAllUsers` off, provisioning sees only the records it owns.

use super::directory::Resource;
use super::tenant::{Settings, TenantId};
use crate::scim::schema::{ResourceType, Schemas};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where a record came from, as stored on it and shown read-only in the Inlet extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Scim {
        #[serde(rename = "tokenId")]
        token: String,
    },
    OktaApi,
    Manual,
}

/// The owner classes: what collections are split by and what ownership rules compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Scim,
    OktaApi,
    Manual,
}

impl Owner {
    pub const ALL: [Owner; 3] = [Owner::Scim, Owner::OktaApi, Owner::Manual];

    /// The name in keys and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Scim => "scim",
            Self::OktaApi => "okta_api",
            Self::Manual => "manual",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Scim => "the tenant's SCIM provisioning",
            Self::OktaApi => "the tenant's Okta API sync",
            Self::Manual => "the vendor (manual)",
        }
    }
}

impl Source {
    pub fn owner(&self) -> Owner {
        match self {
            Self::Scim { .. } => Owner::Scim,
            Self::OktaApi => Owner::OktaApi,
            Self::Manual => Owner::Manual,
        }
    }
}

/// Who makes a change, as the activity log records it (never a token, only its id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Scim {
        #[serde(rename = "tokenId")]
        token: String,
    },
    OktaApi,
    Admin {
        principal: String,
    },
}

impl Actor {
    /// The source of what this actor creates or takes over.
    pub fn source(&self) -> Source {
        match self {
            Self::Scim { token } => Source::Scim { token: token.clone() },
            Self::OktaApi => Source::OktaApi,
            Self::Admin { .. } => Source::Manual,
        }
    }

    pub fn owner(&self) -> Owner {
        match self {
            Self::Scim { .. } => Owner::Scim,
            Self::OktaApi => Owner::OktaApi,
            Self::Admin { .. } => Owner::Manual,
        }
    }

    fn provisioning(&self) -> bool {
        !matches!(self, Self::Admin { .. })
    }
}

/// One caller of the directory: the tenant, who acts, and the tenant's settings and
/// schemas (its declared attributes) as read for this request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub actor: Actor,
    pub settings: Settings,
    pub schemas: Arc<Schemas>,
}

/// What a caller may do with a record it can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The caller owns it (or may edit it): write as it is.
    Write,
    /// A provisioning write takes a manual record over.
    Claim,
    /// Read-only to this caller; the message names the owner.
    ReadOnly,
}

impl Caller {
    pub fn new(tenant: TenantId, actor: Actor, settings: Settings, schemas: Arc<Schemas>) -> Self {
        Self { tenant, actor, settings, schemas }
    }

    /// The tenant's resource type for `res`, with its declared attributes.
    pub fn rt(&self, res: Resource) -> &ResourceType {
        match res {
            Resource::User => &self.schemas.user,
            Resource::Group => &self.schemas.group,
        }
    }

    /// The collections this caller reads: provisioning sees its own records unless
    /// `readAllUsers` is on; the vendor sees everything.
    pub fn visible(&self) -> Vec<Owner> {
        if self.sees_all() { Owner::ALL.to_vec() } else { vec![self.actor.owner()] }
    }

    /// [`Self::visible`] for one record (called per record read: no allocation).
    pub fn sees(&self, source: &Source) -> bool {
        self.sees_all() || source.owner() == self.actor.owner()
    }

    fn sees_all(&self) -> bool {
        !self.actor.provisioning() || self.settings.read_all_users
    }

    /// What this caller may do with a record of `source`.
    pub fn access(&self, source: &Source) -> Access {
        let (mine, theirs) = (self.actor.owner(), source.owner());
        if mine == theirs {
            return Access::Write;
        }
        if self.actor.provisioning() {
            return if theirs == Owner::Manual && self.settings.include_manually_provisioned_users {
                Access::Claim
            } else {
                Access::ReadOnly
            };
        }
        // The vendor edits provisioned records only while the tenant's provisioning is off.
        if !self.settings.provisioning { Access::Write } else { Access::ReadOnly }
    }

    /// Why a record of `source` is read-only to this caller.
    pub fn refusal(&self, noun: &str, id: &str, source: &Source) -> String {
        let owner = source.owner();
        if self.actor.provisioning() && owner == Owner::Manual {
            format!(
                "{noun} {id} is managed by {}; turn on includeManuallyProvisionedUsers to let provisioning take it over",
                owner.describe()
            )
        } else {
            format!(
                "{noun} {id} is managed by {} and is read-only here while the tenant's provisioning is on",
                owner.describe()
            )
        }
    }
}

#[cfg(any(test, feature = "contract-tests"))]
impl Caller {
    /// A SCIM writer with the default settings, for tests.
    pub fn scim_test(t: &TenantId) -> Self {
        Self::new(t.clone(), Actor::Scim { token: "test".into() }, Settings::default(), Schemas::builtin())
    }
}
