//! RFC 8288 `Link` header parsing, enough to find Okta's `rel="next"`.
//!
//! Okta sends one `link` header per relation; proxies and HTTP stacks may join them with
//! commas. Every header value is split on commas outside `<…>` and quoted strings, and each
//! link-value's `rel` may list several space-separated relation types (case-insensitive).
//! A malformed value is an error, not skipped: a lost `next` would end a listing early and a
//! mark-and-sweep sync would then deactivate everyone on the missing pages.

/// One link-value: its target and its relation types (lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub target: String,
    pub rels: Vec<String>,
}

/// Every link in every value, in order.
pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<Link>, String> {
    let mut links = Vec::new();
    for value in values {
        parse_value(value, &mut links)?;
    }
    Ok(links)
}

/// The first `next` link's target, if any.
pub fn next<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Option<String>, String> {
    Ok(parse_all(values)?.into_iter().find(|l| l.rels.iter().any(|r| r == "next")).map(|l| l.target))
}

fn parse_value(value: &str, out: &mut Vec<Link>) -> Result<(), String> {
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Ok(());
        }
        let after_lt =
            rest.strip_prefix('<').ok_or_else(|| format!("link-value does not start with '<': {value:?}"))?;
        let (target, tail) = after_lt.split_once('>').ok_or_else(|| format!("unterminated '<' in {value:?}"))?;
        let mut link = Link { target: target.trim().to_owned(), rels: Vec::new() };
        let mut seen_rel = false;
        rest = tail;
        // Parameters until the next top-level comma.
        loop {
            rest = rest.trim_start_matches([' ', '\t']);
            match rest.strip_prefix(';') {
                Some(r) => rest = r.trim_start_matches([' ', '\t']),
                None => break,
            }
            let name_end = rest.find(['=', ';', ',', ' ', '\t']).unwrap_or(rest.len());
            let (name, r) = rest.split_at(name_end);
            rest = r.trim_start_matches([' ', '\t']);
            let mut param_value = None;
            if let Some(r) = rest.strip_prefix('=') {
                let (v, r) = param_value_of(r.trim_start_matches([' ', '\t']), value)?;
                param_value = Some(v);
                rest = r;
            }
            // RFC 8288 §3.3: only the first rel parameter counts.
            if name.eq_ignore_ascii_case("rel") && !seen_rel {
                seen_rel = true;
                if let Some(v) = param_value {
                    link.rels = v.split_ascii_whitespace().map(str::to_ascii_lowercase).collect();
                }
            }
        }
        match rest.chars().next() {
            None | Some(',') => out.push(link),
            Some(c) => return Err(format!("unexpected {c:?} after a link parameter in {value:?}")),
        }
    }
}

/// A token or a quoted-string (with `\` escapes), and what follows it.
fn param_value_of<'a>(s: &'a str, whole: &str) -> Result<(String, &'a str), String> {
    let Some(quoted) = s.strip_prefix('"') else {
        let (token, rest) = s.split_at(s.find([';', ',', ' ', '\t']).unwrap_or(s.len()));
        return Ok((token.to_owned(), rest));
    };
    let mut v = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            // A quote is one byte, so i + 1 is a char boundary.
            '"' => return Ok((v, quoted.split_at(i + 1).1)),
            '\\' => match chars.next() {
                Some((_, e)) => v.push(e),
                None => break,
            },
            c => v.push(c),
        }
    }
    Err(format!("unterminated quoted string in {whole:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELF_: &str = r#"<https://acme.okta.com/api/v1/apps/0oa1/users?limit=500&expand=user>; rel="self""#;
    const NEXT: &str = r#"<https://acme.okta.com/api/v1/apps/0oa1/users?after=00u2&limit=500&expand=user>; rel="next""#;

    fn next_of(values: &[&str]) -> Option<String> {
        next(values.iter().copied()).ok().flatten()
    }

    #[test]
    fn separate_and_comma_joined_headers() {
        let want = Some("https://acme.okta.com/api/v1/apps/0oa1/users?after=00u2&limit=500&expand=user".to_owned());
        assert_eq!(next_of(&[SELF_, NEXT]), want);
        assert_eq!(next_of(&[&format!("{SELF_}, {NEXT}")]), want);
        assert_eq!(next_of(&[&format!("{SELF_},{NEXT}")]), want);
        assert_eq!(next_of(&[NEXT, SELF_]), want);
        assert_eq!(next_of(&[SELF_]), None);
        assert_eq!(next_of(&[]), None);
        let all = parse_all([SELF_, NEXT]);
        assert_eq!(all.map(|l| l.len()), Ok(2));
    }

    #[test]
    fn tricky_link_values() {
        // Commas inside <…> and inside quotes are not separators.
        assert_eq!(
            next_of(&[r#"<https://o.example/a?x=1,2>; title="a, b; c"; rel="next""#]),
            Some("https://o.example/a?x=1,2".into())
        );
        // Several relation types, any case, unquoted token form.
        assert_eq!(next_of(&[r#"<https://o.example/n>; rel="prefetch NEXT""#]), Some("https://o.example/n".into()));
        assert_eq!(next_of(&[r#"<https://o.example/n>;rel=next"#]), Some("https://o.example/n".into()));
        assert_eq!(
            next_of(&[r#"<https://o.example/n> ; REL = "next" ; type="application/json""#]),
            Some("https://o.example/n".into())
        );
        // Only the first rel counts; "nextish" is not "next".
        assert_eq!(next_of(&[r#"<https://o.example/n>; rel="self"; rel="next""#]), None);
        assert_eq!(next_of(&[r#"<https://o.example/n>; rel="nextish""#]), None);
        // Escapes in quoted strings, empty list elements, a parameter without a value.
        assert_eq!(
            next_of(&[
                r#", <https://o.example/p>; title="say \"hi\", ok"; crossorigin, , <https://o.example/n>; rel="next""#
            ]),
            Some("https://o.example/n".into())
        );
        // The first next wins.
        assert_eq!(
            next_of(&[r#"<https://o.example/1>; rel=next, <https://o.example/2>; rel=next"#]),
            Some("https://o.example/1".into())
        );
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in [
            r#"https://o.example/n; rel="next""#,
            r#"<https://o.example/n; rel="next""#,
            r#"<https://o.example/n>; rel="next"#,
            r#"<https://o.example/n> rel="next""#,
        ] {
            assert!(next([bad]).is_err(), "{bad:?} parsed");
        }
    }
}
