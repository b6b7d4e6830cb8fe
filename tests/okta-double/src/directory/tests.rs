use super::Directory;
use super::model::{AppUserStatus, DirectoryError, Scope, UserStatus};
use serde_json::{Map, Value, json};

fn profile(login: &str) -> Map<String, Value> {
    json!({"login": login, "email": login, "firstName": "F", "lastName": "L"}).as_object().cloned().unwrap()
}

#[test]
fn group_assignment_derives_app_users_and_takes_them_back() {
    let mut d = Directory::new(1);
    let g = d.add_group("Eng", "");
    let (a, b) = (d.add_user(profile("a@x")), d.add_user(profile("b@x")));
    d.add_member(&g, &a).unwrap();
    assert!(d.app_user(&a).is_none(), "an unassigned group assigns nothing");
    d.assign_group(&g).unwrap();
    assert_eq!(d.app_user(&a).unwrap().scope, Scope::Group);
    assert_eq!(d.app_user(&a).unwrap().user_name, "a@x");
    d.add_member(&g, &b).unwrap();
    d.assign(&b).unwrap();
    assert_eq!(d.app_user(&b).unwrap().scope, Scope::User, "a direct assignment wins");
    d.remove_member(&g, &a).unwrap();
    d.remove_member(&g, &b).unwrap();
    assert!(d.app_user(&a).is_none(), "group-only app user gone with the membership");
    assert!(d.app_user(&b).is_some(), "direct assignment stays");
    d.add_member(&g, &a).unwrap();
    d.unassign_group(&g).unwrap();
    assert!(d.app_user(&a).is_none());
    assert_eq!(d.unassign_group(&g), Err(DirectoryError::GroupNotAssigned(g.clone())));
}

#[test]
fn deactivation_keeps_memberships_and_reactivation_restores_group_assignment() {
    let mut d = Directory::new(2);
    let g = d.add_group("Eng", "");
    d.assign_group(&g).unwrap();
    let a = d.add_user(profile("a@x"));
    d.add_member(&g, &a).unwrap();
    let membership = d.group(&g).unwrap().last_membership_updated;
    d.set_user_status(&a, UserStatus::Suspended).unwrap();
    assert!(d.app_user(&a).is_some(), "suspension keeps the assignment");
    d.set_user_status(&a, UserStatus::Deprovisioned).unwrap();
    assert!(d.app_user(&a).is_none());
    assert!(d.group(&g).unwrap().members.contains(&a));
    assert_eq!(d.group(&g).unwrap().last_membership_updated, membership);
    d.set_user_status(&a, UserStatus::Active).unwrap();
    assert_eq!(d.app_user(&a).map(|u| u.scope), Some(Scope::Group));
}

#[test]
fn every_mutation_stamps_what_it_touches_later_than_before() {
    let mut d = Directory::generate(5, 2, 3);
    let (id, before) = d.app_users().next().map(|(id, a)| (id.clone(), a.last_updated)).unwrap();
    let user_before = d.user(&id).unwrap().last_updated;
    d.update_profile(&id, "department", json!("Legal")).unwrap();
    let user_after = d.user(&id).unwrap().last_updated;
    assert!(user_after > user_before);
    d.set_app_user_status(&id, AppUserStatus::Inactive).unwrap();
    let app = d.app_user(&id).unwrap();
    assert!(app.last_updated > before && app.status_changed == app.last_updated && app.last_updated > user_after);
    let g = d.groups().next().unwrap().id.clone();
    let (updated, membership) = (d.group(&g).unwrap().last_updated, d.group(&g).unwrap().last_membership_updated);
    d.rename_group(&g, "Renamed").unwrap();
    assert!(d.group(&g).unwrap().last_updated > updated);
    assert_eq!(d.group(&g).unwrap().last_membership_updated, membership, "a rename is no membership change");
    d.unassign(&id).unwrap();
    assert_eq!(d.unassign(&id), Err(DirectoryError::UserNotAssigned(id.clone())));
    assert_eq!(d.assign("00uNope"), Err(DirectoryError::NoUser("00uNope".into())));
}
