//! The lexical layer of the cell language: logical lines (with `\` continuations), comments,
//! words, quoted strings, and `{{NAME}}` templates, each remembering where it stands in the
//! cell so that errors point at the right line and column.

use super::error::{CellError, Span};

/// One statement's text after joining continuation lines, with the way back to cell positions.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: Vec<char>,
    /// For each physical line joined in: (offset in `text` where it starts, line number, column
    /// of its first character), all 1-based but the offset.
    pieces: Vec<(usize, usize, usize)>,
}

impl Line {
    /// The span of `text[start..end]` in the cell, cut at the end of its first physical line.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let (i, &(offset, line, col)) = self
            .pieces
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (offset, _, _))| *offset <= start)
            .unwrap_or((0, &self.pieces[0]));
        let piece_end = self.pieces.get(i + 1).map_or(self.text.len(), |p| p.0);
        let end = end.min(piece_end).max(start + 1);
        Span {
            line,
            column: col + (start - offset),
            len: end - start,
        }
    }

    /// The span of the whole statement, for errors that concern all of it.
    pub fn whole(&self) -> Span {
        let start = self.text.iter().take_while(|c| c.is_whitespace()).count();
        self.span(start, self.text.len())
    }
}

/// Splits a cell into logical lines, dropping blank lines and whole-line comments. A line whose
/// last character is `\` continues on the next; a `\` on the cell's last line is an error.
pub fn logical_lines(cell: &str) -> Result<Vec<Line>, CellError> {
    let mut lines = Vec::new();
    let mut current: Option<Line> = None;
    for (index, physical) in cell.lines().enumerate() {
        let number = index + 1;
        let continued = current.is_some();
        let trimmed_start = physical.trim_start();
        if !continued && (trimmed_start.is_empty() || trimmed_start.starts_with('#')) {
            continue;
        }
        let line = current.get_or_insert_with(|| Line {
            text: Vec::new(),
            pieces: Vec::new(),
        });
        line.pieces.push((line.text.len(), number, 1));
        let body = physical.trim_end();
        match body.strip_suffix('\\') {
            Some(head) => {
                line.text.extend(head.chars());
                line.text.push(' ');
            }
            None => {
                line.text.extend(body.chars());
                lines.extend(current.take());
            }
        }
    }
    if let Some(line) = current {
        let last = line.pieces.last().map_or(1, |p| p.1);
        let column = cell
            .lines()
            .nth(last - 1)
            .map_or(1, |l| l.trim_end().chars().count());
        return Err(CellError::parse(
            "the cell ends with a `\\`, which continues the line, but no line follows",
            Span {
                line: last,
                column,
                len: 1,
            },
        ));
    }
    Ok(lines)
}

/// Whether the cell's last non-blank line ends in a continuation.
pub fn ends_with_continuation(cell: &str) -> bool {
    cell.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_end().ends_with('\\'))
}

/// A piece of text that may hold `{{NAME}}` references, resolved when the step runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// `{{NAME}}`, or `{{NAME.FIELD}}` for a figure of a bound result (`{{errors.count}}`).
    Var {
        name: String,
        field: Option<String>,
        span: Span,
    },
}

impl Template {
    /// Parses `text[start..end]` of `line` as literal text with `{{NAME}}` and `{{NAME.FIELD}}`
    /// references.
    pub fn parse(line: &Line, start: usize, end: usize) -> Result<Template, CellError> {
        let chars = &line.text[..end];
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = start;
        while i < end {
            if chars[i] == '{' && chars.get(i + 1) == Some(&'{') {
                let close = (i + 2..end.saturating_sub(1))
                    .find(|&j| chars[j] == '}' && chars[j + 1] == '}')
                    .ok_or_else(|| {
                        CellError::parse("`{{` is not closed by `}}`", line.span(i, i + 2))
                    })?;
                let inner: String = chars[i + 2..close].iter().collect();
                let (name, field) = match inner.trim().split_once('.') {
                    Some((name, field)) => (name, Some(field)),
                    None => (inner.trim(), None),
                };
                if !is_name(name) || field.is_some_and(|f| !is_name(f)) {
                    return Err(CellError::parse(
                        format!("`{{{{{inner}}}}}` does not name a parameter or binding"),
                        line.span(i, close + 2),
                    ));
                }
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Var {
                    name: name.to_owned(),
                    field: field.map(str::to_owned),
                    span: line.span(i, close + 2),
                });
                i = close + 2;
            } else {
                literal.push(chars[i]);
                i += 1;
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// Parses one word that starts at `span` (a word of [`Tokens::raw_words`]).
    pub fn parse_word(word: &str, span: Span) -> Result<Template, CellError> {
        let line = Line {
            text: word.chars().collect(),
            pieces: vec![(0, span.line, span.column)],
        };
        Template::parse(&line, 0, line.text.len())
    }

    /// The text, when it holds no reference.
    pub fn literal(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                Part::Var { .. } => None,
            })
            .collect()
    }
}

pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A token of the statements' own syntax (not of the PromQL or shell they may carry).
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Word(String),
    /// A double-quoted string, its escapes (`\"`, `\\`) resolved, `{{NAME}}` kept as a template.
    Quoted(Template),
    Punct(char),
}

