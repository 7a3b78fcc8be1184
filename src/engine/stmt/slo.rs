//! `slo NAME [@SOURCE] objective P% good SELECTOR total SELECTOR [period D]` and
//! `slo NAME [@SOURCE] objective P% latency HISTOGRAM le BOUND [period D]`
//!
//! Declares an SLO, shows it over the window, and binds NAME to it: `check "T": slo NAME`
//! judges it again over the window of then, and a finding can name it as evidence.

use super::query::{interruptible, no_data_hint, source_error};
use crate::engine::context::Context;
use crate::engine::duration;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::{Template, Tokens};
use crate::model::{SloValue, Value};
use crate::ops::metrics::{Interval, SourceError};
use crate::ops::slo::{self, Report, Slo};
use crate::render;
use promql_parser::parser::{self as promql, Expr, VectorSelector};

/// The period a budget is counted over unless `period` says otherwise: the workbook's.
const DEFAULT_PERIOD: &str = "30d";

#[derive(Debug, Clone)]
pub struct NewSlo {
    pub name: String,
    pub source: Option<(String, Span)>,
    /// As written ("99.9%") and as a ratio.
    pub objective: (String, f64),
    pub events: Events,
    pub period: (String, f64),
}

#[derive(Debug, Clone)]
pub enum Events {
    /// Two counters: the good events and all of them.
    Counters {
        good: (Template, Span),
        total: (Template, Span),
    },
    /// A histogram: the good events are those in the bucket at `le`.
    Latency {
        histogram: (Template, Span),
        le: String,
    },
}

/// A word of the statement and where it is, in characters of the line.
struct Word {
    text: String,
    start: usize,
    end: usize,
}

pub fn parse(tokens: &mut Tokens) -> Result<NewSlo, CellError> {
    let (name, name_span) = tokens.word("the SLO's name")?;
    if !crate::engine::syntax::is_name(&name) {
        return Err(CellError::parse(
            format!("`{name}` is not a name"),
            name_span,
        ));
    }
    let (start, end) = tokens.rest();
    let line = tokens.line;
    let words = words(&line.text, start, end);
    let span = |w: &Word| line.span(w.start, w.end);
    let expected = |i: usize, what: &str| match words.get(i) {
        Some(w) => CellError::parse(format!("expected {what}, found `{}`", w.text), span(w)),
        None => tokens.missing(what),
    };
    let mut i = 0;
    let source = match words.first().and_then(|w| w.text.strip_prefix('@')) {
        Some(source) if !source.is_empty() => {
            i += 1;
            Some((source.to_owned(), span(&words[0])))
        }
        _ => None,
    };
    if words.get(i).map(|w| w.text.as_str()) != Some("objective") {
        return Err(expected(i, "`objective P%`, e.g. objective 99.9%"));
    }
    let objective = match words.get(i + 1) {
        Some(w) => (
            w.text.clone(),
            objective(&w.text).map_err(|why| CellError::parse(why, span(w)))?,
        ),
        None => return Err(expected(i + 1, "the objective, e.g. 99.9%")),
    };
    i += 2;
    // `period D` can only be the last two words: PromQL has no bare word `period` before a
    // duration.
    let mut last = words.len();
    let mut period = (
        DEFAULT_PERIOD.to_owned(),
        duration::parse(DEFAULT_PERIOD).map_or(0.0, |d| d.as_secs_f64()),
    );
    if last >= i + 2 && words[last - 2].text == "period" {
        let w = &words[last - 1];
        let seconds = duration::parse(&w.text)
            .map(|d| d.as_secs_f64())
            .filter(|s| *s >= 3600.0)
            .ok_or_else(|| {
                CellError::parse(
                    format!(
                        "`{}` is not a period; write e.g. 28d or 30d (at least 1h)",
                        w.text
                    ),
                    span(w),
                )
            })?;
        period = (w.text.clone(), seconds);
        last -= 2;
    }
    let expression = |from: usize, to: usize, what: &str| -> Result<(Template, Span), CellError> {
        if from >= to {
            return Err(expected(from, what));
        }
        let (start, end) = (words[from].start, words[to - 1].end);
        Ok((Template::parse(line, start, end)?, line.span(start, end)))
    };
    let events = match words.get(i).map(|w| w.text.as_str()) {
        Some("good") => {
            let total = (i + 1..last)
                .find(|&j| words[j].text == "total")
                .ok_or_else(|| expected(last, "`total SELECTOR` after the good events"))?;
            Events::Counters {
                good: expression(
                    i + 1,
                    total,
                    "the good events' counter, e.g. http_requests_total{code!~\"5..\"}",
                )?,
                total: expression(
                    total + 1,
                    last,
                    "the counter of all events, e.g. http_requests_total",
                )?,
            }
        }
        Some("latency") => {
            if last < i + 3 || words[last - 2].text != "le" {
                return Err(expected(
                    last,
                    "`le BOUND` after the histogram, e.g. le 0.3",
                ));
            }
            let bound = &words[last - 1];
            if bound.text.parse::<f64>().is_err() {
                return Err(CellError::parse(
                    format!(
                        "`{}` is not a bucket bound; write it as the `le` label has it, e.g. 0.3",
                        bound.text
                    ),
                    span(bound),
                ));
            }
            Events::Latency {
                histogram: expression(
                    i + 1,
                    last - 2,
                    "the histogram, e.g. http_request_duration_seconds{job=\"api\"}",
                )?,
                le: bound.text.clone(),
            }
        }
        _ => {
            return Err(expected(
                i,
                "`good SELECTOR total SELECTOR` or `latency HISTOGRAM le BOUND`",
            ))
        }
    };
    Ok(NewSlo {
        name,
        source,
        objective,
        events,
        period,
    })
}

