//! Okta app users and groups → SCIM resources (issue 11's mapping). Pure.
//!
//! The source is the Okta user profile (`_embedded.user.profile`); an app-profile attribute of
//! the same name overrides it when it is not null (issue 11: "a non-null app-profile value
//! overriding it"; a number or boolean is taken as its text, and a blank string overrides too,
//! leaving the attribute out). App profiles hold only what the app's profile schema defines;
//! Axis-style setups put the attributes there. userName is the Okta user's `login` (not an
//! app-profile attribute); externalId is the Okta user id.

use super::OktaError;
use super::model::{AppUser, Group, profile_text};
use crate::scim::schema::{ENTERPRISE_SCHEMA, USER_SCHEMA};
use serde_json::{Map, Value, json};

/// One assigned user, ready to reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledUser {
    pub okta_id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub active: bool,
}

/// AppUserStatus values of an assignment that does not grant use of the app.
const INACTIVE_APP_STATUSES: [&str; 5] = ["INACTIVE", "SUSPENDED", "DEPROVISIONED", "REVOKED", "UNASSIGNED"];
/// UserStatus values of an Okta user who may not sign in anywhere.
const INACTIVE_USER_STATUSES: [&str; 2] = ["SUSPENDED", "DEPROVISIONED"];

/// Active unless the assignment or the Okta user is switched off (statuses compared exactly,
/// as the spec's enums spell them; a status not sent switches nothing off).
pub fn pulled_active(app_status: Option<&str>, user_status: Option<&str>) -> bool {
    !app_status.is_some_and(|s| INACTIVE_APP_STATUSES.contains(&s))
        && !user_status.is_some_and(|s| INACTIVE_USER_STATUSES.contains(&s))
}

/// Maps one app user fetched with `expand=user`. Without an embedded user (an old or odd
/// answer) the userName falls back to the assignment's `credentials.userName`, which is the
/// app's username and may differ from the Okta login; the other attributes then come from the
/// app profile alone. Fails (BadResponse) when no userName can be found.
pub fn pulled_user(u: &AppUser) -> Result<PulledUser, OktaError> {
    let user = u.embedded_user.as_ref();
    let user_name = match user {
        Some(okta) => non_blank(okta.profile.login.as_deref())
            .ok_or_else(|| OktaError::BadResponse(format!("Okta user {} has no profile.login", u.id)))?,
        None => non_blank(u.credentials_user_name.as_deref()).ok_or_else(|| {
            OktaError::BadResponse(format!("app user {} has neither an embedded user nor credentials.userName", u.id))
        })?,
    };
    let profile = user.map(|okta| &okta.profile);
    let attr = |key: &str, base: Option<&String>| match from_app(&u.profile, key) {
        Some(app) => non_blank(Some(&app)),
        None => non_blank(base.map(String::as_str)),
    };
    let display = attr("displayName", profile.and_then(|p| p.display_name.as_ref()));
    let given_name = attr("firstName", profile.and_then(|p| p.first_name.as_ref()));
    let family_name = attr("lastName", profile.and_then(|p| p.last_name.as_ref()));
    let display_name = display.or_else(|| {
        let joined = format!("{} {}", given_name.as_deref().unwrap_or(""), family_name.as_deref().unwrap_or(""));
        non_blank(Some(&joined))
    });
    Ok(PulledUser {
        okta_id: u.id.clone(),
        user_name,
        display_name,
        given_name,
        family_name,
        email: attr("email", profile.and_then(|p| p.email.as_ref())),
        department: attr("department", profile.and_then(|p| p.department.as_ref())),
        division: attr("division", profile.and_then(|p| p.division.as_ref())),
        active: pulled_active(u.status.as_deref(), user.and_then(|okta| okta.status.as_deref())),
    })
}

/// An app-profile value as text, if it overrides the Okta profile: read as the Okta
/// profile's attributes are, so null, absent, a list or an object do not.
fn from_app(app: &Map<String, Value>, key: &str) -> Option<String> {
    app.get(key).cloned().and_then(profile_text)
}

