//! A seeded, reproducible org: the same `(users, groups, seed)` gives the same ids, profiles,
//! memberships and timestamps (all fixed in January 2024, before any live mutation's stamp).

use super::Directory;
use super::model::{AppUser, AppUserStatus, Group, GroupAssignment, Scope, SyncState, User, UserStatus};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// 2024-01-02T00:00:00.000Z.
const BASE_MS: u64 = 1_704_153_600_000;

const FIRST: &[&str] =
    &["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Leslie", "Margaret"];
const LAST: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee", "Lamport",
    "Hamilton",
];
const DEPARTMENTS: &[&str] = &["Engineering", "Sales", "Finance", "Support", "Marketing", "Legal"];
const DIVISIONS: &[&str] = &["R&D", "EMEA", "Americas", "APAC"];
const TEAMS: &[&str] = &["Platform", "Payments", "Growth", "Security", "Data", "Mobile", "Infra", "Design"];

fn pick<'a>(rng: &mut impl Rng, from: &[&'a str]) -> &'a str {
    from.choose(rng).copied().unwrap_or("x")
}

fn object(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl Directory {
    /// `users` app users and `groups` groups, deterministic in `seed`:
    /// - every app user is an `ACTIVE` Okta user with login/email `first.last.N@example.com`,
    ///   firstName, lastName, displayName (null for every 10th user: clients fall back to
    ///   first + last), department, division, employeeNumber and a custom `badge`;
    /// - app status: every 3rd `ACTIVE` without `externalId` (syncState `DISABLED`), the rest
    ///   `PROVISIONED` with one (`SYNCHRONIZED`); scope `GROUP` for odd indexes when groups exist;
    /// - app profile by index mod 4: 0 empty; 1 a copy of the user's names and email plus a
    ///   null `mobilePhone`; 2 `displayName` overridden to "<first> <last> (app)" and a null
    ///   `department`; 3 `department` overridden to "Contractors" and a null `secondEmail`;
    /// - every group is assigned to the app (priority = its index) and each app user is a
    ///   member of 1–3 of them; one extra `DEPROVISIONED` user per 50 app users (at least one)
    ///   stays a member of 1–2 groups without being an app user, as deactivation leaves them.
    pub fn generate(users: usize, groups: usize, seed: u64) -> Directory {
        let mut d = Directory::new(seed);
        let group_ids: Vec<String> = (0..groups).map(|_| d.new_id("00g")).collect();
        let mut members: Vec<BTreeSet<String>> = vec![BTreeSet::new(); groups];
        for i in 0..users {
            let (user, app_user) = d.generated_user(i, groups > 0);
            d.join_some(&user.id, &mut members, 1..=3);
            d.app_users.insert(user.id.clone(), app_user);
            d.users.insert(user.id.clone(), user);
        }
        let extras = if groups == 0 { 0 } else { users.div_ceil(50).max(1) };
        for i in users..users + extras {
            let (mut user, _) = d.generated_user(i, false);
            user.status = UserStatus::Deprovisioned;
            user.status_changed = Some(user.created + 2000);
            user.last_updated = user.created + 2000;
            d.join_some(&user.id, &mut members, 1..=2);
            d.users.insert(user.id.clone(), user);
        }
        let memberships_done = BASE_MS + ms(users + extras) * 1000 + 5000;
        for (k, (id, members)) in group_ids.into_iter().zip(members).enumerate() {
            let created = BASE_MS - 86_400_000 + ms(k) * 1000;
            let team = pick(&mut d.rng, TEAMS);
            let profile = object(vec![
                ("name", Value::from(format!("{team} {k:03}"))),
                ("description", Value::from(format!("Generated group {k} ({team})"))),
            ]);
            let last_membership_updated = memberships_done + ms(k);
            let group =
                Group { id: id.clone(), created, last_updated: created, last_membership_updated, profile, members };
            let priority = u32::try_from(k).unwrap_or(u32::MAX);
            d.app_groups
                .insert(id.clone(), GroupAssignment { last_updated: created + 500, priority, profile: Map::new() });
            d.groups.insert(id, group);
        }
        d.last_stamp = memberships_done + ms(groups);
        d
    }

    fn generated_user(&mut self, i: usize, grouped: bool) -> (User, AppUser) {
        let id = self.new_id("00u");
        let (first, last) = (pick(&mut self.rng, FIRST), pick(&mut self.rng, LAST));
        let login = format!("{}.{}.{i}@example.com", first.to_lowercase(), last.to_lowercase());
        let created = BASE_MS + ms(i) * 1000 + self.rng.random_range(0..1000);
        let display = if i % 10 == 9 { Value::Null } else { Value::from(format!("{first} {last}")) };
        let profile = object(vec![
            ("login", Value::from(login.as_str())),
            ("email", Value::from(login.as_str())),
            ("firstName", Value::from(first)),
            ("lastName", Value::from(last)),
            ("displayName", display),
            ("department", Value::from(pick(&mut self.rng, DEPARTMENTS))),
            ("division", Value::from(pick(&mut self.rng, DIVISIONS))),
            ("employeeNumber", Value::from(format!("{:05}", i + 1))),
            ("secondEmail", Value::Null),
            ("mobilePhone", Value::Null),
            ("badge", Value::from(format!("B-{:04}", self.rng.random_range(0..10_000)))),
        ]);
        let app_profile = match i % 4 {
            0 => Map::new(),
            1 => object(vec![
                ("email", Value::from(login.as_str())),
                ("firstName", Value::from(first)),
                ("lastName", Value::from(last)),
                ("displayName", Value::from(format!("{first} {last}"))),
                ("mobilePhone", Value::Null),
            ]),
            2 => {
                object(vec![("displayName", Value::from(format!("{first} {last} (app)"))), ("department", Value::Null)])
            }
            _ => object(vec![("department", Value::from("Contractors")), ("secondEmail", Value::Null)]),
        };
        let activated = created + 500;
        let provisioned = !i.is_multiple_of(3);
        let app_user = AppUser {
            external_id: provisioned.then(|| format!("{:032x}", self.rng.random::<u128>())),
            created: created + 1000,
            last_updated: created + 1500,
            scope: if grouped && i % 2 == 1 { Scope::Group } else { Scope::User },
            status: if provisioned { AppUserStatus::Provisioned } else { AppUserStatus::Active },
            status_changed: created + 1500,
            sync_state: if provisioned { SyncState::Synchronized } else { SyncState::Disabled },
            user_name: login,
            profile: app_profile,
        };
        let user = User {
            id,
            status: UserStatus::Active,
            created,
            activated: Some(activated),
            status_changed: Some(activated),
            last_updated: activated,
            password_changed: Some(activated),
            profile,
        };
        (user, app_user)
    }

    /// Puts `user` in a random count (from `how_many`) of distinct groups.
    fn join_some(&mut self, user: &str, members: &mut [BTreeSet<String>], how_many: std::ops::RangeInclusive<usize>) {
        if members.is_empty() {
            return;
        }
        let n = self.rng.random_range(how_many).min(members.len());
        let picked = rand::seq::index::sample(&mut self.rng, members.len(), n);
        for k in picked {
            if let Some(set) = members.get_mut(k) {
                set.insert(user.to_owned());
            }
        }
    }
}

fn ms(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
