//! Fixtures shared by the fuzz targets: a realistic user and group, as a client writes
//! them (Okta/Entra shapes) and as Inlet renders them.

use inlet_shared::domain::records::Stored;
use inlet_shared::scim::resource::normalize;
use inlet_shared::scim::schema::{GROUP_TYPE, ResourceType, USER_TYPE};
use serde_json::{Map, Value, json};

pub const USER_ID: &str = "2819c223-7f76-453a-919d-413861904646";
pub const GROUP_ID: &str = "e9e30dba-f08f-4109-8486-d5c6a331660a";
pub const BASE: &str = "https://example.com/default/scim/v2";

/// A user body with every kind of attribute: simple, complex, multi-valued, extension.
pub fn user_body() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": "bjensen@example.com",
        "externalId": "00u1abcd",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": "True",
        "password": "t1meMa$heen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"value": "555-555-4444", "type": "mobile"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                       "region": "CA", "postalCode": "91608", "country": "USA", "primary": true}],
        "roles": [{"value": "admin", "display": "Administrator"}],
        "entitlements": ["sales"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

pub fn group_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Tour Guides",
        "externalId": "00g1abcd"
    })
}

/// The canonical attributes of `body`; the fixtures are valid, so failure is a harness bug.
pub fn normalized(body: &Value, rt: &ResourceType) -> Map<String, Value> {
    match normalize(body, rt) {
        Ok(attrs) => attrs,
        Err(e) => panic!("fixture does not normalise for {}: {e}", rt.name),
    }
}

/// How Inlet renders `attrs` (with id and meta), as filters see a stored resource.
pub fn rendered(id: &str, attrs: Map<String, Value>, rt: &ResourceType) -> Value {
    let stored = Stored {
        id: id.to_owned(),
        created: "2024-01-23T04:56:22.000Z".to_owned(),
        last_modified: "2024-05-13T04:42:34.000Z".to_owned(),
        attrs,
        source: inlet_shared::domain::Source::Manual,
        registry: 0,
        unique: Vec::new(),
        version: 3,
    };
    stored.render(rt, BASE)
}

pub fn rendered_user() -> Value {
    rendered(USER_ID, normalized(&user_body(), &USER_TYPE), &USER_TYPE)
}

/// The rendered group, with the members the list endpoints add from member records.
pub fn rendered_group() -> Value {
    let mut group = rendered(GROUP_ID, normalized(&group_body(), &GROUP_TYPE), &GROUP_TYPE);
    if let Some(m) = group.as_object_mut() {
        m.insert(
            "members".to_owned(),
            json!([
                {"value": USER_ID, "display": "Babs Jensen", "type": "User", "$ref": format!("{BASE}/Users/{USER_ID}")},
                {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge", "type": "User"}
            ]),
        );
    }
    group
}
