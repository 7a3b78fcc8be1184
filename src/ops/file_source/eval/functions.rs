//! Function calls, each as Prometheus 2.42's promql/functions.go defines it.

use super::{
    check_unique, execution, selectors, unsupported, Ctx, EvalResult, RangeSeries, Sample, Value,
};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::T_EQL_REGEX;
use promql_parser::parser::{Call, Expr};

pub fn eval(ctx: &Ctx, call: &Call, ts: i64) -> EvalResult<Value> {
    let args: Vec<&Expr> = call.args.args.iter().map(|a| a.as_ref()).collect();
    let name = call.func.name;
    let out = match name {
        "rate" | "increase" | "delta" | "irate" | "idelta" | "changes" | "resets"
        | "avg_over_time" | "min_over_time" | "max_over_time" | "sum_over_time"
        | "count_over_time" | "last_over_time" | "stddev_over_time" | "stdvar_over_time"
        | "present_over_time" => over_range(ctx, name, args[0], None, ts)?,
        "quantile_over_time" => {
            let q = scalar(ctx, args[0], ts)?;
            over_range(ctx, name, args[1], Some(q), ts)?
        }
        "absent_over_time" => {
            let (series, _, _) = range_arg(ctx, args[0], ts)?;
            absent(series.is_empty(), args[0])
        }
        "absent" => absent(vector(ctx, args[0], ts)?.is_empty(), args[0]),
        "abs" | "ceil" | "floor" | "exp" | "sqrt" | "ln" | "log2" | "log10" | "sgn" => {
            let f = simple(name);
            map_values(vector(ctx, args[0], ts)?, f)
        }
        "round" => {
            let to = match args.get(1) {
                Some(a) => scalar(ctx, a, ts)?,
                None => 1.0,
            };
            // Go computes with the inverse so that e.g. 0.1 rounds like Prometheus does.
            let inv = 1.0 / to;
            map_values(vector(ctx, args[0], ts)?, |v| (v * inv + 0.5).floor() / inv)
        }
        "clamp" => {
            let (lo, hi) = (scalar(ctx, args[1], ts)?, scalar(ctx, args[2], ts)?);
            if hi < lo {
                Vec::new()
            } else {
                map_values(vector(ctx, args[0], ts)?, |v| go_max(lo, go_min(hi, v)))
            }
        }
        "clamp_min" => {
            let lo = scalar(ctx, args[1], ts)?;
            map_values(vector(ctx, args[0], ts)?, |v| go_max(lo, v))
        }
        "clamp_max" => {
            let hi = scalar(ctx, args[1], ts)?;
            map_values(vector(ctx, args[0], ts)?, |v| go_min(hi, v))
        }
        "label_replace" => label_replace(ctx, &args, ts)?,
        "label_join" => label_join(ctx, &args, ts)?,
        "histogram_quantile" => {
            let q = scalar(ctx, args[0], ts)?;
            histogram_quantile(q, vector(ctx, args[1], ts)?)
        }
        "time" => return Ok(Value::Scalar(ts as f64 / 1000.0)),
        "timestamp" => timestamp(ctx, args[0], ts)?,
        "vector" => vec![Sample {
            labels: Default::default(),
            t: ts,
            v: scalar(ctx, args[0], ts)?,
        }],
        "scalar" => {
            let v = vector(ctx, args[0], ts)?;
            return Ok(Value::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }));
        }
        "sort" | "sort_desc" => {
            let mut v = vector(ctx, args[0], ts)?;
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
    check_unique(&out)?;
    Ok(Value::Vector(out))
}

fn simple(name: &str) -> fn(f64) -> f64 {
    match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        _ => |v: f64| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
    }
}

/// Go's math.Max and math.Min: NaN wins over numbers (Rust's `max` ignores it).
pub fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

pub fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

