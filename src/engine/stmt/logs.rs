//! `logs [@SOURCE] LOGQL [limit N] [fields A, B] [collapse off]`: the lines a LogQL log query
//! selects in the window.

use super::query::{interruptible, source_error};
use crate::engine::context::Context;
use crate::engine::error::{CellError, Span};
use crate::engine::syntax::{is_name, Template, Token, Tokens};
use crate::model::{LogsValue, Value};
use crate::render;
use crate::render::logs::Layout;

/// How many lines a `logs` step returns unless `limit` says otherwise, as Loki's default.
const DEFAULT_LIMIT: usize = 1000;
/// The most a `limit` may ask: every line is kept in the journal and sent to the frontend.
const MAX_LIMIT: usize = 100_000;

#[derive(Debug, Clone)]
pub struct Logs {
    pub source: Option<(String, Span)>,
    pub query: Template,
    /// Where the query starts in the cell, to place LogQL errors.
    pub query_span: Span,
    pub limit: usize,
    pub layout: Layout,
}

/// The options that may end a `logs` statement, in any order: `limit N`, `fields A, B, ...`,
/// `collapse on|off`. Read from the end, as the query before them is LogQL, not ours.
fn trailing_options(
    tokens: &Tokens,
    start: usize,
    mut end: usize,
) -> Result<(usize, usize, Layout), CellError> {
    let text = &tokens.line.text;
    let mut limit = None;
    let mut layout = Layout::default();
    let mut fields = false;
    let mut collapse = false;
    loop {
        // The last word, and the one before it.
        let word_before = |end: usize| {
            let mut e = end;
            while e > start && text[e - 1].is_whitespace() {
                e -= 1;
            }
            let mut b = e;
            while b > start && !text[b - 1].is_whitespace() {
                b -= 1;
            }
            (b, e)
        };
        let (value_at, value_end) = word_before(end);
        let (key_at, key_end) = word_before(value_at);
        if key_at >= key_end || value_at >= value_end {
            break;
        }
        let key: String = text[key_at..key_end].iter().collect();
        let value: String = text[value_at..value_end].iter().collect();
        let twice = |what: &str| {
            CellError::parse(
                format!("`{what}` is given twice"),
                tokens.line.span(key_at, key_end),
            )
        };
        match key.as_str() {
            "limit" => {
                if limit.is_some() {
                    return Err(twice("limit"));
                }
                limit = Some(value.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                    CellError::parse(
                        format!("`{value}` is not a limit: give a count of lines from 1 to {MAX_LIMIT}"),
                        tokens.line.span(value_at, value_end),
                    )
                })?);
                end = key_at;
            }
            "collapse" if !value.contains(['"', '`', '|', '}']) => {
                if collapse {
                    return Err(twice("collapse"));
                }
                collapse = true;
                layout.every_line = match value.as_str() {
                    "on" => false,
                    "off" => true,
                    _ => {
                        return Err(CellError::parse(
                            format!("`collapse {value}`: say `collapse off` to show every line, repeats included, or `collapse on`"),
                            tokens.line.span(value_at, value_end),
                        ))
                    }
                };
                end = key_at;
            }
            _ => {
                // `fields A, B, C`: names and commas back to the word `fields`.
                let Some(at) = fields_option(text, start, end) else {
                    break;
                };
                if fields {
                    return Err(CellError::parse(
                        "`fields` is given twice",
                        tokens.line.span(at, at + 6),
                    ));
                }
                fields = true;
                let list: String = text[at + "fields".len()..end].iter().collect();
                layout.fields = list.split(',').map(|f| f.trim().to_owned()).collect();
                end = at;
            }
        }
    }
    while end > start && text[end - 1].is_whitespace() {
        end -= 1;
    }
    Ok((end, limit.unwrap_or(DEFAULT_LIMIT), layout))
}

/// Where a trailing `fields A, B, ...` begins in `text[start..end]`, if it ends the text: the
/// word `fields` after a blank, then names separated by commas.
fn fields_option(text: &[char], start: usize, end: usize) -> Option<usize> {
    let tail: String = text[start..end].iter().collect();
    let at = tail.rfind("fields")?;
    let before = tail[..at].chars().last();
    if !before.is_some_and(char::is_whitespace) {
        return None;
    }
    let names = &tail[at + "fields".len()..];
    let all_names =
        names.starts_with(char::is_whitespace) && names.split(',').all(|name| is_name(name.trim()));
    all_names.then(|| start + tail[..at].chars().count())
}

pub fn parse(tokens: &mut Tokens) -> Result<Logs, CellError> {
    let mut source = None;
    let before = tokens.pos;
    match tokens.token()? {
        Some((Token::Word(w), span)) if w.len() > 1 && w.starts_with('@') => {
            source = Some((w[1..].to_owned(), span))
        }
        _ => tokens.pos = before,
    }
    let (start, end) = tokens.rest();
    let (end, limit, layout) = trailing_options(tokens, start, end)?;
    if start >= end {
        return Err(tokens.missing("a LogQL query, e.g. {app=\"checkout\"} |= \"error\""));
    }
    Ok(Logs {
        source,
        query: Template::parse(tokens.line, start, end)?,
        query_span: tokens.line.span(start, end),
        limit,
        layout,
    })
}

impl Logs {
    pub async fn apply(&self, cx: &mut Context<'_>) -> Result<Value, CellError> {
        let query = cx.state.resolve_query(&self.query)?;
        let range = cx.state.window.resolve(cx.ops.clock.now());
        let name = self.source.as_ref().map(|(n, s)| (n.as_str(), *s));
        let (_, source) = cx.state.log_source(name, self.query_span)?;
        let selection = interruptible(
            cx,
            self.query_span,
            source.select(&query, &range.interval(), self.limit),
        )
        .await?
        .map_err(|e| source_error(e, &self.query, self.query_span, "the log query"))?;
        super::query::show_warnings(cx, &selection.warnings);
        for output in render::logs::lines(&query, &selection, &range, &self.layout) {
            cx.out.display(output, None);
        }
        Ok(Value::Logs(LogsValue {
            query,
            range,
            selection,
        }))
    }
}
