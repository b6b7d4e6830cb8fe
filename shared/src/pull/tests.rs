#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;
use crate::domain::TenantId;
use crate::domain::tenant::{Mode, Settings};
use crate::startup::{Services, Storage};

fn new(org: &str) -> NewIntegration {
    NewIntegration {
        domain: "https://acme.okta.com".into(),
        app_id: "0oaApp1".into(),
        org_id: org.into(),
        interval_seconds: DEFAULT_INTERVAL_SECONDS,
        token: "00secret-token".into(),
    }
}

async fn services(dir: &std::path::Path) -> Services {
    Services::build(&Storage::Embedded { data_dir: dir.into() }).await.unwrap()
}

fn id(t: &str) -> TenantId {
    TenantId::parse(t).unwrap()
}

async fn tenant(s: &Services, t: &str, mode: Mode) {
    let settings = Settings { mode, ..Settings::default() };
    s.tenants.create(&id(t), None, settings).await.unwrap();
}

/// The API token of the doubles these tests start.
const DOUBLE_TOKEN: &str = "00pull-test-token";

/// A tenant `name` in Okta API mode (not yet configured) and a double serving `org`.
async fn okta_tenant(s: &Services, name: &str, org: okta_double::Directory) -> (TenantId, okta_double::Double) {
    let o = okta_double::Options { tokens: vec![DOUBLE_TOKEN.into()], ..okta_double::Options::default() };
    let double = okta_double::Double::start(o).await.unwrap();
    double.with(|d| *d = org);
    tenant(s, name, Mode::OktaApi).await;
    (id(name), double)
}

/// Who the puller writes as in tenant `t`.
fn puller_caller(t: &TenantId) -> crate::domain::Caller {
    let settings = Settings { mode: Mode::OktaApi, ..Settings::default() };
    crate::domain::Caller::new(
        t.clone(),
        crate::domain::Actor::OktaApi,
        settings,
        crate::scim::schema::Schemas::builtin(),
    )
}

/// Configures `t` for `double`, checked as `inlet okta configure` checks.
async fn configured(s: &Services, t: &TenantId, double: &okta_double::Double) {
    use crate::pull::configure::{Credentials, check};
    let creds = Credentials {
        domain: double.url(),
        app_id: double.app_id().to_owned(),
        token: DOUBLE_TOKEN.into(),
        interval_seconds: DEFAULT_INTERVAL_SECONDS,
    };
    let checked = check(creds, crate::okta::Limits::default()).await.unwrap();
    s.integrations.configure(&s.tenants, t, checked).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_rules_hold_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let all: Vec<TenantId> = ["pushed", "a", "b", "c"].iter().map(|t| id(t)).collect();
    tenant(&s, "pushed", Mode::Scim).await;
    for t in ["a", "b", "c"] {
        tenant(&s, t, Mode::OktaApi).await;
    }
    let i = &s.integrations;
    assert!(matches!(i.configure(&s.tenants, &id("pushed"), new("00oOrg1")).await, Err(PullError::Refused(_))));
    assert!(i.get(&id("pushed")).await.unwrap().is_none());
    assert!(i.token(&id("pushed")).await.unwrap().is_none(), "a refused configure stores no token");

    // Two tenants configure one org at once: exactly one wins.
    let (a, b) = (id("a"), id("b"));
    let (ra, rb) =
        tokio::join!(i.configure(&s.tenants, &a, new("00oOrg1")), i.configure(&s.tenants, &b, new("00oOrg1")));
    assert_eq!(u8::from(ra.is_ok()) + u8::from(rb.is_ok()), 1, "{ra:?} {rb:?}");
    let (winner, loser) = if ra.is_ok() { ("a", "b") } else { ("b", "a") };
    assert!(i.get(&id(loser)).await.unwrap().is_none());
    assert_eq!(invariants::check(i, &all).await, Vec::<String>::new());

    // One integration per tenant: another org, or another application of the same org, is
    // refused with nothing written; re-configuring the same application (a new token) is fine.
    assert!(matches!(i.configure(&s.tenants, &id(winner), new("00oOrg2")).await, Err(PullError::Refused(_))));
    let other_app =
        NewIntegration { app_id: "0oaOtherApp0000000002".into(), token: "00other".into(), ..new("00oOrg1") };
    assert!(
        matches!(i.configure(&s.tenants, &id(winner), other_app).await, Err(PullError::Refused(m)) if m.contains("disable"))
    );
    assert_eq!(i.token(&id(winner)).await.unwrap().as_deref(), Some("00secret-token"));
    assert_ne!(i.get(&id(winner)).await.unwrap().map(|x| x.app_id).as_deref(), Some("0oaOtherApp0000000002"));
    let again = NewIntegration { token: "00new-token".into(), ..new("00oOrg1") };
    i.configure(&s.tenants, &id(winner), again).await.unwrap();
    assert_eq!(i.token(&id(winner)).await.unwrap().as_deref(), Some("00new-token"));
    assert!(
        matches!(i.configure(&s.tenants, &id("c"), new("00oOrg1")).await, Err(PullError::Refused(m)) if m.contains(winner))
    );

    // Disabled: the org is free again, the token blanked, the due list empty of it.
    i.disable(&id(winner)).await.unwrap();
    assert!(i.token(&id(winner)).await.unwrap().is_none());
    assert_eq!(invariants::check(i, &all).await, Vec::<String>::new());
    i.configure(&s.tenants, &id("c"), new("00oOrg1")).await.unwrap();
    assert_eq!(state::due(i.table().as_ref(), time::OffsetDateTime::now_utc(), 10).await.unwrap(), vec![id("c")]);
    assert_eq!(invariants::check(i, &all).await, Vec::<String>::new());
}

