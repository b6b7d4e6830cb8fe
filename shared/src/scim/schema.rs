//! RFC 7643 schema definitions as data. `/Schemas` is rendered from these same
//! definitions, so discovery cannot drift from what normalisation, filtering, PATCH
//! and projection actually do.

use serde_json::{Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Inlet's read-only extension on users and groups: who provisioned the record.
pub const SOURCE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:inlet:2.0:Source";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
}

#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical: &'static [&'static str],
    pub description: &'static str,
    pub sub: &'static [Attribute],
}

const fn attr(name: &'static str, kind: AttrType) -> Attribute {
    Attribute {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        canonical: &[],
        description: "",
        sub: &[],
    }
}
const fn s(name: &'static str) -> Attribute {
    attr(name, AttrType::String)
}
const fn complex(name: &'static str, sub: &'static [Attribute]) -> Attribute {
    Attribute { sub, ..attr(name, AttrType::Complex) }
}
const fn multi(name: &'static str, sub: &'static [Attribute]) -> Attribute {
    Attribute { multi: true, ..complex(name, sub) }
}

impl Attribute {
    const fn required(self) -> Self {
        Self { required: true, ..self }
    }
    const fn exact(self) -> Self {
        Self { case_exact: true, ..self }
    }
    const fn read_only(self) -> Self {
        Self { mutability: Mutability::ReadOnly, ..self }
    }
    const fn immutable(self) -> Self {
        Self { mutability: Mutability::Immutable, ..self }
    }
    const fn returned(self, returned: Returned) -> Self {
        Self { returned, ..self }
    }
    const fn unique(self) -> Self {
        Self { uniqueness: Uniqueness::Server, ..self }
    }
    const fn canonical(self, canonical: &'static [&'static str]) -> Self {
        Self { canonical, ..self }
    }
    const fn describe(self, description: &'static str) -> Self {
        Self { description, ..self }
    }

    /// The sub-attribute `name`, matched case-insensitively as RFC 7644 §3.10 requires.
    pub fn sub_attr(&self, name: &str) -> Option<&'static Attribute> {
        find(self.sub, name)
    }

    pub fn is_complex(&self) -> bool {
        self.kind == AttrType::Complex
    }
}

pub fn find(attrs: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

const TYPED_VALUE: [Attribute; 4] = [
    s("value").describe("The value, e.g. an address or number."),
    s("display").describe("A human-readable name, primarily used for display purposes."),
    s("type").describe("A label indicating the attribute's function."),
    attr("primary", AttrType::Boolean).describe("Whether this is the primary value."),
];
const EMAIL: [Attribute; 4] =
    [TYPED_VALUE[0], TYPED_VALUE[1], TYPED_VALUE[2].canonical(&["work", "home", "other"]), TYPED_VALUE[3]];
const PHONE: [Attribute; 4] = [
    TYPED_VALUE[0],
    TYPED_VALUE[1],
    TYPED_VALUE[2].canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    TYPED_VALUE[3],
];
const PHOTO: [Attribute; 4] =
    [attr("value", AttrType::Reference).exact(), TYPED_VALUE[1], TYPED_VALUE[2], TYPED_VALUE[3]];
const CERT: [Attribute; 4] = [attr("value", AttrType::Binary).exact(), TYPED_VALUE[1], TYPED_VALUE[2], TYPED_VALUE[3]];
const NAME: [Attribute; 6] =
    [s("formatted"), s("familyName"), s("givenName"), s("middleName"), s("honorificPrefix"), s("honorificSuffix")];
const ADDRESS: [Attribute; 8] = [
    s("formatted"),
    s("streetAddress"),
    s("locality"),
    s("region"),
    s("postalCode"),
    s("country"),
    s("type").canonical(&["work", "home", "other"]),
    attr("primary", AttrType::Boolean),
];
const USER_GROUP: [Attribute; 4] = [
    s("value").read_only(),
    attr("$ref", AttrType::Reference).read_only(),
    s("display").read_only(),
    s("type").read_only().canonical(&["direct", "indirect"]),
];
const META: [Attribute; 5] = [
    s("resourceType").exact().read_only(),
    attr("created", AttrType::DateTime).read_only(),
    attr("lastModified", AttrType::DateTime).read_only(),
    attr("location", AttrType::Reference).exact().read_only(),
    s("version").exact().read_only(),
];

/// Attributes every resource has (RFC 7643 §3.1); not listed under `/Schemas`.
pub static COMMON: [Attribute; 3] = [
    s("id").exact().read_only().returned(Returned::Always).unique(),
    s("externalId").exact(),
    complex("meta", &META).read_only(),
];

pub static USER: [Attribute; 21] = [
    s("userName").required().unique().describe("Unique identifier for the User, case-insensitive."),
    complex("name", &NAME),
    s("displayName"),
    s("nickName"),
    attr("profileUrl", AttrType::Reference),
    s("title"),
    s("userType"),
    s("preferredLanguage"),
    s("locale"),
    s("timezone"),
    attr("active", AttrType::Boolean),
    Attribute { mutability: Mutability::WriteOnly, returned: Returned::Never, ..s("password").exact() }
        .describe("Accepted and discarded: Inlet never stores or returns passwords."),
    multi("emails", &EMAIL),
    multi("phoneNumbers", &PHONE),
    multi("ims", &TYPED_VALUE),
    multi("photos", &PHOTO),
    multi("addresses", &ADDRESS),
    multi("groups", &USER_GROUP)
        .read_only()
        .returned(Returned::Request)
        .describe("Groups the User belongs to; returned only when requested with `attributes`."),
    multi("entitlements", &TYPED_VALUE),
    multi("roles", &TYPED_VALUE),
    multi("x509Certificates", &CERT),
];

const MANAGER: [Attribute; 3] = [s("value"), attr("$ref", AttrType::Reference), s("displayName").read_only()];

pub static ENTERPRISE_USER: [Attribute; 6] = [
    s("employeeNumber"),
    s("costCenter"),
    s("organization"),
    s("division"),
    s("department"),
    complex("manager", &MANAGER),
];

const MEMBER: [Attribute; 4] = [
    s("value").exact().immutable(),
    attr("$ref", AttrType::Reference).immutable(),
    s("display"),
    s("type").immutable().canonical(&["User", "Group"]),
];

pub static GROUP: [Attribute; 2] = [
    s("displayName").required().unique().describe("Name of the Group, unique per tenant, case-insensitive."),
    multi("members", &MEMBER).describe("Members of the Group (Users)."),
];

pub static SOURCE_ATTRS: [Attribute; 2] = [
    s("kind")
        .read_only()
        .canonical(&["scim", "okta_api", "manual"])
        .describe("Who provisioned the record: SCIM, the Okta API sync, or the vendor (manual)."),
    s("tokenId").read_only().describe("For SCIM: the id of the token the record was written or claimed with."),
];

/// A schema: its URN, name and attributes.
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attribute],
}

