//! `query [@SOURCE] [instant] PROMQL [baseline OFFSET]`

use crate::engine::context::Context;
use crate::engine::duration;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::{Template, Token, Tokens};
use crate::model::{QueryValue, Value};
use crate::ops::metrics::{Interval, MetricsSource, QueryResult, Range, Series, SourceError};
use crate::render;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Query {
    pub source: Option<(String, Span)>,
    pub instant: bool,
    pub expr: Template,
    /// Where the expression starts in the cell, to place PromQL errors.
    pub expr_span: Span,
    pub baseline: Option<Duration>,
}

pub fn parse(tokens: &mut Tokens) -> Result<Query, CellError> {
    let mut query = Query {
        source: None,
        instant: false,
        expr: Template { parts: vec![] },
        expr_span: tokens.line.whole(),
        baseline: None,
    };
    let before = tokens.pos;
    if let Some((Token::Word(w), span)) = tokens.token()? {
        match w.strip_prefix('@') {
            Some(name) if !name.is_empty() => query.source = Some((name.to_owned(), span)),
            _ => tokens.pos = before,
        }
    } else {
        tokens.pos = before;
    }
    let (start, end) = expression(tokens, &mut query)?;
    query.expr_span = tokens.line.span(start, end);
    query.expr = Template::parse(tokens.line, start, end)?;
    Ok(query)
}

/// The expression's bounds, after taking `instant` off its front and `baseline D` off its end.
fn expression(tokens: &mut Tokens, query: &mut Query) -> Result<(usize, usize), CellError> {
    let (mut start, mut end) = tokens.rest();
    let text: String = tokens.line.text[start..end].iter().collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() > 1 && words[0] == "instant" {
        query.instant = true;
        start += "instant".len();
        while tokens.line.text[start].is_whitespace() {
            start += 1;
        }
    }
    if words.len() > 2 && words[words.len() - 2] == "baseline" {
        let offset = words[words.len() - 1];
        let at = end - offset.chars().count();
        query.baseline = Some(duration::parse(offset).ok_or_else(|| {
            CellError::parse(
                format!(
                    "`{offset}` is not a duration; write the baseline's offset as e.g. 1d or 7d"
                ),
                tokens.line.span(at, end),
            )
        })?);
        end = at;
        while tokens.line.text[end - 1].is_whitespace() {
            end -= 1;
        }
        end -= "baseline".len();
        while end > start && tokens.line.text[end - 1].is_whitespace() {
            end -= 1;
        }
    }
    if start >= end {
        return Err(tokens.missing("a PromQL expression"));
    }
    Ok((start, end))
}

/// A source's failure as a cell error: PromQL errors point into the expression.
pub fn source_error(error: SourceError, expr: &Template, expr_span: Span, what: &str) -> CellError {
    // Positions count in the expression the server saw; they match the cell only when nothing
    // was interpolated into it.
    let at = |position: Option<(usize, usize)>| match (position, expr.literal()) {
        (Some((1, column)), Some(_)) => Span {
            line: expr_span.line,
            column: expr_span.column + column.saturating_sub(1),
            len: 1,
        },
        _ => expr_span,
    };
    match error {
        SourceError::PromQL { message, position } => {
            CellError::new(ErrorKind::PromQLError, message, at(position))
        }
        SourceError::LogQuery { message, position } => {
            CellError::new(ErrorKind::LogQueryError, message, at(position))
        }
        SourceError::Unreachable(why) => {
            CellError::new(ErrorKind::SourceUnreachable, why, expr_span)
        }
        SourceError::Timeout(after) => CellError::new(
            ErrorKind::SourceTimeout,
            format!(
                "{what} got no answer within {}; raise the source's `timeout` or narrow the query",
                render::human_duration(after)
            ),
            expr_span,
        ),
        SourceError::Server(why) => CellError::new(ErrorKind::SourceError, why, expr_span),
        SourceError::Unsupported(what) => {
            CellError::new(ErrorKind::UnsupportedInEmbeddedEngine, what, expr_span)
        }
        SourceError::NotRecorded(missing) => {
            CellError::new(ErrorKind::NotRecorded, missing.0, expr_span)
        }
        SourceError::Stopped => {
            CellError::new(ErrorKind::Interrupted, error.to_string(), expr_span)
        }
        SourceError::Internal(why) => CellError::new(ErrorKind::InternalError, why, expr_span),
    }
}