/// Configures and disables of one tenant racing each other (the vault is outside the table's
/// transactions): whoever wins, the token in the vault is the one of the integration recorded,
/// and none is left without one.
#[tokio::test(flavor = "multi_thread")]
async fn racing_configures_leave_the_winners_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    tenant(&s, "race", Mode::OktaApi).await;
    let (i, t) = (&s.integrations, id("race"));
    let with = |org: &str, token: &str| NewIntegration { token: token.into(), ..new(org) };
    let mut configured = 0;
    for round in 0..30 {
        // Two orgs at once on a tenant without an integration: at most one is recorded.
        let (a, b) = (format!("00tokA{round}"), format!("00tokB{round}"));
        let (ra, rb) = tokio::join!(
            i.configure(&s.tenants, &t, with("00oOrgA", &a)),
            i.configure(&s.tenants, &t, with("00oOrgB", &b))
        );
        assert!(!(ra.is_ok() && rb.is_ok()), "{ra:?} {rb:?}");
        for (r, token) in [(&ra, &a), (&rb, &b)] {
            if r.is_ok() {
                configured += 1;
                assert_eq!(i.token(&t).await.unwrap().as_ref(), Some(token), "round {round}");
            } else {
                assert!(matches!(r, Err(PullError::Busy | PullError::Refused(_))), "{r:?}");
            }
        }
        assert_eq!(invariants::check(i, std::slice::from_ref(&t)).await, Vec::<String>::new(), "round {round}");
        // A new token for the same app while it is disabled: either order, nothing left over.
        let c = format!("00tokC{round}");
        let org = i.get(&t).await.unwrap().map(|x| x.org_id);
        let (rc, rd) =
            tokio::join!(i.configure(&s.tenants, &t, with(org.as_deref().unwrap_or("00oOrgA"), &c)), i.disable(&t));
        assert!(matches!(rd, Ok(()) | Err(PullError::Busy | PullError::NotConfigured(_))), "{rd:?}");
        if rc.is_ok() && i.get(&t).await.unwrap().is_some() {
            assert_eq!(i.token(&t).await.unwrap(), Some(c), "round {round}");
        }
        assert_eq!(invariants::check(i, std::slice::from_ref(&t)).await, Vec::<String>::new(), "round {round}");
        if i.get(&t).await.unwrap().is_some() {
            i.disable(&t).await.unwrap();
        }
    }
    assert!(configured > 0, "no configure won in 30 rounds");
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_lease_takers_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    tenant(&s, "a", Mode::OktaApi).await;
    s.integrations.configure(&s.tenants, &id("a"), new("00oOrg1")).await.unwrap();
    let table = s.integrations.table().as_ref();
    let (st, v) = state::read(table, &id("a")).await.unwrap().unwrap();
    let take = |owner: &str| state::SyncState {
        lease: Some(state::Lease { owner: owner.into(), until: state::at_offset(60) }),
        ..st.clone()
    };
    let (a, tx, ty) = (id("a"), take("x"), take("y"));
    let (x, y) = tokio::join!(state::swap(table, &a, &tx, v), state::swap(table, &a, &ty, v));
    assert_eq!(u8::from(x.unwrap().is_some()) + u8::from(y.unwrap().is_some()), 1);
}

