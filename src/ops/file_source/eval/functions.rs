//! Function calls, each as Prometheus 2.42's promql/functions.go defines it; the functions of
//! a range vector are in `over_time`.

use super::context::Ctx;
use super::label_set::LabelSet;
use super::over_time;
use super::selectors;
use super::stats::{go_max, go_min};
use super::value::{check_unique, execution, unsupported, EvalError, EvalResult, Sample, Value};
use crate::ops::metrics::Labels;
use chrono::{DateTime, Datelike, Timelike};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::T_EQL_REGEX;
use promql_parser::parser::{Call, Expr};
use std::collections::BTreeMap;

pub fn eval(ctx: &Ctx, call: &Call, ts: i64) -> EvalResult<Value> {
    let args: Vec<&Expr> = call.args.args.iter().map(|a| a.as_ref()).collect();
    // The parser knows Prometheus 2.42's holt_winters by its 3.x name (see `parse`).
    let name = match call.func.name {
        "double_exponential_smoothing" => "holt_winters",
        name => name,
    };
    let out = if over_time::NAMES.contains(&name) {
        Value::Vector(over_time::eval(ctx, name, &args, ts)?)
    } else if let Some(f) = math(name) {
        Value::Vector(map_values(ctx.vector(args[0], ts)?, f))
    } else if let Some(f) = date(name) {
        dates(ctx, f, args.first().copied(), ts)?
    } else {
        other(ctx, name, &args, ts)?
    };
    if let Value::Vector(v) = &out {
        check_unique(v)?;
    }
    Ok(out)
}

/// A date function of each element's value, or with no argument of the evaluation time (to
/// the second) as one element without labels.
fn dates(
    ctx: &Ctx,
    f: fn(i64) -> EvalResult<f64>,
    arg: Option<&Expr>,
    ts: i64,
) -> EvalResult<Value> {
    let Some(arg) = arg else {
        return Ok(Value::Vector(vec![Sample {
            labels: LabelSet::empty(),
            t: ts,
            v: f(ts / 1000)?,
        }]));
    };
    let mut v = ctx.vector(arg, ts)?;
    for s in &mut v {
        s.v = f(go_int64(s.v))?;
        s.labels = s.labels.without_name();
    }
    Ok(Value::Vector(v))
}

/// The functions with arguments of their own kinds.
fn other(ctx: &Ctx, name: &str, args: &[&Expr], ts: i64) -> EvalResult<Value> {
    let out = match name {
        "absent_over_time" => {
            let mut empty = true;
            over_time::each_series(ctx, args[0], ts, 0, |_, _, _, _| {
                empty = false;
                Ok(())
            })?;
            absent(empty, args[0])
        }
        "absent" => absent(ctx.vector(args[0], ts)?.is_empty(), args[0]),
        "round" => {
            let to = match args.get(1) {
                Some(a) => ctx.scalar(a, ts)?,
                None => 1.0,
            };
            // Go computes with the inverse so that e.g. 0.1 rounds like Prometheus does.
            let inv = 1.0 / to;
            map_values(ctx.vector(args[0], ts)?, |v| (v * inv + 0.5).floor() / inv)
        }
        "clamp" => {
            let (lo, hi) = (ctx.scalar(args[1], ts)?, ctx.scalar(args[2], ts)?);
            if hi < lo {
                Vec::new()
            } else {
                map_values(ctx.vector(args[0], ts)?, |v| go_max(lo, go_min(hi, v)))
            }
        }
        "clamp_min" => {
            let lo = ctx.scalar(args[1], ts)?;
            map_values(ctx.vector(args[0], ts)?, |v| go_max(lo, v))
        }
        "clamp_max" => {
            let hi = ctx.scalar(args[1], ts)?;
            map_values(ctx.vector(args[0], ts)?, |v| go_min(hi, v))
        }
        "label_replace" => label_replace(ctx, args, ts)?,
        "label_join" => label_join(ctx, args, ts)?,
        "histogram_quantile" => {
            let q = ctx.scalar(args[0], ts)?;
            histogram_quantile(q, ctx.vector(args[1], ts)?)
        }
        "time" => return Ok(Value::Scalar(ts as f64 / 1000.0)),
        "pi" => return Ok(Value::Scalar(std::f64::consts::PI)),
        "timestamp" => timestamp(ctx, args[0], ts)?,
        "vector" => vec![Sample {
            labels: LabelSet::empty(),
            t: ts,
            v: ctx.scalar(args[0], ts)?,
        }],
        "scalar" => {
            let v = ctx.vector(args[0], ts)?;
            return Ok(Value::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }));
        }
        "sort" | "sort_desc" => {
            let mut v = ctx.vector(args[0], ts)?;
            // NaN sorts last in both directions, as in Prometheus.
            v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if name == "sort" => a.v.total_cmp(&b.v),
                _ => b.v.total_cmp(&a.v),
            });
            v
        }
        other => return unsupported(format!("the function {other}()")),
    };
    Ok(Value::Vector(out))
}

