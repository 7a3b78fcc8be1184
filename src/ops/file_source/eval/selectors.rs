//! Vector and matrix selectors: which samples of the matched series a selector sees.

use super::context::{millis, Ctx};
use super::value::{EvalResult, RangeSeries, Sample, Window};
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
    for &i in ctx.matching(vs)?.iter() {
        let s = &ctx.series[i];
        let n = s.times.partition_point(|&t| t <= at);
        if n == 0 {
            continue;
        }
        let (t, v) = (s.times[n - 1], s.values[n - 1]);
        if t < at - LOOKBACK_MS || is_stale(v) {
            continue;
        }
        out.push(Sample {
            labels: s.labels.clone(),
            t,
            v,
        });
    }
    Ok(out)
}

/// A range selector over the window `[end - range, end]`: every sample in it (both edges
/// included in 2.x), series without any left out.
pub fn range(ctx: &Ctx, ms: &MatrixSelector, end: i64) -> EvalResult<Window> {
    let start = end.saturating_sub(millis(&ms.range));
    let mut series = Vec::new();
    for &i in ctx.matching(&ms.vs)?.iter() {
        let s = &ctx.series[i];
        let from = s.times.partition_point(|&t| t < start);
        let to = s.times.partition_point(|&t| t <= end);
        let mut points = Vec::with_capacity(to - from);
        points.extend(
            (s.times[from..to].iter().copied())
                .zip(s.values[from..to].iter().copied())
                .filter(|&(_, v)| !is_stale(v)),
        );
        ctx.look(points.len())?;
        if !points.is_empty() {
            series.push(RangeSeries {
                labels: s.labels.clone(),
                points,
            });
        }
    }
    Ok(Window { series, start, end })
}
