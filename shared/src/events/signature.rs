//! Webhook signatures per the Standard Webhooks convention: the secret is `whsec_` and the
//! key in base64; a delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, so a
//! receiver can verify it with any Standard Webhooks library.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2_hmac::Sha256;

const PREFIX: &str = "whsec_";
/// The spec's bounds on the key: 24 to 64 bytes.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
/// How far a receiver lets a timestamp stray from its clock (replay protection).
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("a webhook secret is whsec_ and 24 to 64 bytes in base64: {0}")]
    BadSecret(&'static str),
    #[error("the {0} header is missing or not text")]
    Missing(&'static str),
    #[error("webhook-timestamp is not Unix seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than {TOLERANCE_SECONDS} s away from now")]
    Stale,
    #[error("no signature in webhook-signature matches")]
    Mismatch,
}

/// A signing key (and the HMAC keyed with it). Never printed: `Debug` shows only that it is one.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// `whsec_<base64>`, as `INLET_WEBHOOK_SECRET` holds it.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let b64 = text.trim().strip_prefix(PREFIX).ok_or(SignatureError::BadSecret("no whsec_ prefix"))?;
        let key = STANDARD.decode(b64).map_err(|_| SignatureError::BadSecret("not base64"))?;
        Self::from_key(key)
    }

    fn from_key(key: Vec<u8>) -> Result<Self, SignatureError> {
        if !KEY_BYTES.contains(&key.len()) {
            return Err(SignatureError::BadSecret("wrong length"));
        }
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .map_err(|_| SignatureError::BadSecret("not an HMAC key"))?;
        Ok(Self { key, keyed })
    }

    /// A fresh random secret (32 bytes).
    pub fn generate() -> Result<Self, SignatureError> {
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::from_key(key)
    }

    /// The secret as `whsec_<base64>`, to hand to the receiver.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.key))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value for one delivery attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, &timestamp.to_string(), body).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }

    /// Checks a delivery's headers against its body: the timestamp within
    /// [`TOLERANCE_SECONDS`] of `now`, and one of the space-separated `v1,` signatures
    /// matching (compared in constant time).
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let at: i64 = timestamp.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
        if (now - at).abs() > TOLERANCE_SECONDS {
            return Err(SignatureError::Stale);
        }
        let matches = signatures
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|b64| STANDARD.decode(b64).ok())
            .any(|tag| self.mac(id, timestamp.trim(), body).verify_slice(&tag).is_ok());
        if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector the Standard Webhooks specification publishes (its reference
    /// libraries all test against it): reproducing it is what says a receiver's library
    /// will accept Inlet's signatures.
    #[test]
    fn reproduces_the_specifications_test_vector() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let (id, at, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
        let want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(secret.sign(id, at, body), want);
        secret.verify(id, "1614265330", want, body, at).unwrap();
        // Several signatures (a key rotation): any one matching is enough.
        secret.verify(id, "1614265330", &format!("v1,bm9wZQ== {want}"), body, at + 299).unwrap();
    }

    #[test]
    fn refuses_tampering_staleness_and_bad_secrets() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret.sign("e1", 1000, b"{}");
        assert_eq!(secret.verify("e1", "1000", &sig, b"{ }", 1000), Err(SignatureError::Mismatch));
        assert_eq!(secret.verify("e2", "1000", &sig, b"{}", 1000), Err(SignatureError::Mismatch));
        assert_eq!(secret.verify("e1", "1001", &sig, b"{}", 1000), Err(SignatureError::Mismatch));
        assert_eq!(secret.verify("e1", "1000", "v2,abc", b"{}", 1000), Err(SignatureError::Mismatch));
        assert_eq!(secret.verify("e1", "1000", &sig, b"{}", 1000 + 301), Err(SignatureError::Stale));
        assert_eq!(secret.verify("e1", "soon", &sig, b"{}", 1000), Err(SignatureError::BadTimestamp));
        let other = Secret::generate().unwrap();
        assert_eq!(other.verify("e1", "1000", &sig, b"{}", 1000), Err(SignatureError::Mismatch));
        assert_eq!(Secret::parse(&other.expose()).unwrap().sign("e1", 1, b""), other.sign("e1", 1, b""));
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(Secret::parse("whsec_!!!").is_err());
        assert!(Secret::parse("whsec_c2hvcnQ=").is_err());
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }
}