/// The initial sync creates users in bulk (several to a transaction) and takes over the record
/// of a person deleted and created again in Okta (a refused bulk write, redone alone): the
/// directory's invariants hold after it, and an unchanged resync changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_initial_sync_keeps_the_directory_invariants() {
    use crate::domain::Resource;
    use crate::domain::invariants::{Universe, check as directory_check};
    use crate::pull::sync::{Outcome, RunOptions};
    use okta_double::Directory as Org;
    use serde_json::json;

    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let (t, double) = okta_tenant(&s, "bulk", Org::generate(300, 6, 5)).await;
    let (okta_id, login) = double.with(|d| {
        let (uid, _) = d.app_users().nth(7).unwrap();
        (uid.clone(), d.user(uid).unwrap().profile["login"].as_str().unwrap().to_owned())
    });
    let assigned = double.with(|d| d.app_users().count());
    let pull = puller_caller(&t);
    let body = json!({"schemas": [crate::scim::schema::USER_SCHEMA], "userName": login, "externalId": "00uGone"});
    let old = s.directory.create(&pull, Resource::User, &body).await.unwrap();

    configured(&s, &t, &double).await;
    let puller = s.puller().unwrap();
    let o = RunOptions::default();
    let Outcome::Synced(counts) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!((counts.created, counts.updated), (u64::try_from(assigned).unwrap() - 1, 1), "{counts}");
    let taken = s.directory.get(&t, Resource::User, &old.id).await.unwrap();
    assert_eq!(taken.external_id(), Some(okta_id.as_str()));

    let mut u = Universe::default();
    for st in s.directory.all(&pull, Resource::User).await.unwrap() {
        u.user_names.insert(st.unique_name(Resource::User.unique_attr()).to_owned());
        u.external_ids.extend(st.external_id().map(str::to_owned));
        u.users.insert(st.id);
    }
    for st in s.directory.all(&pull, Resource::Group).await.unwrap() {
        u.group_names.insert(st.unique_name(Resource::Group.unique_attr()).to_owned());
        u.external_ids.extend(st.external_id().map(str::to_owned));
        u.groups.insert(st.id);
    }
    u.external_ids.insert("00uGone".into());
    assert_eq!(u.users.len(), assigned);
    assert_eq!(directory_check(&s.directory, &t, &u).await, Vec::<String>::new());
    assert_eq!(invariants::check(&s.integrations, std::slice::from_ref(&t)).await, Vec::<String>::new());

    let Outcome::Synced(again) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!(again.writes(), 0, "{again}");
    double.stop().await;
}