fn non_blank(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The SCIM User body for a pulled user (no id, no meta): absent attributes are left out,
/// never sent as "".
pub fn scim_user(p: &PulledUser) -> Value {
    let mut body = Map::new();
    let enterprise = enterprise(p);
    let schemas = if enterprise.is_empty() { json!([USER_SCHEMA]) } else { json!([USER_SCHEMA, ENTERPRISE_SCHEMA]) };
    body.insert("schemas".into(), schemas);
    body.insert("userName".into(), json!(p.user_name));
    body.insert("externalId".into(), json!(p.okta_id));
    if let Some(d) = &p.display_name {
        body.insert("displayName".into(), json!(d));
    }
    let mut name = Map::new();
    if let Some(g) = &p.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &p.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        body.insert("name".into(), Value::Object(name));
    }
    if let Some(e) = &p.email {
        body.insert("emails".into(), json!([{"value": e, "type": "work", "primary": true}]));
    }
    body.insert("active".into(), json!(p.active));
    if !enterprise.is_empty() {
        body.insert(ENTERPRISE_SCHEMA.into(), Value::Object(enterprise));
    }
    Value::Object(body)
}

fn enterprise(p: &PulledUser) -> Map<String, Value> {
    let mut ext = Map::new();
    if let Some(d) = &p.department {
        ext.insert("department".into(), json!(d));
    }
    if let Some(d) = &p.division {
        ext.insert("division".into(), json!(d));
    }
    ext
}

