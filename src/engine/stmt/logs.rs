//! `logs [@SOURCE] LOGQL [limit N]`: the lines a LogQL log query selects in the window.

use super::query::{interruptible, source_error};
use crate::engine::context::Context;
use crate::engine::error::{CellError, Span};
use crate::engine::syntax::{Template, Token, Tokens};
use crate::model::{LogsValue, Value};
use crate::render;

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
    let (start, mut end) = tokens.rest();
    let text: String = tokens.line.text[start..end].iter().collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut limit = DEFAULT_LIMIT;
    if words.len() > 2 && words[words.len() - 2] == "limit" {
        let count = words[words.len() - 1];
        let at = end - count.chars().count();
        limit = count
            .parse()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                CellError::parse(
                    format!(
                        "`{count}` is not a limit: give a count of lines from 1 to {MAX_LIMIT}"
                    ),
                    tokens.line.span(at, end),
                )
            })?;
        end = at;
        while tokens.line.text[end - 1].is_whitespace() {
            end -= 1;
        }
        end -= "limit".len();
        while end > start && tokens.line.text[end - 1].is_whitespace() {
            end -= 1;
        }
    }
    if start >= end {
        return Err(tokens.missing("a LogQL query, e.g. {app=\"checkout\"} |= \"error\""));
    }
    Ok(Logs {
        source,
        query: Template::parse(tokens.line, start, end)?,
        query_span: tokens.line.span(start, end),
        limit,
    })
}

impl Logs {
    pub async fn apply(&self, cx: &mut Context<'_>) -> Result<Value, CellError> {
        let query = cx.state.resolve(&self.query)?;
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
        cx.out
            .display(render::logs::lines(&query, &selection, &range), None);
        Ok(Value::Logs(LogsValue {
            query,
            range,
            selection,
        }))
    }
}
