//! Splits a filter into tokens. Words are left uninterpreted: whether `and` is an
//! operator or an attribute name depends on where it stands, which the parser knows.

use crate::scim::error::{ScimError, ScimResult};

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
                let raw = text.get(start..=end).unwrap_or_default();
                let s: String = serde_json::from_str(raw)
                    .map_err(|_| ScimError::invalid_filter(format!("invalid string {raw}")))?;
                tokens.push(Token::Quoted(s));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                tokens.push(Token::Word(text.get(start..end).unwrap_or_default().to_owned()));
            }
        }
    }
    Ok(tokens)
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
}
