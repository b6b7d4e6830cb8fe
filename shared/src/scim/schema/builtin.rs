//! RFC 7643's schemas (§4, §8.7.1) and Inlet's read-only Source extension, as data.

use super::{AttrType, Attribute, Mutability, Returned, Schema};
use super::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, SOURCE_SCHEMA, USER_SCHEMA};

fn attr(name: &str, kind: AttrType) -> Attribute {
    Attribute {
        name: name.to_owned(),
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: super::Uniqueness::None,
        canonical: Vec::new(),
        reference_types: Vec::new(),
        description: String::new(),
        sub: Vec::new(),
        since: None,
    }
}
fn s(name: &str) -> Attribute {
    attr(name, AttrType::String)
}
fn reference(name: &str, types: &[&str]) -> Attribute {
    Attribute { reference_types: types.iter().map(|t| (*t).to_owned()).collect(), ..attr(name, AttrType::Reference) }
}
fn complex(name: &str, sub: Vec<Attribute>) -> Attribute {
    Attribute { sub, ..attr(name, AttrType::Complex) }
}
fn multi(name: &str, sub: Vec<Attribute>) -> Attribute {
    Attribute { multi: true, ..complex(name, sub) }
}

impl Attribute {
    fn required(self) -> Self {
        Self { required: true, ..self }
    }
    fn exact(self) -> Self {
        Self { case_exact: true, ..self }
    }
    fn read_only(self) -> Self {
        Self { mutability: Mutability::ReadOnly, ..self }
    }
    fn immutable(self) -> Self {
        Self { mutability: Mutability::Immutable, ..self }
    }
    fn returned(self, returned: Returned) -> Self {
        Self { returned, ..self }
    }
    fn unique(self) -> Self {
        Self { uniqueness: super::Uniqueness::Server, ..self }
    }
    fn canonical(self, values: &[&str]) -> Self {
        Self { canonical: values.iter().map(|v| (*v).to_owned()).collect(), ..self }
    }
    fn describe(self, description: &str) -> Self {
        Self { description: description.to_owned(), ..self }
    }
}

fn typed_value(types: &[&str]) -> Vec<Attribute> {
    vec![
        s("value").describe("The value, e.g. an address or number."),
        s("display").describe("A human-readable name, primarily used for display purposes."),
        s("type").canonical(types).describe("A label indicating the attribute's function."),
        attr("primary", AttrType::Boolean).describe("Whether this is the primary value."),
    ]
}

fn with_value(value: Attribute) -> Vec<Attribute> {
    let mut sub = typed_value(&[]);
    if let Some(first) = sub.first_mut() {
        *first = value;
    }
    sub
}

/// Attributes every resource has (RFC 7643 §3.1); not listed under `/Schemas`.
pub(super) fn common() -> Vec<Attribute> {
    vec![
        s("id").exact().read_only().returned(Returned::Always).unique(),
        s("externalId").exact(),
        complex(
            "meta",
            vec![
                s("resourceType").exact().read_only(),
                attr("created", AttrType::DateTime).read_only(),
                attr("lastModified", AttrType::DateTime).read_only(),
                reference("location", &["uri"]).exact().read_only(),
                s("version").exact().read_only(),
            ],
        )
        .read_only(),
    ]
}

pub(super) fn user() -> Schema {
    let name = ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"];
    let attributes = vec![
        s("userName").required().unique().describe("Unique identifier for the User, case-insensitive."),
        complex("name", name.iter().map(|n| s(n)).collect()),
        s("displayName"),
        s("nickName"),
        reference("profileUrl", &["external"]),
        s("title"),
        s("userType"),
        s("preferredLanguage"),
        s("locale"),
        s("timezone"),
        attr("active", AttrType::Boolean),
        Attribute { mutability: Mutability::WriteOnly, returned: Returned::Never, ..s("password").exact() }
            .describe("Accepted and discarded: Inlet never stores or returns passwords."),
        multi("emails", typed_value(&["work", "home", "other"])),
        multi("phoneNumbers", typed_value(&["work", "home", "mobile", "fax", "pager", "other"])),
        multi("ims", typed_value(&[])),
        multi("photos", with_value(reference("value", &["external"]).exact())),
        multi(
            "addresses",
            vec![
                s("formatted"),
                s("streetAddress"),
                s("locality"),
                s("region"),
                s("postalCode"),
                s("country"),
                s("type").canonical(&["work", "home", "other"]),
                attr("primary", AttrType::Boolean),
            ],
        ),
        multi(
            "groups",
            vec![
                s("value").read_only(),
                reference("$ref", &["User", "Group"]).read_only(),
                s("display").read_only(),
                s("type").read_only().canonical(&["direct", "indirect"]),
            ],
        )
        .read_only()
        .returned(Returned::Request)
        .describe("Groups the User belongs to; returned only when requested with `attributes`."),
        multi("entitlements", typed_value(&[])),
        multi("roles", typed_value(&[])),
        multi("x509Certificates", with_value(attr("value", AttrType::Binary).exact())),
    ];
    Schema { id: USER_SCHEMA.into(), name: "User".into(), description: "User Account".into(), attributes }
}

pub(super) fn enterprise() -> Schema {
    let manager = vec![s("value"), reference("$ref", &["User"]), s("displayName").read_only()];
    Schema {
        id: ENTERPRISE_SCHEMA.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            s("employeeNumber"),
            s("costCenter"),
            s("organization"),
            s("division"),
            s("department"),
            complex("manager", manager),
        ],
    }
}

pub(super) fn group() -> Schema {
    let member = vec![
        s("value").exact().immutable(),
        reference("$ref", &["User", "Group"]).immutable(),
        s("display"),
        s("type").immutable().canonical(&["User", "Group"]),
    ];
    Schema {
        id: GROUP_SCHEMA.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            s("displayName").required().unique().describe("Name of the Group, unique per tenant, case-insensitive."),
            multi("members", member).describe("Members of the Group (Users)."),
        ],
    }
}

pub(super) fn source() -> Schema {
    Schema {
        id: SOURCE_SCHEMA.into(),
        name: "InletSource".into(),
        description: "Where Inlet got the record from (read-only)".into(),
        attributes: vec![
            s("kind")
                .read_only()
                .canonical(&["scim", "okta_api", "manual"])
                .describe("Who provisioned the record: SCIM, the Okta API sync, or the vendor (manual)."),
            s("tokenId").read_only().describe("For SCIM: the id of the token the record was written or claimed with."),
        ],
    }
}