/// The functions of one value: Go's math package's, and sgn, rad and deg.
fn math(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "sgn" => |v: f64| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

/// The date functions: a field of a Unix time in seconds, read in UTC.
fn date(name: &str) -> Option<fn(i64) -> EvalResult<f64>> {
    Some(match name {
        "year" => |t| utc(t).map(|d| d.year() as f64),
        "month" => |t| utc(t).map(|d| d.month() as f64),
        "day_of_month" => |t| utc(t).map(|d| d.day() as f64),
        "day_of_week" => |t| utc(t).map(|d| d.weekday().num_days_from_sunday() as f64),
        "day_of_year" => |t| utc(t).map(|d| d.ordinal() as f64),
        "hour" => |t| utc(t).map(|d| d.hour() as f64),
        "minute" => |t| utc(t).map(|d| d.minute() as f64),
        "days_in_month" => |t| {
            let d = utc(t)?;
            // The day before the first of the next month.
            let (y, m) = if d.month() == 12 {
                (d.year() + 1, 1)
            } else {
                (d.year(), d.month() + 1)
            };
            let first = chrono::NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| out_of_range(t))?;
            Ok(first.pred_opt().ok_or_else(|| out_of_range(t))?.day() as f64)
        },
        _ => return None,
    })
}

fn utc(t: i64) -> EvalResult<DateTime<chrono::Utc>> {
    DateTime::from_timestamp(t, 0).ok_or_else(|| out_of_range(t))
}

/// Beyond the years chrono represents Go's calendar differs, so such a time is refused rather
/// than answered differently.
fn out_of_range(t: i64) -> EvalError {
    EvalError::Unsupported(format!(
        "a date function of the Unix time {t} (out of range) is not supported by the embedded engine; use a prometheus source for it"
    ))
}

/// Go's `int64(v)` on amd64, where Prometheus runs: truncation, and the minimum int64 for NaN,
/// infinities and values out of range.
fn go_int64(v: f64) -> i64 {
    const LIMIT: f64 = 9.223_372_036_854_776e18; // 2^63
    if !(-LIMIT..LIMIT).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

fn string(e: &Expr) -> EvalResult<String> {
    match e {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        Expr::Paren(p) => string(&p.expr),
        _ => execution("expected a string literal argument"),
    }
}

/// Applies `f` to every value; like every math function, the result has no metric name.
fn map_values(mut v: Vec<Sample>, f: impl Fn(f64) -> f64) -> Vec<Sample> {
    for s in &mut v {
        s.v = f(s.v);
        s.labels = s.labels.without_name();
    }
    v
}

/// absent() and absent_over_time(): one sample when the argument is empty, labelled with the
/// selector's equality matchers; a label with any other matcher, or a second one, is left out.
fn absent(empty: bool, arg: &Expr) -> Vec<Sample> {
    if !empty {
        return Vec::new();
    }
    let mut labels = Labels::new();
    let mut dropped = Vec::new();
    let vs = match arg {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(ms) => Some(&ms.vs),
        _ => None,
    };
    for m in vs.iter().flat_map(|vs| &vs.matchers.matchers) {
        if m.name == "__name__" {
            continue;
        }
        if matches!(m.op, MatchOp::Equal) && !labels.contains_key(&m.name) {
            // An empty value sets no label, so a later equality matcher may still set it.
            if !m.value.is_empty() {
                labels.insert(m.name.clone(), m.value.clone());
            }
        } else {
            dropped.push(&m.name);
        }
    }
    for name in dropped {
        labels.remove(name);
    }
    vec![Sample {
        labels: labels.into(),
        t: 0,
        v: 1.0,
    }]
}

fn timestamp(ctx: &Ctx, arg: &Expr, ts: i64) -> EvalResult<Vec<Sample>> {
    // On a bare selector (parentheses aside) the engine hands over the samples' own times; on
    // anything else every element carries the evaluation time.
    let mut v = match unparen(arg) {
        Expr::VectorSelector(vs) => selectors::instant(ctx, vs, ts)?,
        _ => ctx
            .vector(arg, ts)?
            .into_iter()
            .map(|s| Sample { t: ts, ..s })
            .collect(),
    };
    for s in &mut v {
        s.v = s.t as f64 / 1000.0;
        s.labels = s.labels.without_name();
    }
    Ok(v)
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        _ => e,
    }
}

