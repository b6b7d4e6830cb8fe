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
                wanted.unique_name(res.unique_attr())
            ))
        };
        let marker = keys::name_marker(c.tenant.as_str(), res.kind(), wanted.unique_name(res.unique_attr()));
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

#[cfg(test)]
mod tests {
    use crate::domain::actor::{Actor, Caller};
    use crate::domain::tenant::{Settings, TenantId};
    use crate::domain::{Directory, DomainError, Resource};
    use crate::scim::schema::Schemas;
    use crate::store::embedded::EmbeddedStore;
    use serde_json::json;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_provisioning_create_claims_a_manual_group_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let d = Directory::new(Arc::new(EmbeddedStore::open(dir.path()).unwrap()));
        let t = TenantId::parse("t").unwrap();
        let vendor =
            Caller::new(t.clone(), Actor::Admin { principal: "p".into() }, Settings::default(), Schemas::builtin());
        let manual = d.create(&vendor, Resource::Group, &json!({"displayName": "Team"})).await.unwrap();
        let mut settings = Settings::default();
        let scim = |s: Settings| Caller::new(t.clone(), Actor::Scim { token: "tk".into() }, s, Schemas::builtin());
        let refused = d.create(&scim(settings), Resource::Group, &json!({"displayName": "team"})).await;
        assert!(matches!(refused, Err(DomainError::Conflict(_))), "{refused:?}");
        settings.include_manually_provisioned_users = true;
        let claimed = d.create(&scim(settings), Resource::Group, &json!({"displayName": "team"})).await.unwrap();
        assert_eq!(claimed.id, manual.id);
        assert_eq!(claimed.source.owner(), crate::domain::actor::Owner::Scim);
        // Now provisioned: the vendor may not change it, and a second claim is a plain conflict.
        let edit = d.replace(&vendor, Resource::Group, &manual.id, &json!({"displayName": "X"}), None).await;
        assert!(matches!(edit, Err(DomainError::Owned(_))), "{edit:?}");
        let again = d.create(&scim(settings), Resource::Group, &json!({"displayName": "TEAM"})).await;
        assert!(matches!(again, Err(DomainError::Conflict(_))), "{again:?}");
    }
}
