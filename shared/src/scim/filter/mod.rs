//! The RFC 7644 §3.4.2.2 filter grammar (plus Entra's `emails[type eq "work"].value eq "…"`):
//! parsing (bounded in length, depth and comparisons) and evaluation against stored
//! resources, typed by schema.

mod compare;
mod eval;
mod lexer;
mod parser;

pub use compare::parse_time;
pub use eval::{Matcher, matches, matches_element, values_at};
pub use parser::parse;

use super::path::AttrPath;

/// Longest filter accepted, in bytes; longer ones are refused as invalidFilter. Room for
/// MAX_FILTER_COMPARISONS terms like `userName eq "someone@example.com"` (~50 bytes with `or`).
pub const MAX_FILTER_LEN: usize = 8192;
/// Deepest nesting of parentheses, `not` and value filters.
pub const MAX_FILTER_DEPTH: usize = 32;
/// Most comparisons (`attr op value`, `attr pr`) in one filter. Also bounds the length of
/// `and`/`or` chains, which the parser builds as left-deep trees that evaluation recurses into.
pub const MAX_FILTER_COMPARISONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value. Entra sends unquoted words (`eq Employee`); those arrive as `Str`.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, Literal),
    /// `emails[type eq "work" and value co "@x"]`: the inner filter applies to each element.
    /// Entra's `emails[type eq "work"].value eq "x"` is parsed as
    /// `emails[(type eq "work") and value eq "x"]`: both hold for the same element.
    ValuePath(AttrPath, Box<Filter>),
}

impl Filter {
    /// For index planning: the `attr eq "value"` terms that every match must satisfy
    /// (the top-level conjunction), with the literal as a string. Terms inside a value
    /// filter are about one element, not the resource, and are never listed.
    pub fn required_equalities(&self) -> Vec<(&AttrPath, &str)> {
        self.required_eq_literals()
            .into_iter()
            .filter_map(|(p, lit)| match lit {
                Literal::Str(s) => Some((p, s.as_str())),
                _ => None,
            })
            .collect()
    }

    /// [`Self::required_equalities`] with any literal (`level eq 3`).
    pub fn required_eq_literals(&self) -> Vec<(&AttrPath, &Literal)> {
        match self {
            Self::And(a, b) => {
                let mut v = a.required_eq_literals();
                v.extend(b.required_eq_literals());
                v
            }
            Self::Compare(path, CompareOp::Eq, lit) => vec![(path, lit)],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::USER_TYPE;

    fn eqs(f: &str) -> Vec<(String, String)> {
        let f = parse(f, &USER_TYPE).unwrap();
        f.required_equalities().into_iter().map(|(p, v)| (p.attr.clone(), v.to_owned())).collect()
    }

    #[test]
    fn required_equalities_skip_value_filters() {
        assert!(eqs(r#"emails[type eq "work"].value eq "x@y""#).is_empty());
        assert!(eqs(r#"emails[value eq "x@y"]"#).is_empty());
        assert_eq!(
            eqs(r#"emails[type eq "work"].value eq "x@y" and userName eq "u""#),
            [("userName".into(), "u".into())]
        );
        assert_eq!(eqs(r#"userName eq "u" and externalId eq "e""#).len(), 2);
        assert!(eqs(r#"userName eq "u" or externalId eq "e""#).is_empty());
    }
}
