//! What the client reads from Okta, per the Management API spec's schemas (AppUser, User,
//! ApplicationGroupAssignment, Group, WellKnownOrgMetadata). Lenient: unknown fields are
//! ignored, missing or null optional fields are None, profiles keep every raw attribute.
//! Only the ids are required: nothing can be keyed without them. The profile attributes a
//! sync maps are read as text whatever their JSON type (`UserProfile` allows any), so one odd
//! value never fails a whole page.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One page of a listing and the `next` link (absolute, on the org's origin) if there is more.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// An assignment of a user to the app (`GET /api/v1/apps/{appId}/users?expand=user`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "RawAppUser")]
pub struct AppUser {
    /// The Okta user id (`00u…`).
    pub id: String,
    pub external_id: Option<String>,
    /// AppUserStatus (ACTIVE, PROVISIONED, DEPROVISIONED, …) as sent; the spec does not
    /// require it, and an assignment without one is taken as active.
    pub status: Option<String>,
    /// USER (direct) or GROUP (through a group).
    pub scope: Option<String>,
    pub last_updated: Option<String>,
    /// The app-user profile: only what the app's profile schema defines.
    pub profile: Map<String, Value>,
    /// `_embedded.user`, present with `expand=user`.
    pub embedded_user: Option<User>,
    pub credentials_user_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAppUser {
    id: String,
    external_id: Option<String>,
    status: Option<String>,
    scope: Option<String>,
    last_updated: Option<String>,
    // An app without profile attributes may send none, or null: an empty profile.
    #[serde(default, deserialize_with = "null_as_default")]
    profile: Map<String, Value>,
    credentials: Option<RawCredentials>,
    #[serde(rename = "_embedded")]
    embedded: Option<RawEmbeddedUser>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCredentials {
    user_name: Option<String>,
}

#[derive(Deserialize)]
struct RawEmbeddedUser {
    user: Option<User>,
}

impl From<RawAppUser> for AppUser {
    fn from(r: RawAppUser) -> Self {
        Self {
            id: r.id,
            external_id: r.external_id,
            status: r.status,
            scope: r.scope,
            last_updated: r.last_updated,
            profile: r.profile,
            embedded_user: r.embedded.and_then(|e| e.user),
            credentials_user_name: r.credentials.and_then(|c| c.user_name),
        }
    }
}

/// An Okta user (embedded in an app user, or from `GET /api/v1/groups/{groupId}/users`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    /// UserStatus (ACTIVE, SUSPENDED, DEPROVISIONED, …) as sent.
    pub status: Option<String>,
    pub last_updated: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub profile: UserProfile,
}

/// The Okta user profile's base attributes a sync maps, and every other attribute as sent.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    #[serde(default, deserialize_with = "text")]
    pub login: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub department: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub division: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A group assigned to the app (`GET /api/v1/apps/{appId}/groups?expand=group`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "RawAppGroup")]
