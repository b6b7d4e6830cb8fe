//! Tenants: each vendor customer (or customer location) is one, named in the SCIM base URL.

use std::fmt;

/// A validated tenant id: 1–63 of `a-z 0-9 -`, not starting or ending with `-`
/// (Okta rejects `_` in base URLs). Only this type reaches the store's keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(text: &str) -> Option<Self> {
        let ok = (1..=63).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TenantId;

    #[test]
    fn tenant_ids_are_url_safe_slugs() {
        for ok in ["default", "acme-emea", "a", "x1"] {
            assert!(TenantId::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "Acme", "acme_eu", "-a", "a-", "a/b", "a#b", &"a".repeat(64)] {
            assert!(TenantId::parse(bad).is_none(), "{bad}");
        }
    }
}
