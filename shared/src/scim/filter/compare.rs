//! One comparison (`value op literal`), typed by the attribute's schema: strings fold case
//! unless `caseExact`, dateTimes compare as instants, booleans and numbers as themselves.
//! The literal is converted once per filter evaluation ([`Want::new`]), so each stored
//! value costs work in its own length only, whatever the literal's length.

use super::{CompareOp, Literal};
use crate::scim::schema::{AttrType, Attribute};
use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A literal as the attribute's type reads it; `None` inside is a literal of the wrong type,
/// which matches nothing.
#[derive(Debug)]
pub enum Want {
    Null,
    Bool(Option<bool>),
    Num(Option<f64>),
    Time(Option<OffsetDateTime>),
    /// Already lowercased unless the attribute is caseExact.
    Text {
        text: Option<String>,
        case_exact: bool,
    },
    /// Complex values are never compared directly.
    Nothing,
}

#[cfg(test)]
thread_local! {
    /// How many literals were converted, so tests can check it happens once per filter.
    pub static CONVERSIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Want {
    pub fn new(attr: &Attribute, lit: &Literal) -> Self {
        #[cfg(test)]
        CONVERSIONS.with(|c| c.set(c.get() + 1));
        if *lit == Literal::Null {
            return Self::Null;
        }
        match attr.kind {
            AttrType::Boolean => Self::Bool(match lit {
                Literal::Bool(b) => Some(*b),
                Literal::Str(s) => s.to_ascii_lowercase().parse::<bool>().ok(),
                _ => None,
            }),
            AttrType::Integer | AttrType::Decimal => Self::Num(match lit {
                Literal::Num(n) => Some(*n),
                Literal::Str(s) => s.parse().ok(),
                _ => None,
            }),
            AttrType::DateTime => Self::Time(lit_str(lit).as_deref().and_then(parse_time)),
            AttrType::Complex => Self::Nothing,
            AttrType::String | AttrType::Reference | AttrType::Binary => {
                let text = lit_str(lit).map(|s| if attr.case_exact { s } else { s.to_lowercase() });
                Self::Text { text, case_exact: attr.case_exact }
            }
        }
    }
}

fn lit_str(lit: &Literal) -> Option<String> {
    match lit {
        Literal::Str(s) => Some(s.clone()),
        Literal::Num(n) => Some(n.to_string()),
        Literal::Bool(b) => Some(b.to_string()),
        Literal::Null => None,
    }
}

/// Parses an RFC 3339 dateTime (any number of fractional digits, as Entra sends).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn ordered(ord: Option<Ordering>, op: CompareOp) -> bool {
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Does one stored `value` compare `op` to the literal?
pub fn compare(value: &Value, op: CompareOp, want: &Want) -> bool {
    match want {
        Want::Null => match op {
            CompareOp::Eq => value.is_null(),
            CompareOp::Ne => !value.is_null(),
            _ => false,
        },
        Want::Bool(want) => {
            matches!(op, CompareOp::Eq | CompareOp::Ne)
                && ordered(value.as_bool().zip(*want).map(|(a, b)| a.cmp(&b)), op)
        }
        Want::Num(want) => ordered(value.as_f64().zip(*want).and_then(|(a, b)| a.partial_cmp(&b)), op),
        Want::Time(want) => {
            let have = value.as_str().and_then(parse_time);
            ordered(have.zip(*want).map(|(a, b)| a.cmp(&b)), op)
        }
        Want::Nothing => false,
        Want::Text { text, case_exact } => {
            let (Some(have), Some(want)) = (value.as_str(), text.as_deref()) else { return false };
            let have = if *case_exact { Cow::Borrowed(have) } else { Cow::Owned(have.to_lowercase()) };
            match op {
                CompareOp::Co => have.contains(want),
                CompareOp::Sw => have.starts_with(want),
                CompareOp::Ew => have.ends_with(want),
                op => ordered(Some((*have).cmp(want)), op),
            }
        }
    }
}
