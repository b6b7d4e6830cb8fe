//! Reading Okta into a snapshot, resuming where a saved one stopped. The app users and the app
//! groups (with the members of the groups whose `lastMembershipUpdated` moved) are read side by
//! side: they count against different rate-limit buckets (`/api/v1/apps*` and
//! `/api/v1/groups*`), so the member pages cost no time beyond the app bucket's.

use super::PullError;
use super::checkpoint::{self, SeenGroup, SeenUser, Snapshot};
use crate::domain::TenantId;
use crate::okta::{self, OktaClient, OktaError};
use crate::store::Table;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a read stopped.
pub enum ReadError {
    Okta(OktaError),
    Store(PullError),
}

impl From<OktaError> for ReadError {
    fn from(e: OktaError) -> Self {
        Self::Okta(e)
    }
}

impl From<PullError> for ReadError {
    fn from(e: PullError) -> Self {
        Self::Store(e)
    }
}

/// What the read has seen so far, for progress reports while it runs.
#[derive(Default)]
pub struct Seen {
    pub pages: AtomicU64,
    pub users: AtomicU64,
    pub groups: AtomicU64,
}

impl Seen {
    pub fn of(snap: &Snapshot) -> Self {
        Self {
            pages: AtomicU64::new(snap.pages),
            users: AtomicU64::new(snap.users.len() as u64),
            groups: AtomicU64::new(snap.groups.len() as u64),
        }
    }

    fn page(&self) {
        self.pages.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads what `snap` still lacks. On an error the snapshot holds every page completed before
/// it (a page is added whole or not at all), so it can be saved and resumed.
pub async fn read(
    client: &OktaClient,
    table: &dyn Table,
    t: &TenantId,
    app_id: &str,
    snap: &mut Snapshot,
    seen: &Seen,
) -> Result<(), ReadError> {
    let Snapshot { users, users_next, users_done, groups, groups_next, groups_done, members_done, pages } = snap;
    let users_half = read_users(client, t, app_id, users, users_next, users_done, seen);
    let groups_half = read_groups(client, table, t, app_id, groups, groups_next, groups_done, members_done, seen);
    let (u, g) = tokio::join!(users_half, groups_half);
    *pages = seen.pages.load(Ordering::Relaxed);
    u.and(g)?;
    dedupe(users);
    Ok(())
}

async fn read_users(
    client: &OktaClient,
    t: &TenantId,
    app_id: &str,
    users: &mut Vec<SeenUser>,
    next: &mut Option<String>,
    done: &mut bool,
    seen: &Seen,
) -> Result<(), ReadError> {
    while !*done {
        let page = client.app_users(app_id, next.as_deref()).await?;
        for au in &page.items {
            match okta::map::pulled_user(au) {
                Ok(p) => users.push(SeenUser {
                    okta_id: p.okta_id.clone(),
                    active: p.active,
                    body: okta::map::scim_user(&p),
                }),
                Err(e) => tracing::warn!(tenant = %t, user = au.id, error = %e, "app user skipped"),
            }
        }
        seen.page();
        seen.users.store(users.len() as u64, Ordering::Relaxed);
        *done = page.next.is_none();
        *next = page.next;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn read_groups(
    client: &OktaClient,
    table: &dyn Table,
    t: &TenantId,
    app_id: &str,
    groups: &mut Vec<SeenGroup>,
    next: &mut Option<String>,
    done: &mut bool,
    members_done: &mut usize,
    seen: &Seen,
) -> Result<(), ReadError> {
    while !*done {
        let page = client.app_groups(app_id, next.as_deref()).await?;
        for g in &page.items {
            let name = okta::map::scim_group_name(g).unwrap_or_else(|| g.id.clone());
            let lmu = g.group.as_ref().and_then(|x| x.last_membership_updated.clone());
            groups.push(SeenGroup { okta_id: g.id.clone(), name, last_membership_updated: lmu });
        }
        seen.page();
        seen.groups.store(groups.len() as u64, Ordering::Relaxed);
        *done = page.next.is_none();
        *next = page.next;
    }
    while let Some(g) = groups.get(*members_done) {
        let memo = checkpoint::memo(table, t, &g.okta_id).await?;
        let unchanged = g.last_membership_updated.is_some()
            && memo.as_ref().is_some_and(|(lmu, _)| *lmu == g.last_membership_updated);
        if !unchanged {
            let members = group_members(client, &g.okta_id, seen).await?;
            if memo.as_ref().is_none_or(|(lmu, m)| *m != members || *lmu != g.last_membership_updated) {
                checkpoint::put_memo(table, t, &g.okta_id, g.last_membership_updated.as_deref(), &members).await?;
            }
        }
        *members_done += 1;
    }
    Ok(())
}

/// Every member of an Okta group (sorted, without repeats).
async fn group_members(client: &OktaClient, group: &str, seen: &Seen) -> Result<Vec<String>, ReadError> {
    let mut members = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client.group_users(group, next.as_deref()).await?;
        members.extend(page.items.into_iter().map(|u| u.id));
        seen.page();
        match page.next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    members.sort_unstable();
    members.dedup();
    Ok(members)
}

/// A listing that shifted under its cursor may show a user twice: the later answer wins.
fn dedupe(users: &mut Vec<SeenUser>) {
    let last: HashMap<String, usize> = users.iter().enumerate().map(|(i, u)| (u.okta_id.clone(), i)).collect();
    let mut i = 0;
    users.retain(|u| {
        let keep = last.get(&u.okta_id) == Some(&i);
        i += 1;
        keep
    });
}
