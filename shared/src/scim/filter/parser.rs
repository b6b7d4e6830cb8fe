//! Recursive-descent parser: `or` binds loosest, then `and`, then `not`/groups.

use super::lexer::{Token, tokenize};
use super::{CompareOp, Filter, Literal, MAX_FILTER_COMPARISONS, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::AttrPath;
use crate::scim::schema::ResourceType;

/// Parses a filter for resources of type `rt` (the type resolves URN-prefixed paths).
pub fn parse(text: &str, rt: &ResourceType) -> ScimResult<Filter> {
    if text.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!("filter is longer than {MAX_FILTER_LEN} bytes")));
    }
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0, rt, comparisons: 0, in_value_filter: false };
    let f = p.or_expr(0)?;
    match p.peek() {
        None => Ok(f),
        Some(t) => Err(ScimError::invalid_filter(format!("unexpected {t:?} at the end of the filter"))),
    }
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    rt: &'a ResourceType,
    /// Comparisons parsed so far, against MAX_FILTER_COMPARISONS.
    comparisons: usize,
    /// Inside `[...]`: RFC 7644's valFilter has no nested value filters.
    in_value_filter: bool,
}

fn keyword(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
}

fn compare_op(word: &str) -> Option<CompareOp> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    })
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, want: &Token) -> ScimResult<()> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            other => Err(ScimError::invalid_filter(format!("expected {want:?}, found {other:?}"))),
        }
    }
    fn deeper(depth: usize) -> ScimResult<usize> {
        if depth >= MAX_FILTER_DEPTH {
            return Err(ScimError::invalid_filter(format!("filter nests deeper than {MAX_FILTER_DEPTH} levels")));
        }
        Ok(depth + 1)
    }

    fn or_expr(&mut self, depth: usize) -> ScimResult<Filter> {
        let mut left = self.and_expr(depth)?;
        while keyword(self.peek(), "or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and_expr(depth)?));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize) -> ScimResult<Filter> {
        let mut left = self.unary(depth)?;
        while keyword(self.peek(), "and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary(depth)?));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> ScimResult<Filter> {
        if keyword(self.peek(), "not") && self.tokens.get(self.pos + 1) == Some(&Token::LParen) {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.group(Self::deeper(depth)?)?)));
        }
        if self.peek() == Some(&Token::LParen) {
            return self.group(Self::deeper(depth)?);
        }
        self.attr_exp(depth)
    }

    fn group(&mut self, depth: usize) -> ScimResult<Filter> {
        self.expect(&Token::LParen)?;
        let f = self.or_expr(depth)?;
        self.expect(&Token::RParen)?;
        Ok(f)
    }

    fn attr_exp(&mut self, depth: usize) -> ScimResult<Filter> {
        let word = match self.next() {
            Some(Token::Word(w)) => w,
            other => {
                return Err(ScimError::invalid_filter(format!("expected an attribute path, found {other:?}")));
            }
        };
        let path = AttrPath::parse(&word, self.rt).map_err(|e| ScimError::invalid_filter(e.detail))?;
        if self.peek() != Some(&Token::LBracket) {
            return self.comparison(path, &word);
        }
        if self.in_value_filter {
            return Err(ScimError::invalid_filter(format!("value filters cannot nest ('{word}[' inside '[...]')")));
        }
        if path.sub.is_some() {
            return Err(ScimError::invalid_filter(format!(
                "a value filter must follow a top-level attribute, not '{word}'"
            )));
        }
        self.pos += 1;
        self.in_value_filter = true;
        let inner = self.or_expr(Self::deeper(depth)?);
        self.in_value_filter = false;
        let inner = inner?;
        self.expect(&Token::RBracket)?;
        let Some(Token::SubAttr(sub)) = self.peek().cloned() else {
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        };
        // Entra's `emails[type eq "work"].value eq "x"`: the comparison is about the same
        // element as the value filter, so it joins the filter inside the brackets.
        self.pos += 1;
        let sub_path = AttrPath::parse(&sub, self.rt)
            .ok()
            .filter(|p| p.urn.is_none() && p.sub.is_none())
            .ok_or_else(|| ScimError::invalid_filter(format!("'{word}[...].{sub}' names no sub-attribute")))?;
        let on_element = self.comparison(sub_path, &sub)?;
        Ok(Filter::ValuePath(path, Box::new(Filter::And(Box::new(inner), Box::new(on_element)))))
    }

    /// The `pr` or `op value` after an attribute path.
    fn comparison(&mut self, path: AttrPath, written: &str) -> ScimResult<Filter> {
        self.comparisons += 1;
        if self.comparisons > MAX_FILTER_COMPARISONS {
            return Err(ScimError::invalid_filter(format!(
                "filter has more than {MAX_FILTER_COMPARISONS} comparisons"
            )));
        }
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Some(Token::Word(w)) => {
                compare_op(&w).ok_or_else(|| ScimError::invalid_filter(format!("unknown operator '{w}'")))?
            }
            other => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an operator after '{written}', found {other:?}"
                )));
            }
        };
        let value = match self.next() {
            Some(Token::Quoted(s)) => Literal::Str(s),
            Some(Token::Word(w)) => literal(w),
            other => {
                return Err(ScimError::invalid_filter(format!("expected a value, found {other:?}")));
            }
        };
        Ok(Filter::Compare(path, op, value))
    }
}

