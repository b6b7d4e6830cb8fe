//! Query strings and path segments: percent-decoding what arrives, encoding what goes into
//! the `link` URLs.

#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k, true), decode(v, true)),
                None => (decode(p, true), String::new()),
            })
            .collect();
        Query(pairs)
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Percent-decodes `s` (and `+` as a space in a query); a malformed escape stays as it is.
pub fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let Some(v) = bytes.get(i + 1..i + 3).and_then(hex_byte)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b == b'+' && plus_is_space { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    if !two.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u8::from_str_radix(std::str::from_utf8(two).ok()?, 16).ok()
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The opaque `after` cursor of an id: its bytes in hex, so clients cannot mistake it for one.
pub fn cursor(id: &str) -> String {
    id.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The id a cursor stands for, if it is one the double issued.
pub fn uncursor(c: &str) -> Option<String> {
    if c.is_empty() || !c.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..c.len()).step_by(2).map(|i| c.as_bytes().get(i..i + 2).and_then(hex_byte)).collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(decode("a%40b.c+d%2", true), "a@b.c d%2");
        assert_eq!(encode("a@b c"), "a%40b%20c");
        assert_eq!(uncursor(&cursor("00uAbC")).as_deref(), Some("00uAbC"));
        assert_eq!(uncursor("zz"), None);
        let q = Query::parse(Some("limit=5&expand=user&limit=7&flag"));
        assert_eq!(
            (q.get("limit"), q.get("expand"), q.get("flag"), q.get("after")),
            (Some("5"), Some("user"), Some(""), None)
        );
    }
}