fn label_replace(ctx: &Ctx, args: &[&Expr], ts: i64) -> EvalResult<Vec<Sample>> {
    let dst = string(args[1])?;
    let replacement = string(args[2])?;
    let src = string(args[3])?;
    let pattern = string(args[4])?;
    // The parser's regex matcher anchors the pattern as Prometheus does (`^(?:...)$`).
    let matcher =
        Matcher::new_matcher(T_EQL_REGEX, src.clone(), pattern.clone()).map_err(|_| {
            EvalError::Execution(format!(
                "invalid regular expression in label_replace(): {pattern}"
            ))
        })?;
    let MatchOp::Re(re) = &matcher.op else {
        unreachable!("a regex matcher holds a regex")
    };
    if !is_label_name(&dst) {
        return execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        ));
    }
    let mut v = ctx.vector(args[0], ts)?;
    for s in &mut v {
        let value = s.labels.get(&src).unwrap_or_default();
        if let Some(caps) = re.captures(value) {
            let mut res = String::new();
            caps.expand(&replacement, &mut res);
            s.labels = s.labels.with(&dst, &res);
        }
    }
    Ok(v)
}

fn is_label_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn label_join(ctx: &Ctx, args: &[&Expr], ts: i64) -> EvalResult<Vec<Sample>> {
    let dst = string(args[1])?;
    let sep = string(args[2])?;
    let srcs = args[3..]
        .iter()
        .map(|a| string(a))
        .collect::<EvalResult<Vec<_>>>()?;
    if !is_label_name(&dst) {
        return execution(format!(
            "invalid destination label name in label_join(): {dst}"
        ));
    }
    let mut v = ctx.vector(args[0], ts)?;
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|l| s.labels.get(l).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&sep);
        s.labels = s.labels.with(&dst, &joined);
    }
    Ok(v)
}

/// Classic (bucket-series) histogram_quantile, as Prometheus's `bucketQuantile`.
fn histogram_quantile(q: f64, v: Vec<Sample>) -> Vec<Sample> {
    // Buckets are grouped by every label but `le`, the metric name included; dropping the name
    // afterwards can leave two histograms with one label set, which the caller refuses.
    let mut groups: BTreeMap<LabelSet, Vec<(f64, f64)>> = BTreeMap::new();
    for s in v {
        let Some(le) = s.labels.get("le").and_then(parse_le) else {
            continue; // not a bucket: Prometheus ignores it
        };
        let labels = s.labels.retain(|n, _| n != "le");
        groups.entry(labels).or_default().push((le, s.v));
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| Sample {
            labels: labels.without_name(),
            t: 0,
            v: bucket_quantile(q, buckets),
        })
        .collect()
}

fn parse_le(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

pub fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Buckets with the same bound are one bucket; counts must not decrease.
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for (le, c) in buckets {
        match merged.last_mut() {
            Some(last) if last.0 == le => last.1 += c,
            _ => merged.push((le, c)),
        }
    }
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.1 > max {
            max = b.1;
        } else if b.1 < max {
            b.1 = max;
        }
    }
    let b = merged;
    if b.len() < 2 {
        return f64::NAN;
    }
    let observations = b[b.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let i = b[..b.len() - 1].partition_point(|x| x.1 < rank);
    if i == b.len() - 1 {
        return b[b.len() - 2].0;
    }
    if i == 0 && b[0].0 <= 0.0 {
        return b[0].0;
    }
    let (mut start, end, mut count) = (0.0, b[i].0, b[i].1);
    if i > 0 {
        start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    start + (end - start) * (rank / count)
}
