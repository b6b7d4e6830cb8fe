//! The documents of a tenant, as stored and as shown by the admin API and CLI.

use crate::scim::schema::Registry;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The identity provider pushes over SCIM.
    #[default]
    Scim,
    /// Inlet pulls from the Okta API on a schedule; SCIM requests are refused.
    OktaApi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    /// Every request with any of the tenant's tokens gets 401.
    Disabled,
}

/// Provisioning settings (README, "Reacting to provisioning in your product").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    pub mode: Mode,
    /// On: the identity provider (SCIM or the Okta pull) provisions, and what it provisioned
    /// is read-only to the vendor. Off: provisioning requests are refused and provisioned
    /// records become editable, keeping their source.
    pub provisioning: bool,
    pub send_enrollment_email: bool,
    pub include_manually_provisioned_users: bool,
    pub read_all_users: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::default(),
            provisioning: true,
            send_enrollment_email: false,
            include_manually_provisioned_users: false,
            read_all_users: false,
        }
    }
}

/// A partial change of [`Settings`]; unknown fields are refused.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsChange {
    pub mode: Option<Mode>,
    pub provisioning: Option<bool>,
    pub send_enrollment_email: Option<bool>,
    pub include_manually_provisioned_users: Option<bool>,
    pub read_all_users: Option<bool>,
}

impl Settings {
    pub fn apply(&mut self, c: SettingsChange) {
        self.mode = c.mode.unwrap_or(self.mode);
        self.provisioning = c.provisioning.unwrap_or(self.provisioning);
        self.send_enrollment_email = c.send_enrollment_email.unwrap_or(self.send_enrollment_email);
        self.include_manually_provisioned_users =
            c.include_manually_provisioned_users.unwrap_or(self.include_manually_provisioned_users);
        self.read_all_users = c.read_all_users.unwrap_or(self.read_all_users);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub settings: Settings,
    /// The attributes the vendor declared for this tenant (README, "Custom attributes").
    #[serde(default, skip_serializing_if = "Registry::is_empty")]
    pub schema: Registry,
    pub created: String,
    pub updated: String,
}

/// A partial change of a tenant, as the admin API takes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantChange {
    pub name: Option<String>,
    pub status: Option<Status>,
    #[serde(default)]
    pub settings: SettingsChange,
}

/// The vault document of one tenant: verifiers and their metadata, never a token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Vault {
    pub tenant: String,
    pub tokens: Vec<TokenRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenRecord {
    pub id: String,
    pub label: String,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    pub created: String,
    pub expires: Option<String>,
}

/// A last-use record (its own document, so the request path never rewrites the vault).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenUse {
    pub last_used: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Live,
    Expired,
}

/// What listing shows of a token: metadata only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub label: String,
    pub created: String,
    pub expires: Option<String>,
    pub last_used: Option<String>,
    pub state: TokenState,
}
