//! New users prepared while the read still runs. A pull's read mostly waits on Okta's rate
//! limit, and preparing new records (ids, items, activity entries) is most of the CPU an
//! initial sync spends: done as pages arrive, it is off the apply's path. Nothing is written
//! here; the apply commits the prepared records that still hold and prepares the rest then.

use super::apply::pulled_users;
use super::checkpoint::SeenUser;
use super::{PullError, PullResult};
use crate::domain::bulk::Prepared;
use crate::domain::records::Stored;
use crate::domain::{Caller, Directory, Resource};
use crate::store::StoreError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The users prepared so far, and for which Okta ids.
pub struct Stage {
    prepared: Prepared,
    /// Okta id → the tag of its prepared record; `None` once the id came twice (a listing
    /// that shifted): which answer the snapshot keeps is known only at the end.
    tags: HashMap<String, Option<usize>>,
    next_tag: usize,
}

impl Default for Stage {
    fn default() -> Self {
        Self { prepared: Prepared::new(Resource::User), tags: HashMap::new(), next_tag: 0 }
    }
}

impl Stage {
    /// Prepares the active users among `users` whose Okta id `known` does not hold.
    pub fn add<'u>(
        &mut self,
        dir: &Directory,
        c: &Caller,
        known: &HashMap<String, Stored>,
        users: impl IntoIterator<Item = &'u SeenUser>,
    ) {
        let mut bodies: Vec<(usize, &Value)> = Vec::new();
        for u in users {
            if let Some(tag) = self.tags.get_mut(&u.okta_id) {
                *tag = None;
                continue;
            }
            if !u.active || known.contains_key(&u.okta_id) {
                continue;
            }
            self.tags.insert(u.okta_id.clone(), Some(self.next_tag));
            bodies.push((self.next_tag, &u.body));
            self.next_tag += 1;
        }
        dir.prepare_many(c, &mut self.prepared, bodies);
    }

    /// Prepares `users` now (the apply's, for those not prepared during the read); answers
    /// the tag given to each.
    pub fn add_late<'u>(
        &mut self,
        dir: &Directory,
        c: &Caller,
        users: Vec<&'u SeenUser>,
    ) -> Vec<(usize, &'u SeenUser)> {
        let tagged: Vec<(usize, &SeenUser)> = users.into_iter().zip(self.next_tag..).map(|(u, tag)| (tag, u)).collect();
        self.next_tag += tagged.len();
        dir.prepare_many(c, &mut self.prepared, tagged.iter().map(|(tag, u)| (*tag, &u.body)));
        tagged
    }

    /// The tag of `u`'s prepared record, if it was prepared from `u` itself.
    pub fn tag_of(&self, u: &SeenUser) -> Option<usize> {
        self.tags.get(&u.okta_id).copied().flatten()
    }

    pub fn into_prepared(self) -> Prepared {
        self.prepared
    }
}

/// What the stager hands the apply: the run's view of the tenant's pulled users, by Okta id,
/// and the new users prepared against it.
pub type Staged = (Arc<HashMap<String, Stored>>, Stage);

/// Lists the tenant's pulled users once the first page of users arrives (a run Okta refuses at
/// once reads nothing), then prepares users as the read sends them, each page on a blocking
/// thread beside the read's own work; ends when the read drops its sender.
pub async fn run(dir: Directory, c: Caller, mut pages: mpsc::UnboundedReceiver<Vec<SeenUser>>) -> PullResult<Staged> {
    let mut next = pages.recv().await;
    let existing = Arc::new(pulled_users(&dir, &c).await?);
    let mut stage = Stage::default();
    while let Some(page) = next {
        let (dir, c, known) = (dir.clone(), c.clone(), Arc::clone(&existing));
        let job = tokio::task::spawn_blocking(move || {
            stage.add(&dir, &c, &known, &page);
            stage
        });
        stage = job
            .await
            .map_err(|e| PullError::Domain(StoreError::Backend(format!("preparing new users stopped: {e}")).into()))?;
        next = pages.recv().await;
    }
    Ok((existing, stage))
}
