//! LogQL text to tokens: identifiers, strings (Go escapes in double quotes, raw in backticks),
//! numbers, unit literals and punctuation, each with its 1-based line and column in characters.

use super::LogError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    /// In double quotes or backticks; `value` holds what it stands for.
    String,
    Number,
    /// A number run into letters: a duration (`5m`) or a byte size (`20MB`), or a mistake.
    Unit,
    Punct,
    End,
}

#[derive(Debug)]
pub struct Token<'q> {
    pub kind: Kind,
    /// As written in the query.
    pub text: &'q str,
    pub value: String,
    /// 1-based line and column (in characters).
    pub at: (usize, usize),
}

/// A syntax error at the token.
pub fn syntax(message: String, token: &Token) -> LogError {
    LogError::Syntax {
        message,
        position: token.at,
    }
}

/// The token as messages name it after "found".
pub fn describe(token: &Token) -> String {
    if token.kind == Kind::End {
        return "the end of the query".to_owned();
    }
    let shown: String = token.text.chars().take(40).collect();
    if shown.len() < token.text.len() {
        format!("`{shown}...`")
    } else {
        format!("`{shown}`")
    }
}

/// Longest first, so that `|=` is not read as `|` then `=`.
const PUNCTUATION: [&str; 26] = [
    "|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "{", "}", "(", ")", "[", "]", ",",
    "|", "=", ">", "<", "+", "-", "*", "/", "%",
];

/// Extra single characters of metric queries (`^`, subqueries' `:`, `@`).
const METRIC_PUNCTUATION: [&str; 3] = ["^", ":", "@"];

struct Lexer<'q> {
    query: &'q str,
    /// Byte offset of the next character.
    at: usize,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.query[self.at..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: String, at: (usize, usize)) -> LogError {
        LogError::Syntax {
            message,
            position: at,
        }
    }

    /// The body of a double-quoted string with Go's escapes, its opening quote read.
    fn quoted(&mut self, opened: (usize, usize)) -> Result<String, LogError> {
        let mut bytes = Vec::new();
        loop {
            let here = (self.line, self.column);
            let Some(c) = self.bump() else {
                return Err(self.error(
                    "the string opened here is not closed (expected a closing `\"`)".to_owned(),
                    opened,
                ));
            };
            match c {
                '"' => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
                '\n' => {
                    return Err(self.error(
                        "a string in double quotes cannot span lines (backticks can)".to_owned(),
                        opened,
                    ))
                }
                '\\' => self.escape(here, &mut bytes)?,
                other => {
                    let mut buffer = [0u8; 4];
                    bytes.extend_from_slice(other.encode_utf8(&mut buffer).as_bytes());
                }
            }
        }
    }

    fn escape(&mut self, at: (usize, usize), bytes: &mut Vec<u8>) -> Result<(), LogError> {
        let invalid = |lexer: &Self, what: String| {
            lexer.error(
                format!("invalid escape `\\{what}` in a string (to match a backslash write `\\\\` or use backticks)"),
                at,
            )
        };
        let Some(c) = self.bump() else {
            return Err(invalid(self, String::new()));
        };
        let simple = match c {
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(byte) = simple {
            bytes.push(byte);
            return Ok(());
        }
        let (digits, radix) = match c {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            other => return Err(invalid(self, other.to_string())),
        };
        let shown = |text: &str| {
            if radix == 8 {
                text.to_owned()
            } else {
                format!("{c}{text}")
            }
        };
        let mut text = if radix == 8 {
            c.to_string()
        } else {
            String::new()
        };
        for _ in 0..digits {
            match self.peek() {
                Some(d) if d.is_digit(radix) => {
                    text.push(d);
                    self.bump();
                }
                _ => return Err(invalid(self, shown(&text))),
            }
        }
        let value = u32::from_str_radix(&text, radix).map_err(|_| invalid(self, shown(&text)))?;
        match c {
            'x' | '0'..='7' => match u8::try_from(value) {
                Ok(byte) => bytes.push(byte),
                Err(_) => return Err(invalid(self, shown(&text))),
            },
            _ => match char::from_u32(value) {
                Some(ch) => {
                    let mut buffer = [0u8; 4];
                    bytes.extend_from_slice(ch.encode_utf8(&mut buffer).as_bytes());
                }
                None => return Err(invalid(self, shown(&text))),
            },
        }
        Ok(())
    }
}