/// Runs `request`, unless the user interrupts first.
pub async fn interruptible<T>(
    cx: &Context<'_>,
    span: Span,
    request: impl std::future::Future<Output = T>,
) -> Result<T, CellError> {
    tokio::select! {
        answer = request => Ok(answer),
        _ = cx.interrupt.cancelled() => Err(CellError::new(
            ErrorKind::Interrupted,
            "interrupted while waiting for an answer; the request was abandoned",
            span,
        )),
    }
}

impl Query {
    pub async fn apply(&self, cx: &mut Context<'_>) -> Result<Value, CellError> {
        let expr = cx.state.resolve_query(&self.expr)?;
        let source_name = self.source.as_ref().map(|(n, s)| (n.as_str(), *s));
        let range = cx.state.window.resolve(cx.ops.clock.now());
        let source = cx.state.source(source_name, self.expr_span)?;
        let fail = |e| source_error(e, &self.expr, self.expr_span, "the query");
        if self.instant {
            let answer = interruptible(cx, self.expr_span, source.query_instant(&expr, range.end))
                .await?
                .map_err(fail)?;
            show_warnings(cx, &answer.warnings);
            cx.out
                .display(render::query::instant(&expr, &answer.result), None);
            return Ok(Value::Query(QueryValue {
                expr,
                range,
                result: answer.result,
            }));
        }
        let answer = interruptible(cx, self.expr_span, source.query_range(&expr, &range))
            .await?
            .map_err(fail)?;
        show_warnings(cx, &answer.warnings);
        let series = matrix(&answer.result);
        if series.is_empty() {
            let hint = no_data_hint(source, &expr, &Interval::until(range.end)).await;
            cx.out
                .display(render::query::no_data(&expr, &range, &hint), None);
        } else {
            let baseline = match self.baseline {
                Some(offset) => Some(
                    baseline(source, &expr, &range, offset)
                        .await
                        .map_err(fail)?,
                ),
                None => None,
            };
            let shown = baseline
                .as_ref()
                .map(|(series, offset)| render::query::Baseline {
                    series,
                    offset: *offset,
                });
            for output in render::query::range(&expr, series, shown, &range) {
                cx.out.display(output, None);
            }
        }
        Ok(Value::Query(QueryValue {
            expr,
            range,
            result: answer.result,
        }))
    }
}

/// What the source said beside its answer, shown above it when it said anything.
pub(super) fn show_warnings(cx: &Context<'_>, warnings: &[String]) {
    if !warnings.is_empty() {
        cx.out.display(render::query::warnings(warnings), None);
    }
}

pub fn matrix(result: &QueryResult) -> &[Series] {
    match result {
        QueryResult::Matrix(series) => series,
        _ => &[],
    }
}

/// The same query `offset` earlier, moved forward so that it lines up with the window.
async fn baseline(
    source: &dyn MetricsSource,
    expr: &str,
    range: &Range,
    offset: Duration,
) -> Result<(Vec<Series>, Duration), SourceError> {
    let shift = offset.as_secs_f64();
    let earlier = Range {
        start: range.start - shift,
        end: range.end - shift,
        step: range.step,
    };
    let answer = source.query_range(expr, &earlier).await?;
    let mut series = matrix(&answer.result).to_vec();
    for s in &mut series {
        for point in &mut s.points {
            point.0 += shift;
        }
    }
    Ok((series, offset))
}