pub fn scalar(ctx: &Ctx, e: &Expr, ts: i64) -> EvalResult<f64> {
    match ctx.eval(e, ts)? {
        Value::Scalar(v) => Ok(v),
        _ => execution("expected a scalar argument"),
    }
}

fn vector(ctx: &Ctx, e: &Expr, ts: i64) -> EvalResult<Vec<Sample>> {
    match ctx.eval(e, ts)? {
        Value::Vector(v) => Ok(v),
        _ => execution("expected an instant vector argument"),
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
        s.labels.remove("__name__");
    }
    v
}

/// The range vector argument of a `*_over_time`-style function, with its window.
fn range_arg(ctx: &Ctx, e: &Expr, ts: i64) -> EvalResult<(Vec<RangeSeries>, i64, i64)> {
    match e {
        Expr::MatrixSelector(ms) => selectors::range(ctx, ms, ts),
        Expr::Paren(p) => range_arg(ctx, &p.expr, ts),
        Expr::Subquery(_) => unsupported("a subquery (`expr[range:step]`)"),
        _ => execution("expected a range vector argument"),
    }
}

fn over_range(
    ctx: &Ctx,
    name: &str,
    arg: &Expr,
    param: Option<f64>,
    ts: i64,
) -> EvalResult<Vec<Sample>> {
    let (series, start, end) = range_arg(ctx, arg, ts)?;
    let mut out = Vec::with_capacity(series.len());
    for mut s in series {
        let p = &s.points;
        let value = match name {
            "rate" => extrapolated_rate(p, start, end, true, true),
            "increase" => extrapolated_rate(p, start, end, true, false),
            "delta" => extrapolated_rate(p, start, end, false, false),
            "irate" => instant_value(p, true),
            "idelta" => instant_value(p, false),
            "changes" => Some(
                p.windows(2)
                    .filter(|w| w[0].1 != w[1].1 && !(w[0].1.is_nan() && w[1].1.is_nan()))
                    .count() as f64,
            ),
            "resets" => Some(p.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64),
            "avg_over_time" => Some(running_mean(p.iter().map(|x| x.1))),
            "sum_over_time" => Some(p.iter().map(|x| x.1).sum()),
            "count_over_time" => Some(p.len() as f64),
            "min_over_time" => {
                Some(p.iter().skip(1).fold(
                    p[0].1,
                    |m, x| {
                        if x.1 < m || m.is_nan() {
                            x.1
                        } else {
                            m
                        }
                    },
                ))
            }
            "max_over_time" => {
                Some(p.iter().skip(1).fold(
                    p[0].1,
                    |m, x| {
                        if x.1 > m || m.is_nan() {
                            x.1
                        } else {
                            m
                        }
                    },
                ))
            }
            "last_over_time" => Some(p[p.len() - 1].1),
            "present_over_time" => Some(1.0),
            "stdvar_over_time" => Some(variance(p.iter().map(|x| x.1))),
            "stddev_over_time" => Some(variance(p.iter().map(|x| x.1)).sqrt()),
            "quantile_over_time" => Some(quantile(
                param.unwrap_or(f64::NAN),
                p.iter().map(|x| x.1).collect(),
            )),
            _ => unreachable!("over_range called for {name}"),
        };
        if let Some(v) = value {
            // last_over_time acts like an offset and keeps the name; the others derive a value.
            if name != "last_over_time" {
                s.labels.remove("__name__");
            }
            out.push(Sample {
                labels: s.labels,
                t: ts,
                v,
            });
        }
    }
    Ok(out)
}