pub static USER_CORE: Schema = Schema { id: USER_SCHEMA, name: "User", description: "User Account", attributes: &USER };
pub static ENTERPRISE: Schema = Schema {
    id: ENTERPRISE_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &ENTERPRISE_USER,
};
pub static SOURCE: Schema = Schema {
    id: SOURCE_SCHEMA,
    name: "InletSource",
    description: "Where Inlet got the record from (read-only)",
    attributes: &SOURCE_ATTRS,
};
pub static GROUP_CORE: Schema = Schema { id: GROUP_SCHEMA, name: "Group", description: "Group", attributes: &GROUP };

/// A resource type: its core schema and the extensions it accepts.
#[derive(Debug)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: &'static Schema,
    pub extensions: &'static [&'static Schema],
    /// A multi-valued attribute kept as separate records, not inside the resource
    /// (group members: a group may have 100k of them).
    pub external_members: Option<&'static str>,
}

pub static USER_TYPE: ResourceType = ResourceType {
    name: "User",
    endpoint: "/Users",
    core: &USER_CORE,
    extensions: &[&ENTERPRISE, &SOURCE],
    external_members: None,
};
pub static GROUP_TYPE: ResourceType = ResourceType {
    name: "Group",
    endpoint: "/Groups",
    core: &GROUP_CORE,
    extensions: &[&SOURCE],
    external_members: Some("members"),
};

impl ResourceType {
    /// A top-level attribute of the core schema or the common attributes.
    pub fn core_attr(&self, name: &str) -> Option<&'static Attribute> {
        find(self.core.attributes, name).or_else(|| find(&COMMON, name))
    }

    /// The extension schema whose URN is `urn`, case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&'static Schema> {
        self.extensions.iter().copied().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every schema URN this type knows (core first), for URN-prefixed paths.
    pub fn schema_ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.core.id).chain(self.extensions.iter().map(|s| s.id))
    }
}

fn attr_json(a: &Attribute) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": match a.kind {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        },
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
        "uniqueness": match a.uniqueness { Uniqueness::None => "none", Uniqueness::Server => "server" },
    });
    if !a.canonical.is_empty() {
        super::set(&mut v, "canonicalValues", json!(a.canonical));
    }
    if a.kind == AttrType::Reference {
        super::set(&mut v, "referenceTypes", json!(["external", "User", "Group"]));
    }
    if !a.sub.is_empty() {
        super::set(&mut v, "subAttributes", Value::Array(a.sub.iter().map(attr_json).collect()));
    }
    v
}

impl Schema {
    /// The RFC 7643 §7 representation served under `/Schemas`.
    pub fn to_json(&self, location: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(attr_json).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema", "location": location },
        })
    }
}