/// An unquoted value: JSON's `true`/`false`/`null`/numbers, else (Entra) a bare string.
fn literal(word: String) -> Literal {
    match word.as_str() {
        "true" => Literal::Bool(true),
        "false" => Literal::Bool(false),
        "null" => Literal::Null,
        w => match w.parse::<f64>() {
            Ok(n) if n.is_finite() => Literal::Num(n),
            _ => Literal::Str(word),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::USER_TYPE;

    fn p(s: &str) -> ScimResult<Filter> {
        parse(s, &USER_TYPE)
    }

    #[test]
    fn precedence_and_grouping() {
        let f = p(r#"a eq "1" or b eq "2" and c pr"#).unwrap();
        assert!(matches!(f, Filter::Or(_, ref r) if matches!(**r, Filter::And(..))));
        let f = p(r#"(a eq "1" or b eq "2") and c pr"#).unwrap();
        assert!(matches!(f, Filter::And(ref l, _) if matches!(**l, Filter::Or(..))));
        let f = p(r#"not (a eq "1")"#).unwrap();
        assert!(matches!(f, Filter::Not(_)));
    }

    #[test]
    fn operators_and_keywords_are_case_insensitive() {
        assert!(matches!(p(r#"userName EQ "x" AND active Pr"#).unwrap(), Filter::And(..)));
    }

    #[test]
    fn complex_value_filter() {
        let f = p(r#"emails[type eq "work" and value co "@x"]"#).unwrap();
        assert!(matches!(f, Filter::ValuePath(ref a, ref i) if a.attr == "emails" && matches!(**i, Filter::And(..))));
    }

    #[test]
    fn unquoted_entra_values() {
        let f = p("meta.created gt 2015-10-10T14:38:21.8617979-07:00").unwrap();
        assert!(matches!(f, Filter::Compare(_, CompareOp::Gt, Literal::Str(_))));
        assert!(matches!(p("x eq 12").unwrap(), Filter::Compare(_, _, Literal::Num(n)) if n == 12.0));
        assert!(matches!(p("active eq true").unwrap(), Filter::Compare(_, _, Literal::Bool(true))));
    }

    #[test]
    fn rejects_malformed_filters() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName zz \"x\"",
            "(a pr",
            "a pr)",
            "a pr and",
            "[a pr]",
            "emails[type eq \"w\"",
        ] {
            let e = p(bad).unwrap_err();
            assert_eq!(e.scim_type, Some(crate::scim::error::ScimType::InvalidFilter), "{bad}");
        }
    }

    #[test]
    fn depth_and_length_are_bounded() {
        let deep = format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(p(&deep).is_err());
        let ok = format!("{}a pr{}", "(".repeat(MAX_FILTER_DEPTH - 1), ")".repeat(MAX_FILTER_DEPTH - 1));
        assert!(p(&ok).is_ok());
        let nots = "not (".repeat(MAX_FILTER_DEPTH + 1) + "a pr" + &")".repeat(MAX_FILTER_DEPTH + 1);
        assert!(p(&nots).is_err());
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
        assert!(p(&long).is_err());
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_LEN - 14));
        assert_eq!(long.len(), MAX_FILTER_LEN);
        assert!(p(&long).is_ok());
    }

    #[test]
    fn comparisons_are_bounded() {
        let chain = |n: usize, sep: &str| vec!["a pr"; n].join(sep);
        assert!(p(&chain(MAX_FILTER_COMPARISONS, " and ")).is_ok());
        for sep in [" and ", " or "] {
            let e = p(&chain(MAX_FILTER_COMPARISONS + 1, sep)).unwrap_err();
            assert_eq!(e.scim_type, Some(crate::scim::error::ScimType::InvalidFilter));
            assert!(e.detail.contains("more than 100 comparisons"), "{}", e.detail);
        }
        // Comparisons inside value filters and Entra's `].sub` form count too.
        let inner = vec![r#"type eq "w""#; MAX_FILTER_COMPARISONS].join(" or ");
        assert!(p(&format!("emails[{inner}]")).is_ok());
        assert!(p(&format!("emails[{inner}].value pr")).is_err());
        // The length bound leaves room for the comparison bound's worth of ordinary terms.
        let wide = (0..MAX_FILTER_COMPARISONS)
            .map(|i| format!(r#"userName eq "someone-{i:06}@example.com""#))
            .collect::<Vec<_>>()
            .join(" or ");
        assert!(wide.len() <= MAX_FILTER_LEN, "{}", wide.len());
        assert!(p(&wide).is_ok());
    }

    #[test]
    fn entra_sub_attribute_after_a_value_filter() {
        let f = p(r#"emails[type eq "work"].value eq "x@y""#).unwrap();
        let Filter::ValuePath(top, inner) = &f else { panic!("{f:?}") };
        assert_eq!((top.attr.as_str(), top.sub.as_deref()), ("emails", None));
        let Filter::And(on_filter, on_sub) = &**inner else { panic!("{inner:?}") };
        assert!(
            matches!(&**on_filter, Filter::Compare(a, CompareOp::Eq, Literal::Str(s)) if a.attr == "type" && s == "work")
        );
        assert!(
            matches!(&**on_sub, Filter::Compare(a, CompareOp::Eq, Literal::Str(s)) if a.attr == "value" && a.sub.is_none() && s == "x@y")
        );
        // An `or` inside the brackets stays grouped under the `and`.
        let f = p(r#"emails[type eq "work" or type eq "home"].value pr and userName eq "u""#).unwrap();
        let Filter::And(left, _) = &f else { panic!("{f:?}") };
        let Filter::ValuePath(_, inner) = &**left else { panic!("{left:?}") };
        assert!(
            matches!(&**inner, Filter::And(l, r) if matches!(**l, Filter::Or(..)) && matches!(**r, Filter::Present(_)))
        );
        for op in ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
            assert!(p(&format!(r#"emails[type eq "work"].value {op} "x""#)).is_ok(), "{op}");
        }
        assert!(p(r#"EMAILS[TYPE EQ "work"].VALUE EQ "x""#).is_ok());
    }

    #[test]
    fn rejects_malformed_value_filters() {
        for bad in [
            r#"emails[type eq "work"].value"#,
            r#"emails[type eq "work"]."#,
            r#"emails[type eq "work"]. value eq "x""#,
            r#"emails[type eq "work"] .value eq "x""#,
            r#"emails[type eq "work"].value.x eq "x""#,
            r#"emails[type eq "work"].9 eq "x""#,
            r#"emails[type eq "work"].value eq "x" eq "y""#,
            r#"emails[type eq "work"][value pr]"#,
            r#"emails[value[type pr]]"#,
            r#"emails[type eq "w"].value[type pr]"#,
            r#"name.givenName[value pr]"#,
            r#"(emails[type eq "w"]).value pr"#,
        ] {
            let e = p(bad).unwrap_err();
            assert_eq!(e.scim_type, Some(crate::scim::error::ScimType::InvalidFilter), "{bad}");
        }
    }
}