/// The SCIM displayName of an assigned group: its `profile.name`.
pub fn scim_group_name(g: &Group) -> Option<String> {
    non_blank(g.name.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_user(v: Value) -> AppUser {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn app_profile_overrides_and_nulls_do_not() {
        let u = app_user(json!({"id":"00u1","status":"ACTIVE",
            "profile":{"displayName":null,"firstName":"Sammy","lastName":null,"department":"Sales","division":7},
            "_embedded":{"user":{"id":"00u1","status":"ACTIVE","profile":{"login":"sam@acme.example","firstName":"Sam",
              "lastName":"Smith","email":"sam@acme.example","department":"Eng","division":"R&D","displayName":" "}}}}));
        let p = pulled_user(&u).unwrap();
        assert_eq!(
            p,
            PulledUser {
                okta_id: "00u1".into(),
                user_name: "sam@acme.example".into(),
                // Blank displayName everywhere: first + last.
                display_name: Some("Sammy Smith".into()),
                given_name: Some("Sammy".into()),
                family_name: Some("Smith".into()),
                email: Some("sam@acme.example".into()),
                department: Some("Sales".into()),
                // A number in the app profile overrides as its text.
                division: Some("7".into()),
                active: true,
            }
        );
        // A blank app-profile value is not null: it overrides, and the attribute is left out
        // (displayName then falls back to first + last).
        let u = app_user(json!({"id":"00u1","status":"ACTIVE",
            "profile":{"displayName":" ","lastName":"","department":false,"division":["x"]},
            "_embedded":{"user":{"id":"00u1","profile":{"login":"a@x","firstName":"Ann","lastName":"Bell",
              "displayName":"Okta Name","department":"Eng","division":"R&D"}}}}));
        let p = pulled_user(&u).unwrap();
        assert_eq!(
            (p.display_name.as_deref(), p.family_name, p.department.as_deref(), p.division.as_deref()),
            (Some("Ann"), None, Some("false"), Some("R&D"))
        );
    }

    #[test]
    fn display_name_fallbacks() {
        let with = |app: Value, okta: Value| {
            let u = app_user(
                json!({"id":"00u1","status":"ACTIVE","profile":app,"_embedded":{"user":{"id":"00u1","profile":okta}}}),
            );
            pulled_user(&u).unwrap().display_name
        };
        assert_eq!(with(json!({}), json!({"login":"a@x","displayName":" Ann B "})), Some("Ann B".into()));
        assert_eq!(
            with(json!({"displayName":"App Name"}), json!({"login":"a@x","displayName":"Ann"})),
            Some("App Name".into())
        );
        assert_eq!(with(json!({}), json!({"login":"a@x","firstName":"Ann"})), Some("Ann".into()));
        assert_eq!(with(json!({}), json!({"login":"a@x","lastName":"Bell"})), Some("Bell".into()));
        assert_eq!(with(json!({}), json!({"login":"a@x","displayName":""})), None);
    }

    #[test]
    fn statuses() {
        for s in ["ACTIVE", "PROVISIONED", "STAGED", "PENDING", "IMPLICIT", "active"] {
            assert!(pulled_active(Some(s), Some("ACTIVE")), "{s}");
        }
        for s in INACTIVE_APP_STATUSES {
            assert!(!pulled_active(Some(s), Some("ACTIVE")), "{s}");
        }
        assert!(!pulled_active(Some("ACTIVE"), Some("SUSPENDED")));
        assert!(!pulled_active(Some("ACTIVE"), Some("DEPROVISIONED")));
        assert!(pulled_active(Some("ACTIVE"), Some("LOCKED_OUT")));
        assert!(pulled_active(Some("ACTIVE"), Some("PASSWORD_EXPIRED")));
        assert!(pulled_active(Some("ACTIVE"), None));
        let u = app_user(
            json!({"id":"00u1","status":"PROVISIONED","_embedded":{"user":{"id":"00u1","status":"SUSPENDED","profile":{"login":"a@x"}}}}),
        );
        assert!(!pulled_user(&u).unwrap().active);
    }

    #[test]
    fn user_name_sources() {
        // No embedded user: the app's credentials.userName.
        let u = app_user(
            json!({"id":"00u1","status":"ACTIVE","credentials":{"userName":"app-name"},"profile":{"email":"e@x"}}),
        );
        let p = pulled_user(&u).unwrap();
        assert_eq!((p.user_name.as_str(), p.email.as_deref()), ("app-name", Some("e@x")));
        // An embedded user without a login is an error, not a silent fallback.
        let u = app_user(
            json!({"id":"00u1","status":"ACTIVE","credentials":{"userName":"app-name"},"_embedded":{"user":{"id":"00u1","profile":{}}}}),
        );
        assert!(matches!(pulled_user(&u), Err(OktaError::BadResponse(_))));
        let u = app_user(json!({"id":"00u1","status":"ACTIVE"}));
        assert!(pulled_user(&u).is_err());
    }

    #[test]
    fn scim_bodies_leave_out_what_is_absent() {
        let full = PulledUser {
            okta_id: "00u1".into(),
            user_name: "sam@acme.example".into(),
            display_name: Some("Sam Smith".into()),
            given_name: Some("Sam".into()),
            family_name: None,
            email: Some("sam@acme.example".into()),
            department: None,
            division: Some("R&D".into()),
            active: false,
        };
        assert_eq!(
            scim_user(&full),
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
                "userName": "sam@acme.example",
                "externalId": "00u1",
                "displayName": "Sam Smith",
                "name": {"givenName": "Sam"},
                "emails": [{"value": "sam@acme.example", "type": "work", "primary": true}],
                "active": false,
                ENTERPRISE_SCHEMA: {"division": "R&D"},
            })
        );
        let bare =
            PulledUser { display_name: None, given_name: None, email: None, division: None, active: true, ..full };
        assert_eq!(
            scim_user(&bare),
            json!({"schemas": [USER_SCHEMA], "userName": "sam@acme.example", "externalId": "00u1", "active": true})
        );
    }

    #[test]
    fn group_names() {
        let g: crate::okta::AppGroup =
            serde_json::from_value(json!({"id":"00g1","_embedded":{"group":{"id":"00g1","profile":{"name":" Eng "}}}}))
                .unwrap();
        assert_eq!(g.group.as_ref().and_then(scim_group_name), Some("Eng".into()));
        let g: Group = serde_json::from_value(json!({"id":"00g1","profile":{"name":"  "}})).unwrap();
        assert_eq!(scim_group_name(&g), None);
    }
}