/// The tokens of a query, ended by an `End` token at the position after the last character.
pub fn lex(query: &str) -> Result<Vec<Token<'_>>, LogError> {
    let mut lexer = Lexer {
        query,
        at: 0,
        line: 1,
        column: 1,
    };
    let mut tokens = Vec::new();
    loop {
        // Whitespace and `#` comments, to the end of their line.
        while let Some(c) = lexer.peek() {
            if c.is_whitespace() {
                lexer.bump();
            } else if c == '#' {
                while lexer.peek().is_some_and(|c| c != '\n') {
                    lexer.bump();
                }
            } else {
                break;
            }
        }
        let at = (lexer.line, lexer.column);
        let start = lexer.at;
        let Some(c) = lexer.peek() else {
            tokens.push(Token {
                kind: Kind::End,
                text: "",
                value: String::new(),
                at,
            });
            return Ok(tokens);
        };
        let (kind, value) = if c == '"' {
            lexer.bump();
            (Kind::String, lexer.quoted(at)?)
        } else if c == '`' {
            lexer.bump();
            let mut value = String::new();
            loop {
                match lexer.bump() {
                    Some('`') => break,
                    Some(c) => value.push(c),
                    None => {
                        return Err(lexer.error(
                            "the string opened here is not closed (expected a closing `` ` ``)"
                                .to_owned(),
                            at,
                        ))
                    }
                }
            }
            (Kind::String, value)
        } else if c.is_ascii_alphabetic() || c == '_' {
            while lexer
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                lexer.bump();
            }
            (Kind::Ident, String::new())
        } else if c.is_ascii_digit() {
            (lex_number(&mut lexer), String::new())
        } else {
            let rest = &query[start..];
            let Some(punct) = PUNCTUATION
                .iter()
                .chain(METRIC_PUNCTUATION.iter())
                .find(|p| rest.starts_with(**p))
            else {
                return Err(lexer.error(format!("unexpected character `{c}`"), at));
            };
            for _ in 0..punct.len() {
                lexer.bump();
            }
            (Kind::Punct, String::new())
        };
        tokens.push(Token {
            kind,
            text: &query[start..lexer.at],
            value,
            at,
        });
    }
}

/// `5`, `1.5`, `2e3`; digits run into letters make a unit literal (`5m`, `1h30m`, `20MB`).
fn lex_number(lexer: &mut Lexer) -> Kind {
    let digits = |lexer: &mut Lexer| {
        while lexer.peek().is_some_and(|c| c.is_ascii_digit()) {
            lexer.bump();
        }
    };
    let next_is_digit = |lexer: &Lexer, skip: usize| {
        lexer.query[lexer.at..]
            .chars()
            .nth(skip)
            .is_some_and(|c| c.is_ascii_digit())
    };
    digits(lexer);
    if lexer.peek() == Some('.') && next_is_digit(lexer, 1) {
        lexer.bump();
        digits(lexer);
    }
    if matches!(lexer.peek(), Some('e' | 'E')) {
        let signed = lexer.query[lexer.at..]
            .chars()
            .nth(1)
            .is_some_and(|c| c == '+' || c == '-');
        if next_is_digit(lexer, if signed { 2 } else { 1 }) {
            lexer.bump();
            if signed {
                lexer.bump();
            }
            digits(lexer);
        }
    }
    if lexer.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
        while lexer
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            lexer.bump();
        }
        return Kind::Unit;
    }
    Kind::Number
}

/// Whether a unit literal is a duration (`1h30m`, `500ms`) or a byte size (`20MB`, `5KiB`).
pub fn is_duration_or_bytes(text: &str) -> bool {
    let mut rest = text;
    let mut parts = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let unit_end = rest[number_end..]
            .find(|c: char| c.is_ascii_digit())
            .map_or(rest.len(), |i| number_end + i);
        let (number, unit) = (&rest[..number_end], &rest[number_end..unit_end]);
        let duration_unit = ["ns", "us", "ms", "s", "m", "h", "d", "w", "y"].contains(&unit);
        if number.parse::<f64>().is_err() || !duration_unit {
            break;
        }
        rest = &rest[unit_end..];
        parts += 1;
    }
    if rest.is_empty() && parts > 0 {
        return true;
    }
    let number_end = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let unit = text[number_end..].to_ascii_lowercase();
    text[..number_end].parse::<f64>().is_ok()
        && [
            "b", "kb", "kib", "mb", "mib", "gb", "gib", "tb", "tib", "pb", "pib", "eb", "eib",
        ]
        .contains(&unit.as_str())
}