/// rate, increase and delta: Prometheus's `extrapolatedRate`. The change over the samples in
/// the window, counter resets compensated, extrapolated to the window's edges when the first
/// and last samples are close enough to them (within 1.1 average intervals), and otherwise by
/// half an interval; a counter is never extrapolated below zero.
pub fn extrapolated_rate(
    p: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (first, last) = (p[0], p[p.len() - 1]);
    let mut result = last.1 - first.1;
    if is_counter {
        for w in p.windows(2) {
            if w[1].1 < w[0].1 {
                result += w[0].1;
            }
        }
    }
    let mut to_start = (first.0 - range_start) as f64 / 1000.0;
    let to_end = (range_end - last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let average = sampled / (p.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        average / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        average / 2.0
    };
    let mut factor = interval / sampled;
    if is_rate {
        factor /= (range_end - range_start) as f64 / 1000.0;
    }
    Some(result * factor)
}

/// irate and idelta: from the last two samples only.
fn instant_value(p: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (prev, last) = (p[p.len() - 2], p[p.len() - 1]);
    let mut v = if is_rate && last.1 < prev.1 {
        last.1 // a counter reset
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// The incremental mean Prometheus uses, which avoids overflow and keeps infinities.
pub fn running_mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut mean, mut count) = (0.0f64, 0.0f64);
    for v in values {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

/// Welford's population variance, as Prometheus computes stdvar.
pub fn variance(values: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut aux) = (0.0f64, 0.0f64, 0.0f64);
    for v in values {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// Prometheus's `quantile`: linear interpolation between the closest ranks.
pub fn quantile(q: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (n - 1.0).min(lower + 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// absent() and absent_over_time(): one sample when the argument is empty, labelled with the
/// selector's equality matchers; a label with any other matcher, or a second one, is left out.
fn absent(empty: bool, arg: &Expr) -> Vec<Sample> {
    if !empty {
        return Vec::new();
    }
    let mut labels = super::Labels::new();
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
        labels,
        t: 0,
        v: 1.0,
    }]
}

fn timestamp(ctx: &Ctx, arg: &Expr, ts: i64) -> EvalResult<Vec<Sample>> {
    // On a bare selector (parentheses aside) the engine hands over the samples' own times; on
    // anything else every element carries the evaluation time.
    let mut v = match unparen(arg) {
        Expr::VectorSelector(vs) => selectors::instant(ctx, vs, ts)?,
        _ => vector(ctx, arg, ts)?
            .into_iter()
            .map(|s| Sample { t: ts, ..s })
            .collect(),
    };
    for s in &mut v {
        s.v = s.t as f64 / 1000.0;
        s.labels.remove("__name__");
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
            super::EvalError::Execution(format!(
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
    let mut v = vector(ctx, args[0], ts)?;
    for s in &mut v {
        let value = s.labels.get(&src).cloned().unwrap_or_default();
        if let Some(caps) = re.captures(&value) {
            let mut res = String::new();
            caps.expand(&replacement, &mut res);
            if res.is_empty() {
                s.labels.remove(&dst);
            } else {
                s.labels.insert(dst.clone(), res);
            }
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
    let mut v = vector(ctx, args[0], ts)?;
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|l| s.labels.get(l).map_or("", String::as_str))
            .collect::<Vec<_>>()
            .join(&sep);
        if joined.is_empty() {
            s.labels.remove(&dst);
        } else {
            s.labels.insert(dst.clone(), joined);
        }
    }
    Ok(v)
}

/// Classic (bucket-series) histogram_quantile, as Prometheus's `bucketQuantile`.
fn histogram_quantile(q: f64, v: Vec<Sample>) -> Vec<Sample> {
    use std::collections::BTreeMap;
    // Buckets are grouped by every label but `le`, the metric name included; dropping the name
    // afterwards can leave two histograms with one label set, which the caller refuses.
    let mut groups: BTreeMap<super::Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for s in v {
        let Some(le) = s.labels.get("le").and_then(|le| parse_le(le)) else {
            continue; // not a bucket: Prometheus ignores it
        };
        let mut labels = s.labels;
        labels.remove("le");
        groups.entry(labels).or_default().push((le, s.v));
    }
    groups
        .into_iter()
        .map(|(mut labels, buckets)| {
            labels.remove("__name__");
            Sample {
                labels,
                t: 0,
                v: bucket_quantile(q, buckets),
            }
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
