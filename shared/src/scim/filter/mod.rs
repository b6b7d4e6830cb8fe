//! The RFC 7644 §3.4.2.2 filter grammar: parsing (bounded in length and depth) and
//! evaluation against stored resources, typed by schema.

mod eval;
mod lexer;
mod parser;

pub use eval::{matches, matches_element, parse_time, values_at};
pub use parser::parse;

use super::path::AttrPath;

/// Longest filter accepted; longer ones are refused as invalidFilter.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and value filters.
pub const MAX_FILTER_DEPTH: usize = 32;

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
    ValuePath(AttrPath, Box<Filter>),
}

impl Filter {
    /// For index planning: the `attr eq "value"` terms that every match must satisfy
    /// (the top-level conjunction), with the literal as a string.
    pub fn required_equalities(&self) -> Vec<(&AttrPath, &str)> {
        match self {
            Self::And(a, b) => {
                let mut v = a.required_equalities();
                v.extend(b.required_equalities());
                v
            }
            Self::Compare(path, CompareOp::Eq, Literal::Str(s)) => vec![(path, s.as_str())],
            _ => Vec::new(),
        }
    }
}
