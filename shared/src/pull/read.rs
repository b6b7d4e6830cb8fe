//! Reading Okta into a snapshot, resuming where a saved one stopped. The app users and the app
//! groups (with the members of the groups whose `lastMembershipUpdated` moved) are read side by
//! side: they count against different rate-limit buckets (`/api/v1/apps*` and
//! `/api/v1/groups*`), so the member pages cost no time beyond the app bucket's.

use super::PullError;
use super::checkpoint::{self, SeenGroup, SeenUser, Snapshot};
use crate::domain::TenantId;
use crate::okta::{self, AppUser, OktaClient, OktaError};
use crate::store::Table;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// Where each page of users goes as it is read (to be prepared while the read goes on).
pub type Pages = mpsc::UnboundedSender<Vec<SeenUser>>;

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

/// Reads what `snap` still lacks, sending each page of users read to `pages`. On an error the
/// snapshot holds every page completed before it (a page is added whole or not at all), so it
/// can be saved and resumed.
pub async fn read(
    client: &OktaClient,
    table: &dyn Table,
    t: &TenantId,
    app_id: &str,
    snap: &mut Snapshot,
    seen: &Seen,
    pages_to: Pages,
) -> Result<(), ReadError> {
    let Snapshot {
        users,
        users_next,
        users_done,
        groups,
        groups_next,
        groups_done,
        members_done,
        pages,
        unmapped,
        unnamed,
    } = snap;
    let users_half = read_users(client, t, app_id, users, unmapped, users_next, users_done, seen, pages_to);
    let groups_half =
        read_groups(client, table, t, app_id, groups, unnamed, groups_next, groups_done, members_done, seen);
    let (u, g) = tokio::join!(users_half, groups_half);
    *pages = seen.pages.load(Ordering::Relaxed);
    u.and(g)?;
    dedupe(users, |u| &u.okta_id);
    dedupe(groups, |g| &g.okta_id);
    dedupe(unnamed, |x| x);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn read_users(
    client: &OktaClient,
    t: &TenantId,
    app_id: &str,
    users: &mut Vec<SeenUser>,
    unmapped: &mut Vec<String>,
    next: &mut Option<String>,
    done: &mut bool,
    seen: &Seen,
    pages_to: Pages,
) -> Result<(), ReadError> {
    let mut cursor = Cursor::default();
    while !*done {
        let page = client.app_users(app_id, next.as_deref()).await?;
        let before = users.len();
        for listed in &page.items {
            // `expand` is optional for a server: without the Okta user embedded (its login,
            // profile and status), it is asked for, from the users bucket.
            let fetched = match &listed.embedded_user {
                Some(_) => None,
                None => match client.user(&listed.id).await {
                    Ok(user) => Some(AppUser { embedded_user: Some(user), ..listed.clone() }),
                    // Deleted since the listing: no longer assigned.
                    Err(OktaError::NotFound { .. }) => continue,
                    Err(e) => return Err(e.into()),
                },
            };
            let au = fetched.as_ref().unwrap_or(listed);
            match okta::map::pulled_user(au) {
                Ok(p) => users.push(SeenUser {
                    okta_id: p.okta_id.clone(),
                    active: p.active,
                    body: okta::map::scim_user(&p),
                }),
                // Still assigned: its record, if any, is left as it is (never deactivated).
                Err(e) => {
                    tracing::warn!(tenant = %t, user = au.id, error = %e, "app user not mapped; left as it is");
                    unmapped.push(au.id.clone());
                }
            }
        }
        // Only a help: if the preparing side has gone, the apply prepares these itself.
        let _ = pages_to.send(users.iter().skip(before).cloned().collect());
        seen.page();
        seen.users.store(users.len() as u64, Ordering::Relaxed);
        *next = cursor.advance(next.as_deref(), page.next, page.items.is_empty())?;
        *done = next.is_none();
    }
    Ok(())
}

/// Empty pages in a row, each with a `next` link, taken as a listing that never ends.
const MAX_EMPTY_PAGES: u32 = 10;

/// Guards a listing against a `next` link that leads nowhere new.
#[derive(Default)]
struct Cursor {
    empty: u32,
}

impl Cursor {
    /// The link to follow after a page that was fetched from `followed`.
    fn advance(
        &mut self,
        followed: Option<&str>,
        next: Option<String>,
        empty: bool,
    ) -> Result<Option<String>, OktaError> {
        self.empty = if empty { self.empty + 1 } else { 0 };
        match next {
            Some(n) if followed == Some(n.as_str()) => {
                Err(OktaError::BadResponse(format!("a next link that repeats the page it is on: {n}")))
            }
            Some(_) if self.empty > MAX_EMPTY_PAGES => {
                Err(OktaError::BadResponse(format!("{MAX_EMPTY_PAGES} empty pages in a row, each with a next link")))
            }
            other => Ok(other),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn read_groups(
    client: &OktaClient,
    table: &dyn Table,
    t: &TenantId,
    app_id: &str,
    groups: &mut Vec<SeenGroup>,
    unnamed: &mut Vec<String>,
    next: &mut Option<String>,
    done: &mut bool,
    members_done: &mut usize,
    seen: &Seen,
) -> Result<(), ReadError> {
    let mut cursor = Cursor::default();
    while !*done {
        let page = client.app_groups(app_id, next.as_deref()).await?;
        for g in &page.items {
            // `expand` is optional for a server: without the group embedded, it is asked for.
            let fetched = match &g.group {
                Some(_) => None,
                None => match client.group(&g.id).await {
                    Ok(group) => Some(group),
                    // Deleted since the listing: no longer assigned.
                    Err(OktaError::NotFound { .. }) => continue,
                    Err(e) => return Err(e.into()),
                },
            };
            let group = fetched.as_ref().or(g.group.as_ref());
            // A SCIM group must have a displayName: without one it is left as it is.
            let Some(name) = group.and_then(okta::map::scim_group_name) else {
                tracing::warn!(tenant = %t, group = g.id, "Okta group has no profile.name: left as it is");
                unnamed.push(g.id.clone());
                continue;
            };
            let lmu = group.and_then(|x| x.last_membership_updated.clone());
            groups.push(SeenGroup { okta_id: g.id.clone(), name, last_membership_updated: lmu });
        }
        seen.page();
        seen.groups.store(groups.len() as u64, Ordering::Relaxed);
        *next = cursor.advance(next.as_deref(), page.next, page.items.is_empty())?;
        *done = next.is_none();
    }
    while let Some(g) = groups.get(*members_done) {
        let memo = checkpoint::memo(table, t, &g.okta_id).await?;
        let unchanged = g.last_membership_updated.is_some()
            && memo.as_ref().is_some_and(|(lmu, _)| *lmu == g.last_membership_updated);
        if !unchanged {
            let members = match group_members(client, &g.okta_id, seen).await {
                Ok(m) => m,
                // Deleted in Okta since the listing: it goes as an unassigned group does.
                Err(ReadError::Okta(OktaError::NotFound { .. })) => {
                    groups.remove(*members_done);
                    continue;
                }
                Err(e) => return Err(e),
            };
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
    let (mut next, mut cursor) = (None, Cursor::default());
    loop {
        let page = client.group_users(group, next.as_deref()).await?;
        let empty = page.items.is_empty();
        members.extend(page.items.into_iter().map(|u| u.id));
        seen.page();
        next = cursor.advance(next.as_deref(), page.next, empty)?;
        if next.is_none() {
            break;
        }
    }
    members.sort_unstable();
    members.dedup();
    Ok(members)
}

/// A listing that shifted under its cursor may show a user or group twice: the later answer wins.
fn dedupe<T>(items: &mut Vec<T>, key: impl Fn(&T) -> &String) {
    let last: HashMap<String, usize> = items.iter().enumerate().map(|(i, x)| (key(x).clone(), i)).collect();
    let mut i = 0;
    items.retain(|x| {
        let keep = last.get(key(x)) == Some(&i);
        i += 1;
        keep
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_listing_that_goes_nowhere_new_is_an_error() {
        let mut c = Cursor::default();
        assert_eq!(c.advance(None, Some("/a?after=1".into()), false).unwrap().as_deref(), Some("/a?after=1"));
        assert!(c.advance(Some("/a?after=1"), Some("/a?after=1".into()), false).is_err());
        // A last page that is empty, without a link, ends the listing.
        assert_eq!(Cursor::default().advance(Some("/a?after=1"), None, true).unwrap(), None);
        let mut c = Cursor::default();
        for n in 0..MAX_EMPTY_PAGES {
            assert!(c.advance(None, Some(format!("/a?after={n}")), true).is_ok());
        }
        assert!(c.advance(None, Some("/a?after=x".into()), true).is_err());
        // A page with items starts the count again.
        let mut c = Cursor::default();
        for n in 0..2 * MAX_EMPTY_PAGES {
            assert!(c.advance(None, Some(format!("/a?after={n}")), n % 5 != 0).is_ok());
        }
    }
}
