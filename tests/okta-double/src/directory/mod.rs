//! The org the double serves: Okta users, their assignments to the one app, groups, their
//! members and the groups' assignments to the app, with Okta's side effects on mutation.
//!
//! Semantics kept from Okta (okta-pull-notes §1 "What the sync must handle"):
//! - every mutation stamps `lastUpdated` of what it touches, and a membership change stamps
//!   the group's `lastMembershipUpdated`; stamps strictly increase, so two changes never
//!   share one (Okta's can, within a millisecond; a tie would only make tests flaky);
//! - deactivating a user (`DEPROVISIONED`) removes their app assignment and keeps their group
//!   memberships; suspending keeps both;
//! - a group assigned to the app assigns its members (scope `GROUP`): adding a member, assigning
//!   the group or reactivating a member creates their app user, and removing the last assigned
//!   group of a `GROUP`-scoped user removes it. `unassign` removes the app user whatever its
//!   scope (Okta's console refuses that for group assignments; the double lets tests build the
//!   "active group member who is not an app user" case directly).

mod generate;
pub mod model;

use model::{AppUser, AppUserStatus, DirectoryError, Group, GroupAssignment, Scope, SyncState, User, UserStatus};
use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

#[derive(Debug, Clone)]
pub struct Directory {
    users: BTreeMap<String, User>,
    app_users: BTreeMap<String, AppUser>,
    groups: BTreeMap<String, Group>,
    app_groups: BTreeMap<String, GroupAssignment>,
    /// New ids (and external ids) come from here, so a seeded run is reproducible.
    rng: StdRng,
    last_stamp: u64,
}

type Done = Result<(), DirectoryError>;

impl Directory {
    /// An empty org.
    pub fn new(seed: u64) -> Directory {
        Directory {
            users: BTreeMap::new(),
            app_users: BTreeMap::new(),
            groups: BTreeMap::new(),
            app_groups: BTreeMap::new(),
            rng: StdRng::seed_from_u64(seed),
            last_stamp: 0,
        }
    }

