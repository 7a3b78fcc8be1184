//! Vector and matrix selectors: which samples of the matched series a selector sees.

use super::context::{millis, Ctx};
use super::label_set::LabelSet;
use super::value::{EvalResult, RangeSeries, Sample};
use promql_parser::parser::{MatrixSelector, VectorSelector};

/// How far back an instant selector looks for a sample (Prometheus's default `lookback-delta`).
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Prometheus marks a series as ended with this particular NaN; it is never a value.
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// An instant selector at `ts`: each series' latest sample at or before the reference time and
/// no older than the lookback delta (in 2.x the window includes its left edge).
pub fn instant(ctx: &Ctx, vs: &VectorSelector, ts: i64) -> EvalResult<Vec<Sample>> {
    let at = ctx.ref_time(ts, &vs.at, &vs.offset);
    let mut out = Vec::new();
    ctx.windows(vs, at.saturating_sub(LOOKBACK_MS), at, |s, from, to| {
        if let Some(&(t, v)) = s.samples[from..to].last() {
            if !is_stale(v) {
                out.push(Sample {
                    labels: s.labels.clone(),
                    t,
                    v,
                });
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// A range selector over the window `[end - range, end]`: calls `each` with every matched
/// series that has samples in it (both edges included in 2.x), with those samples, read where
/// they are stored. `each` must not evaluate selectors.
pub fn range_each(
    ctx: &Ctx,
    ms: &MatrixSelector,
    end: i64,
    mut each: impl FnMut(&LabelSet, &[(i64, f64)]) -> EvalResult<()>,
) -> EvalResult<()> {
    let start = end.saturating_sub(millis(&ms.range));
    // Where a window holds stale markers, its other samples, copied.
    let mut kept = Vec::new();
    ctx.windows(&ms.vs, start, end, |s, from, to| {
        let mut points = &s.samples[from..to];
        if points.iter().any(|&(_, v)| is_stale(v)) {
            kept.clear();
            kept.extend(points.iter().filter(|&&(_, v)| !is_stale(v)));
            points = &kept;
        }
        ctx.look(points.len())?;
        if points.is_empty() {
            return Ok(());
        }
        each(&s.labels, points)
    })
}

/// A range selector's range vector at `end`.
pub fn range(ctx: &Ctx, ms: &MatrixSelector, end: i64) -> EvalResult<Vec<RangeSeries>> {
    let mut series = Vec::new();
    range_each(ctx, ms, end, |labels, points| {
        series.push(RangeSeries {
            labels: labels.clone(),
            points: points.to_vec(),
        });
        Ok(())
    })?;
    Ok(series)
}