/// Why a query may have come back empty: a metric name the source does not know is the usual
/// reason; otherwise the window.
pub(super) async fn no_data_hint(
    source: &dyn MetricsSource,
    expr: &str,
    ever: &Interval,
) -> String {
    let unknown: Vec<String> = match source.label_values("__name__", ever).await {
        Ok(known) => metric_names_in(expr)
            .into_iter()
            .filter(|name| !known.iter().any(|k| k == name))
            .collect(),
        Err(_) => Vec::new(),
    };
    if !unknown.is_empty() {
        return format!(
            "the source knows no metric named {}: check the name (Tab completes metric names after `query `)",
            unknown.join(", ")
        );
    }
    for (label, value) in equality_matchers(expr) {
        if let Ok(known) = source.label_values(&label, ever).await {
            if !known.contains(&value) {
                let mut some: Vec<&str> = known.iter().map(String::as_str).take(10).collect();
                if known.len() > some.len() {
                    some.push("…");
                }
                return format!(
                    "no series has {label}=\"{value}\" at any time; the source knows {label} values {}",
                    some.join(", ")
                );
            }
        }
    }
    "the series exist but have no samples in this window: try a wider `window`".into()
}

/// The `label="value"` matchers of an expression (not `!=`, `=~` or `!~`).
fn equality_matchers(expr: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = expr.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let quoted = chars[i] == '"' && i >= 1 && chars[i - 1] == '=';
        let plain_equals = i >= 2 && !matches!(chars[i - 2], '!' | '=' | '~');
        if !(quoted && plain_equals) {
            i += 1;
            continue;
        }
        let name_end = i - 1;
        let name_start = name_end
            - chars[..name_end]
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
        let value_end = (i + 1..chars.len()).find(|&j| chars[j] == '"' && chars[j - 1] != '\\');
        let Some(value_end) = value_end else { break };
        if name_start < name_end {
            found.push((
                chars[name_start..name_end].iter().collect(),
                chars[i + 1..value_end].iter().collect(),
            ));
        }
        i = value_end + 1;
    }
    found
}

/// PromQL keywords that are followed by a list of label names.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Identifiers in an expression that could be metric names: not functions, keywords or label
/// names inside braces.
fn metric_names_in(expr: &str) -> Vec<String> {
    const NOT_METRICS: &[&str] = &[
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
        "nan",
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Vec::new();
    let (mut i, mut depth_brace, mut in_string) = (0, 0, None::<char>);
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = in_string {
            if c == '\\' {
                i += 1;
            } else if c == q {
                in_string = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' | '`' => in_string = Some(c),
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => {
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
            }
            c if (c.is_ascii_alphabetic() || c == '_' || c == ':') && depth_brace == 0 => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let rest = chars[i..].iter().find(|c| !c.is_whitespace());
                let is_call = rest == Some(&'(');
                let after_grouping = names_before_paren(&chars[..start]);
                let lower = word.to_lowercase();
                let keyword =
                    NOT_METRICS.contains(&lower.as_str()) || GROUPING.contains(&lower.as_str());
                if !is_call && !after_grouping && !keyword {
                    names.push(word);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names.dedup();
    names
}

/// Whether the text before a word ends in `by (` / `without (` ... `,`: a label list.
fn names_before_paren(before: &[char]) -> bool {
    let text: String = before.iter().collect();
    let Some(open) = text.rfind('(') else {
        return false;
    };
    if text[open..].contains(')') {
        return false;
    }
    let head = text[..open].trim_end();
    GROUPING.iter().any(|k| head.ends_with(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_matchers_in_expressions() {
        assert_eq!(
            equality_matchers(r#"sum(rate(x{service="payments",code=~"5..",job!="a"}[5m]))"#),
            [("service".to_string(), "payments".to_string())]
        );
    }

    #[test]
    fn metric_names_in_expressions() {
        assert_eq!(
            metric_names_in(
                r#"sum by (code) (rate(http_requests_total{code=~"5.."}[5m])) / on() group_left sum(up)"#
            ),
            ["http_requests_total", "up"]
        );
        assert_eq!(
            metric_names_in("node_load1 > 4 and node_memory_MemFree_bytes"),
            ["node_load1", "node_memory_MemFree_bytes"]
        );
    }
}
