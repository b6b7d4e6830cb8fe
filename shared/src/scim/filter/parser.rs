//! Recursive-descent parser: `or` binds loosest, then `and`, then `not`/groups.

use super::lexer::{Token, tokenize};
use super::{CompareOp, Filter, Literal, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::AttrPath;
use crate::scim::schema::ResourceType;

/// Parses a filter for resources of type `rt` (the type resolves URN-prefixed paths).
pub fn parse(text: &str, rt: &ResourceType) -> ScimResult<Filter> {
    if text.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!("filter is longer than {MAX_FILTER_LEN} characters")));
    }
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0, rt };
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
        if self.peek() == Some(&Token::LBracket) {
            self.pos += 1;
            let inner = self.or_expr(Self::deeper(depth)?)?;
            self.expect(&Token::RBracket)?;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => return Ok(Filter::Present(path)),
            Some(Token::Word(w)) => {
                compare_op(&w).ok_or_else(|| ScimError::invalid_filter(format!("unknown operator '{w}'")))?
            }
            other => {
                return Err(ScimError::invalid_filter(format!("expected an operator after '{word}', found {other:?}")));
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
        // A long chain of `and` is flat, not deep: it must parse without recursion blowing up.
        let chain = vec!["a pr"; 400].join(" and ");
        assert!(p(&chain).is_ok());
    }
}