/// What Okta may send that a strict reader would trip on: a profile attribute of another
/// type, an assigned user without a login, two assigned groups of one name.
#[tokio::test(flavor = "multi_thread")]
async fn an_odd_directory_syncs_and_loses_no_one() {
    use crate::domain::Resource;
    use crate::pull::sync::{Outcome, RunOptions};
    use okta_double::Directory as Org;
    use serde_json::json;

    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let (t, double) = okta_tenant(&s, "odd", Org::generate(20, 2, 11)).await;
    configured(&s, &t, &double).await;
    let puller = s.puller().unwrap();
    let o = RunOptions::default();
    let Outcome::Synced(first) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!(first.created, 20, "{first}");

    let (numeric, nameless) = double.with(|d| {
        let ids: Vec<String> = d.app_users().map(|(id, _)| id.clone()).take(2).collect();
        d.update_profile(&ids[0], "department", json!(7)).unwrap();
        d.update_profile(&ids[1], "login", serde_json::Value::Null).unwrap();
        for _ in 0..2 {
            let g = d.add_group("Twins", "");
            d.add_member(&g, &ids[0]).unwrap();
            d.assign_group(&g).unwrap();
        }
        (ids[0].clone(), ids[1].clone())
    });
    let Outcome::Synced(second) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!((second.deactivated, second.groups_created, second.groups_skipped), (0, 1, 1), "{second}");

    let pull = puller_caller(&t);
    let users = s.directory.all(&pull, Resource::User).await.unwrap();
    let by = |x: &str| users.iter().find(|u| u.external_id() == Some(x)).unwrap();
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert_eq!(by(&numeric).attrs[ext]["department"], json!("7"));
    // Not mapped, still assigned: left as it was, active.
    assert_eq!(by(&nameless).attrs["active"], json!(true));
    assert_eq!(users.len(), 20);
    assert_eq!(invariants::check(&s.integrations, std::slice::from_ref(&t)).await, Vec::<String>::new());

    // A group gone between the listing and the reading of its members (404): unassigned.
    let gone = double.with(|d| {
        let (g, _) = d.app_groups().next().map(|(g, a)| (g.clone(), a.priority)).unwrap();
        d.add_member(&g, &nameless).unwrap();
        g
    });
    double.inject(okta_double::Fault::status(404, 1).on(&format!("/api/v1/groups/{gone}/users")));
    let Outcome::Synced(third) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!(third.groups_deleted, 1, "{third}");
    let groups = s.directory.all(&pull, Resource::Group).await.unwrap();
    assert!(groups.iter().all(|g| g.external_id() != Some(gone.as_str())));
    double.stop().await;
}

/// Assigned groups without a name (SCIM requires a displayName): a known one is kept as it
/// was, members included, a new one is not created, and the sync still ends Synced.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_without_a_name_is_left_as_it_was() {
    use crate::domain::Resource;
    use crate::pull::sync::{Outcome, RunOptions};
    use serde_json::json;

    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let (t, double) = okta_tenant(&s, "unnamed", okta_double::Directory::generate(20, 2, 7)).await;
    configured(&s, &t, &double).await;
    let puller = s.puller().unwrap();
    let o = RunOptions::default();
    let Outcome::Synced(first) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!(first.groups_created, 2, "{first}");
    let pull = puller_caller(&t);
    let before = s.directory.all(&pull, Resource::Group).await.unwrap();

    let active: Vec<String> = s
        .directory
        .all(&pull, Resource::User)
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.attrs["active"] == json!(true))
        .filter_map(|u| u.external_id().map(str::to_owned))
        .collect();
    let (known, new) = double.with(|d| {
        let known = d.app_groups().next().map(|(g, _)| g.clone()).unwrap();
        let outsider = active.iter().find(|u| !d.groups_of(u).contains(&known.as_str())).cloned();
        d.set_group_profile(&known, "name", json!("  ")).unwrap();
        d.add_member(&known, &outsider.unwrap()).unwrap();
        let new = d.add_group("Later", "");
        d.set_group_profile(&new, "name", serde_json::Value::Null).unwrap();
        d.assign_group(&new).unwrap();
        (known, new)
    });
    let Outcome::Synced(second) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!((second.groups_created, second.groups_deleted, second.groups_skipped), (0, 0, 2), "{second}");
    assert_eq!(second.members_added + second.members_removed, 0, "{second}");
    assert!(second.to_string().contains("2 groups skipped"), "{second}");
    let after = s.directory.all(&pull, Resource::Group).await.unwrap();
    assert!(after.iter().all(|g| g.external_id() != Some(new.as_str())));
    let was = before.iter().find(|g| g.external_id() == Some(known.as_str())).unwrap();
    let is = after.iter().find(|g| g.external_id() == Some(known.as_str())).unwrap();
    assert_eq!((&is.attrs["displayName"], is.version), (&was.attrs["displayName"], was.version));
    assert_eq!(invariants::check(&s.integrations, std::slice::from_ref(&t)).await, Vec::<String>::new());

    // Named again: synced as any group, the member added meanwhile included.
    double.with(|d| d.set_group_profile(&known, "name", json!("Renamed")).unwrap());
    let Outcome::Synced(third) = puller.sync(&t, &o).await.unwrap() else { panic!("not synced") };
    assert_eq!((third.groups_updated, third.members_added, third.groups_skipped), (1, 1, 1), "{third}");
    double.stop().await;
}

