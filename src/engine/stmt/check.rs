//! `check "TITLE": [@SOURCE] PROMQL`, `check "TITLE": run COMMAND`, `check "TITLE": probe URL ...`,
//! `check "TITLE": slo NAME`
//! (over a log source, the expression is a LogQL metric query).
//!
//! A check is a result, not an error: a failing check shows what failed, joins the findings, and
//! makes `playbook run` exit 1; the cell goes on.

use super::probe::{self, Probe};
use super::query::{interruptible, matrix, source_error};
use super::run;
use super::run::Run;
use super::slo;
use crate::engine::context::Context;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::stack::Mode;
use crate::engine::syntax::{Template, Token, Tokens};
use crate::journal::entry::Entry;
use crate::model::{Event, Value};
use crate::ops::check::CheckOutcome;
use crate::ops::command::Exit;
use crate::ops::metrics::Series;
use crate::ops::slo::Report;
use crate::render;

#[derive(Debug, Clone)]
pub enum Condition {
    /// Alerting-rule semantics: fails when the expression returns any sample in the window.
    PromQL {
        source: Option<(String, Span)>,
        expr: Template,
        span: Span,
    },
    /// Fails on a non-zero exit.
    Run(Run),
    /// Fails when the probe misses its expectation.
    Probe(Probe),
    /// Fails when a page condition of the SLO bound to the name fires in the window.
    Slo { name: String, span: Span },
}

impl Condition {
    /// What kind of condition it is, as the journal names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Condition::PromQL { .. } => "promql",
            Condition::Run(_) => "run",
            Condition::Probe(_) => "probe",
            Condition::Slo { .. } => "slo",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Check {
    pub title: Template,
    pub condition: Condition,
}

pub fn parse(tokens: &mut Tokens) -> Result<Check, CellError> {
    let (title, _) = tokens.quoted_string("the check's title")?;
    tokens.punct(':')?;
    let before = tokens.pos;
    let condition = match tokens.token()? {
        Some((Token::Word(w), _)) if w == "run" => Condition::Run(run::parse(tokens)?),
        Some((Token::Word(w), _)) if w == "probe" => Condition::Probe(probe::parse(tokens)?),
        Some((Token::Word(w), _)) if w == "slo" => {
            let (name, span) = tokens.word("the name of an SLO declared with `slo NAME ...`")?;
            tokens.finish()?;
            Condition::Slo { name, span }
        }
        Some((Token::Word(w), span)) if w.len() > 1 && w.starts_with('@') => {
            let (start, end) = tokens.rest();
            if start >= end {
                return Err(tokens.missing("an expression for the source to evaluate"));
            }
            Condition::PromQL {
                source: Some((w[1..].to_owned(), span)),
                expr: Template::parse(tokens.line, start, end)?,
                span: tokens.line.span(start, end),
            }
        }
        Some(_) => {
            tokens.pos = before;
            let (start, end) = tokens.rest();
            Condition::PromQL {
                source: None,
                expr: Template::parse(tokens.line, start, end)?,
                span: tokens.line.span(start, end),
            }
        }
        None => {
            return Err(
                tokens.missing("a PromQL expression, `run COMMAND`, `probe URL` or `slo NAME`")
            )
        }
    };
    Ok(Check { title, condition })
}

impl Check {
    pub async fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<Value, CellError> {
        let title = cx.state.resolve(&self.title)?;
        // A check that failed in the journal a run re-checks asks the world again, and only it.
        let answering = cx.ops.rechecks(&title).then(|| cx.ops.mode().clone());
        if answering.is_some() {
            super::switch_mode(cx, Mode::Live, ErrorKind::SourceError, span).await?;
        }
        let judged = self.judge(&title, span, cx).await;
        if let Some(mode) = answering {
            super::switch_mode(cx, mode, ErrorKind::SourceError, span).await?;
        }
        let (passed, detail) = match judged? {
            Judged::Decided(passed, detail) => (passed, detail),
            Judged::Undecided(value) => return Ok(value),
        };
        let outcome = CheckOutcome {
            title,
            passed,
            detail,
            at: cx.ops.stamp(),
        };
        cx.ops
            .note(Entry::check(&outcome, self.condition.kind()))
            .await;
        cx.state.record(Event::Check(outcome.clone()));
        Ok(Value::Check(outcome))
    }

