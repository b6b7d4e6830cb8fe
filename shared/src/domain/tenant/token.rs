//! Bearer tokens: `inlet_` + 43 base62 characters of randomness (256 bits) + 6 base62
//! characters of CRC-32 over them. The prefix and checksum let secret scanners recognise
//! a leaked token (`inlet_[0-9A-Za-z]{49}`) without false positives; only the SHA-256
//! digest is ever stored. Tokens are random enough that a plain digest cannot be reversed
//! or guessed, so no slow hash is needed and verification stays cheap.

use rand::Rng;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "inlet_";
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 62^43 > 2^256.
const RANDOM_CHARS: usize = 43;
/// 62^6 > 2^32.
const CHECKSUM_CHARS: usize = 6;

fn random_base62(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from(ALPHABET.get(rng.random_range(0..62)).copied().unwrap_or(b'0'))).collect()
}

fn checksum(random: &str) -> String {
    let mut n = crc32fast::hash(random.as_bytes());
    let mut digits = [b'0'; CHECKSUM_CHARS];
    for d in digits.iter_mut().rev() {
        *d = ALPHABET.get((n % 62) as usize).copied().unwrap_or(b'0');
        n /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// A new token, from the operating system's CSPRNG (via `rand`'s thread generator).
pub fn generate() -> String {
    let random = random_base62(RANDOM_CHARS);
    let check = checksum(&random);
    format!("{PREFIX}{random}{check}")
}

/// A short public id naming a token in listings and commands (not secret).
pub fn new_id() -> String {
    format!("tk{}", random_base62(10))
}

/// Does `token` have the shape and checksum of a token Inlet issued?
pub fn well_formed(token: &str) -> bool {
    let Some(rest) = token.strip_prefix(PREFIX) else { return false };
    if rest.len() != RANDOM_CHARS + CHECKSUM_CHARS || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, check) = rest.split_at(RANDOM_CHARS);
    checksum(random) == check
}

/// SHA-256 of a token: the verifier kept instead of the token.
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn to_hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..64).step_by(2).map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_checksummed_and_distinct() {
        let a = generate();
        assert_eq!(a.len(), PREFIX.len() + 49);
        assert!(well_formed(&a), "{a}");
        assert_ne!(a, generate());
        // Any one changed character breaks the checksum or the shape.
        let mut flipped = a.clone().into_bytes();
        let last = flipped.len() - 10;
        flipped[last] = if flipped[last] == b'a' { b'b' } else { b'a' };
        assert!(!well_formed(&String::from_utf8(flipped).unwrap()));
        assert!(!well_formed(&a[1..]));
        assert!(!well_formed(&format!("{a}x")));
        assert!(!well_formed("inlet_"));
        assert!(!well_formed("conformance-token"));
        assert!(new_id().starts_with("tk") && new_id().len() == 12);
    }

    #[test]
    fn digests_round_trip_through_hex() {
        let d = digest("x");
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
    }
}