/// A cursor over one logical line's tokens.
pub struct Tokens<'a> {
    pub line: &'a Line,
    pub pos: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(line: &'a Line, pos: usize) -> Self {
        Tokens { line, pos }
    }

    fn skip_blanks(&mut self) {
        while self.pos < self.line.text.len() && self.line.text[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    /// The rest of the line from the next non-blank character, and where it starts; `#` is not
    /// a comment here: the shell and PromQL read comments themselves, the same way.
    pub fn rest(&mut self) -> (usize, usize) {
        self.skip_blanks();
        let mut end = self.line.text.len();
        while end > self.pos && self.line.text[end - 1].is_whitespace() {
            end -= 1;
        }
        let start = self.pos;
        self.pos = self.line.text.len();
        (start, end)
    }

    /// The rest of the line as whitespace-separated words, for syntax whose words hold `:` and
    /// `=` (URLs, timestamps, headers).
    pub fn raw_words(&mut self) -> Vec<(String, Span)> {
        let (start, end) = self.rest();
        let mut words = Vec::new();
        let mut i = start;
        while i < end {
            if self.line.text[i].is_whitespace() {
                i += 1;
                continue;
            }
            let from = i;
            while i < end && !self.line.text[i].is_whitespace() {
                i += 1;
            }
            let word = self.line.text[from..i].iter().collect();
            words.push((word, self.line.span(from, i)));
        }
        words
    }

    pub fn at_end(&mut self) -> bool {
        self.skip_blanks();
        self.pos >= self.line.text.len() || self.line.text[self.pos] == '#'
    }

    /// The next token and its span, or `None` at the end of the statement (or at a comment).
    pub fn token(&mut self) -> Result<Option<(Token, Span)>, CellError> {
        if self.at_end() {
            return Ok(None);
        }
        let text = &self.line.text;
        let start = self.pos;
        let c = text[start];
        if matches!(c, ',' | ':' | '=') {
            self.pos += 1;
            return Ok(Some((Token::Punct(c), self.line.span(start, start + 1))));
        }
        if c == '"' {
            return self.quoted().map(Some);
        }
        while self.pos < text.len()
            && !text[self.pos].is_whitespace()
            && !matches!(text[self.pos], ',' | ':' | '=' | '"')
        {
            self.pos += 1;
        }
        let word: String = text[start..self.pos].iter().collect();
        Ok(Some((Token::Word(word), self.line.span(start, self.pos))))
    }

    fn quoted(&mut self) -> Result<(Token, Span), CellError> {
        let text = &self.line.text;
        let start = self.pos;
        // Unescape into a private line so that template spans still point into the cell.
        let mut unescaped = Line {
            text: Vec::new(),
            pieces: Vec::new(),
        };
        let mut i = start + 1;
        loop {
            let (c, width) = match text.get(i) {
                None => {
                    return Err(CellError::parse(
                        "this string is not closed: add a `\"` at its end",
                        self.line.span(start, start + 1),
                    ))
                }
                Some('"') => break,
                Some('\\') if matches!(text.get(i + 1), Some('"') | Some('\\')) => (text[i + 1], 2),
                Some(&c) => (c, 1),
            };
            let at = self.line.span(i + width - 1, i + width);
            let contiguous = unescaped
                .pieces
                .last()
                .is_some_and(|&(offset, line, column)| {
                    line == at.line && column + (unescaped.text.len() - offset) == at.column
                });
            if !contiguous {
                unescaped
                    .pieces
                    .push((unescaped.text.len(), at.line, at.column));
            }
            unescaped.text.push(c);
            i += width;
        }
        self.pos = i + 1;
        let span = self.line.span(start, self.pos);
        if unescaped.pieces.is_empty() {
            return Ok((Token::Quoted(Template { parts: vec![] }), span));
        }
        let len = unescaped.text.len();
        Ok((Token::Quoted(Template::parse(&unescaped, 0, len)?), span))
    }

    /// The next token, which must be a word; `what` says what was expected, for the error.
    pub fn word(&mut self, what: &str) -> Result<(String, Span), CellError> {
        match self.token()? {
            Some((Token::Word(w), span)) => Ok((w, span)),
            Some((_, span)) => Err(CellError::parse(format!("expected {what}"), span)),
            None => Err(self.missing(what)),
        }
    }

    pub fn quoted_string(&mut self, what: &str) -> Result<(Template, Span), CellError> {
        match self.token()? {
            Some((Token::Quoted(t), span)) => Ok((t, span)),
            Some((_, span)) => Err(CellError::parse(
                format!("expected {what} in double quotes"),
                span,
            )),
            None => Err(self.missing(&format!("{what} in double quotes"))),
        }
    }

    pub fn punct(&mut self, c: char) -> Result<Span, CellError> {
        match self.token()? {
            Some((Token::Punct(p), span)) if p == c => Ok(span),
            Some((_, span)) => Err(CellError::parse(format!("expected `{c}`"), span)),
            None => Err(self.missing(&format!("`{c}`"))),
        }
    }

    /// An error for a missing piece, pointing just past the end of the statement.
    pub fn missing(&self, what: &str) -> CellError {
        let end = self.line.text.len();
        let mut span = self.line.span(end.saturating_sub(1), end);
        span.column += 1;
        CellError::parse(
            format!("expected {what}, but the statement ends here"),
            span,
        )
    }

    /// Rejects anything left over, like mini-redis's `Parse::finish`.
    pub fn finish(&mut self) -> Result<(), CellError> {
        match self.token()? {
            None => Ok(()),
            Some((_, span)) => Err(CellError::parse(
                "unexpected text after the end of the statement",
                span,
            )),
        }
    }
}
