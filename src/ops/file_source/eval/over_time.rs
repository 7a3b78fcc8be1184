//! Functions of a range vector (a matrix selector or a subquery), each as Prometheus 2.42's
//! promql/functions.go defines it: one value per series that has samples in the window.

use super::context::{millis, Ctx};
use super::label_set::LabelSet;
use super::selectors;
use super::stats::{kahan_mean, kahan_sum, kahan_variance, linear_regression, quantile};
use super::step_invariant::{call_is_step_invariant, is_step_invariant};
use super::subquery;
use super::value::{execution, unsupported, EvalResult, Sample};
use promql_parser::parser::Expr;

/// The functions this module evaluates.
pub const NAMES: &[&str] = &[
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "changes",
    "resets",
    "deriv",
    "predict_linear",
    "holt_winters",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "count_over_time",
    "last_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "quantile_over_time",
    "present_over_time",
];

/// Calls `each` with every series of the range vector argument `e` at `ts` that has samples
/// in its window: its labels, the window's start and end, and the samples. The window's end is
/// moved by `slide` (see `slide`).
pub fn each_series(
    ctx: &Ctx,
    e: &Expr,
    ts: i64,
    slide: i64,
    mut each: impl FnMut(&LabelSet, i64, i64, &[(i64, f64)]) -> EvalResult<()>,
) -> EvalResult<()> {
    match e {
        Expr::MatrixSelector(ms) => {
            let at = ctx.ref_time(ts, &ms.vs.at, &ms.vs.offset);
            let end = at + slide;
            let start = end.saturating_sub(millis(&ms.range));
            selectors::range_each(ctx, ms, end, |labels, points| {
                // Prometheus read the series only up to the `@` time.
                let n = points.partition_point(|p| p.0 <= at);
                if n == 0 {
                    return Ok(());
                }
                each(labels, start, end, &points[..n])
            })
        }
        Expr::Subquery(_) if slide != 0 => unsupported(
            "a range function of a subquery with `@`, beside an argument that changes with the step, in a range query,",
        ),
        Expr::Subquery(sq) => {
            let window = subquery::eval(ctx, sq, ctx.ref_time(ts, &sq.at, &sq.offset))?;
            for s in &window.series {
                each(&s.labels, window.start, window.end, &s.points)?;
            }
            Ok(())
        }
        Expr::Paren(p) => each_series(ctx, &p.expr, ts, slide, each),
        _ => execution("expected a range vector argument"),
    }
}

/// How far Prometheus 2.42 moves the window of a range argument with `@` at `ts`. It turns `@`
/// into an offset from the query's start, and a call that is not step invariant
/// (predict_linear, or one with another argument that changes with the step) applies that
/// offset at every step: in a range query the window moves with the step, over data read only
/// up to the `@` time, so the window empties as it moves on.
fn slide(ctx: &Ctx, name: &str, args: &[&Expr], range: &Expr, ts: i64) -> EvalResult<i64> {
    if ts == ctx.start
        || !is_step_invariant(range)
        || call_is_step_invariant(name, args.iter().copied())
    {
        return Ok(0);
    }
    if ctx.subquery_depth.get() > 0 {
        return unsupported(format!(
            "{name}() of a range with `@`, inside a subquery and beside an argument that changes with the step,"
        ));
    }
    Ok(ts - ctx.start)
}

/// `name` (one of NAMES) over its arguments at `ts`.
pub fn eval(ctx: &Ctx, name: &str, args: &[&Expr], ts: i64) -> EvalResult<Vec<Sample>> {
    // quantile_over_time takes its scalar first; the others take the range first.
    let (range, params) = match name {
        "quantile_over_time" => (args[1], &args[..1]),
        _ => (args[0], &args[1..]),
    };
    let params = params
        .iter()
        .map(|p| ctx.scalar(p, ts))
        .collect::<EvalResult<Vec<f64>>>()?;
    let slide = slide(ctx, name, args, range, ts)?;
    let mut out = Vec::new();
    let mut factors_checked = name != "holt_winters";
    each_series(ctx, range, ts, slide, |labels, start, end, p| {
        if !factors_checked {
            // Prometheus checks the factors only when there is a series to smooth.
            check_factor("smoothing", params[0])?;
            check_factor("trend", params[1])?;
            factors_checked = true;
        }
        let values = || p.iter().map(|x| x.1);
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
            // Near the samples' times, not at zero, to keep the regression accurate.
            "deriv" => (p.len() >= 2).then(|| linear_regression(p, p[0].0).0),
            // Predicted from the evaluation time, whatever `offset` or `@` moved the window to.
            "predict_linear" => (p.len() >= 2).then(|| {
                let (slope, intercept) = linear_regression(p, ts);
                slope * params[0] + intercept
            }),
            "holt_winters" => holt_winters(p, params[0], params[1]),
            "avg_over_time" => Some(kahan_mean(values())),
            "sum_over_time" => Some(kahan_sum(values())),
            "count_over_time" => Some(p.len() as f64),
            "min_over_time" => {
                Some(values().fold(p[0].1, |m, v| if v < m || m.is_nan() { v } else { m }))
            }
            "max_over_time" => {
                Some(values().fold(p[0].1, |m, v| if v > m || m.is_nan() { v } else { m }))
            }
            "last_over_time" => Some(p[p.len() - 1].1),
            "present_over_time" => Some(1.0),
            "stdvar_over_time" => Some(kahan_variance(values())),
            "stddev_over_time" => Some(kahan_variance(values()).sqrt()),
            "quantile_over_time" => Some(quantile(params[0], values().collect())),
            _ => unreachable!("over_time::eval called for {name}"),
        };
        if let Some(v) = value {
            // last_over_time acts like an offset and keeps the name; the others derive a value.
            let labels = if name == "last_over_time" {
                labels.clone()
            } else {
                labels.without_name()
            };
            out.push(Sample { labels, t: ts, v });
        }
        Ok(())
    })?;
    Ok(out)
}

/// A factor outside (0, 1) is an error; NaN passes, as in Prometheus.
fn check_factor(what: &str, f: f64) -> EvalResult<()> {
    if !(f <= 0.0 || f >= 1.0) {
        return Ok(());
    }
    let short = &what[..1];
    execution(format!(
        "invalid {what} factor. Expected: 0 < {short}f < 1, got: {f:.6}"
    ))
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

/// Double exponential smoothing with smoothing factor `sf` and trend factor `tf`: the smoothed
/// value at the last sample.
fn holt_winters(p: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, p[0].1);
    let mut b = p[1].1 - p[0].1;
    for (i, &(_, v)) in p.iter().enumerate().skip(1) {
        let x = sf * v;
        // The trend at the previous point; the first is the initial difference itself.
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}