    /// Whether the condition holds, and what was seen.
    async fn judge(
        &self,
        title: &str,
        span: Span,
        cx: &mut Context<'_>,
    ) -> Result<Judged, CellError> {
        Ok(match &self.condition {
            Condition::PromQL { source, expr, span } => {
                let text = cx.state.resolve_query(expr)?;
                let range = cx.state.window.resolve(cx.ops.clock.now());
                let named = source.as_ref().map(|(n, s)| (n.as_str(), *s));
                let source = cx.state.source(named, *span)?;
                let answer = interruptible(cx, *span, source.query_range(&text, &range))
                    .await?
                    .map_err(|e| source_error(e, expr, *span, "the check"))?;
                let fired: Vec<Series> = matrix(&answer.result)
                    .iter()
                    .filter(|s| !s.points.is_empty())
                    .cloned()
                    .collect();
                cx.out
                    .display(render::query::check(title, &text, &fired), None);
                let detail = if fired.is_empty() {
                    format!("`{text}` returned nothing in the window")
                } else {
                    format!("`{text}` fired for {} series", fired.len())
                };
                Judged::Decided(fired.is_empty(), detail)
            }
            Condition::Run(run) => {
                let Value::Command(result) = run.apply(span, cx).await? else {
                    unreachable!("run gives a command result")
                };
                if result.exit == Exit::NotRun {
                    // A dry run decides nothing: the check is neither passed nor failed.
                    return Ok(Judged::Undecided(Value::Command(result)));
                }
                let passed = result.succeeded();
                let detail = format!("`{}`: {}", result.command, render::exit_text(result.exit));
                cx.out
                    .display(render::check_line(title, passed, &detail), None);
                Judged::Decided(passed, detail)
            }
            Condition::Slo { name, span } => {
                let declared = match cx.state.get(name) {
                    Some(Value::Slo(declared)) => declared.clone(),
                    Some(other) => {
                        return Err(CellError::new(
                            ErrorKind::UnknownName,
                            format!("`{name}` is a {}, not an SLO: declare one with `slo {name} objective ...`", other.kind()),
                            *span,
                        ))
                    }
                    None => {
                        return Err(CellError::new(
                            ErrorKind::UnknownName,
                            format!("no SLO named `{name}` in this session: declare it first with `slo {name} objective ...`"),
                            *span,
                        ))
                    }
                };
                let source = declared.source.as_deref().map(|n| (n, *span));
                let report = slo::assess(&declared.slo, source, *span, cx).await?;
                let (passed, detail) = slo_verdict(name, &report);
                cx.out
                    .display(render::check_line(title, passed, &detail), None);
                Judged::Decided(passed, detail)
            }
            Condition::Probe(probe) => {
                let result = probe.send(span, cx).await?;
                let detail = format!("GET {}: {}", result.url, result.reason);
                cx.out
                    .display(render::check_line(title, result.passed, &detail), None);
                Judged::Decided(result.passed, detail)
            }
        })
    }
}

/// Failed when a page condition fired in the window, or could not be told: a gate that cannot
/// see does not pass.
fn slo_verdict(name: &str, report: &Report) -> (bool, String) {
    let (fired, unknown) = report.pages();
    if let Some((rule, at)) = fired.first() {
        let detail = format!(
            "SLO {name}: {} fired in the window, first at {}",
            rule.describe(),
            render::format::rfc3339(*at)
        );
        return (false, detail);
    }
    if let Some(rule) = unknown.first() {
        let detail = format!(
            "SLO {name}: {} cannot be told: the source holds too little history for its windows",
            rule.describe()
        );
        return (false, detail);
    }
    (
        true,
        format!("SLO {name}: no page condition fired in the window"),
    )
}

enum Judged {
    Decided(bool, String),
    /// A dry run's: neither passed nor failed.
    Undecided(Value),
}
