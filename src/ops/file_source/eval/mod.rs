//! PromQL evaluation over stored series, following Prometheus 2.42.
//!
//! A range query is evaluated the way the Prometheus engine defines it: as an instant query at
//! every step, the results joined by label set. Instant evaluation walks the AST from
//! `promql-parser`; each node kind lives in its own module.

mod aggregations;
mod binary;
mod functions;
mod selectors;
#[cfg(test)]
mod tests;

use super::{Labels, StoredSeries};
use crate::ops::metrics::{Answer, QueryResult, Sample as OutSample, Series, SourceError};
use promql_parser::parser::token::{T_BOTTOMK, T_TOPK};
use promql_parser::parser::{self, value::ValueType, AtModifier, Expr, Offset, VectorSelector};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;

/// One element of an instant vector. `t` is the time of the underlying sample, which only
/// `timestamp()` reads; the engine reports every element at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// One series of a range vector: the raw samples inside the selector's window.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
    Matrix(Vec<RangeSeries>),
    Str(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Valid PromQL that this engine does not implement; the text names the feature.
    #[error("{0}")]
    Unsupported(String),
    /// An error Prometheus would also report while executing the query.
    #[error("{0}")]
    Execution(String),
}

pub type EvalResult<T> = Result<T, EvalError>;

impl From<EvalError> for SourceError {
    fn from(e: EvalError) -> SourceError {
        match e {
            EvalError::Unsupported(what) => SourceError::Unsupported(what),
            EvalError::Execution(message) => SourceError::PromQL {
                message,
                position: None,
            },
        }
    }
}

pub fn unsupported<T>(what: impl Into<String>) -> EvalResult<T> {
    Err(EvalError::Unsupported(format!(
        "{} is not supported by the embedded engine; use a prometheus source for it",
        what.into()
    )))
}

pub fn execution<T>(message: impl Into<String>) -> EvalResult<T> {
    Err(EvalError::Execution(message.into()))
}

/// What every node needs: the data, the query's bounds (for `@ start()` and `@ end()`), and
/// the series each selector matched, so a range query matches labels once, not at every step.
pub struct Ctx<'a> {
    pub series: &'a [StoredSeries],
    pub start: i64,
    pub end: i64,
    matched: RefCell<HashMap<*const VectorSelector, Rc<Vec<usize>>>>,
}

impl<'a> Ctx<'a> {
    pub fn new(series: &'a [StoredSeries], start: i64, end: i64) -> Ctx<'a> {
        Ctx {
            series,
            start,
            end,
            matched: RefCell::new(HashMap::new()),
        }
    }

    pub fn eval(&self, expr: &Expr, ts: i64) -> EvalResult<Value> {
        match expr {
            Expr::Aggregate(agg) => aggregations::eval(self, agg, ts),
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Value::Scalar(v) => Ok(Value::Scalar(-v)),
                Value::Vector(mut samples) => {
                    for s in &mut samples {
                        s.v = -s.v;
                        s.labels.remove("__name__");
                    }
                    check_unique(&samples)?;
                    Ok(Value::Vector(samples))
                }
                _ => execution(
                    "unary expression only allowed on expressions of type scalar or instant vector",
                ),
            },
            Expr::Binary(b) => binary::eval(self, b, ts),
            Expr::Paren(p) => self.eval(&p.expr, ts),
            Expr::Subquery(_) => unsupported("a subquery (`expr[range:step]`)"),
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Value::Str(s.val.clone())),
            Expr::VectorSelector(vs) => Ok(Value::Vector(selectors::instant(self, vs, ts)?)),
            Expr::MatrixSelector(ms) => Ok(Value::Matrix(selectors::range(self, ms, ts)?.0)),
            Expr::Call(call) => functions::eval(self, call, ts),
            Expr::Extension(_) => unsupported("an extension expression"),
        }
    }

    /// The indices of the stored series a selector matches, computed once per query.
    pub fn matching(&self, vs: &VectorSelector) -> EvalResult<Rc<Vec<usize>>> {
        let key = vs as *const VectorSelector;
        if let Some(found) = self.matched.borrow().get(&key) {
            return Ok(found.clone());
        }
        let found = Rc::new(selectors::select(self.series, vs)?);
        self.matched.borrow_mut().insert(key, found.clone());
        Ok(found)
    }

    /// The time a selector reads at: the `@` time or the evaluation time, moved back by `offset`.
    pub fn ref_time(&self, ts: i64, at: &Option<AtModifier>, offset: &Option<Offset>) -> i64 {
        let base = match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(t)) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_millis() as i64,
                Err(e) => -(e.duration().as_millis() as i64),
            },
        };
        match offset {
            None => base,
            Some(Offset::Pos(d)) => base - d.as_millis() as i64,
            Some(Offset::Neg(d)) => base + d.as_millis() as i64,
        }
    }
}

