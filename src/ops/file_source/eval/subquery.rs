//! Subqueries (`expr[range:step]`), as Prometheus 2.42 evaluates them: the inner expression at
//! every multiple of the step (counted from the Unix epoch) inside the window, its samples
//! joined by labels into a range vector.

use super::context::{millis, Ctx};
use super::value::{check_unique, execution, unsupported, EvalResult, RangeSeries, Sample, Window};
use crate::ops::metrics::Labels;
use promql_parser::parser::SubqueryExpr;
use rustc_hash::FxHashMap;
use std::rc::Rc;

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
    // Steps are evaluated in increasing time, so results before this window are not needed.
    if let Some(cached) = ctx.subqueries.borrow_mut().get_mut(&key) {
        *cached = cached.split_off(&first);
    }
    let mut index: FxHashMap<Labels, usize> = FxHashMap::default();
    let mut series: Vec<RangeSeries> = Vec::new();
    let mut t = first;
    while t <= end {
        let samples = inner(ctx, sq, key, t)?;
        ctx.keep(samples.len())?;
        for s in samples.iter() {
            let i = *index.entry(s.labels.clone()).or_insert_with(|| {
                series.push(RangeSeries {
                    labels: s.labels.clone(),
                    points: Vec::new(),
                });
                series.len() - 1
            });
            series[i].points.push((t, s.v));
        }
        t = match t.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(Window { series, start, end })
}

/// The inner expression at `t`, from the cache when an earlier step evaluated it.
fn inner(
    ctx: &Ctx,
    sq: &SubqueryExpr,
    key: *const SubqueryExpr,
    t: i64,
) -> EvalResult<Rc<Vec<Sample>>> {
    if let Some(found) = ctx.subqueries.borrow().get(&key).and_then(|c| c.get(&t)) {
        return Ok(found.clone());
    }
    ctx.subquery_depth.set(ctx.subquery_depth.get() + 1);
    let samples = ctx.vector(&sq.expr, t);
    ctx.subquery_depth.set(ctx.subquery_depth.get() - 1);
    let samples = samples?;
    check_unique(&samples)?;
    let samples = Rc::new(samples);
    ctx.subqueries
        .borrow_mut()
        .entry(key)
        .or_default()
        .insert(t, samples.clone());
    Ok(samples)
}
