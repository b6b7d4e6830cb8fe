//! The JSON Okta sends for each record, after the spec's schemas and examples
//! (`AppUserListEx`, `EmbeddedGroupAssignmentSampleResponse`, `group-example`,
//! `user-example`); links are absolute on the double's base URL.

use crate::clock::iso;
use crate::directory::Directory;
use crate::directory::model::{AppUser, Group, GroupAssignment, User};
use serde_json::{Map, Value, json};

/// Where the records live: the double's base URL and the app's id.
pub struct Site<'a> {
    pub base: &'a str,
    pub app_id: &'a str,
}

fn opt_iso(ms: Option<u64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::from(iso(ms)))
}

/// A user as `listGroupUsers` and `_embedded.user` carry it: `_links` holds only `self`, as
/// the spec says of collections.
pub fn user(site: &Site<'_>, u: &User) -> Value {
    json!({
        "id": u.id,
        "status": u.status,
        "created": iso(u.created),
        "activated": opt_iso(u.activated),
        "statusChanged": opt_iso(u.status_changed),
        "lastLogin": null,
        "lastUpdated": iso(u.last_updated),
        "passwordChanged": opt_iso(u.password_changed),
        "type": {"id": "otyInletDoubleDefault"},
        "profile": u.profile,
        "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": format!("{}/api/v1/users/{}", site.base, u.id)}},
    })
}

/// `getUser`: the collection form plus the lifecycle links of its status.
pub fn single_user(site: &Site<'_>, u: &User) -> Value {
    let mut v = user(site, u);
    if let Some(links) = v.get_mut("_links").and_then(Value::as_object_mut) {
        let base = format!("{}/api/v1/users/{}", site.base, u.id);
        for (rel, path) in [("suspend", "lifecycle/suspend"), ("deactivate", "lifecycle/deactivate")] {
            links.insert(rel.to_owned(), json!({"href": format!("{base}/{path}"), "method": "POST"}));
        }
    }
    v
}

/// An `AppUser`; with `embedded` (expand=user) the Okta user under `_embedded.user`.
pub fn app_user(site: &Site<'_>, d: &Directory, id: &str, a: &AppUser, embedded: Option<&User>) -> Value {
    let mut links = Map::new();
    links.insert("app".into(), json!({"href": format!("{}/api/v1/apps/{}", site.base, site.app_id)}));
    links.insert("user".into(), json!({"href": format!("{}/api/v1/users/{id}", site.base)}));
    if a.scope == crate::Scope::Group
        && let Some(g) = d.assigning_group(id).and_then(|g| d.group(g))
    {
        let name = g.profile.get("name").cloned().unwrap_or(Value::Null);
        links.insert("group".into(), json!({"name": name, "href": format!("{}/api/v1/groups/{}", site.base, g.id)}));
    }
    let mut v = json!({
        "id": id,
        "created": iso(a.created),
        "lastUpdated": iso(a.last_updated),
        "scope": a.scope,
        "status": a.status,
        "statusChanged": iso(a.status_changed),
        "passwordChanged": null,
        "syncState": a.sync_state,
        "credentials": {"userName": a.user_name},
        "profile": a.profile,
        "_links": links,
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(external) = &a.external_id {
            obj.insert("externalId".into(), Value::from(external.as_str()));
            obj.insert("lastSync".into(), Value::from(iso(a.last_updated)));
        }
        if let Some(u) = embedded {
            obj.insert("_embedded".into(), json!({"user": user(site, u)}));
        }
    }
    v
}

/// A `Group` (`OKTA_GROUP`, objectClass `okta:user_group`).
pub fn group(site: &Site<'_>, g: &Group) -> Value {
    let href = format!("{}/api/v1/groups/{}", site.base, g.id);
    json!({
        "id": g.id,
        "created": iso(g.created),
        "lastUpdated": iso(g.last_updated),
        "lastMembershipUpdated": iso(g.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": "OKTA_GROUP",
        "profile": g.profile,
        "_links": {
            "logo": [
                {"name": "medium", "href": format!("{}/img/logos/groups/okta-medium.png", site.base), "type": "image/png"},
                {"name": "large", "href": format!("{}/img/logos/groups/okta-large.png", site.base), "type": "image/png"},
            ],
            "users": {"href": format!("{href}/users")},
            "apps": {"href": format!("{href}/apps")},
        },
    })
}

/// An `ApplicationGroupAssignment`; with `embedded` (expand=group) the group under
/// `_embedded.group`.
pub fn app_group(site: &Site<'_>, id: &str, a: &GroupAssignment, embedded: Option<&Group>) -> Value {
    let app = format!("{}/api/v1/apps/{}", site.base, site.app_id);
    let mut v = json!({
        "id": id,
        "lastUpdated": iso(a.last_updated),
        "priority": a.priority,
        "profile": a.profile,
        "_links": {
            "app": {"href": app},
            "self": {"href": format!("{app}/groups/{id}")},
            "group": {"href": format!("{}/api/v1/groups/{id}", site.base)},
        },
    });
    if let (Some(obj), Some(g)) = (v.as_object_mut(), embedded) {
        obj.insert("_embedded".into(), json!({"group": group(site, g)}));
    }
    v
}
