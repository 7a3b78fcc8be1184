//! PromQL evaluation over stored series, following Prometheus 2.42.
//!
//! A range query is evaluated the way the Prometheus engine defines it: as an instant query at
//! every step, the results joined by label set. Instant evaluation walks the AST from
//! `promql-parser`; each node kind lives in its own module.

mod aggregations;
mod binary;
mod context;
mod functions;
pub mod label_set;
mod over_time;
mod selectors;
mod stats;
mod step_invariant;
mod subquery;
#[cfg(test)]
mod tests;
mod value;

use super::series::StoredSeries;
use super::Stop;
use crate::ops::metrics::{Answer, QueryResult, Sample as OutSample, Series, SourceError};
use context::Ctx;
use label_set::LabelSet;
use promql_parser::parser::token::{T_BOTTOMK, T_TOPK};
use promql_parser::parser::{self, value::ValueType, Expr};
use rustc_hash::FxHashMap;
use value::{check_unique, execution, unsupported, EvalResult, Value};

/// Prometheus refuses range queries with more points per series than this.
const MAX_POINTS: i64 = 11_000;

/// The node kinds' evaluation, each in its own module; they reach back here only through this
/// method, so the modules name `Ctx` and not one another.
impl Ctx<'_> {
    pub fn eval(&self, expr: &Expr, ts: i64) -> EvalResult<Value> {
        match expr {
            Expr::Aggregate(agg) => aggregations::eval(self, agg, ts),
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Value::Scalar(v) => Ok(Value::Scalar(-v)),
                Value::Vector(mut samples) => {
                    for s in &mut samples {
                        s.v = -s.v;
                        s.labels = s.labels.without_name();
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
            Expr::Subquery(sq) => {
                let end = self.ref_time(ts, &sq.at, &sq.offset);
                Ok(Value::Matrix(subquery::eval(self, sq, end)?.series))
            }
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Value::Str(s.val.clone())),
            Expr::VectorSelector(vs) => Ok(Value::Vector(selectors::instant(self, vs, ts)?)),
            Expr::MatrixSelector(ms) => {
                let end = self.ref_time(ts, &ms.vs.at, &ms.vs.offset);
                Ok(Value::Matrix(selectors::range(self, ms, end)?))
            }
            Expr::Call(call) => functions::eval(self, call, ts),
            Expr::Extension(_) => unsupported("an extension expression"),
        }
    }
}

/// Parses an expression, turning the parser's message into a PromQL error; holt_winters is
/// renamed and the depth bounded (see `prepared`).
fn parse(expr: &str) -> Result<Expr, SourceError> {
    let error = |message: String| SourceError::PromQL {
        position: parse_position(&message),
        message,
    };
    let renamed = prepared(expr)?;
    parser::parse(&renamed).map_err(|message| {
        // Positions are those of the text as written, unless its only fault was the name.
        match parser::parse(expr) {
            Err(original) if !original.contains("'holt_winters'") => error(original),
            _ => error(message),
        }
    })
}

/// The most operators and parentheses an expression may have. promql-parser checks the type of
/// each binary node by walking down its left side, so parsing costs the square of the depth:
/// `1+1+...` of 100,000 terms would take minutes. Real queries have tens.
const MAX_OPERATORS: usize = 2_000;

/// The expression as promql-parser should read it: Prometheus 2.42's `holt_winters(` under the
/// name the parser knows it by, its 3.x name, which 2.42 does not know (strings and comments are
/// left as they are); refused if it has more than [`MAX_OPERATORS`].
fn prepared(expr: &str) -> Result<String, SourceError> {
    const OLD: &str = "holt_winters";
    const NEW: &str = "double_exponential_smoothing";
    let mut out = String::with_capacity(expr.len() + NEW.len());
    let mut operators = 0usize;
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        let len = match c {
            '"' | '\'' | '`' => {
                let mut escaped = false;
                rest[1..]
                    .char_indices()
                    .find(|&(_, d)| {
                        let end = d == c && !escaped;
                        escaped = c != '`' && d == '\\' && !escaped;
                        end
                    })
                    .map_or(rest.len(), |(i, d)| 1 + i + d.len_utf8())
            }
            '#' => rest.find('\n').unwrap_or(rest.len()),
            c if c.is_alphanumeric() || c == '_' || c == ':' => rest
                .find(|d: char| !(d.is_alphanumeric() || d == '_' || d == ':' || d == '.'))
                .unwrap_or(rest.len()),
            c => c.len_utf8(),
        };
        let (word, after) = rest.split_at(len);
        if matches!(
            word,
            "+" | "-" | "*" | "/" | "%" | "^" | "<" | ">" | "=" | "!" | "("
        ) || matches!(word, "and" | "or" | "unless")
        {
            operators += 1;
            if operators > MAX_OPERATORS {
                return Err(SourceError::Unsupported(format!(
                    "an expression of more than {MAX_OPERATORS} operators and parentheses is not supported by the embedded engine; use a prometheus source for it"
                )));
            }
        }
        let called = after.trim_start().starts_with('(');
        if called && word == OLD {
            out.push_str(NEW);
        } else if called && word == NEW {
            return Err(SourceError::PromQL {
                message: format!("unknown function with name \"{NEW}\""),
                position: None,
            });
        } else {
            out.push_str(word);
        }
        rest = after;
    }
    Ok(out)
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
    stop: &Stop,
) -> Result<Answer, SourceError> {
    let ast = parse(expr)?;
    let ctx = Ctx::new(series, time, time, stop);
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
                        labels: s.labels.to_labels(),
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
                        labels: s.labels.to_labels(),
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
    stop: &Stop,
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
    let ctx = Ctx::new(series, start, end, stop);
    // Each step's samples joined to the series of their label set.
    let mut index: FxHashMap<LabelSet, usize> = FxHashMap::default();
    let mut out: Vec<(LabelSet, Vec<(f64, f64)>)> = Vec::new();
    let mut add = |labels: LabelSet, point: (f64, f64)| {
        let i = *index.entry(labels).or_insert_with_key(|labels| {
            out.push((labels.clone(), Vec::new()));
            out.len() - 1
        });
        out[i].1.push(point);
    };
    let mut ts = start;
    while ts <= end {
        match ctx.eval(&ast, ts)? {
            Value::Scalar(v) => {
                ctx.keep(1)?;
                add(LabelSet::empty(), (seconds(ts), v));
            }
            Value::Vector(samples) => {
                check_unique(&samples)?;
                ctx.keep(samples.len())?;
                for s in samples {
                    add(s.labels, (seconds(ts), s.v));
                }
            }
            _ => {
                return Err(bad(
                    "range query evaluated to neither a scalar nor a vector",
                ))
            }
        }
        ts = match ts.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Answer {
        result: QueryResult::Matrix(
            out.into_iter()
                .map(|(labels, points)| Series {
                    labels: labels.to_labels(),
                    points,
                })
                .collect(),
        ),
        warnings: Vec::new(),
    })
}
