//! Splits a filter into tokens. Words are left uninterpreted: whether `and` is an
//! operator or an attribute name depends on where it stands, which the parser knows.

use crate::scim::error::{ScimError, ScimResult};
use std::iter::Peekable;
use std::str::CharIndices;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A double-quoted JSON string, unescaped.
    Quoted(String),
    /// Anything else between delimiters: paths, operators, numbers, bare values.
    Word(String),
    /// `.name` directly after `]` (Entra's `emails[type eq "work"].value`), without the dot.
    SubAttr(String),
}

pub fn tokenize(text: &str) -> ScimResult<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::LParen,
                    ')' => Token::RParen,
                    '[' => Token::LBracket,
                    _ => Token::RBracket,
                });
                if c == ']'
                    && let Some(&(dot, '.')) = chars.peek()
                {
                    chars.next();
                    let end = word_end(text, &mut chars);
                    tokens.push(Token::SubAttr(slice(text, dot + 1, end)?.to_owned()));
                }
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                let end = end.ok_or_else(|| ScimError::invalid_filter("unterminated string"))?;
                let raw = slice(text, start, end + 1)?;
                let s: String = serde_json::from_str(raw)
                    .map_err(|_| ScimError::invalid_filter(format!("invalid string {raw}")))?;
                tokens.push(Token::Quoted(s));
            }
            _ => {
                let end = word_end(text, &mut chars);
                tokens.push(Token::Word(slice(text, start, end)?.to_owned()));
            }
        }
    }
    Ok(tokens)
}

/// Consumes a word's characters; returns the byte offset just past it.
fn word_end(text: &str, chars: &mut Peekable<CharIndices<'_>>) -> usize {
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
            return i;
        }
        chars.next();
    }
    text.len()
}

/// `text[start..end]`; the offsets come from `char_indices`, so a miss is a lexer bug.
fn slice(text: &str, start: usize, end: usize) -> ScimResult<&str> {
    text.get(start..end).ok_or_else(|| ScimError::invalid_filter(format!("internal lexer error at byte {start}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_strings_and_delimiters() {
        let t = tokenize(r#"emails[type eq "wo\"rk"] and (x pr)"#).unwrap();
        assert_eq!(
            t,
            vec![
                Token::Word("emails".into()),
                Token::LBracket,
                Token::Word("type".into()),
                Token::Word("eq".into()),
                Token::Quoted("wo\"rk".into()),
                Token::RBracket,
                Token::Word("and".into()),
                Token::LParen,
                Token::Word("x".into()),
                Token::Word("pr".into()),
                Token::RParen,
            ]
        );
        assert!(tokenize(r#"a eq "open"#).is_err());
    }

    #[test]
    fn a_dot_right_after_a_bracket_is_a_sub_attribute() {
        let t = tokenize(r#"emails[type eq "work"].value eq "x""#).unwrap();
        assert_eq!(
            t.get(5..),
            Some(
                &[Token::RBracket, Token::SubAttr("value".into()), Token::Word("eq".into()), Token::Quoted("x".into())]
                    [..]
            )
        );
        // With a space the dot starts an ordinary word, which the parser refuses.
        let t = tokenize(r#"emails[type pr] .value pr"#).unwrap();
        assert_eq!(t.get(4..6), Some(&[Token::RBracket, Token::Word(".value".into())][..]));
        let t = tokenize(r#"emails[type pr]."#).unwrap();
        assert_eq!(t.last(), Some(&Token::SubAttr(String::new())));
    }
}
