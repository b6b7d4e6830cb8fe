//! The seam where bearer tokens are checked. The local server and, for now, the
//! Lambda functions use [`TokenDigests`]; token management replaces the source of
//! digests, not this interface.

use crate::domain::TenantId;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

#[async_trait]
pub trait TokenVerifier: Send + Sync {
    /// Is `token` a live token of tenant `t`? Unknown tenants are simply `false`.
    async fn verify(&self, t: &TenantId, token: &str) -> bool;
}

/// SHA-256 of a token: what is kept instead of the token itself.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A digest as 64 lowercase hex characters (how digests are stored and configured).
pub fn digest_to_hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// 64 hex characters → a digest.
pub fn digest_from_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..64).step_by(2).map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes?.try_into().ok()
}

/// Token digests per tenant, held in memory.
#[derive(Default)]
pub struct TokenDigests {
    by_tenant: HashMap<TenantId, Vec<[u8; 32]>>,
}

impl TokenDigests {
    pub fn with(mut self, t: TenantId, token_digest: [u8; 32]) -> Self {
        self.by_tenant.entry(t).or_default().push(token_digest);
        self
    }
}

#[async_trait]
impl TokenVerifier for TokenDigests {
    async fn verify(&self, t: &TenantId, token: &str) -> bool {
        let Some(known) = self.by_tenant.get(t) else { return false };
        let presented = digest(token);
        // Constant-time per comparison; every digest is compared, whichever matches.
        known.iter().fold(false, |ok, d| ok | bool::from(d.ct_eq(&presented)))
    }
}

/// The token from an `Authorization: Bearer …` header value (scheme case-insensitive).
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_only_the_tenants_own_tokens() {
        let a = TenantId::parse("a").unwrap();
        let b = TenantId::parse("b").unwrap();
        let v = TokenDigests::default().with(a.clone(), digest("tok-a")).with(b.clone(), digest("tok-b"));
        assert!(v.verify(&a, "tok-a").await);
        assert!(!v.verify(&a, "tok-b").await);
        assert!(!v.verify(&TenantId::parse("c").unwrap(), "tok-a").await);
        assert_eq!(bearer(Some("bearer  xyz ")), Some("xyz"));
        assert_eq!(bearer(Some("Basic xyz")), None);
        assert_eq!(bearer(Some("Bearer")), None);
        let d = digest("tok-a");
        assert_eq!(digest_from_hex(&digest_to_hex(&d)), Some(d));
        assert_eq!(digest_from_hex("abc"), None);
    }
}
