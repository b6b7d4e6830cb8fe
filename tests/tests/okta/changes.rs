//! One large initial sync, then each kind of change in Okta on the same tenant (a resync is
//! cheap; the initial one is not).

use super::*;
use okta_double::{AppUserStatus, UserStatus};
use std::time::Instant;

/// `users` with the one whose externalId is `okta_id` left out.
fn without(users: &[Value], okta_id: &str) -> Vec<Value> {
    users.iter().filter(|u| u["externalId"] != okta_id).cloned().collect()
}

fn by_okta<'a>(users: &'a [Value], okta_id: &str) -> &'a Value {
    users.iter().find(|u| u["externalId"] == okta_id).unwrap()
}

/// The first active, user-scoped app user at an even index >= `from` that is (or is not) a
/// member of `group`; its index and id.
fn pick(d: &Double, from: usize, group: &str, member: bool) -> (usize, String) {
    (from..)
        .step_by(2)
        .map(|i| (i, nth(d, i)))
        .find(|(_, id)| d.with(|dir| dir.group(group).unwrap().members.contains(id) == member))
        .unwrap()
}

#[test]
fn initial_sync_then_each_change() {
    let (n, g) = (size(10_000, 60), size(200, 4));
    let d = double(fast(), n, g, 11);
    let cli = Cli::new();
    okta_tenant(&cli, "acme", &d);
    assert_eq!(status(&cli, "acme")["status"], "Pending initial sync");

    // 1. Initial sync.
    let started = Instant::now();
    let st = sync_now(&cli, "acme");
    eprintln!("okta e2e: initial sync of {n} users / {g} groups took {:.1} s", started.elapsed().as_secs_f64());
    let active_app_users = d.with(|dir| {
        dir.app_users().filter(|(id, au)| expected_user(dir.user(id).unwrap(), au)["active"] == true).count()
    });
    assert_eq!(active_app_users, n);
    assert_eq!(
        counts(&st),
        only(&[
            ("created", n as u64),
            ("groupsCreated", g as u64),
            ("membersAdded", st["counts"]["membersAdded"].as_u64().unwrap())
        ])
    );
    let memberships: usize = d.with(|dir| {
        dir.app_groups()
            .map(|(gid, _)| dir.group(gid).unwrap().members.iter().filter(|m| dir.app_user(m).is_some()).count())
            .sum()
    });
    assert_eq!(st["counts"]["membersAdded"], memberships as u64);
    let (users0, groups0) = check(&cli, "acme", &d);
    assert_eq!(users0.len(), n);
    assert_eq!(groups0.len(), g);
    // The generated org has app-profile overrides and null displayNames: both were mapped.
    assert!(users0.iter().any(|u| u["displayName"].as_str().unwrap().ends_with(" (app)")));
    assert!(users0.iter().any(|u| u[ENTERPRISE]["department"] == "Contractors"));

    // 2. Unchanged resync: nothing counted, nothing rewritten, no group re-listed.
    d.reset_requests();
    let st = sync_now(&cli, "acme");
    assert_eq!(counts(&st), only(&[]));
    assert_eq!(d.requests().path(GROUP_USERS), 0, "unchanged groups are not re-listed");
    let (users1, groups1) = lists(&cli, "acme");
    same(&users1, &users0, "users rewritten by an unchanged resync");
    same(&groups1, &groups0, "groups rewritten by an unchanged resync");

    // 3. One profile change: that user alone; then a blank displayName: "First Last".
    let ada = nth(&d, 4); // index 4: empty app profile, a displayName
    d.with(|dir| dir.update_profile(&ada, "department", json!("Research"))).unwrap();
    let st = sync_now(&cli, "acme");
    assert_eq!(counts(&st), only(&[("updated", 1)]));
    let (users2, _) = check(&cli, "acme", &d);
    assert_eq!(by_okta(&users2, &ada)[ENTERPRISE]["department"], "Research");
    assert_ne!(by_okta(&users2, &ada)["meta"]["version"], by_okta(&users0, &ada)["meta"]["version"]);
    same(&without(&users2, &ada), &without(&users0, &ada), "only the changed user is rewritten");
    let blank = nth(&d, 8); // its displayName is "First Last" already: give it another first
    d.with(|dir| dir.update_profile(&blank, "displayName", json!("Nick"))).unwrap();
    let st = sync_now(&cli, "acme");
    assert_eq!(counts(&st), only(&[("updated", 1)]));
    assert_eq!(by_okta(&check(&cli, "acme", &d).0, &blank)["displayName"], "Nick");
    d.with(|dir| dir.update_profile(&blank, "displayName", json!("  "))).unwrap();
    let st = sync_now(&cli, "acme");
    assert_eq!(counts(&st), only(&[("updated", 1)]));
    let (users3, _) = check(&cli, "acme", &d);
    let (first, last) = d.with(|dir| {
        let p = &dir.user(&blank).unwrap().profile;
        (p["firstName"].as_str().unwrap().to_owned(), p["lastName"].as_str().unwrap().to_owned())
    });
    assert_eq!(by_okta(&users3, &blank)["displayName"], format!("{first} {last}"));

    // 4. Off: unassigned, DEPROVISIONED, SUSPENDED, app user INACTIVE; then back on.
    let [unassigned, deprovisioned, suspended, inactive] = [12, 16, 20, 24].map(|i| nth(&d, i));
    d.with(|dir| {
        dir.unassign(&unassigned)?;
        dir.set_user_status(&deprovisioned, UserStatus::Deprovisioned)?;
        dir.set_user_status(&suspended, UserStatus::Suspended)?;
        dir.set_app_user_status(&inactive, AppUserStatus::Inactive)
    })
    .unwrap();
    let st = sync_now(&cli, "acme");
    assert_eq!(
        counts(&st),
        only(&[("deactivated", 4), ("membersRemoved", st["counts"]["membersRemoved"].as_u64().unwrap())])
    );
    let (users4, _) = check(&cli, "acme", &d);
    assert_eq!(users4.len(), n, "deactivated users are kept");
    for id in [&unassigned, &deprovisioned, &suspended, &inactive] {
        assert_eq!(by_okta(&users4, id)["active"], false, "{id}");
    }
    d.with(|dir| {
        dir.assign(&unassigned)?;
        dir.set_user_status(&suspended, UserStatus::Active)?;
        dir.set_app_user_status(&inactive, AppUserStatus::Provisioned)
    })
    .unwrap();
    let st = sync_now(&cli, "acme");
    assert_eq!(counts(&st)["reactivated"], 3);
    assert_eq!((counts(&st)["deactivated"], counts(&st)["created"]), (0, 0));
    let (users5, _) = check(&cli, "acme", &d);
    for id in [&unassigned, &suspended, &inactive] {
        assert_eq!(by_okta(&users5, id)["active"], true, "{id}");
    }
    assert_eq!(by_okta(&users5, &deprovisioned)["active"], false);

    // 5. Groups: a member added and one removed, then a group unassigned and one renamed.
    let gids: Vec<String> = d.with(|dir| dir.app_groups().map(|(id, _)| id.clone()).take(4).collect());
    let (_, joiner) = pick(&d, 28, &gids[0], false);
    let (_, leaver) = pick(&d, 28, &gids[1], true);
    d.with(|dir| {
        dir.add_member(&gids[0], &joiner)?;
        dir.remove_member(&gids[1], &leaver)
    })
    .unwrap();
    d.reset_requests();
    let st = sync_now(&cli, "acme");
    assert_eq!(counts(&st), only(&[("membersAdded", 1), ("membersRemoved", 1)]));
    assert_eq!(
        d.requests().path(GROUP_USERS),
        member_pages(&d, &[&gids[0], &gids[1]]),
        "only the changed groups are re-listed"
    );
    check(&cli, "acme", &d);
    d.with(|dir| {
        dir.unassign_group(&gids[2])?;
        dir.rename_group(&gids[3], "Renamed in Okta")
    })
    .unwrap();
    d.reset_requests();
    let st = sync_now(&cli, "acme");
    let c = counts(&st);
    assert_eq!((c["groupsDeleted"], c["groupsUpdated"], c["groupsCreated"]), (1, 1, 0), "{c:?}");
    assert_eq!(d.requests().path(GROUP_USERS), 0, "no membership moved");
    let (_, groups6) = check(&cli, "acme", &d);
    assert!(groups6.iter().all(|x| x["externalId"] != gids[2].as_str()), "an unassigned group is removed");
    assert!(groups6.iter().any(|x| x["displayName"] == "Renamed in Okta"));
    stop(d);
}