fn words(text: &[char], start: usize, end: usize) -> Vec<Word> {
    let mut words = Vec::new();
    let mut i = start;
    while i < end {
        if text[i].is_whitespace() {
            i += 1;
            continue;
        }
        let from = i;
        while i < end && !text[i].is_whitespace() {
            i += 1;
        }
        words.push(Word {
            text: text[from..i].iter().collect(),
            start: from,
            end: i,
        });
    }
    words
}

/// "99.9%" as 0.999: strictly between 0% and 100%, since a 100% objective has no budget.
fn objective(text: &str) -> Result<f64, String> {
    let percent = text
        .strip_suffix('%')
        .and_then(|p| p.parse::<f64>().ok())
        .ok_or_else(|| format!("`{text}` is not an objective; write a percentage, e.g. 99.9%"))?;
    if !(percent > 0.0 && percent < 100.0) {
        return Err(format!(
            "`{text}`: an objective is above 0% and below 100% (100% leaves no error budget)"
        ));
    }
    // Scaled in decimal, so that 99.9% is the double nearest 0.999, as a reader writes it.
    format!("{}e-2", text.trim_end_matches('%'))
        .parse()
        .map_err(|_| format!("`{text}` is not an objective"))
}

impl NewSlo {
    pub async fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
        let (good, total) = match &self.events {
            Events::Counters { good, total } => (counter(good, cx)?, counter(total, cx)?),
            Events::Latency { histogram, le } => latency(histogram, le, cx)?,
        };
        let slo = Slo {
            name: self.name.clone(),
            objective: self.objective.0.clone(),
            ratio: self.objective.1,
            good,
            total,
            period: self.period.clone(),
        };
        let source = self.source.clone();
        let report = assess(
            &slo,
            source.as_ref().map(|(n, s)| (n.as_str(), *s)),
            span,
            cx,
        )
        .await?;
        cx.state.bind(
            &self.name,
            Value::Slo(Box::new(SloValue {
                slo,
                source: source.map(|(name, _)| name),
                report,
            })),
        );
        Ok(())
    }
}