/// A server that ignores `expand` (the spec makes `_embedded` optional): each app user's Okta
/// user and each app group's group is asked for, and mapped as if it had been embedded —
/// the login as userName, the Okta user's status included.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_embeds_nothing_is_asked_for_each_user_and_group() {
    use crate::domain::Resource;
    use crate::pull::sync::{Outcome, RunOptions};
    use serde_json::json;

    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let o =
        okta_double::Options { tokens: vec![DOUBLE_TOKEN.into()], no_expand: true, ..okta_double::Options::default() };
    let double = okta_double::Double::start(o).await.unwrap();
    double.with(|d| *d = okta_double::Directory::generate(30, 3, 5));
    tenant(&s, "bare", Mode::OktaApi).await;
    let t = id("bare");
    configured(&s, &t, &double).await;
    let puller = s.puller().unwrap();
    double.reset_requests();
    let Outcome::Synced(first) = puller.sync(&t, &RunOptions::default()).await.unwrap() else { panic!("not synced") };
    assert_eq!((first.created, first.groups_created), (30, 3), "{first}");
    let r = double.requests();
    assert_eq!((r.path("/api/v1/users/{id}"), r.path("/api/v1/groups/{groupId}")), (30, 3));

    // The Okta login changes (the app's credentials.userName does not), and another user is
    // suspended in Okta (only the Okta user says so).
    let (renamed, suspended) = double.with(|d| {
        let ids: Vec<String> = d.app_users().map(|(id, _)| id.clone()).take(2).collect();
        d.update_profile(&ids[0], "login", json!("renamed.user@example.com")).unwrap();
        d.set_user_status(&ids[1], okta_double::UserStatus::Suspended).unwrap();
        (ids[0].clone(), ids[1].clone())
    });
    let Outcome::Synced(second) = puller.sync(&t, &RunOptions::default()).await.unwrap() else { panic!("not synced") };
    assert_eq!((second.updated, second.deactivated), (1, 1), "{second}");
    let users = s.directory.all(&puller_caller(&t), Resource::User).await.unwrap();
    let by = |x: &str| users.iter().find(|u| u.external_id() == Some(x)).unwrap();
    assert_eq!(by(&renamed).attrs["userName"], json!("renamed.user@example.com"));
    assert_eq!(by(&suspended).attrs["active"], json!(false));
    let groups = s.directory.all(&puller_caller(&t), Resource::Group).await.unwrap();
    let names: std::collections::BTreeSet<String> = double.with(|d| {
        d.app_groups().map(|(g, _)| d.group(g).unwrap().profile["name"].as_str().unwrap().to_owned()).collect()
    });
    assert_eq!(
        groups
            .iter()
            .map(|g| g.attrs["displayName"].as_str().unwrap().to_owned())
            .collect::<std::collections::BTreeSet<_>>(),
        names
    );
    double.stop().await;
}
