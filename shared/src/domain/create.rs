//! Creating a user or group: the record, its index items and activity entries in one
//! transaction (with its members, for a group), or a claim of the manual record of that name.

use super::activity::{self, Entry};
use super::actor::{Access, Caller, Owner, Source};
use super::directory::{CommitError, Directory, Resource, head_keys, take_members};
use super::error::DomainResult;
use super::indexes::{index_writes, stamp};
use super::records::{Stored, new_id, now};
use crate::scim::patch::{MemberOp, MemberRef};
use crate::scim::resource::normalize;
use crate::scim::schema::SOURCE_SCHEMA;
use crate::store::{Condition, Write};
use serde_json::Value;

impl Directory {
    pub async fn create(&self, c: &Caller, res: Resource, body: &Value) -> DomainResult<Stored> {
        let (stored, head, members) = self.new_record(c, res, body, new_id())?;
        let add = members.clone().map(|m| vec![MemberOp::Add(m)]).unwrap_or_default();
        let keys = head_keys(&head);
        match self.commit(c, &stored, head, add).await {
            Ok(()) => Ok(stored),
            Err(CommitError::Condition(1)) if c.access(&Source::Manual) == Access::Claim => {
                self.claim(c, res, &stored, members).await
            }
            Err(e) => Err(self.explain(e, c, res, &stored, &keys)),
        }
    }

    /// What a create of `body` writes: the record (id `id`), its index items and its activity
    /// entries, and the members it names (a group's, stored apart).
    pub(super) fn new_record(
        &self,
        c: &Caller,
        res: Resource,
        body: &Value,
        id: String,
    ) -> DomainResult<(Stored, Vec<Write>, Option<Vec<MemberRef>>)> {
        let mut attrs = normalize(body, c.rt(res))?;
        attrs.remove(SOURCE_SCHEMA);
        let members = take_members(&mut attrs, c.rt(res));
        let at = now();
        let mut stored = Stored {
            id,
            created: at.clone(),
            last_modified: at,
            attrs,
            source: c.actor.source(),
            registry: 0,
            unique: Vec::new(),
            version: 1,
        };
        stamp(c, res, &mut stored)?;
        let mut head = vec![Write::Put { item: self.item(&c.tenant, res, &stored)?, cond: Condition::NotExists }];
        head.extend(index_writes(&c.tenant, res, None, Some(&stored)));
        let mut entries = vec![Entry::record("created", c, res, &stored)];
        let provisioned = c.actor.owner() != Owner::Manual;
        if res == Resource::User && provisioned && c.settings.send_enrollment_email && activity::has_email(&stored) {
            entries.push(Entry::record("enrollment_requested", c, res, &stored));
        }
        head.extend(activity::writes(c, &entries, self.retention)?);
        Ok((stored, head, members))
    }
}