/// Prometheus refuses a vector holding two elements with the same labels (e.g. after a
/// function dropped the metric names that told them apart).
pub fn check_unique(samples: &[Sample]) -> EvalResult<()> {
    if samples.len() < 2 {
        return Ok(());
    }
    let mut seen = HashSet::with_capacity(samples.len());
    for s in samples {
        if !seen.insert(&s.labels) {
            return execution("vector cannot contain metrics with the same labelset");
        }
    }
    Ok(())
}

/// Parses an expression, turning the parser's message into a PromQL error.
fn parse(expr: &str) -> Result<Expr, SourceError> {
    parser::parse(expr).map_err(|message| {
        // Prometheus 2.42 knows holt_winters; this parser knows it only by its 3.x name.
        if message.contains("'holt_winters'") {
            return SourceError::from(EvalError::Unsupported(
                "the function holt_winters() is not supported by the embedded engine; use a prometheus source for it".into(),
            ));
        }
        SourceError::PromQL {
            position: parse_position(&message),
            message,
        }
    })
}

/// `promql-parser` does not report spans; when its message quotes a position
/// (`LINE:COLUMN: ...`), keep it.
fn parse_position(message: &str) -> Option<(usize, usize)> {
    let mut parts = message.splitn(3, ':');
    let line = parts.next()?.trim().parse().ok()?;
    let column = parts.next()?.trim().parse().ok()?;
    parts.next()?;
    Some((line, column))
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

pub fn instant_query(
    series: &[StoredSeries],
    expr: &str,
    time: i64,
) -> Result<Answer, SourceError> {
    let ast = parse(expr)?;
    let ctx = Ctx::new(series, time, time);
    let result = match ctx.eval(&ast, time)? {
        Value::Scalar(value) => QueryResult::Scalar {
            time: seconds(time),
            value,
        },
        Value::Str(value) => QueryResult::String {
            time: seconds(time),
            value,
        },
        Value::Vector(mut samples) => {
            check_unique(&samples)?;
            // sort(), sort_desc(), topk() and bottomk() decide the order; otherwise order by
            // labels, stably.
            if !keeps_order(&ast) {
                samples.sort_by(|a, b| a.labels.cmp(&b.labels));
            }
            QueryResult::Vector(
                samples
                    .into_iter()
                    .map(|s| OutSample {
                        labels: s.labels,
                        time: seconds(time),
                        value: s.v,
                    })
                    .collect(),
            )
        }
        Value::Matrix(mut m) => {
            m.sort_by(|a, b| a.labels.cmp(&b.labels));
            QueryResult::Matrix(
                m.into_iter()
                    .map(|s| Series {
                        labels: s.labels,
                        points: s.points.iter().map(|&(t, v)| (seconds(t), v)).collect(),
                    })
                    .collect(),
            )
        }
    };
    Ok(Answer {
        result,
        warnings: Vec::new(),
    })
}

fn keeps_order(expr: &Expr) -> bool {
    match expr {
        Expr::Paren(p) => keeps_order(&p.expr),
        Expr::Call(c) => matches!(c.func.name, "sort" | "sort_desc"),
        Expr::Aggregate(a) => matches!(a.op.id(), T_TOPK | T_BOTTOMK),
        _ => false,
    }
}

pub fn range_query(
    series: &[StoredSeries],
    expr: &str,
    start: i64,
    end: i64,
    step_seconds: f64,
) -> Result<Answer, SourceError> {
    let bad = |message: &str| SourceError::PromQL {
        message: message.to_owned(),
        position: None,
    };
    let step = (step_seconds * 1000.0).round() as i64;
    if step <= 0 {
        return Err(bad("zero or negative query resolution step widths are not accepted. Try a positive integer"));
    }
    if end < start {
        return Err(bad("end timestamp must not be before start time"));
    }
    if (end - start) / step > MAX_POINTS {
        return Err(bad("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"));
    }
    let ast = parse(expr)?;
    let kind = ast.value_type();
    if !matches!(kind, ValueType::Scalar | ValueType::Vector) {
        return Err(bad(&format!(
            "invalid expression type \"{kind}\" for range query, must be Scalar or instant Vector"
        )));
    }
    let ctx = Ctx::new(series, start, end);
    let mut out: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    let mut ts = start;
    while ts <= end {
        match ctx.eval(&ast, ts)? {
            Value::Scalar(v) => out.entry(Labels::new()).or_default().push((seconds(ts), v)),
            Value::Vector(samples) => {
                check_unique(&samples)?;
                for s in samples {
                    out.entry(s.labels).or_default().push((seconds(ts), s.v));
                }
            }
            _ => {
                return Err(bad(
                    "range query evaluated to neither a scalar nor a vector",
                ))
            }
        }
        ts += step;
    }
    Ok(Answer {
        result: QueryResult::Matrix(
            out.into_iter()
                .map(|(labels, points)| Series { labels, points })
                .collect(),
        ),
        warnings: Vec::new(),
    })
}