pub struct AppGroup {
    /// The group id (`00g…`).
    pub id: String,
    pub last_updated: Option<String>,
    /// `_embedded.group`, present with `expand=group`.
    pub group: Option<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAppGroup {
    id: String,
    last_updated: Option<String>,
    #[serde(rename = "_embedded")]
    embedded: Option<RawEmbeddedGroup>,
}

#[derive(Deserialize)]
struct RawEmbeddedGroup {
    group: Option<Group>,
}

impl From<RawAppGroup> for AppGroup {
    fn from(r: RawAppGroup) -> Self {
        Self { id: r.id, last_updated: r.last_updated, group: r.embedded.and_then(|e| e.group) }
    }
}

/// An Okta group.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "RawGroup")]
pub struct Group {
    pub id: String,
    pub last_updated: Option<String>,
    pub last_membership_updated: Option<String>,
    /// GroupType: OKTA_GROUP, APP_GROUP or BUILT_IN.
    pub kind: Option<String>,
    /// `profile.name`.
    pub name: Option<String>,
    /// `profile.description`.
    pub description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGroup {
    id: String,
    last_updated: Option<String>,
    last_membership_updated: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    profile: Option<RawGroupProfile>,
}

#[derive(Deserialize)]
struct RawGroupProfile {
    name: Option<String>,
    description: Option<String>,
}

impl From<RawGroup> for Group {
    fn from(r: RawGroup) -> Self {
        let (name, description) = r.profile.map_or((None, None), |p| (p.name, p.description));
        Self {
            id: r.id,
            last_updated: r.last_updated,
            last_membership_updated: r.last_membership_updated,
            kind: r.kind,
            name,
            description,
        }
    }
}

/// `GET /.well-known/okta-organization`: the org id is the tenant-uniqueness key (it is the
/// same behind `*.okta.com` and a custom domain).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "RawOrgMetadata")]
pub struct OrgMetadata {
    pub id: String,
    /// `_links.organization.href`: the org's `*.okta.com` URL.
    pub organization: Option<String>,
    /// `_links.alternate.href`: its custom-domain URL.
    pub alternate: Option<String>,
    /// `idx` (Identity Engine) or `v1` (Classic).
    pub pipeline: Option<String>,
}

#[derive(Deserialize)]
struct RawOrgMetadata {
    id: String,
    pipeline: Option<String>,
    #[serde(rename = "_links")]
    links: Option<RawOrgLinks>,
}

#[derive(Deserialize)]
struct RawOrgLinks {
    organization: Option<RawHref>,
    alternate: Option<RawHref>,
}

#[derive(Deserialize)]
struct RawHref {
    href: Option<String>,
}

impl From<RawOrgMetadata> for OrgMetadata {
    fn from(r: RawOrgMetadata) -> Self {
        let (organization, alternate) =
            r.links.map_or((None, None), |l| (l.organization.and_then(|h| h.href), l.alternate.and_then(|h| h.href)));
        Self { id: r.id, organization, alternate, pipeline: r.pipeline }
    }
}

/// A profile attribute as text: a string as sent, a number or boolean in its JSON form, and
/// null, an array or an object as nothing (no single text says what they mean).
pub fn profile_text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// [`profile_text`] as a field's deserializer.
fn text<'de, D>(d: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(profile_text(Value::deserialize(d)?))
}

/// A member of a group (`GET /api/v1/groups/{groupId}/users`): only its id is used (whether
/// the member is an active app user is the app-user listing's to say).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Member {
    pub id: String,
}