    // ---- reading -------------------------------------------------------------------------

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }
    /// Every Okta user, app users or not, by id.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users.values().find(|u| u.profile.get("login").and_then(Value::as_str) == Some(login))
    }
    pub fn app_user(&self, id: &str) -> Option<&AppUser> {
        self.app_users.get(id)
    }
    /// The app's users (id, assignment) in id order.
    pub fn app_users(&self) -> impl Iterator<Item = (&String, &AppUser)> {
        self.app_users.iter()
    }
    /// App users after the one with id `after` (exclusive), in id order.
    pub fn app_users_after(&self, after: Option<&str>) -> impl Iterator<Item = (&String, &AppUser)> {
        self.app_users.range::<str, _>((lower(after), Bound::Unbounded))
    }
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id)
    }
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }
    pub fn app_group(&self, id: &str) -> Option<&GroupAssignment> {
        self.app_groups.get(id)
    }
    /// The app's group assignments (group id, assignment) in id order.
    pub fn app_groups(&self) -> impl Iterator<Item = (&String, &GroupAssignment)> {
        self.app_groups.iter()
    }
    pub fn app_groups_after(&self, after: Option<&str>) -> impl Iterator<Item = (&String, &GroupAssignment)> {
        self.app_groups.range::<str, _>((lower(after), Bound::Unbounded))
    }
    /// Ids of the groups `user` is a member of.
    pub fn groups_of(&self, user: &str) -> Vec<&str> {
        self.groups.values().filter(|g| g.members.contains(user)).map(|g| g.id.as_str()).collect()
    }
    /// The assigned group (lowest priority number first) through which `user` holds the app.
    pub fn assigning_group(&self, user: &str) -> Option<&str> {
        self.app_groups
            .iter()
            .filter(|(g, _)| self.groups.get(g.as_str()).is_some_and(|g| g.members.contains(user)))
            .min_by_key(|(_, a)| a.priority)
            .map(|(g, _)| g.as_str())
    }

    // ---- users ---------------------------------------------------------------------------

    /// Creates an `ACTIVE` Okta user with this profile (not assigned to the app); its id.
    pub fn add_user(&mut self, profile: Map<String, Value>) -> String {
        let id = self.new_id("00u");
        let at = self.stamp();
        let user = User {
            id: id.clone(),
            status: UserStatus::Active,
            created: at,
            activated: Some(at),
            status_changed: Some(at),
            last_updated: at,
            password_changed: Some(at),
            profile,
        };
        self.users.insert(id.clone(), user);
        id
    }

    /// Sets one attribute of the Okta user's profile (`Value::Null` clears it, as Okta does).
    pub fn update_profile(&mut self, id: &str, field: &str, value: Value) -> Done {
        let at = self.stamp();
        let user = self.users.get_mut(id).ok_or_else(|| DirectoryError::NoUser(id.to_owned()))?;
        if field == "login"
            && let (Some(login), Some(app_user)) = (value.as_str(), self.app_users.get_mut(id))
        {
            // The default userNameTemplate is the login, and Okta re-applies it.
            app_user.user_name = login.to_owned();
            app_user.last_updated = at;
        }
        user.profile.insert(field.to_owned(), value);
        user.last_updated = at;
        Ok(())
    }

    /// Moves the user to `status`; `DEPROVISIONED` drops their app user (memberships stay), and
    /// leaving `DEPROVISIONED` restores a group-derived one.
    pub fn set_user_status(&mut self, id: &str, status: UserStatus) -> Done {
        let at = self.stamp();
        let user = self.users.get_mut(id).ok_or_else(|| DirectoryError::NoUser(id.to_owned()))?;
        let was = user.status;
        user.status = status;
        user.status_changed = Some(at);
        user.last_updated = at;
        if status == UserStatus::Active && user.activated.is_none() {
            user.activated = Some(at);
        }
        if status == UserStatus::Deprovisioned {
            self.app_users.remove(id);
        } else if was == UserStatus::Deprovisioned {
            self.derive(id, at);
        }
        Ok(())
    }

    /// Deletes the user, their app user and their memberships.
    pub fn delete_user(&mut self, id: &str) -> Done {
        let at = self.stamp();
        self.users.remove(id).ok_or_else(|| DirectoryError::NoUser(id.to_owned()))?;
        self.app_users.remove(id);
        for g in self.groups.values_mut() {
            if g.members.remove(id) {
                g.last_membership_updated = at;
            }
        }
        Ok(())
    }

    /// Assigns the user to the app directly (scope `USER`): a new app user is `PROVISIONED`
    /// with an `externalId`; an existing group-scoped one becomes `USER`-scoped.
    pub fn assign(&mut self, id: &str) -> Done {
        let at = self.stamp();
        let name = user_name(self.users.get(id).ok_or_else(|| DirectoryError::NoUser(id.to_owned()))?);
        if let Some(app_user) = self.app_users.get_mut(id) {
            app_user.scope = Scope::User;
            app_user.last_updated = at;
            return Ok(());
        }
        let app_user = self.new_app_user(name, Scope::User, at);
        self.app_users.insert(id.to_owned(), app_user);
        Ok(())
    }

    /// Removes the user's app assignment: the app user disappears from the app's list.
    pub fn unassign(&mut self, id: &str) -> Done {
        self.app_users.remove(id).map(|_| ()).ok_or_else(|| self.unassigned(id))
    }

    pub fn set_app_user_status(&mut self, id: &str, status: AppUserStatus) -> Done {
        let at = self.stamp();
        let err = self.unassigned(id);
        let app_user = self.app_users.get_mut(id).ok_or(err)?;
        app_user.status = status;
        app_user.status_changed = at;
        app_user.last_updated = at;
        Ok(())
    }

    /// Sets one attribute of the app profile (`Value::Null` keeps the key with a null value, as
    /// Okta lists unmapped attributes).
    pub fn update_app_profile(&mut self, id: &str, field: &str, value: Value) -> Done {
        let at = self.stamp();
        let err = self.unassigned(id);
        let app_user = self.app_users.get_mut(id).ok_or(err)?;
        app_user.profile.insert(field.to_owned(), value);
        app_user.last_updated = at;
        Ok(())
    }

    // ---- groups --------------------------------------------------------------------------

    /// Creates an `OKTA_GROUP` without members, not assigned to the app; its id.
    pub fn add_group(&mut self, name: &str, description: &str) -> String {
        let id = self.new_id("00g");
        let at = self.stamp();
        let mut profile = Map::new();
        profile.insert("name".into(), Value::from(name));
        profile.insert("description".into(), Value::from(description));
        let group = Group {
            id: id.clone(),
            created: at,
            last_updated: at,
            last_membership_updated: at,
            profile,
            members: BTreeSet::new(),
        };
        self.groups.insert(id.clone(), group);
        id
    }

    pub fn rename_group(&mut self, id: &str, name: &str) -> Done {
        self.set_group_profile(id, "name", Value::from(name))
    }

    pub fn set_group_profile(&mut self, id: &str, field: &str, value: Value) -> Done {
        let at = self.stamp();
        let group = self.groups.get_mut(id).ok_or_else(|| DirectoryError::NoGroup(id.to_owned()))?;
        group.profile.insert(field.to_owned(), value);
        group.last_updated = at;
        Ok(())
    }

    /// Deletes the group: its app assignment goes, and so do app users that held the app only
    /// through it.
    pub fn delete_group(&mut self, id: &str) -> Done {
        let group = self.groups.remove(id).ok_or_else(|| DirectoryError::NoGroup(id.to_owned()))?;
        self.app_groups.remove(id);
        for member in &group.members {
            self.underive(member);
        }
        Ok(())
    }

    /// Assigns the group to the app (next priority); its members become app users.
    pub fn assign_group(&mut self, id: &str) -> Done {
        let at = self.stamp();
        let members: Vec<String> = self
            .groups
            .get(id)
            .ok_or_else(|| DirectoryError::NoGroup(id.to_owned()))?
            .members
            .iter()
            .cloned()
            .collect();
        let priority = self.app_groups.values().map(|a| a.priority + 1).max().unwrap_or(0);
        let assignment = self.app_groups.entry(id.to_owned()).or_insert(GroupAssignment {
            last_updated: at,
            priority,
            profile: Map::new(),
        });
        assignment.last_updated = at;
        for m in &members {
            self.derive(m, at);
        }
        Ok(())
    }

    pub fn unassign_group(&mut self, id: &str) -> Done {
        let members: Vec<String> = self
            .groups
            .get(id)
            .ok_or_else(|| DirectoryError::NoGroup(id.to_owned()))?
            .members
            .iter()
            .cloned()
            .collect();
        self.app_groups.remove(id).ok_or_else(|| DirectoryError::GroupNotAssigned(id.to_owned()))?;
        for m in &members {
            self.underive(m);
        }
        Ok(())
    }

    pub fn add_member(&mut self, group: &str, user: &str) -> Done {
        if !self.users.contains_key(user) {
            return Err(DirectoryError::NoUser(user.to_owned()));
        }
        let at = self.stamp();
        let g = self.groups.get_mut(group).ok_or_else(|| DirectoryError::NoGroup(group.to_owned()))?;
        if g.members.insert(user.to_owned()) {
            g.last_membership_updated = at;
            self.derive(user, at);
        }
        Ok(())
    }

    pub fn remove_member(&mut self, group: &str, user: &str) -> Done {
        let at = self.stamp();
        let g = self.groups.get_mut(group).ok_or_else(|| DirectoryError::NoGroup(group.to_owned()))?;
        if g.members.remove(user) {
            g.last_membership_updated = at;
            self.underive(user);
        }
        Ok(())
    }

    // ---- internals -----------------------------------------------------------------------

    /// A timestamp for a mutation: now, and later than every earlier one.
    fn stamp(&mut self) -> u64 {
        self.last_stamp = crate::clock::now_ms().max(self.last_stamp + 1);
        self.last_stamp
    }

    /// An Okta-shaped id: a three-character type prefix and 17 alphanumerics (20 in all).
    fn new_id(&mut self, prefix: &str) -> String {
        let tail: String = (&mut self.rng).sample_iter(Alphanumeric).take(17).map(char::from).collect();
        format!("{prefix}{tail}")
    }

    fn new_app_user(&mut self, user_name: String, scope: Scope, at: u64) -> AppUser {
        AppUser {
            external_id: Some(format!("{:032x}", self.rng.random::<u128>())),
            created: at,
            last_updated: at,
            scope,
            status: AppUserStatus::Provisioned,
            status_changed: at,
            sync_state: SyncState::Synchronized,
            user_name,
            profile: Map::new(),
        }
    }

    fn unassigned(&self, id: &str) -> DirectoryError {
        if self.users.contains_key(id) {
            DirectoryError::UserNotAssigned(id.to_owned())
        } else {
            DirectoryError::NoUser(id.to_owned())
        }
    }

    /// Okta's group-based assignment: an active-enough member of an assigned group holds the app.
    fn derive(&mut self, user: &str, at: u64) {
        let Some(u) = self.users.get(user) else { return };
        if u.status == UserStatus::Deprovisioned || self.app_users.contains_key(user) {
            return;
        }
        let name = user_name(u);
        if self.assigning_group(user).is_some() {
            let app_user = self.new_app_user(name, Scope::Group, at);
            self.app_users.insert(user.to_owned(), app_user);
        }
    }

    /// Drops a `GROUP`-scoped app user once no assigned group holds the user.
    fn underive(&mut self, user: &str) {
        let held = self.assigning_group(user).is_some();
        if !held && self.app_users.get(user).is_some_and(|a| a.scope == Scope::Group) {
            self.app_users.remove(user);
        }
    }
}

/// Okta's default userNameTemplate, the login (a profile without one, which Okta would
/// refuse, falls back to the id).
fn user_name(user: &User) -> String {
    user.profile.get("login").and_then(Value::as_str).unwrap_or(&user.id).to_owned()
}

fn lower(after: Option<&str>) -> Bound<&str> {
    after.map_or(Bound::Unbounded, Bound::Excluded)
}

#[cfg(test)]
mod tests;
