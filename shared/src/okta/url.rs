//! The org URL, the API token and path ids: everything checked before a request is built.

use super::OktaError;
use http::Uri;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// An org's base URL, e.g. `https://acme.okta.com`: https only, except http for loopback hosts
/// (127.0.0.0/8, ::1, localhost) so tests can run a plain server. Normalised: lowercase host, no
/// path/query/fragment, no trailing slash, the `-admin` suffix of the first host label removed
/// (people paste the Admin Console address), port kept. A bare host means https.
#[derive(Clone, PartialEq, Eq)]
pub struct OrgUrl {
    text: String,
    scheme: Scheme,
    host: String,
    port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

impl OrgUrl {
    pub fn parse(text: &str) -> Result<Self, OktaError> {
        let bad = |why: &str| OktaError::BadUrl(format!("Okta org URL: {why}"));
        let text = text.trim();
        // The path, query and fragment are dropped, so cut them before parsing.
        let text = if text.contains("://") { text.to_owned() } else { format!("https://{text}") };
        let (scheme_text, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (scheme, host, port) = parse_origin(&format!("{scheme_text}://{authority}")).map_err(|e| bad(&e))?;
        let host = match host.split_once('.') {
            Some((first, tail)) if first.len() > "-admin".len() && first.ends_with("-admin") => {
                format!("{}.{tail}", first.trim_end_matches("-admin"))
            }
            _ => host,
        };
        if scheme == Scheme::Http && !is_loopback(&host) {
            return Err(bad("https is required (http only for loopback addresses)"));
        }
        let scheme_name = match scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let text = if port == scheme.default_port() {
            format!("{scheme_name}://{host}")
        } else {
            format!("{scheme_name}://{host}:{port}")
        };
        Ok(Self { text, scheme, host, port })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The absolute URI of an org-relative path and query (`/api/v1/...`).
    pub(crate) fn join(&self, path_and_query: &str) -> Result<Uri, OktaError> {
        format!("{}{path_and_query}", self.text).parse().map_err(|e| OktaError::BadUrl(format!("request URL: {e}")))
    }

    /// A `next` link as a URI, accepted only on this org's scheme, host and port: the token
    /// must never go anywhere else. A reference without a scheme is resolved against the
    /// listing's `path` on the org (RFC 3986 §5.2, without dot segments: a path with them is
    /// another listing, which the caller refuses).
    pub(crate) fn follow(&self, link: &str, path: &str) -> Result<Uri, OktaError> {
        if link.starts_with('/') && !link.starts_with("//") {
            return self.join(link);
        }
        if link.starts_with('?') {
            return self.join(&format!("{path}{link}"));
        }
        let scheme = link.split_once(':').is_some_and(|(s, _)| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        });
        if !scheme && !link.starts_with("//") {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            return self.join(&format!("{dir}/{link}"));
        }
        let uri: Uri = link.parse().map_err(|_| OktaError::Refused("a next link that is not a URL".into()))?;
        // On loopback, `localhost` and `127.0.0.1` (or `[::1]`) name the same machine.
        let same_host = |host: &str| host == self.host || (is_loopback(host) && is_loopback(&self.host));
        let same = uri.scheme_str().zip(uri.authority()).is_some_and(|(s, a)| {
            parse_origin(&format!("{s}://{a}"))
                .is_ok_and(|(scheme, host, port)| scheme == self.scheme && same_host(&host) && port == self.port)
        });
        if same { Ok(uri) } else { Err(OktaError::Refused(format!("a next link off the org's origin {}", self.text))) }
    }
}

impl fmt::Debug for OrgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OrgUrl").field(&self.text).finish()
    }
}

/// Scheme, lowercase host (IPv6 in brackets) and port of `scheme://authority`; userinfo is
/// refused rather than dropped (`https://acme.okta.com@evil.example` is not the org).
fn parse_origin(text: &str) -> Result<(Scheme, String, u16), String> {
    let uri: Uri = text.parse().map_err(|e| format!("{e}"))?;
    let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https") => Scheme::Https,
        Some("http") => Scheme::Http,
        _ => return Err("the scheme must be https".into()),
    };
    let authority = uri.authority().ok_or("no host")?;
    if authority.as_str().contains('@') {
        return Err("user names or passwords in the URL are not allowed".into());
    }
    let host = authority.host().to_ascii_lowercase();
    let valid = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    if !valid {
        return Err(format!("{host:?} is not a host name"));
    }
    Ok((scheme, host, authority.port_u16().unwrap_or(scheme.default_port())))
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
}

/// Checks an Okta id (`0oa…`, `00g…`) before it goes into a path: Okta ids are [A-Za-z0-9],
/// so nothing needs encoding and anything else is a configuration mistake.
pub(crate) fn okta_id<'a>(what: &str, id: &'a str) -> Result<&'a str, OktaError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(OktaError::BadUrl(format!("{what} must be an Okta id (letters and digits), got {id:?}")))
    }
}

/// An SSWS API token. Debug is redacted; there is no Display and no Serialize, so it cannot
/// end up in a log line or a stored document by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

/// Longest token accepted; Okta's are 42 characters.
const MAX_TOKEN: usize = 512;