/// `null` where an object is expected means the object is empty.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    // Not a fallback over a broken answer: Okta sends null for an empty profile.
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn app_user_with_embedded_user_from_the_spec_example() -> Result<(), serde_json::Error> {
        let list: Vec<AppUser> = serde_json::from_value(
            json!([{"id":"00u1dnq5S0CfjlkpABCD","externalId":"00u5edt3PNbbjzvIABCD","created":"2024-01-31T18:25:01.000Z",
          "lastUpdated":"2024-01-31T18:25:03.000Z","scope":"USER","status":"PROVISIONED","syncState":"SYNCHRONIZED",
          "credentials":{"userName":"saml.test@example.com"},
          "profile":{"displayName":"Saml O Test","email":"saml.test@example.com","firstName":"Saml","lastName":"Test","role":"Tester"},
          "_links":{"app":{"href":"https://x/api/v1/apps/0oajiqIRNXPPJBNZMGYL"}},
          "_embedded":{"user":{"id":"00u1dnq5S0CfjlkpABCD","status":"ACTIVE","lastUpdated":"2024-01-09T15:36:05.000Z",
             "profile":{"firstName":"Saml","lastName":"Test","login":"saml.test@example.com","email":"saml.test@example.com","costCenter":"C1"}}}}]),
        )?;
        let [u] = list.as_slice() else { panic!("one app user expected") };
        assert_eq!(u.id, "00u1dnq5S0CfjlkpABCD");
        assert_eq!(u.status.as_deref(), Some("PROVISIONED"));
        assert_eq!(u.scope.as_deref(), Some("USER"));
        assert_eq!(u.credentials_user_name.as_deref(), Some("saml.test@example.com"));
        assert_eq!(u.profile.get("role"), Some(&json!("Tester")));
        let user = u
            .embedded_user
            .as_ref()
            .map(|e| (e.status.as_deref(), e.profile.login.as_deref(), e.profile.rest.get("costCenter")));
        assert_eq!(user, Some((Some("ACTIVE"), Some("saml.test@example.com"), Some(&json!("C1")))));
        Ok(())
    }

    #[test]
    fn missing_and_null_fields_are_none() -> Result<(), serde_json::Error> {
        let u: AppUser = serde_json::from_value(
            json!({"id":"00u1","status":"ACTIVE","profile":null,"externalId":null,"_embedded":{}}),
        )?;
        assert!(u.profile.is_empty() && u.external_id.is_none() && u.embedded_user.is_none());
        let u: User = serde_json::from_value(json!({"id":"00u1","profile":null}))?;
        assert_eq!(u.profile, UserProfile::default());
        let u: User = serde_json::from_value(json!({"id":"00u1","profile":{"login":"a@b.c","displayName":null}}))?;
        assert_eq!((u.profile.login.as_deref(), u.profile.display_name), (Some("a@b.c"), None));
        // No status: an assignment taken as active (the spec does not require one).
        let u: AppUser = serde_json::from_value(json!({"id":"00u1"}))?;
        assert!(u.status.is_none());
        // Mapped attributes of any JSON type: text where one text says it, else nothing.
        let u: User = serde_json::from_value(json!({"id":"00u1","profile":{
            "login":"a@b.c","department":7,"division":["x"],"displayName":{"x":1},"firstName":true,"costCenter":[1]}}))?;
        let p = &u.profile;
        assert_eq!(
            (p.department.as_deref(), p.division.as_deref(), p.display_name.as_deref(), p.first_name.as_deref()),
            (Some("7"), None, None, Some("true"))
        );
        assert_eq!(p.rest.get("costCenter"), Some(&json!([1])));
        // Without an id nothing can be keyed.
        assert!(serde_json::from_value::<AppUser>(json!({"status":"ACTIVE"})).is_err());
        Ok(())
    }

    #[test]
    fn app_group_and_org_metadata() -> Result<(), serde_json::Error> {
        let g: AppGroup = serde_json::from_value(
            json!({"id":"00g15acRUy0SYb9GT0g4","priority":0,"lastUpdated":"2024-06-02T13:17:57.000Z","profile":{"department":"marketing"},
          "_embedded":{"group":{"id":"00g15acRUy0SYb9GT0g4","lastMembershipUpdated":"2024-06-02T13:03:13.000Z",
          "objectClass":["okta:user_group"],"type":"OKTA_GROUP","profile":{"name":"Football Group","description":"Group with professional footballers"}}}}),
        )?;
        let group = g.group.as_ref();
        assert_eq!(group.and_then(|g| g.name.as_deref()), Some("Football Group"));
        assert_eq!(group.and_then(|g| g.kind.as_deref()), Some("OKTA_GROUP"));
        assert_eq!(group.and_then(|g| g.last_membership_updated.as_deref()), Some("2024-06-02T13:03:13.000Z"));
        let m: OrgMetadata = serde_json::from_value(
            json!({"id":"00o47wwoytgsDqEtz0g7","_links":{"organization":{"href":"https://acme.okta.com"},"alternate":{"href":"https://login.acme.example"}},"pipeline":"idx"}),
        )?;
        assert_eq!(m.organization.as_deref(), Some("https://acme.okta.com"));
        assert_eq!(m.alternate.as_deref(), Some("https://login.acme.example"));
        assert_eq!(m.pipeline.as_deref(), Some("idx"));
        Ok(())
    }
}
