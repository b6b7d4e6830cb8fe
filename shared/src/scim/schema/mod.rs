//! RFC 7643 schema definitions as data. `/Schemas` is rendered from these same
//! definitions, so discovery cannot drift from what normalisation, filtering, PATCH
//! and projection actually do. A tenant's attribute registry (`declared`) extends the
//! built-in schemas into that tenant's own [`Schemas`].

mod builtin;
pub mod declared;
mod definition;
mod render;

pub use declared::{Registry, Schemas};

use std::sync::LazyLock;

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

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub kind: AttrType,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical: Vec<String>,
    pub reference_types: Vec<String>,
    pub description: String,
    pub sub: Vec<Attribute>,
    /// For a top-level attribute the tenant declared: the registry version it was declared
    /// in. Values a record holds from before that version are not this attribute's.
    pub since: Option<u64>,
}

impl Attribute {
    /// The sub-attribute `name`, matched case-insensitively as RFC 7644 §3.10 requires.
    pub fn sub_attr(&self, name: &str) -> Option<&Attribute> {
        find(&self.sub, name)
    }

    pub fn is_complex(&self) -> bool {
        self.kind == AttrType::Complex
    }
}

pub fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Attributes every resource has (RFC 7643 §3.1); not listed under `/Schemas`.
pub static COMMON: LazyLock<Vec<Attribute>> = LazyLock::new(builtin::common);

/// A schema: its URN, name and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<Attribute>,
}

pub static USER_CORE: LazyLock<Schema> = LazyLock::new(builtin::user);
pub static ENTERPRISE: LazyLock<Schema> = LazyLock::new(builtin::enterprise);
pub static SOURCE: LazyLock<Schema> = LazyLock::new(builtin::source);
pub static GROUP_CORE: LazyLock<Schema> = LazyLock::new(builtin::group);

/// A resource type: its core schema and the extensions it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub core: Schema,
    pub extensions: Vec<Schema>,
    /// A multi-valued attribute kept as separate records, not inside the resource
    /// (group members: a group may have 100k of them).
    pub external_members: Option<&'static str>,
}

/// The built-in resource types, as a tenant without declared attributes has them.
pub static USER_TYPE: LazyLock<ResourceType> = LazyLock::new(|| ResourceType {
    name: "User",
    endpoint: "/Users",
    core: USER_CORE.clone(),
    extensions: vec![ENTERPRISE.clone(), SOURCE.clone()],
    external_members: None,
});
pub static GROUP_TYPE: LazyLock<ResourceType> = LazyLock::new(|| ResourceType {
    name: "Group",
    endpoint: "/Groups",
    core: GROUP_CORE.clone(),
    extensions: vec![SOURCE.clone()],
    external_members: Some("members"),
});

impl ResourceType {
    /// A top-level attribute of the core schema or the common attributes.
    pub fn core_attr(&self, name: &str) -> Option<&Attribute> {
        find(&self.core.attributes, name).or_else(|| find(&COMMON, name))
    }

    /// The extension schema whose URN is `urn`, case-insensitively.
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Every schema URN this type knows (core first), for URN-prefixed paths.
    pub fn schema_ids(&self) -> impl Iterator<Item = &str> + '_ {
        std::iter::once(self.core.id.as_str()).chain(self.extensions.iter().map(|s| s.id.as_str()))
    }

    /// Every top-level attribute with the extension holding it (`None`: the core schema).
    pub fn top_attributes(&self) -> impl Iterator<Item = (Option<&str>, &Attribute)> + '_ {
        let core = self.core.attributes.iter().map(|a| (None, a));
        core.chain(self.extensions.iter().flat_map(|s| s.attributes.iter().map(move |a| (Some(s.id.as_str()), a))))
    }
}
