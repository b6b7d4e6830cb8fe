//! Claiming (`includeManuallyProvisionedUsers`): a provisioning create that meets a manual
//! record of the same name takes it over instead of answering 409.

use super::actor::{Caller, Owner};
use super::directory::{Directory, Resource, Why};
use super::error::{DomainError, DomainResult};
use super::indexes::marker_target;
use super::records::Stored;
use crate::scim::patch::{MemberOp, MemberRef};
use crate::store::keys;

impl Directory {
    /// A provisioning create whose name is a manual record's: that record is taken over
    /// (id and memberships kept) with the created attributes, or 409 if it is not manual.
    pub(super) async fn claim(
        &self,
        c: &Caller,
        res: Resource,
        wanted: &Stored,
        members: Option<Vec<MemberRef>>,
    ) -> DomainResult<Stored> {
        let conflict = || {
            DomainError::Conflict(format!(
                "a {} with {} '{}' already exists",
                res.noun(),
                res.unique_attr(),
                wanted.unique_name(res.rt())
            ))
        };
        let marker = keys::name_marker(c.tenant.as_str(), res.kind(), wanted.unique_name(res.rt()));
        let Some(id) = self.table.get(&marker).await?.as_ref().and_then(marker_target) else { return Err(conflict()) };
        let ops = members.map(|m| vec![MemberOp::Add(m)]).unwrap_or_default();
        let attrs = wanted.attrs.clone();
        let claimed = self
            .update(c, res, &id, None, Why::Claim, |old| {
                if old.source.owner() != Owner::Manual {
                    return Err(conflict());
                }
                Ok((attrs.clone(), ops.clone()))
            })
            .await;
        match claimed {
            Err(DomainError::NotFound(_)) => Err(conflict()),
            other => other,
        }
    }
}