/// Asks the source every figure of `slo` over the window, and shows them.
pub async fn assess(
    slo: &Slo,
    source: Option<(&str, Span)>,
    span: Span,
    cx: &mut Context<'_>,
) -> Result<Report, CellError> {
    let range = cx.state.window.resolve(cx.ops.clock.now());
    let metrics = cx.state.source(source, span)?;
    let report = interruptible(cx, span, slo::evaluate(slo, metrics, &range))
        .await?
        .map_err(|e| {
            // The expressions are the statement's, not the cell's text: a position in one
            // points nowhere in the cell, so the error is placed on the statement.
            let e = match e {
                SourceError::PromQL { message, .. } => SourceError::PromQL {
                    message: format!("the source refused a query of the SLO: {message}"),
                    position: None,
                },
                other => other,
            };
            source_error(e, &Template { parts: vec![] }, span, "the SLO")
        })?;
    for output in render::slo::report(slo, &report) {
        cx.out.display(output, None);
    }
    if report.sli.is_empty() {
        // Most often a misspelt metric, which would otherwise read only as missing history.
        let ever = Interval::until(range.end);
        let hint = no_data_hint(metrics, &report.sli_expr, &ever).await;
        cx.out.display(
            render::Bundle::plain(format!("no traffic in the window: {hint}")),
            None,
        );
    }
    Ok(report)
}

/// A counter's selector, checked: the statement takes its rate over each window itself.
fn counter((template, span): &(Template, Span), cx: &Context<'_>) -> Result<String, CellError> {
    let text = cx.state.resolve_query(template)?;
    selector(
        &text,
        *span,
        "a counter's selector, e.g. http_requests_total{code!~\"5..\"}",
    )?;
    Ok(text)
}

/// The good and total counters of a histogram: its bucket at `le`, and its count.
fn latency(
    (template, span): &(Template, Span),
    le: &str,
    cx: &Context<'_>,
) -> Result<(String, String), CellError> {
    let text = cx.state.resolve_query(template)?;
    let histogram = selector(
        &text,
        *span,
        "a histogram's name with its matchers, e.g. http_request_duration_seconds{job=\"api\"}",
    )?;
    // `le` is added to the matchers below: it must be the only one, in the only group.
    let matchers = &histogram.matchers;
    if !matchers.or_matchers.is_empty() || matchers.matchers.iter().any(|m| m.name == "le") {
        return Err(CellError::new(
            ErrorKind::PromQLError,
            format!("`{text}`: the histogram's matchers may hold neither `le` (the statement's `le {le}` sets it) nor `or`"),
            *span,
        ));
    }
    let name = histogram.name.unwrap_or_default();
    let base = name.strip_suffix("_bucket").unwrap_or(&name);
    let matchers = match (text.find('{'), text.rfind('}')) {
        (Some(open), Some(close)) if open < close => text[open + 1..close]
            .trim()
            .trim_end_matches(',')
            .to_owned(),
        _ => String::new(),
    };
    let and = if matchers.is_empty() { "" } else { ", " };
    let good = format!("{base}_bucket{{{matchers}{and}le=\"{le}\"}}");
    let total = if matchers.is_empty() {
        format!("{base}_count")
    } else {
        format!("{base}_count{{{matchers}}}")
    };
    Ok((good, total))
}