impl ApiToken {
    /// Non-empty, visible ASCII only (it becomes a header value), at most 512 characters.
    pub fn new(s: String) -> Result<Self, OktaError> {
        if s.is_empty() || s.len() > MAX_TOKEN || !s.bytes().all(|b| b.is_ascii_graphic()) {
            // The value itself is never echoed.
            return Err(OktaError::BadUrl(format!("the API token must be 1 to {MAX_TOKEN} visible ASCII characters")));
        }
        Ok(Self(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        match OrgUrl::parse(s) {
            Ok(u) => u.as_str().to_owned(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn org_urls_are_normalised() {
        assert_eq!(norm("https://acme.okta.com"), "https://acme.okta.com");
        assert_eq!(norm("  HTTPS://Acme.Okta.COM/  "), "https://acme.okta.com");
        assert_eq!(norm("https://acme-admin.okta.com/admin/dashboard?x=1#frag"), "https://acme.okta.com");
        assert_eq!(norm("acme-admin.oktapreview.com"), "https://acme.oktapreview.com");
        assert_eq!(norm("https://login.acme.example:8443/"), "https://login.acme.example:8443");
        assert_eq!(norm("https://acme.okta.com:443"), "https://acme.okta.com");
        // Only the first label's suffix, and never the whole label.
        assert_eq!(norm("https://acme.okta-admin.com"), "https://acme.okta-admin.com");
        assert_eq!(norm("https://-admin.okta.com"), "https://-admin.okta.com");
        assert_eq!(norm("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
        assert_eq!(norm("http://127.9.9.9"), "http://127.9.9.9");
        assert_eq!(norm("http://LOCALHOST:9"), "http://localhost:9");
        assert_eq!(norm("http://[::1]:7000"), "http://[::1]:7000");
    }

    #[test]
    fn bad_org_urls_are_refused() {
        for bad in [
            "http://acme.okta.com",
            "http://10.0.0.1",
            "ftp://acme.okta.com",
            "https://",
            "",
            "https://user:pw@acme.okta.com",
            "https://acme.okta.com@evil.example",
            "https://ac me.okta.com",
            "https://acme..okta.com",
            "https://acme_x.okta.com",
        ] {
            assert!(norm(bad).starts_with("ERR"), "{bad:?} was accepted: {}", norm(bad));
        }
    }

    #[test]
    fn next_links_stay_on_the_org_origin() -> Result<(), OktaError> {
        let org = OrgUrl::parse("https://acme.okta.com")?;
        let listing = "/api/v1/apps/0oa1/users";
        let u = org.follow("https://ACME.okta.com:443/api/v1/apps/0oa1/users?after=00u2&limit=500", listing)?;
        assert_eq!(u.path(), "/api/v1/apps/0oa1/users");
        assert_eq!(org.follow("/api/v1/groups/00g1/users?after=x", listing)?.host(), Some("acme.okta.com"));
        // Relative references resolve against the listing.
        let rel = |l: &str| org.follow(l, listing).map(|u| u.to_string());
        assert_eq!(rel("?after=00u2")?, "https://acme.okta.com/api/v1/apps/0oa1/users?after=00u2");
        assert_eq!(rel("users?after=00u2")?, "https://acme.okta.com/api/v1/apps/0oa1/users?after=00u2");
        // On loopback, another name of the same machine and port is the same origin.
        let local = OrgUrl::parse("http://127.0.0.1:8080")?;
        assert_eq!(local.follow("http://localhost:8080/api/v1/apps/0oa1/users?after=x", listing)?.path(), listing);
        assert!(local.follow("http://localhost:8081/api/v1/apps", listing).is_err());
        assert!(local.follow("http://127.0.0.2.evil.example:8080/api", listing).is_err());
        for off in [
            "https://evil.example/api/v1/apps/0oa1/users",
            "http://acme.okta.com/api/v1/apps",
            "https://acme.okta.com:8443/api/v1/apps",
            "https://acme.okta.com.evil.example/api",
            "https://acme.okta.com@evil.example/api",
            "//evil.example/api",
            "javascript:alert(1)",
        ] {
            assert!(matches!(org.follow(off, listing), Err(OktaError::Refused(_))), "{off} followed");
        }
        Ok(())
    }

    #[test]
    fn ids_are_checked() {
        assert!(okta_id("app id", "0oa1b2C3d4").is_ok());
        for bad in ["", "0oa/../users", "0oa 1", "0oa%2F", "0oa?x=1", "é"] {
            assert!(okta_id("app id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_validated_and_never_printed() {
        let secret = "00QCjAl4MlV-WPXM-secret-0HmjFx-vbGua";
        let t = ApiToken::new(secret.to_owned());
        assert!(t.as_ref().is_ok_and(|t| t.expose() == secret));
        assert_eq!(format!("{t:?}"), "Ok(ApiToken(…))");
        for bad in ["", "has space", "tab\tx", "nul\0", "ünï"] {
            let e = ApiToken::new(bad.to_owned());
            assert!(e.as_ref().is_err_and(|e| !e.to_string().contains(bad) || bad.is_empty()), "{bad:?}");
        }
        assert!(ApiToken::new("x".repeat(513)).is_err());
        assert!(ApiToken::new("x".repeat(512)).is_ok());
    }
}