/// A person deleted in Okta and created again with the same login gets a new Okta id: the
/// record holding the login is taken over (kept, active, the new id as externalId), not
/// deactivated as gone and not refused as a duplicate.
#[test]
fn a_login_re_created_in_okta_takes_over_its_record() {
    let d = double(fast(), 20, 2, 21);
    let cli = Cli::new();
    okta_tenant(&cli, "acme", &d);
    sync_now(&cli, "acme");
    let old = nth(&d, 3);
    let login =
        d.with(|dir| dir.user(&old).and_then(|u| u.profile.get("login").and_then(Value::as_str).map(str::to_owned)));
    let login = login.unwrap();
    let before: Vec<Value> =
        list(&cli, "users", "acme").into_iter().filter(|u| u["userName"] == login.as_str()).collect();
    assert_eq!(before.len(), 1);
    let new = d.with(|dir| {
        dir.delete_user(&old).unwrap();
        let mut profile = Map::new();
        for (k, v) in [("login", &login), ("email", &login)] {
            profile.insert(k.into(), json!(v));
        }
        profile.insert("firstName".into(), json!("Re"));
        profile.insert("lastName".into(), json!("Born"));
        let id = dir.add_user(profile);
        dir.assign(&id).unwrap();
        id
    });
    let st = sync_now(&cli, "acme");
    assert_eq!(st["status"], "Synced");
    assert_eq!(st["counts"]["deactivated"], 0, "{st:#}");
    let after: Vec<Value> =
        list(&cli, "users", "acme").into_iter().filter(|u| u["userName"] == login.as_str()).collect();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], before[0]["id"], "the record is kept");
    assert_eq!(after[0]["externalId"], new.as_str());
    assert_eq!(after[0]["active"], true);
    assert_eq!(after[0]["displayName"], "Re Born");
    stop(d);
}