/// `text` as a plain vector selector with a metric name: no range, offset or `@`, since the
/// statement adds its own range to it.
fn selector(text: &str, span: Span, what: &str) -> Result<VectorSelector, CellError> {
    let refuse = |why: String| CellError::new(ErrorKind::PromQLError, why, span);
    match promql::parse(text) {
        Ok(Expr::VectorSelector(selector))
            if selector.offset.is_none() && selector.at.is_none() =>
        {
            if selector.name.is_none() {
                return Err(refuse(format!("`{text}` names no metric; write {what}")));
            }
            Ok(selector)
        }
        Ok(_) => Err(refuse(format!(
            "`{text}` is not a plain selector; write {what}, and the SLO takes its rate over each window"
        ))),
        Err(why) => Err(refuse(format!("`{text}`: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::syntax::logical_lines;

    fn parsed(text: &str) -> Result<NewSlo, CellError> {
        let line = &logical_lines(text).unwrap()[0];
        let mut tokens = Tokens::new(line, 0);
        tokens.word("slo").unwrap();
        parse(&mut tokens)
    }

    #[test]
    fn the_counter_form_with_a_period() {
        let slo = parsed(r#"slo checkout @prom objective 99.9% good http_requests_total{code!~"5.."} total http_requests_total period 28d"#).unwrap();
        assert_eq!(slo.name, "checkout");
        assert_eq!(slo.source.unwrap().0, "prom");
        assert_eq!(slo.objective, ("99.9%".to_owned(), 0.999));
        assert_eq!(slo.period, ("28d".to_owned(), 28.0 * 86400.0));
        let Events::Counters { good, total } = slo.events else {
            panic!()
        };
        assert_eq!(
            good.0.literal().unwrap(),
            r#"http_requests_total{code!~"5.."}"#
        );
        assert_eq!(total.0.literal().unwrap(), "http_requests_total");
        assert_eq!(good.1.column, 41);
    }

    #[test]
    fn the_latency_form_defaults_to_thirty_days() {
        let slo = parsed(
            r#"slo api objective 99% latency http_request_duration_seconds{job="api"} le 0.3"#,
        )
        .unwrap();
        assert_eq!(slo.period.0, "30d");
        let Events::Latency { histogram, le } = slo.events else {
            panic!()
        };
        assert_eq!(
            histogram.0.literal().unwrap(),
            r#"http_request_duration_seconds{job="api"}"#
        );
        assert_eq!(le, "0.3");
    }

    #[test]
    fn mistakes_are_placed() {
        let cases = [
            ("slo x objective 100% good a total b", 17, "no error budget"),
            ("slo x objective 99.9 good a total b", 17, "percentage"),
            ("slo x objective 99.9% good a", 0, "`total SELECTOR`"),
            (
                "slo x objective 99.9% good a total b period 5x",
                45,
                "not a period",
            ),
            (
                "slo x objective 99.9% latency h le fast",
                36,
                "bucket bound",
            ),
            ("slo x goal 99.9%", 7, "`objective P%`"),
        ];
        for (text, column, message) in cases {
            let error = parsed(text).unwrap_err();
            assert!(error.message.contains(message), "{text}: {}", error.message);
            if column > 0 {
                assert_eq!(error.span.unwrap().column, column, "{text}");
            }
        }
    }

    #[test]
    fn only_a_plain_selector_is_a_counter() {
        let span = Span {
            line: 1,
            column: 1,
            len: 1,
        };
        assert_eq!(
            selector("a_total{x=\"1\"}", span, "")
                .unwrap()
                .name
                .unwrap(),
            "a_total"
        );
        for refused in ["rate(a[5m])", "a offset 1h", "a[5m]", "{x=\"1\"}", "a +"] {
            assert!(selector(refused, span, "").is_err(), "{refused}");
        }
    }

    /// Statements of words a hurried or hostile author might write: parsing never panics, and
    /// every error points inside the line.
    #[test]
    fn random_statements_parse_or_fail_in_place() {
        const WORDS: &[&str] = &[
            "objective",
            "99.9%",
            "100%",
            "0%",
            "-5%",
            "nan%",
            "inf%",
            "1e2%",
            "99.99999999999999999999%",
            "%",
            "good",
            "total",
            "latency",
            "le",
            "0.3",
            "+Inf",
            "period",
            "30d",
            "0d",
            "99999999999999999w",
            "period",
            "@prom",
            "@",
            "x_total",
            "x{a=\"b\"}",
            "{{p}}",
            "{{",
            "}}",
            "rate(x[5m])",
            "é",
            "−",
            "\"",
            "total{le=\"1\"}",
            "x offset 1h",
        ];
        let mut rng = fastrand::Rng::with_seed(0x510);
        for _ in 0..20_000 {
            let count = rng.usize(0..9);
            let words: Vec<&str> = (0..count)
                .map(|_| WORDS[rng.usize(..WORDS.len())])
                .collect();
            let text = format!("slo s {}", words.join(" "));
            match parsed(&text) {
                Ok(slo) => assert!(slo.objective.1 > 0.0 && slo.objective.1 < 1.0, "{text}"),
                Err(error) => {
                    if let Some(span) = error.span {
                        assert!(
                            span.column + span.len <= text.chars().count() + 2,
                            "{text}: {error}"
                        );
                    }
                }
            }
        }
    }
}
