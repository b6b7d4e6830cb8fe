//! First start: the `default` tenant and its bearer token. Only the token's SHA-256
//! digest is kept (in `tokens.json`, mode 0600); the token itself is printed once.

use inlet_shared::api::auth::{TokenDigests, digest, digest_from_hex, digest_to_hex};
use inlet_shared::domain::TenantId;
use rand::RngCore;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

pub const DEFAULT_TENANT: &str = "default";

/// A new token: `inlet_` and 256 random bits in hex.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("inlet_{}", digest_to_hex(&bytes))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

pub struct Tokens {
    pub verifier: TokenDigests,
    /// Set on the start that issued it: the one time the token is shown.
    pub issued: Option<String>,
}

/// The default tenant's token digests: `dev_token` if given, else the stored digest,
/// else a freshly issued token.
pub fn default_tenant_tokens(data_dir: &Path, dev_token: Option<&str>) -> Result<Tokens, String> {
    let tenant = TenantId::parse(DEFAULT_TENANT).ok_or("invalid default tenant")?;
    if let Some(token) = dev_token {
        return Ok(Tokens { verifier: TokenDigests::default().with(tenant, digest(token)), issued: None });
    }
    let path = data_dir.join("tokens.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let stored: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let d = stored
            .get(DEFAULT_TENANT)
            .and_then(serde_json::Value::as_str)
            .and_then(digest_from_hex)
            .ok_or(format!("{} has no valid digest", path.display()))?;
        return Ok(Tokens { verifier: TokenDigests::default().with(tenant, d), issued: None });
    }
    let token = new_token();
    let d = digest(&token);
    write_private(&path, &json!({ DEFAULT_TENANT: digest_to_hex(&d) }).to_string())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Tokens { verifier: TokenDigests::default().with(tenant, d), issued: Some(token) })
}
