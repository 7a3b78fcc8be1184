//! Subqueries (`expr[range:step]`), as Prometheus 2.42 evaluates them: the inner expression at
//! every multiple of the step (counted from the Unix epoch) inside the window, its samples
//! joined by labels into a range vector.

use super::context::{millis, Ctx};
use super::value::{check_unique, execution, unsupported, EvalResult, RangeSeries, Window};
use promql_parser::parser::SubqueryExpr;

/// The step of a subquery that names none: the global evaluation interval, 1m by default.
const DEFAULT_STEP_MS: i64 = 60_000;

/// The most inner steps one subquery evaluation takes (a year at a 30 s step). Prometheus has
/// no such bound but a query timeout; past it this engine says it will not, rather than work
/// for hours or hold a cache of billions of steps.
const MAX_STEPS: i64 = 1_051_200;

/// A subquery over the window `[end - range, end]`.
pub fn eval(ctx: &Ctx, sq: &SubqueryExpr, end: i64) -> EvalResult<Window> {
    let start = end.saturating_sub(millis(&sq.range));
    let step = sq.step.map_or(DEFAULT_STEP_MS, |s| millis(&s));
    if step <= 0 {
        return execution("subquery step must be positive");
    }
    if (end - start) / step > MAX_STEPS {
        return unsupported(format!(
            "a subquery of more than {MAX_STEPS} steps ({} at {})",
            sq.range.as_secs(),
            step / 1000
        ));
    }
    // The first multiple of the step at or after the window's start.
    let first = (start.div_euclid(step) + i64::from(start.rem_euclid(step) != 0)) * step;
    let key = sq as *const SubqueryExpr;
    let mut times = Vec::new();
    let mut t = first;
    while t <= end {
        times.push(t);
        t = match t.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    {
        let mut cache = ctx.subqueries.borrow_mut();
        let cached = cache.entry(key).or_default();
        // Steps are evaluated in increasing time, so results before this window are not needed.
        cached.steps = cached.steps.split_off(&first);
    }
    for &t in &times {
        let cached = ctx.subqueries.borrow()[&key].steps.get(&t).map(Vec::len);
        let samples = match cached {
            Some(n) => n,
            None => evaluate_inner(ctx, sq, key, t)?,
        };
        ctx.keep(samples)?;
    }
    // Each label set's series, in the order the label sets first appear in the window.
    let cache = ctx.subqueries.borrow();
    let cached = &cache[&key];
    let mut position: Vec<Option<usize>> = vec![None; cached.labels.len()];
    let mut series: Vec<RangeSeries> = Vec::new();
    for t in times {
        for &(slot, v) in &cached.steps[&t] {
            let i = *position[slot].get_or_insert_with(|| {
                series.push(RangeSeries {
                    labels: cached.labels[slot].clone(),
                    points: Vec::new(),
                });
                series.len() - 1
            });
            series[i].points.push((t, v));
        }
    }
    Ok(Window { series, start, end })
}

/// Evaluates the inner expression at `t` into the cache; returns how many samples it gave.
fn evaluate_inner(
    ctx: &Ctx,
    sq: &SubqueryExpr,
    key: *const SubqueryExpr,
    t: i64,
) -> EvalResult<usize> {
    ctx.subquery_depth.set(ctx.subquery_depth.get() + 1);
    let samples = ctx.vector(&sq.expr, t);
    ctx.subquery_depth.set(ctx.subquery_depth.get() - 1);
    let samples = samples?;
    check_unique(&samples)?;
    let mut cache = ctx.subqueries.borrow_mut();
    let cached = cache.entry(key).or_default();
    let mut values = Vec::with_capacity(samples.len());
    for s in samples {
        let slot = match cached.slots.get(&s.labels) {
            Some(&slot) => slot,
            None => {
                cached.labels.push(s.labels.clone());
                cached.slots.insert(s.labels, cached.labels.len() - 1);
                cached.labels.len() - 1
            }
        };
        values.push((slot, s.v));
    }
    let samples = values.len();
    cached.steps.insert(t, values);
    Ok(samples)
}
